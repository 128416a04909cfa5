// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// A profile that sets the real address of its own is made unavailable to
// NetworkManager, in memory only, with one violation that names it; saved
// with the mark by the user, it is written back to disk without it; allowed
// by an exemption, it is available again; fixed, too; a clean exit takes
// every mark off; a start after a crash takes off a mark no longer wanted.
func TestServiceMakesViolatingProfilesUnavailable(t *testing.T) {
	first := hw(t, "02:00:00:00:01:01")
	k := newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first, Up: true})
	f := newFakeProfiles()
	bad := f.add("/p/1", "802-3-ethernet", uuidCafe, first.String())
	good := f.add("/p/2", "802-3-ethernet", uuidACL, "")
	statePath := filepath.Join(t.TempDir(), "state.json")
	svc, cancel, done := startServiceWith(t, k, f, statePath, "")
	waitGate(t, svc, "veth1", gateSpoofed)
	ctx := context.Background()
	marked := func(path dbus.ObjectPath) (mem, disk bool) {
		f.mu.Lock()
		defer f.mu.Unlock()
		return nm.HasRefusalTerm(f.mem[path]), nm.HasRefusalTerm(f.disk[path])
	}
	sync := func(why string) {
		t.Helper()
		doIn(t, svc, func() {
			for path := range svc.profiles {
				s, _ := f.ProfileSettings(ctx, path)
				svc.profiles[path] = nm.ProfileFromSettings(path, s)
			}
			svc.syncProfiles(ctx, why)
		})
	}
	doIn(t, svc, func() {
		d := svc.devs["veth1"]
		d.nmKnown, d.nm = true, nm.Device{Path: "/d/1", Interface: "veth1", Type: "veth", State: detect.StateDisconnected}
		svc.profiles = map[dbus.ObjectPath]nm.Profile{dbus.ObjectPath(bad.Path): bad, dbus.ObjectPath(good.Path): good}
	})
	sync("test")
	if mem, disk := marked(dbus.ObjectPath(bad.Path)); !mem || disk {
		t.Fatalf("violating profile: marked in memory %t, on disk %t; want memory only", mem, disk)
	}
	if mem, _ := marked(dbus.ObjectPath(good.Path)); mem {
		t.Fatal("a profile that complies was made unavailable")
	}
	var vs []api.Violation
	doIn(t, svc, func() { vs = slices.Clone(svc.violations) })
	if len(vs) != 1 || vs[0].Action != "refused" || vs[0].Device != "veth1" ||
		!strings.Contains(vs[0].Reason, `profile "p-0b3e"`) || !strings.Contains(vs[0].Reason, "cloned-mac-address="+first.String()) ||
		!strings.Contains(vs[0].Reason, nm.RefusalTerm) {
		t.Fatalf("violations %+v; want one refusal naming the profile, its address and the mark", vs)
	}
	n := f.updates
	sync("again")
	if f.updates != n {
		t.Errorf("nothing changed, yet %d more updates", f.updates-n)
	}
	doIn(t, svc, func() { vs = slices.Clone(svc.violations) })
	if len(vs) != 1 {
		t.Errorf("the same mark reported %d times", len(vs))
	}

	// NetworkManager restarted: it read the profile from disk and forgot
	// the mark. Marked again, but the same refusal: no second violation.
	f.mu.Lock()
	f.mem[dbus.ObjectPath(bad.Path)] = nm.WithRefusal(f.mem[dbus.ObjectPath(bad.Path)], false)
	f.mu.Unlock()
	doIn(t, svc, func() {
		p := svc.profiles[dbus.ObjectPath(bad.Path)]
		p.Unavailable = false
		svc.profiles[dbus.ObjectPath(bad.Path)] = p
	})
	sync("NetworkManager restarted")
	if mem, _ := marked(dbus.ObjectPath(bad.Path)); !mem {
		t.Fatal("not marked again after NetworkManager forgot the mark")
	}
	doIn(t, svc, func() { vs = slices.Clone(svc.violations) })
	if len(vs) != 1 {
		t.Errorf("a mark NetworkManager forgot and the service put back reported as %d violations, want 1", len(vs))
	}

	// Saved by the user with the mark (nmcli connection modify): written
	// back to disk without it, the user's change kept, marked in memory.
	f.save(dbus.ObjectPath(bad.Path), "connection", "autoconnect-priority", int32(5))
	sync("saved")
	if mem, disk := marked(dbus.ObjectPath(bad.Path)); !mem || disk {
		t.Fatalf("saved profile: marked in memory %t, on disk %t; want memory only", mem, disk)
	}
	f.mu.Lock()
	prio, _ := f.disk[dbus.ObjectPath(bad.Path)]["connection"]["autoconnect-priority"].Value().(int32)
	f.mu.Unlock()
	if prio != 5 {
		t.Errorf("the user's change was lost on disk: autoconnect-priority %d", prio)
	}

	// Allowed by an exemption: available; the exemption forgotten: not.
	doIn(t, svc, func() {
		svc.state.Exemptions = append(svc.state.Exemptions, policy.Exemption{UUID: uuidCafe, Scope: policy.ScopeAlways})
	})
	sync("exemption")
	if mem, _ := marked(dbus.ObjectPath(bad.Path)); mem {
		t.Fatal("a profile allowed the real address stays unavailable")
	}
	doIn(t, svc, func() { svc.state.Exemptions = nil })
	sync("exemption forgotten")
	if mem, _ := marked(dbus.ObjectPath(bad.Path)); !mem {
		t.Fatal("not marked again after the exemption is forgotten")
	}

	// Fixed (the user's cloned-mac-address=preserve, in memory): available.
	f.mu.Lock()
	fixed := nm.WithRefusal(f.mem[dbus.ObjectPath(bad.Path)], true) // a copy, marked as it is
	fixed["802-3-ethernet"] = map[string]dbus.Variant{"assigned-mac-address": dbus.MakeVariant("preserve")}
	f.mem[dbus.ObjectPath(bad.Path)] = fixed
	f.mu.Unlock()
	sync("fixed")
	if mem, _ := marked(dbus.ObjectPath(bad.Path)); mem {
		t.Fatal("a fixed profile stays unavailable")
	}

	// Clean exit: no mark left.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the cleanup
	if mem, _ := marked(dbus.ObjectPath(bad.Path)); mem {
		t.Fatal("the mark survived a clean exit")
	}

	// A crash left a mark on a profile that complies by now: the next
	// start takes it off.
	f.mu.Lock()
	left := nm.WithRefusal(f.mem[dbus.ObjectPath(good.Path)], true)
	f.mem[dbus.ObjectPath(good.Path)] = left
	f.mu.Unlock()
	svc2, _, _ := startServiceWith(t, k, f, statePath, "")
	// The same boot: the per-boot file knows veth1's real address, and
	// the private address the first run set still complies.
	waitGate(t, svc2, "veth1", gateAllowed)
	doIn(t, svc2, func() {
		d := svc2.devs["veth1"]
		d.nmKnown, d.nm = true, nm.Device{Path: "/d/1", Interface: "veth1", Type: "veth", State: detect.StateDisconnected}
		svc2.profiles = map[dbus.ObjectPath]nm.Profile{dbus.ObjectPath(good.Path): nm.ProfileFromSettings(dbus.ObjectPath(good.Path), left)}
		svc2.syncProfiles(ctx, "resync")
	})
	if mem, _ := marked(dbus.ObjectPath(good.Path)); mem {
		t.Fatal("a mark a crashed run left on a compliant profile was kept")
	}
}

// A profile with no interface-name that violates on one card only (a
// device rule keeps the other card's real address) is kept from that card
// only: NetworkManager may still activate it on the other (issue 18). When
// it violates on both, it is kept from every device again.
func TestServiceMarksProfileUnavailableOnlyWhereItViolates(t *testing.T) {
	first, second := hw(t, "02:00:00:00:01:01"), hw(t, "02:00:00:00:02:01")
	k := newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first, Up: true},
		links.Link{Index: 8, Name: "veth2", Kind: "veth", Addr: second, Up: true})
	f := newFakeProfiles()
	bad := f.add("/p/1", "802-3-ethernet", uuidCafe, "permanent")
	badPath := dbus.ObjectPath(bad.Path)
	const keepSecond = "[[device]]\nname = \"dock\"\ninterface = \"veth2\"\nmode = \"permanent\"\n"
	svc, _, _ := startServiceWith(t, k, f, filepath.Join(t.TempDir(), "state.json"), keepSecond)
	waitGate(t, svc, "veth1", gateSpoofed)
	ctx := context.Background()
	mark := func() nm.Refusal {
		f.mu.Lock()
		defer f.mu.Unlock()
		return nm.RefusalOf(f.mem[badPath])
	}
	doIn(t, svc, func() {
		for i, name := range []string{"veth1", "veth2"} {
			d := svc.devs[name]
			d.nmKnown, d.nm = true, nm.Device{Path: dbus.ObjectPath("/d/" + string(rune('1'+i))), Interface: name, Type: "veth", State: detect.StateDisconnected}
		}
		svc.profiles = map[dbus.ObjectPath]nm.Profile{badPath: bad}
		svc.syncProfiles(ctx, "test")
	})
	if got, want := mark(), (nm.Refusal{On: []string{"veth1"}}); !got.Equal(want) {
		t.Fatalf("mark %+v; want it on veth1 only (the profile keeps veth2's real address, as its device rule wants)", got)
	}
	var vs []api.Violation
	doIn(t, svc, func() { vs = slices.Clone(svc.violations) })
	if len(vs) != 1 || vs[0].Device != "veth1" || !strings.Contains(vs[0].Reason, "on veth1") {
		t.Fatalf("violations %+v; want one refusal on veth1", vs)
	}

	// The device rule gone: the profile violates on both cards, and is
	// kept from every device.
	doIn(t, svc, func() {
		svc.pol.Devices = nil
		svc.syncProfiles(ctx, "policy")
	})
	if got := mark(); !got.All {
		t.Fatalf("mark %+v; want it on every device", got)
	}
}
