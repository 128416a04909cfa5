// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"net"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
)

// TestServiceAndCheckAgreeOnAllZeroPermanentAddress: a card whose kernel
// permanent address is all zero has no permanent address, for the service
// and check alike (the service used to take the zeros for the card's real
// address, check did not).
func TestServiceAndCheckAgreeOnAllZeroPermanentAddress(t *testing.T) {
	first := hw(t, "02:00:00:00:01:01")
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	m := newMachine(t, "")
	k := newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first, PermAddr: zero, Up: true})
	svc, _ := m.start(t, k)
	waitGate(t, svc, "veth1", gateSpoofed)
	real, src := realOf(t, svc, "veth1")
	if real != first.String() || src != gate.RealFromFirstSeen {
		t.Fatalf("service: real %s (%s), want the first-seen address %s", real, src, first)
	}
	bs := &state.BootState{FirstSeen: map[string]state.FirstSeen{state.Key("veth1"): {Index: 7, Addr: first.String()}}}
	chw, csrc, _ := inspect.RealAddress(links.Link{Index: 7, Name: "veth1", Addr: first, PermAddr: zero}, true, "", bs)
	if chw.String() != real || csrc != src {
		t.Fatalf("check: real %s (%s), service %s (%s)", chw, csrc, real, src)
	}
}
