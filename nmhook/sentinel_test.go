// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
)

// The loop arms the sentinel with the real address of a spoofed card, not
// while the hold lasts nor while a profile of the card carries the real
// address in memory (an exempt network); a trip is taken once, only for a
// link down with the real address, and dropped when the card is disarmed,
// so no later evaluate can act on it.
func TestSentinelArmingAndTrips(t *testing.T) {
	first := hw(t, "02:00:00:00:01:01")
	k := newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first, Up: true})
	f := newFakeProfiles()
	p := f.add("/p/1", "802-3-ethernet", uuidCafe, "")
	svc, _, _ := startServiceWith(t, k, f, filepath.Join(t.TempDir(), "state.json"), "")
	waitGate(t, svc, "veth1", gateSpoofed)
	armed := func() string { return (*svc.sentinel.armed.Load())[7] }
	doIn(t, svc, func() {
		svc.sentinel = newSentinel()
		svc.rearm()
	})
	if got := armed(); got != first.String() {
		t.Fatalf("armed %q for a spoofed card, want its real address %s", got, first)
	}

	doIn(t, svc, func() {
		svc.held = true
		svc.rearm()
	})
	if got := armed(); got != "" {
		t.Errorf("armed %q during the hold (the hold keeps the card down itself)", got)
	}
	doIn(t, svc, func() {
		svc.held = false
		d := svc.devs["veth1"]
		d.nmKnown, d.nm = true, nm.Device{Path: "/d/1", Interface: "veth1", Type: "veth"}
		svc.profiles = map[dbus.ObjectPath]nm.Profile{dbus.ObjectPath(p.Path): p}
		svc.boot.InMemory = []state.InMemoryChange{{UUID: uuidCafe, Set: first.String()}}
		svc.rearm()
	})
	if got := armed(); got != "" {
		t.Errorf("armed %q while a profile of the card carries the real address in memory", got)
	}
	doIn(t, svc, func() {
		svc.boot.InMemory = nil
		svc.rearm()
	})
	if got := armed(); got != first.String() {
		t.Fatalf("armed %q after the real address is no longer wanted", got)
	}

	// A trip: taken once, for the link down with the real address.
	record := func() {
		svc.sentinel.mu.Lock()
		svc.sentinel.trips[7] = []trip{{at: time.Now(), reaction: 123 * time.Microsecond}}
		svc.sentinel.mu.Unlock()
	}
	var fd fastDown
	var ok, again bool
	doIn(t, svc, func() {
		record()
		d := svc.devs["veth1"]
		d.link.Addr, d.link.Up = first, true
		if _, up := svc.tripOf(d); up {
			t.Error("a trip was taken for a link that is up")
		}
		record()
		d.link.Up = false
		fd, ok = svc.tripOf(d)
		_, again = svc.tripOf(d)
	})
	if !ok || !fd.done || fd.reaction != 123*time.Microsecond || again {
		t.Errorf("trip %+v taken %t, again %t; want it once, with the sentinel's reaction", fd, ok, again)
	}
	doIn(t, svc, func() {
		record()
		svc.held = true
		svc.rearm() // disarmed: the pending trip goes
		svc.held = false
		d := svc.devs["veth1"]
		_, ok = svc.tripOf(d)
	})
	if ok {
		t.Error("a trip outlived the card's disarming")
	}
}
