// SPDX-License-Identifier: GPL-3.0-or-later

// Package bed is the integration test bed of mac-nmguard: a real
// NetworkManager on a private D-Bus system bus, managing veth devices in a
// network namespace of its own, with the network side (a bridge, dnsmasq for
// DHCP, hostapd for wired 802.1X and a frame capture) in a second namespace.
//
// A bed is made with New and removed in t.Cleanup (processes ended by PID,
// namespaces deleted, temporary directory removed), even when the test fails
// or panics. Several beds may run at once: every name is unique. NetworkManager
// keeps its state in the bed's directory, never in the host's /run or
// /var/lib (it runs in a mount namespace of its own with bind mounts there).
//
// Everything here needs root and the tools Require checks for; tests that use
// a bed are named TestIntegration* and start with Require.
package bed
