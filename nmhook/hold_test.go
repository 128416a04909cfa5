// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
)

func TestCmdlineOptions(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		in      string
		hold    bool
		spoof   *bool
		wantErr bool
	}{
		{"quiet splash", false, nil, false},
		{"root=/dev/sda1 mac-nmguard.hold=1", true, nil, false},
		{"mac-nmguard.hold=0", false, nil, false},
		{"mac-nmguard.spoof=0", false, &no, false},
		{"mac-nmguard.hold=1 mac-nmguard.spoof=1", true, &yes, false},
		{"mac-nmguard.hold=maybe", false, nil, true},
		{"mac-nmguard.spoof=", false, nil, true},
	}
	for _, tc := range tests {
		hold, spoof, err := cmdlineOptions(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%q: err %v, want error %t", tc.in, err, tc.wantErr)
			continue
		}
		if err != nil {
			continue
		}
		if hold != tc.hold || (spoof == nil) != (tc.spoof == nil) || (spoof != nil && *spoof != *tc.spoof) {
			t.Errorf("%q: hold %t spoof %v, want %t %v", tc.in, hold, spoof, tc.hold, tc.spoof)
		}
	}
}

func TestServiceHoldThenDecide(t *testing.T) {
	for _, spoof := range []bool{true, false} {
		real0 := hw(t, "00:1b:21:aa:bb:00")
		k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
		svc := startService(t, k, "hold = true\n")
		waitGate(t, svc, "eth0", gateHeld)
		if r := k.List2()["eth0"]; !r.Hold {
			t.Fatalf("held device has backstop rule %+v, want drop-all", r)
		}
		if l, _ := k.Get("eth0"); l.Up || l.Addr.String() != real0.String() {
			t.Fatalf("held device: up=%t addr=%s, want down and untouched", l.Up, l.Addr)
		}
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		if err := svc.do(ctx, func() { svc.setSpoofing(ctx, spoof, "test") }); err != nil {
			t.Fatal(err)
		}
		cancel()
		l, _ := k.Get("eth0")
		r, guarded := k.List2()["eth0"]
		if spoof {
			if l.Addr.String() == real0.String() || !l.Up || !guarded || r.Hold || r.Real.String() != real0.String() {
				t.Fatalf("decision spoof: addr %s up %t rule %+v", l.Addr, l.Up, r)
			}
		} else {
			if l.Addr.String() != real0.String() || !l.Up || guarded {
				t.Fatalf("decision no-spoof: addr %s up %t rule %+v (want real, up, no rule)", l.Addr, l.Up, r)
			}
		}
	}
}

func TestServiceHoldTimeoutResolvesToSpoof(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	svc := startService(t, k, "hold = true\nhold_timeout = \"200ms\"\n")
	addr := waitGate(t, svc, "eth0", gateSpoofed)
	if addr == real0.String() {
		t.Fatal("timeout resolved but the real address is still set")
	}
}
