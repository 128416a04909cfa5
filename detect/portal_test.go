// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"testing"
	"time"
)

// portalRun feeds one connection of the cafe network: PREPARE ...
// ACTIVATED with addr, then NetworkManager's connectivity check reporting
// conn (a connectivity event), then a disconnect.
func portalRun(t *testing.T, d *Detector, at time.Time, conn Connection, addr string, conny uint32, spoofed, exempt bool) []Suspicion {
	t.Helper()
	base := Event{Device: "wlan0", Connection: conn, Address: addr, Real: realMAC, Spoofed: spoofed, Exempt: exempt, Carrier: true}
	var out []Suspicion
	old := StateDisconnected
	for i, st := range []uint32{StatePrepare, StateConfig, StateIPConfig, StateIPCheck, StateActivated} {
		ev := base
		ev.Time, ev.State, ev.Old = at.Add(time.Duration(i)*time.Second), st, old
		old = st
		out = append(out, d.Feed(ev)...)
	}
	ev := base
	ev.Time, ev.State, ev.Old, ev.Connectivity, ev.ConnectivityChange = at.Add(10*time.Second), StateActivated, StateActivated, conny, true
	out = append(out, d.Feed(ev)...)
	ev = base
	ev.Time, ev.State, ev.Old, ev.Reason = at.Add(60*time.Second), StateDisconnected, StateActivated, ReasonUserRequested
	out = append(out, d.Feed(ev)...)
	return out
}

func TestPortalForgets(t *testing.T) {
	cafe := Connection{UUID: "5e0f3c1a-8a52-4c1e-9d7e-2f4b6a8c0d13", ID: "cafe", SSID: "cafe"}
	other := Connection{UUID: "0b7e4f7c-6a40-4f55-8a7e-0c1d2e3f4a5b", ID: "library", SSID: "library"}
	const addrA, addrB = "02:11:22:33:44:55", "06:aa:bb:cc:dd:ee"
	tests := []struct {
		name  string
		runs  func(t *testing.T, d *Detector) []Suspicion
		raise bool
	}{
		{name: "portal again with a new private address", raise: true, runs: func(t *testing.T, d *Detector) []Suspicion {
			out := portalRun(t, d, t0(), cafe, addrA, ConnectivityPortal, true, false)
			return append(out, portalRun(t, d, t0().Add(2*time.Hour), cafe, addrB, ConnectivityPortal, true, false)...)
		}},
		{name: "portal again with the same private address", runs: func(t *testing.T, d *Detector) []Suspicion {
			out := portalRun(t, d, t0(), cafe, addrA, ConnectivityPortal, true, false)
			return append(out, portalRun(t, d, t0().Add(time.Hour), cafe, addrA, ConnectivityPortal, true, false)...)
		}},
		{name: "portal once, then full", runs: func(t *testing.T, d *Detector) []Suspicion {
			out := portalRun(t, d, t0(), cafe, addrA, ConnectivityPortal, true, false)
			return append(out, portalRun(t, d, t0().Add(time.Hour), cafe, addrB, ConnectivityFull, true, false)...)
		}},
		{name: "portal on two different networks", runs: func(t *testing.T, d *Detector) []Suspicion {
			out := portalRun(t, d, t0(), cafe, addrA, ConnectivityPortal, true, false)
			return append(out, portalRun(t, d, t0().Add(time.Hour), other, addrB, ConnectivityPortal, true, false)...)
		}},
		{name: "the second time with the real address", runs: func(t *testing.T, d *Detector) []Suspicion {
			out := portalRun(t, d, t0(), cafe, addrA, ConnectivityPortal, true, false)
			return append(out, portalRun(t, d, t0().Add(time.Hour), cafe, realMAC, ConnectivityPortal, false, false)...)
		}},
		{name: "exempt network", runs: func(t *testing.T, d *Detector) []Suspicion {
			out := portalRun(t, d, t0(), cafe, addrA, ConnectivityPortal, true, true)
			return append(out, portalRun(t, d, t0().Add(time.Hour), cafe, addrB, ConnectivityPortal, true, true)...)
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			got := tc.runs(t, d)
			if !tc.raise {
				if len(got) != 0 || len(d.Pending()) != 0 {
					t.Fatalf("raised %+v, pending %+v; want nothing", got, d.Pending())
				}
				return
			}
			if len(got) != 1 {
				t.Fatalf("raised %d suspicions, want 1: %+v", len(got), got)
			}
			sp := got[0]
			if sp.Kind != KindPortalForgets || sp.Kind.Rejects() || sp.Connection.UUID != cafe.UUID || sp.Device != "wlan0" ||
				len(sp.Evidence) != 2 || sp.Evidence[0].Address != addrA || sp.Evidence[1].Address != addrB {
				t.Errorf("suspicion = %+v", sp)
			}
			// Pending until the user acts or the network works: the
			// disconnect after it does not end it.
			if p := d.Pending(); len(p) != 1 || p[0].ID != sp.ID {
				t.Errorf("pending = %+v, want the portal suspicion", p)
			}
			d.Resolve("wlan0", cafe.UUID)
			if p := d.Pending(); len(p) != 0 {
				t.Errorf("pending after Resolve = %+v", p)
			}
		})
	}
}

func TestKindRejects(t *testing.T) {
	for _, k := range []Kind{KindAuthLoop, KindAuthFailure, KindDHCPFailure, KindAssociationTimeout, KindAuthRejected} {
		if !k.Rejects() {
			t.Errorf("%s.Rejects() = false", k)
		}
	}
	if KindPortalForgets.Rejects() {
		t.Error("portal-forgets.Rejects() = true")
	}
}
