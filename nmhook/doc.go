// SPDX-License-Identifier: GPL-3.0-or-later

// Package nmhook is mac-nmguard's service and what it needs of the system:
// the service loop and the gate that applies the policy to every device
// before, during and after activation (evaluate, actions, hold, restore),
// the D-Bus API server and polkit, NetworkManager over D-Bus, the kernel
// over netlink, the nftables egress backstop, the state files, and check's
// gathering and report (Inspect). The API's contract (names, wire types)
// is package api, which clients import instead of this one.
package nmhook
