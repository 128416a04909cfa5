// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

const (
	uuidCafe = "0b3e5e2c-1111-4a4a-9b9b-000000000001"
	uuidACL  = "0b3e5e2c-1111-4a4a-9b9b-000000000002"
)

func TestWithClonedDropsDeprecatedAndSetsValue(t *testing.T) {
	f := newFakeProfiles()
	f.add("/p/1", "802-11-wireless", uuidCafe, "")
	s, _ := f.ProfileSettings(context.Background(), "/p/1")
	s["802-11-wireless"]["cloned-mac-address"] = dbus.MakeVariant([]byte{0, 0x1b, 0x21, 1, 2, 3})
	next, err := nm.WithCloned(s, "permanent")
	if err != nil {
		t.Fatal(err)
	}
	if got := nm.ClonedOf(next); got != "permanent" {
		t.Errorf("cloned = %q, want permanent", got)
	}
	if _, ok := next["802-11-wireless"]["cloned-mac-address"]; ok {
		t.Error("the deprecated byte form was sent back")
	}
	if _, ok := next["ipv4"]["addresses"]; ok {
		t.Error("ipv4.addresses (deprecated) was sent back")
	}
	if _, ok := s["ipv4"]["addresses"]; !ok {
		t.Error("WithCloned changed its input")
	}
	back, _ := nm.WithCloned(next, "")
	if got := nm.ClonedOf(back); got != "" {
		t.Errorf("cloned after removing = %q, want NM's default", got)
	}
	if _, err := nm.WithCloned(nm.Settings{"connection": {"type": dbus.MakeVariant("vpn")}}, "random"); err == nil {
		t.Error("a VPN profile was given a cloned MAC address")
	}
}

func testMem(t *testing.T, statePath string) inMemory {
	t.Helper()
	bs := loadBootOf(t, statePath)
	boot, _ := bootPaths(t, statePath)
	return inMemory{state: &bs.InMemoryChanges, log: slog.New(slog.NewTextHandler(io.Discard, nil)), save: func() error { return bs.Save(boot) }}
}

// bootPaths are the per-boot file and the boot id file the service tests
// keep beside statePath (the id file is written once: one boot per test).
func bootPaths(t *testing.T, statePath string) (boot, id string) {
	t.Helper()
	dir := filepath.Dir(statePath)
	boot, id = filepath.Join(dir, "boot.json"), filepath.Join(dir, "boot_id")
	if _, err := os.Stat(id); err != nil {
		if err := state.WriteFileAtomic(id, []byte("test-boot\n"), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return boot, id
}

// loadBootOf reads the per-boot file beside statePath.
func loadBootOf(t *testing.T, statePath string) *state.BootState {
	t.Helper()
	boot, id := bootPaths(t, statePath)
	bs, _, err := state.LoadBoot(boot, state.BootID(id))
	if err != nil {
		t.Fatal(err)
	}
	return bs
}

// The in-memory change is recorded in the state file before it is made;
// a run killed before it could undo it leaves the record, and the next
// start gives the profile its own value back. NetworkManager's copy on disk
// is never written.
func TestInMemoryChangeUndoneByNextStartAfterKill(t *testing.T) {
	ctx := context.Background()
	statePath := filepath.Join(t.TempDir(), "state.json")
	f := newFakeProfiles()
	cafe := f.add("/p/1", "802-11-wireless", uuidCafe, "")
	acl := f.add("/p/2", "802-3-ethernet", uuidACL, "preserve")
	saved := f.add("/p/3", "802-3-ethernet", "0b3e5e2c-1111-4a4a-9b9b-000000000003", "")

	run1 := testMem(t, statePath)
	if err := run1.set(ctx, f, dbus.ObjectPath(cafe.Path), cafe.UUID, "00:1b:21:12:34:56"); err != nil {
		t.Fatal(err)
	}
	if err := run1.set(ctx, f, dbus.ObjectPath(acl.Path), acl.UUID, "permanent"); err != nil {
		t.Fatal(err)
	}
	if err := run1.set(ctx, f, dbus.ObjectPath(saved.Path), saved.UUID, "random"); err != nil {
		t.Fatal(err)
	}
	// A second change keeps the first original.
	if err := run1.set(ctx, f, dbus.ObjectPath(cafe.Path), cafe.UUID, "00:1b:21:12:34:57"); err != nil {
		t.Fatal(err)
	}
	if mem, disk := f.cloned(dbus.ObjectPath(cafe.Path)); mem != "00:1b:21:12:34:57" || disk != "" {
		t.Fatalf("cafe: in memory %q on disk %q", mem, disk)
	}
	if mem, disk := f.cloned(dbus.ObjectPath(acl.Path)); mem != "permanent" || disk != "preserve" {
		t.Fatalf("acl: in memory %q on disk %q", mem, disk)
	}
	// Killed here: no undo. NetworkManager meanwhile reloaded "saved" from
	// disk (its /run copy gone), so it is no longer unsaved.
	f.mu.Lock()
	f.mem[dbus.ObjectPath(saved.Path)], f.unsaved[dbus.ObjectPath(saved.Path)] = f.disk[dbus.ObjectPath(saved.Path)], false
	f.mu.Unlock()

	run2 := testMem(t, statePath)
	if len(run2.state.InMemory) != 3 {
		t.Fatalf("the state file kept %d records, want 3: %+v", len(run2.state.InMemory), run2.state.InMemory)
	}
	if i, _ := run2.find(cafe.UUID); run2.state.InMemory[i].Original != "" {
		t.Fatalf("cafe's original recorded as %q, want NM's default", run2.state.InMemory[i].Original)
	}
	profiles := map[dbus.ObjectPath]nm.Profile{dbus.ObjectPath(cafe.Path): cafe, dbus.ObjectPath(acl.Path): acl, dbus.ObjectPath(saved.Path): saved}
	undone := run2.recover(ctx, f, profiles)
	if len(undone) != 2 {
		t.Errorf("undone %v, want cafe and acl", undone)
	}
	if mem, _ := f.cloned(dbus.ObjectPath(cafe.Path)); mem != "" {
		t.Errorf("cafe in memory after recovery: %q, want NM's default", mem)
	}
	if mem, _ := f.cloned(dbus.ObjectPath(acl.Path)); mem != "preserve" {
		t.Errorf("acl in memory after recovery: %q, want preserve", mem)
	}
	if mem, _ := f.cloned(dbus.ObjectPath(saved.Path)); mem != "" {
		t.Errorf("saved profile touched: %q", mem)
	}
	if run3 := testMem(t, statePath); len(run3.state.InMemory) != 0 {
		t.Errorf("records left after recovery: %+v", run3.state.InMemory)
	}
}

// A profile someone else changed since the service set its address is left
// as it is; a failed update leaves no record.
func TestInMemoryUndoLeavesOthersChanges(t *testing.T) {
	ctx := context.Background()
	statePath := filepath.Join(t.TempDir(), "state.json")
	f := newFakeProfiles()
	p := f.add("/p/1", "802-3-ethernet", uuidCafe, "")
	m := testMem(t, statePath)
	if err := m.set(ctx, f, dbus.ObjectPath(p.Path), p.UUID, "00:1b:21:12:34:56"); err != nil {
		t.Fatal(err)
	}
	s, _ := f.ProfileSettings(ctx, dbus.ObjectPath(p.Path))
	mine, _ := nm.WithCloned(s, "02:00:00:00:00:07")
	if err := f.UpdateInMemory(ctx, dbus.ObjectPath(p.Path), mine); err != nil {
		t.Fatal(err)
	}
	if err := m.undo(ctx, f, dbus.ObjectPath(p.Path), p.UUID); err != nil {
		t.Fatal(err)
	}
	if mem, _ := f.cloned(dbus.ObjectPath(p.Path)); mem != "02:00:00:00:00:07" {
		t.Errorf("someone else's value replaced: %q", mem)
	}
	q := f.add("/p/2", "802-3-ethernet", uuidACL, "")
	f.failUpd = true
	if err := m.set(ctx, f, dbus.ObjectPath(q.Path), q.UUID, "permanent"); err == nil {
		t.Fatal("set succeeded although NetworkManager refused the update")
	}
	if _, ok := m.find(q.UUID); ok {
		t.Error("a change NetworkManager refused was recorded")
	}
}

// startServiceWith runs a service with the fake kernel and fake profiles.
func startServiceWith(t *testing.T, k *fakeKernel, f *fakeProfiles, statePath, policyText string) (*Service, context.CancelFunc, chan error) {
	t.Helper()
	dir := t.TempDir()
	boot, id := bootPaths(t, statePath)
	pf := filepath.Join(dir, "policy.toml")
	if err := state.WriteFileAtomic(pf, []byte(policyText), 0o644); err != nil {
		t.Fatal(err)
	}
	svc, err := New(Config{
		PolicyFile: pf, PolicyDir: filepath.Join(dir, "policy.d"), StatePath: statePath,
		BootStatePath: boot, BootIDPath: id,
		Dial:  func() (*dbus.Conn, error) { return nil, errors.New("no bus in this test") },
		Links: k, Backstop: backstopView{k},
		Log:      slog.New(slog.NewTextHandler(io.Discard, nil)),
		profiles: f,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		<-done
	})
	return svc, cancel, done
}

func doIn(t *testing.T, svc *Service, fn func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.do(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

// The service gives each profile of a guarded card the policy's address in
// memory: a private one at rest, NetworkManager's "permanent" for the one
// network restored once, and a private one again after it; a clean exit
// gives every profile its own value back. A profile that sets a violating
// address of its own is not overridden (it stays blocked, as before).
func TestServiceGivesProfilesTheirAddressInMemory(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "wlan0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	f := newFakeProfiles()
	cafe := f.add("/p/1", "802-11-wireless", uuidCafe, "")
	acl := f.add("/p/2", "802-11-wireless", uuidACL, "preserve")
	bad := f.add("/p/3", "802-11-wireless", "0b3e5e2c-1111-4a4a-9b9b-000000000003", "permanent")
	statePath := filepath.Join(t.TempDir(), "state.json")
	svc, cancel, done := startServiceWith(t, k, f, statePath, "")
	waitGate(t, svc, "wlan0", gateSpoofed)
	ctx := context.Background()
	doIn(t, svc, func() {
		d := svc.devs["wlan0"]
		d.nmKnown, d.nm = true, nm.Device{Path: "/d/1", Interface: "wlan0", Type: "wifi", State: detect.StateDisconnected}
		svc.profiles = map[dbus.ObjectPath]nm.Profile{dbus.ObjectPath(cafe.Path): cafe, dbus.ObjectPath(acl.Path): acl, dbus.ObjectPath(bad.Path): bad}
		svc.syncProfiles(ctx, "test")
	})
	realP, _ := policy.FromHardwareAddr(real0)
	private := func(name string, path dbus.ObjectPath) string {
		t.Helper()
		mem, disk := f.cloned(path)
		m, err := policy.ParseMAC(mem)
		if err != nil {
			t.Fatalf("%s: in memory %q, want an explicit address", name, mem)
		}
		v := policy.Default().Evaluate(policy.Device{Interface: "wlan0", Type: "wifi", Current: m, Real: realP, RealKnown: true}, policy.Network{}, nil)
		if !v.Allowed {
			t.Fatalf("%s: %s is not compliant: %s", name, mem, v.Reason)
		}
		if want := nm.ClonedOf(f.disk[path]); disk != want {
			t.Fatalf("%s: disk changed to %q", name, disk)
		}
		return mem
	}
	cafeAddr := private("cafe", dbus.ObjectPath(cafe.Path))
	aclAddr := private("acl", dbus.ObjectPath(acl.Path))
	if cafeAddr == aclAddr {
		t.Errorf("two networks share the address %s", cafeAddr)
	}
	// The records are in the per-boot file (/run), and the private
	// addresses never in the state file on disk.
	disk, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	for _, a := range []string{cafeAddr, aclAddr} {
		if strings.Contains(strings.ToLower(string(disk)), strings.ToLower(a)) {
			t.Errorf("the state file on disk holds the private address %s:\n%s", a, disk)
		}
	}
	if st := loadBootOf(t, statePath); len(st.InMemory) != 2 {
		t.Errorf("per-boot records %+v, want cafe's and acl's", st.InMemory)
	}
	if mem, _ := f.cloned(dbus.ObjectPath(bad.Path)); mem != "permanent" {
		t.Errorf("a profile the gate refuses was overridden: %q", mem)
	}
	n := f.updates
	doIn(t, svc, func() { svc.syncProfiles(ctx, "again") })
	if f.updates != n {
		t.Errorf("nothing changed, yet %d more updates", f.updates-n)
	}

	// Restore once on acl: NetworkManager's "permanent" for it alone.
	doIn(t, svc, func() {
		svc.onceEx = append(svc.onceEx, policy.Exemption{Interface: "wlan0", UUID: uuidACL, Scope: policy.ScopeOnce})
		svc.syncProfiles(ctx, "restore")
	})
	if mem, _ := f.cloned(dbus.ObjectPath(acl.Path)); mem != "permanent" {
		t.Fatalf("acl restored once: in memory %q, want permanent", mem)
	}
	if mem, _ := f.cloned(dbus.ObjectPath(cafe.Path)); mem != cafeAddr {
		t.Fatalf("cafe changed by acl's restore: %q", mem)
	}
	// The connection ends: private again.
	doIn(t, svc, func() { svc.endOnce(svc.devs["wlan0"]) })
	if got := private("acl after once", dbus.ObjectPath(acl.Path)); got == "" {
		t.Fatal("unreachable")
	}

	// Clean exit: every profile gets its own value back.
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	done <- nil // for the cleanup
	for _, p := range []nm.Profile{cafe, acl, bad} {
		if mem, disk := f.cloned(dbus.ObjectPath(p.Path)); mem != disk {
			t.Errorf("%s after exit: in memory %q, own %q", p.UUID, mem, disk)
		}
	}
	if st := loadBootOf(t, statePath); len(st.InMemory) != 0 {
		t.Errorf("records left after a clean exit: %+v", st.InMemory)
	}
}

// Ethernet gets the same, and "permanent" becomes the explicit real address
// on a card NetworkManager knows no permanent address of (veth).
func TestServiceRealAddressExplicitWithoutPermanent(t *testing.T) {
	first := hw(t, "02:00:00:00:01:01")
	k := newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first})
	f := newFakeProfiles()
	p := f.add("/p/1", "802-3-ethernet", uuidCafe, "")
	svc, _, _ := startServiceWith(t, k, f, filepath.Join(t.TempDir(), "state.json"),
		"[[network]]\nuuid = \""+uuidCafe+"\"\nmode = \"permanent\"\n")
	waitGate(t, svc, "veth1", gateSpoofed)
	doIn(t, svc, func() {
		d := svc.devs["veth1"]
		d.nmKnown, d.nm = true, nm.Device{Path: "/d/1", Interface: "veth1", Type: "veth", State: detect.StateDisconnected}
		svc.profiles = map[dbus.ObjectPath]nm.Profile{dbus.ObjectPath(p.Path): p}
		svc.syncProfiles(context.Background(), "test")
	})
	if mem, _ := f.cloned(dbus.ObjectPath(p.Path)); mem != first.String() {
		t.Fatalf("in memory %q, want the explicit real address %s", mem, first)
	}
}

// An earlier version kept the in-memory records in the state file on disk:
// the next start moves them to the per-boot file (to be given back as
// usual) and writes the state file without them.
func TestLegacyInMemoryRecordsLeaveTheDisk(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "wlan0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	f := newFakeProfiles()
	statePath := filepath.Join(t.TempDir(), "state.json")
	old, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	const set = "00:1b:21:5e:77:01"
	old.LegacyInMemory = []state.InMemoryChange{{UUID: uuidCafe, Original: "", Set: set}}
	old.LegacyIdentifiers = []state.IdentChange{{UUID: uuidACL, Keys: []state.IdentKeyChange{{Key: "connection.mdns", Set: "0"}}}}
	if err := old.Save(statePath); err != nil {
		t.Fatal(err)
	}
	svc, _, _ := startServiceWith(t, k, f, statePath, "")
	waitGate(t, svc, "wlan0", gateSpoofed)
	disk, err := os.ReadFile(statePath)
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(string(disk), set) || strings.Contains(string(disk), "in_memory") || strings.Contains(string(disk), "identifiers") {
		t.Errorf("the state file still holds the in-memory records:\n%s", disk)
	}
	bs := loadBootOf(t, statePath)
	if len(bs.InMemory) != 1 || bs.InMemory[0].Set != set || len(bs.Identifiers) != 1 || bs.Identifiers[0].UUID != uuidACL {
		t.Errorf("per-boot records %+v %+v, want the legacy ones", bs.InMemory, bs.Identifiers)
	}
}
