// SPDX-License-Identifier: GPL-3.0-or-later

package gate

import (
	"bytes"
	"net"

	"github.com/mac-nmguard/mac-nmguard/policy"
)

// The real-address rule, one for the service (learnReal) and check
// (builder.realAddress): a card's real address is the kernel's permanent
// address, else NetworkManager's PermHwAddress, else the first address the
// service saw on the card in this boot. Only a six-byte address that is not
// all zero counts: an all-zero address is the kernel's and NetworkManager's
// "none", never a card's address.

// Where the real address of a device came from (the service's view, the
// API's real_source, check's).
const (
	RealFromKernel    = "kernel permanent address"
	RealFromNM        = "NetworkManager PermHwAddress"
	RealFromFirstSeen = "first address seen by the service"
	RealUnknown       = "unknown"
)

// KnownAddress reports whether a can be a card's real address.
func KnownAddress(a net.HardwareAddr) bool {
	return len(a) == 6 && !IsZero(a)
}

// IsZero reports whether a is all zero bytes (an unknown address).
func IsZero(a net.HardwareAddr) bool {
	for _, x := range a {
		if x != 0 {
			return false
		}
	}
	return true
}

// PermanentAddress is the rule's first two steps: the kernel's permanent
// address, else NetworkManager's PermHwAddress (nmPerm, "" when NM does not
// know the device). It returns nil when neither is a known address.
func PermanentAddress(kernel net.HardwareAddr, nmPerm string) (net.HardwareAddr, string) {
	if KnownAddress(kernel) {
		return kernel, RealFromKernel
	}
	if hw, ok := ParseKnownAddress(nmPerm); ok {
		return hw, RealFromNM
	}
	return nil, RealUnknown
}

// ParseKnownAddress parses a recorded address (NM's PermHwAddress, a
// first-seen address) and reports whether it is a known address.
func ParseKnownAddress(s string) (net.HardwareAddr, bool) {
	if s == "" {
		return nil, false
	}
	hw, err := net.ParseMAC(s)
	if err != nil || !KnownAddress(hw) {
		return nil, false
	}
	return hw, true
}

// Guardable reports whether a link (name, address) carries an
// Ethernet-style address the gate is about.
func Guardable(name string, addr net.HardwareAddr) bool {
	return name != "lo" && len(addr) == 6
}

// RealFromCarried is where the real address of a virtual device that
// carries a guarded device's real address comes from (followed by that
// device's name).
const RealFromCarried = "real address of the device it carries it from: "

// Carrier is a device the carried-address rule may find behind a virtual
// device.
type Carrier struct {
	Name   string
	Real   net.HardwareAddr
	Device policy.Device
}

// Carried is the carried-address rule, one for the service and check: a
// virtual device (current address cur, real address real) carries the real
// address of the first of cs guarded on its own account (a card, or one a
// rule guards) whose known real address is cur or real: a bridge, bond,
// VLAN or macvlan that inherited a card's address, then perhaps was given
// a private one. That address is then the one to hide on the virtual
// device too. cs must not hold the virtual device itself.
func Carried(p *policy.Policy, cur, real net.HardwareAddr, cs []Carrier) (Carrier, bool) {
	for _, c := range cs {
		if !KnownAddress(c.Real) {
			continue
		}
		if !bytes.Equal(cur, c.Real) && !bytes.Equal(real, c.Real) {
			continue
		}
		if p.GuardedAlone(c.Device) {
			return c, true
		}
	}
	return Carrier{}, false
}
