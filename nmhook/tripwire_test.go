// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// The service arms the tripwire of a guarded card with its real address,
// disarms it while the real address is wanted (a profile given it in
// memory for an exemption), and a tripped event in flight is refused with
// the subscription's reaction, its link left down.
func TestServiceArmsTripwireAndRefusesTripped(t *testing.T) {
	first := hw(t, "02:00:00:00:01:01")
	k := &trippedLinks{fakeKernel: newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first, Up: true}), armed: map[int]string{}}
	f := newFakeProfiles()
	p := f.add("/p/1", "802-3-ethernet", uuidCafe, "")
	dir := t.TempDir()
	svc, err := New(Config{
		PolicyFile: filepath.Join(dir, "policy.toml"), PolicyDir: filepath.Join(dir, "policy.d"), StatePath: filepath.Join(dir, "state.json"),
		Dial:  func() (*dbus.Conn, error) { return nil, errors.New("no bus in this test") },
		Links: k, Backstop: backstopView{k.fakeKernel}, profiles: f,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() { cancel(); <-done })
	waitGate(t, svc, "veth1", gateSpoofed)
	if got := k.armedFor(7); got != first.String() {
		t.Fatalf("armed %q for a spoofed card, want its real address %s", got, first)
	}
	doIn(t, svc, func() {
		d := svc.devs["veth1"]
		d.nmKnown, d.nm = true, nm.Device{Path: "/d/1", Interface: "veth1", Type: "veth", State: detect.StateDisconnected}
		svc.profiles = map[dbus.ObjectPath]nm.Profile{p.Path: p}
		svc.state.Exemptions = append(svc.state.Exemptions, policy.Exemption{UUID: uuidCafe, Scope: policy.ScopeAlways})
		svc.syncProfiles(context.Background(), "exemption")
	})
	if got := k.armedFor(7); got != "" {
		t.Fatalf("armed %q while a profile of the card carries the real address for an exempt network", got)
	}
	doIn(t, svc, func() {
		svc.state.Exemptions = nil
		svc.syncProfiles(context.Background(), "exemption forgotten")
		d := svc.devs["veth1"]
		d.nm.State = detect.StateActivated
		d.network = detect.Connection{UUID: "other", ID: "other"}
		svc.evaluate(context.Background(), d, "test", time.Now())
	})
	if got := k.armedFor(7); got != first.String() {
		t.Fatalf("armed %q after the exemption went, want %s", got, first)
	}

	// NetworkManager (or root) put the real address on the activated card;
	// the subscription took it down 123 µs after reading it.
	nCalls := len(k.Calls())
	k.mu.Lock()
	l := k.links["veth1"]
	l.Addr, l.Up = first, false
	k.links["veth1"] = l
	k.mu.Unlock()
	k.events <- links.Event{Link: l, Received: time.Now(), Tripped: true, TripReaction: 123 * time.Microsecond}
	var vs []api.Violation
	deadline := time.Now().Add(5 * time.Second)
	for len(vs) == 0 {
		if time.Now().After(deadline) {
			t.Fatal("no violation for a tripped link")
		}
		time.Sleep(5 * time.Millisecond)
		doIn(t, svc, func() { vs = slices.Clone(svc.violations) })
	}
	if vs[0].Action != "refused" || vs[0].Reaction != 123*time.Microsecond {
		t.Errorf("violation %+v, want refused with the subscription's reaction 123µs", vs[0])
	}
	if after := k.Calls()[nCalls:]; slices.ContainsFunc(after, func(c string) bool { return strings.HasPrefix(c, "up veth1 true") }) {
		t.Errorf("the refused card was brought up again: %v", after)
	}
}
