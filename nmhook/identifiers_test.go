// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// identsOf is every identifier property of the profile in memory and on
// disk, in text form ("-" unset).
func (f *fakeProfiles) identsOf(path dbus.ObjectPath) (mem, disk map[string]string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	mem, disk = map[string]string{}, map[string]string{}
	for _, i := range nm.Idents() {
		for _, x := range []struct {
			s   nm.Settings
			out map[string]string
		}{{f.mem[path], mem}, {f.disk[path], disk}} {
			v, ok := nm.IdentOf(x.s, i)
			if !ok {
				v = "-"
			}
			x.out[i.Name()] = v
		}
	}
	return mem, disk
}

func wantHidden(t *testing.T, name string, got map[string]string) {
	t.Helper()
	for _, i := range nm.Idents() {
		if !i.Hides(got[i.Name()], got[i.Name()] != "-") {
			t.Errorf("%s: %s = %s does not hide it", name, i.Name(), got[i.Name()])
		}
	}
}

// With the default policy (identifiers = "hide") the service gives every
// profile of a guarded card the identifier values that hide them, in memory
// only, before its address; a value that hides already (client id "none")
// is kept; a network under identifiers = "report" is left alone; a clean
// exit gives every profile its own values back.
func TestServiceHidesIdentifiersInMemory(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "wlan0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	f := newFakeProfiles()
	cafe := f.add("/p/1", "802-11-wireless", uuidCafe, "")
	f.mu.Lock()
	f.mem[dbus.ObjectPath(cafe.Path)]["ipv4"]["dhcp-client-id"] = dbus.MakeVariant("none")
	f.mem[dbus.ObjectPath(cafe.Path)]["ipv6"] = map[string]dbus.Variant{"method": dbus.MakeVariant("auto"), "addr-gen-mode": dbus.MakeVariant(int32(1)), "dhcp-duid": dbus.MakeVariant("lease")}
	f.disk[dbus.ObjectPath(cafe.Path)] = f.mem[dbus.ObjectPath(cafe.Path)]
	f.mu.Unlock()
	cafe = nm.ProfileFromSettings(dbus.ObjectPath(cafe.Path), f.mem[dbus.ObjectPath(cafe.Path)])
	acl := f.add("/p/2", "802-11-wireless", uuidACL, "preserve")
	statePath := filepath.Join(t.TempDir(), "state.json")
	svc, cancel, done := startServiceWith(t, k, f, statePath, "[[network]]\nuuid = \""+uuidACL+"\"\nidentifiers = \"report\"\n")
	waitGate(t, svc, "wlan0", gateSpoofed)
	ctx := context.Background()
	doIn(t, svc, func() {
		d := svc.devs["wlan0"]
		d.nmKnown, d.nm = true, nm.Device{Path: "/d/1", Interface: "wlan0", Type: "wifi", State: detect.StateDisconnected}
		svc.profiles = map[dbus.ObjectPath]nm.Profile{dbus.ObjectPath(cafe.Path): cafe, dbus.ObjectPath(acl.Path): acl}
		svc.syncProfiles(ctx, "test")
	})
	mem, disk := f.identsOf(dbus.ObjectPath(cafe.Path))
	wantHidden(t, "cafe in memory", mem)
	if mem["ipv4.dhcp-client-id"] != "none" {
		t.Errorf("cafe's own client id none (hides already) replaced by %s", mem["ipv4.dhcp-client-id"])
	}
	if disk["ipv4.dhcp-send-hostname"] != "-" || disk["ipv6.addr-gen-mode"] != "1" || disk["ipv6.dhcp-duid"] != "lease" {
		t.Errorf("cafe on disk changed: %v", disk)
	}
	if m, _ := f.cloned(dbus.ObjectPath(cafe.Path)); m == "" {
		t.Error("cafe got no address")
	}
	if mem, disk := f.identsOf(dbus.ObjectPath(acl.Path)); mem["ipv4.dhcp-send-hostname"] != "-" || mem["connection.mdns"] != "-" || len(mem) != len(disk) {
		t.Errorf("acl (identifiers = report) changed: %v", mem)
	}
	if st := loadBootOf(t, statePath); len(st.Identifiers) != 1 || st.Identifiers[0].UUID != uuidCafe {
		t.Errorf("state records %+v, want cafe's", st.Identifiers)
	}
	n := f.updates
	doIn(t, svc, func() { svc.syncProfiles(ctx, "again") })
	if f.updates != n {
		t.Errorf("nothing changed, yet %d more updates", f.updates-n)
	}

	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil
	mem, disk = f.identsOf(dbus.ObjectPath(cafe.Path))
	for k, v := range disk {
		if mem[k] != v {
			t.Errorf("cafe after exit: %s = %s in memory, own %s", k, mem[k], v)
		}
	}
	if st := loadBootOf(t, statePath); len(st.Identifiers) != 0 {
		t.Errorf("records left after a clean exit: %+v", st.Identifiers)
	}
}

// A profile saved by its user while it held the service's identifier values
// (and address) gets its own values back on disk in one write; the user's
// change stays. A run killed with records leaves them for the next start,
// which gives them back.
func TestIdentsSavedAndRecovered(t *testing.T) {
	ctx := context.Background()
	statePath := filepath.Join(t.TempDir(), "state.json")
	f := newFakeProfiles()
	cafe := f.add("/p/1", "802-3-ethernet", uuidCafe, "")
	acl := f.add("/p/2", "802-3-ethernet", uuidACL, "")
	m := testMem(t, statePath)
	for _, p := range []nm.Profile{cafe, acl} {
		changed, err := m.hideIdents(ctx, f, dbus.ObjectPath(p.Path), p.UUID)
		if err != nil || len(changed) != len(nm.Idents()) {
			t.Fatalf("hideIdents(%s) = %v, %v", p.UUID, changed, err)
		}
	}
	if err := m.set(ctx, f, dbus.ObjectPath(cafe.Path), cafe.UUID, "00:1b:21:12:34:56"); err != nil {
		t.Fatal(err)
	}
	f.save(dbus.ObjectPath(cafe.Path), "connection", "autoconnect-priority", int32(7))
	wrote, err := m.savedWithOurs(ctx, f, dbus.ObjectPath(cafe.Path), cafe.UUID)
	if err != nil || !wrote {
		t.Fatalf("saved profile: wrote %v, %v", wrote, err)
	}
	_, disk := f.identsOf(dbus.ObjectPath(cafe.Path))
	for k, v := range disk {
		if v != "-" {
			t.Errorf("cafe on disk: %s = %s, want its own (unset)", k, v)
		}
	}
	if _, d := f.cloned(dbus.ObjectPath(cafe.Path)); d != "" {
		t.Errorf("cafe's address on disk %q", d)
	}
	f.mu.Lock()
	prio := f.disk[dbus.ObjectPath(cafe.Path)]["connection"]["autoconnect-priority"].Value()
	f.mu.Unlock()
	if prio != int32(7) {
		t.Errorf("the user's change was lost: %v", prio)
	}
	// Killed now: acl's record stays for the next start.
	run2 := testMem(t, statePath)
	if len(run2.state.Identifiers) != 1 || run2.state.Identifiers[0].UUID != uuidACL {
		t.Fatalf("records %+v, want acl's", run2.state.Identifiers)
	}
	run2.recoverIdents(ctx, f, map[dbus.ObjectPath]nm.Profile{dbus.ObjectPath(cafe.Path): cafe, dbus.ObjectPath(acl.Path): acl})
	mem, disk := f.identsOf(dbus.ObjectPath(acl.Path))
	for k, v := range disk {
		if mem[k] != v {
			t.Errorf("acl after recovery: %s = %s, own %s", k, mem[k], v)
		}
	}
	if run3 := testMem(t, statePath); len(run3.state.Identifiers) != 0 {
		t.Errorf("records left: %+v", run3.state.Identifiers)
	}
}
