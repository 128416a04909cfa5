// SPDX-License-Identifier: GPL-3.0-or-later

// Package nmhook is mac-nmguard's service: the loop that follows
// NetworkManager (through nm) and the kernel (through links), evaluates
// every device (evaluate.go: a snapshot, a pure plan of the gate's decision
// and its actions, an executor; setGate logs every transition) and carries
// it out (link down, address, backstop, disconnect, in-memory profile
// addresses), the
// boot-time hold, restore and reconnect, the offers of the detector's
// suspicions, the D-Bus API server (contract in api) and its polkit checks.
// NetworkManager, like the kernel's Links and Backstop, is an interface the
// service owns: nm.Client on the system bus, a fake in the unit tests.
// check is package inspect; the files are package state.
package nmhook
