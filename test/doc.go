// SPDX-License-Identifier: GPL-3.0-or-later

// Package test holds the integration tests of mac-nmguard. They run a real
// NetworkManager on a private D-Bus system bus in network namespaces (see
// package bed) and need root; they are named TestIntegration* and skip when
// they cannot run, unless MAC_NMGUARD_REQUIRE_INTEGRATION=1, which turns the
// skip into a failure (CI sets it).
package test
