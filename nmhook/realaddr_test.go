// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"net"
	"testing"
)

func TestPermanentAddress(t *testing.T) {
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	kernel := net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	for _, tc := range []struct {
		name   string
		kernel net.HardwareAddr
		nm     string
		want   string
		src    string
	}{
		{"kernel", kernel, "52:54:00:aa:bb:cc", "52:54:00:12:34:56", realFromKernel},
		{"nm when the kernel has none", nil, "52:54:00:aa:bb:cc", "52:54:00:aa:bb:cc", realFromNM},
		{"nm when the kernel's is all zero", zero, "52:54:00:aa:bb:cc", "52:54:00:aa:bb:cc", realFromNM},
		{"all zero everywhere", zero, "00:00:00:00:00:00", "", realUnknown},
		{"nm's is not an address", nil, "permanent", "", realUnknown},
		{"nm's is too long", nil, "00:11:22:33:44:55:66:77", "", realUnknown},
		{"kernel's is too short", net.HardwareAddr{1, 2, 3}, "", "", realUnknown},
		{"none", nil, "", "", realUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hw, src := permanentAddress(tc.kernel, tc.nm)
			got := ""
			if hw != nil {
				got = hw.String()
			}
			if got != tc.want || src != tc.src {
				t.Errorf("permanentAddress(%v, %q) = %q (%s), want %q (%s)", tc.kernel, tc.nm, got, src, tc.want, tc.src)
			}
		})
	}
}

// TestServiceAndCheckAgreeOnAllZeroPermanentAddress: a card whose kernel
// permanent address is all zero has no permanent address, for the service
// and check alike (the service used to take the zeros for the card's real
// address, check did not).
func TestServiceAndCheckAgreeOnAllZeroPermanentAddress(t *testing.T) {
	first := hw(t, "02:00:00:00:01:01")
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	m := newMachine(t, "")
	k := newFakeKernel(Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first, PermAddr: zero, Up: true})
	svc, _ := m.start(t, k)
	waitGate(t, svc, "veth1", gateSpoofed)
	real, src := realOf(t, svc, "veth1")
	if real != first.String() || src != realFromFirstSeen {
		t.Fatalf("service: real %s (%s), want the first-seen address %s", real, src, first)
	}
	b := &builder{s: &inspectSnapshot{BootState: &BootState{FirstSeen: map[string]FirstSeen{StateKey("veth1"): {Index: 7, Addr: first.String()}}}}}
	chw, csrc, _ := b.realAddress(&inspectDevice{name: "veth1", inKernel: true, link: Link{Index: 7, Name: "veth1", Addr: first, PermAddr: zero}})
	if chw.String() != real || csrc != src {
		t.Fatalf("check: real %s (%s), service %s (%s)", chw, csrc, real, src)
	}
}
