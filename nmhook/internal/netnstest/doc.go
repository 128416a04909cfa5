// SPDX-License-Identifier: GPL-3.0-or-later

// Package netnstest is for tests only: root tests of the kernel side
// (links, backstop) in a network namespace of their own, with veth pairs
// and raw packet sockets to see which frames leave a device.
package netnstest
