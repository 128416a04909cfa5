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
	return portalRunGen(t, d, at, conn, addr, "", conny, spoofed, exempt)
}

// portalRunGen is portalRun with the events in address generation gen.
func portalRunGen(t *testing.T, d *Detector, at time.Time, conn Connection, addr, gen string, conny uint32, spoofed, exempt bool) []Suspicion {
	t.Helper()
	base := Event{Device: "wlan0", Connection: conn, Address: addr, Real: realMAC, Spoofed: spoofed, Exempt: exempt, Carrier: true, Generation: gen}
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

// TestPortalForgetsAcrossRuns: the service keeps one private address per
// profile for a whole run (modes keep-vendor, vendor), so the address
// changes only with a new run, whose detector has no address to compare:
// the generation remembered from the earlier run (RememberPortal) is the
// evidence.
func TestPortalForgetsAcrossRuns(t *testing.T) {
	cafe := Connection{UUID: "5e0f3c1a-8a52-4c1e-9d7e-2f4b6a8c0d13", ID: "cafe", SSID: "cafe"}
	const addrA, addrB = "00:1b:21:33:44:55", "00:1b:21:cc:dd:ee"
	tests := []struct {
		name     string
		remember string // the generation of the earlier run's sighting ("" none)
		gen      string // this run's
		addr2    string // the address of this run's second sighting
		raise    bool
	}{
		{name: "a sighting of an earlier run, a new run", remember: "run-1", gen: "run-2", addr2: addrA, raise: true},
		{name: "a sighting of this run's generation", remember: "run-2", gen: "run-2", addr2: addrA},
		{name: "no generation (mode stable)", remember: "run-1", gen: "", addr2: addrA},
		{name: "nothing remembered", gen: "run-2", addr2: addrA},
		{name: "nothing remembered, the address changes within the run", gen: "run-2", addr2: addrB, raise: true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := New(DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			d.RememberPortal(cafe.UUID, tc.remember)
			got := portalRunGen(t, d, t0(), cafe, addrA, tc.gen, ConnectivityPortal, true, false)
			got = append(got, portalRunGen(t, d, t0().Add(time.Hour), cafe, tc.addr2, tc.gen, ConnectivityPortal, true, false)...)
			if !tc.raise {
				if len(got) != 0 {
					t.Fatalf("raised %+v; want nothing", got)
				}
				return
			}
			if len(got) != 1 || got[0].Kind != KindPortalForgets || got[0].Connection.UUID != cafe.UUID || len(got[0].Evidence) == 0 {
				t.Fatalf("raised %+v; want one portal-forgets for the cafe", got)
			}
			if tc.remember != "" && (len(got[0].Evidence) != 1 || got[0].FirstSeen.IsZero()) {
				t.Errorf("evidence %+v first seen %v: want this run's sighting only", got[0].Evidence, got[0].FirstSeen)
			}
		})
	}
	// A remembered generation does not replace a sighting of this run.
	d, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	portalRunGen(t, d, t0(), cafe, addrA, "run-2", ConnectivityPortal, true, false)
	d.RememberPortal(cafe.UUID, "run-1")
	if got := portalRunGen(t, d, t0().Add(time.Hour), cafe, addrA, "run-2", ConnectivityPortal, true, false); len(got) != 0 {
		t.Errorf("raised %+v after RememberPortal of an older run over this run's sighting", got)
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
