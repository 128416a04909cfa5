// SPDX-License-Identifier: GPL-3.0-or-later

// Package notify holds the desktop side of mac-nmguard: the agent that
// listens to the service on the system bus and shows notifications on the
// session bus.
package notify
