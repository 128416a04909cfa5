// SPDX-License-Identifier: GPL-3.0-or-later

// Package profile is a NetworkManager connection profile as plain data
// (no I/O, no D-Bus): the fields the gate judges and the service and check
// read. Package nm fills it from NetworkManager; package gate decides on it
// without linking a D-Bus client.
package profile
