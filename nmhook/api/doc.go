// SPDX-License-Identifier: GPL-3.0-or-later

// Package api is the contract of mac-nmguard's D-Bus API and nothing else:
// the bus name, object path, interface, method, signal and polkit action
// names, the JSON wire types (Device, Suspicion, Status, Violation,
// Exemption) and the introspection XML. The service (nmhook) serves it;
// the desktop agent (notify) and the command line (cmd) speak it. It
// imports only policy and detect, so a client does not link the service,
// nftables or netlink.
package api
