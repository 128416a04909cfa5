// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import "net"

// The real-address rule, one for the service (learnReal) and check
// (builder.realAddress): a card's real address is the kernel's permanent
// address, else NetworkManager's PermHwAddress, else the first address the
// service saw on the card in this boot. Only a six-byte address that is not
// all zero counts: an all-zero address is the kernel's and NetworkManager's
// "none", never a card's address.

// knownAddress reports whether a can be a card's real address.
func knownAddress(a net.HardwareAddr) bool {
	return len(a) == 6 && !isZero(a)
}

// isZero reports whether a is all zero bytes (an unknown address).
func isZero(a net.HardwareAddr) bool {
	for _, x := range a {
		if x != 0 {
			return false
		}
	}
	return true
}

// permanentAddress is the rule's first two steps: the kernel's permanent
// address, else NetworkManager's PermHwAddress (nmPerm, "" when NM does not
// know the device). It returns nil when neither is a known address.
func permanentAddress(kernel net.HardwareAddr, nmPerm string) (net.HardwareAddr, string) {
	if knownAddress(kernel) {
		return kernel, realFromKernel
	}
	if hw, ok := parseKnownAddress(nmPerm); ok {
		return hw, realFromNM
	}
	return nil, realUnknown
}

// parseKnownAddress parses a recorded address (NM's PermHwAddress, a
// first-seen address) and reports whether it is a known address.
func parseKnownAddress(s string) (net.HardwareAddr, bool) {
	if s == "" {
		return nil, false
	}
	hw, err := net.ParseMAC(s)
	if err != nil || !knownAddress(hw) {
		return nil, false
	}
	return hw, true
}
