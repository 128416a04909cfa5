// SPDX-License-Identifier: GPL-3.0-or-later

// Package nmhook connects mac-nmguard to the system: NetworkManager over
// D-Bus, the kernel over netlink, the nftables egress backstop, and the gate
// that applies the policy to every device before, during and after
// activation.
package nmhook
