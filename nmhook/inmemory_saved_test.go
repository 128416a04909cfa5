// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// A user who saves a profile while it holds the service's address in memory
// (nmcli connection modify of another property writes the whole profile)
// would put that address in the keyfile for good: the service writes the
// profile's own value back to disk, keeps the user's change, and drops its
// record (the caller gives the address in memory again). An unsaved profile,
// or one saved with a value of the user's own, is left as it is.
func TestInMemorySavedWithOursGivesOwnValueBackOnDisk(t *testing.T) {
	ctx := context.Background()
	statePath := filepath.Join(t.TempDir(), "state.json")
	f := newFakeProfiles()
	cafe := f.add("/p/1", "802-11-wireless", uuidCafe, "")
	acl := f.add("/p/2", "802-3-ethernet", uuidACL, "preserve")
	m := testMem(t, statePath)
	if err := m.set(ctx, f, dbus.ObjectPath(cafe.Path), cafe.UUID, "00:1b:21:12:34:56"); err != nil {
		t.Fatal(err)
	}
	if err := m.set(ctx, f, dbus.ObjectPath(acl.Path), acl.UUID, "permanent"); err != nil {
		t.Fatal(err)
	}
	// Not saved: nothing to do.
	if wrote, err := m.savedWithOurs(ctx, f, dbus.ObjectPath(cafe.Path), cafe.UUID); err != nil || wrote {
		t.Fatalf("unsaved profile: wrote %v, %v", wrote, err)
	}
	f.save(dbus.ObjectPath(cafe.Path), "connection", "autoconnect-priority", int32(7))
	if _, disk := f.cloned(dbus.ObjectPath(cafe.Path)); disk != "00:1b:21:12:34:56" {
		t.Fatalf("the fake did not save the in-memory address: %q", disk)
	}
	wrote, err := m.savedWithOurs(ctx, f, dbus.ObjectPath(cafe.Path), cafe.UUID)
	if err != nil || !wrote {
		t.Fatalf("saved profile: wrote %v, %v", wrote, err)
	}
	if mem, disk := f.cloned(dbus.ObjectPath(cafe.Path)); mem != "" || disk != "" {
		t.Errorf("cafe in memory %q, on disk %q: want its own (NM's default) on disk", mem, disk)
	}
	f.mu.Lock()
	prio := f.disk[dbus.ObjectPath(cafe.Path)]["connection"]["autoconnect-priority"].Value()
	f.mu.Unlock()
	if prio != int32(7) {
		t.Errorf("the user's change was lost: autoconnect-priority %v", prio)
	}
	if _, ok := m.find(cafe.UUID); ok {
		t.Error("record kept after the profile was written back")
	}
	if run2 := testMem(t, statePath); len(run2.state.InMemory) != 1 {
		t.Errorf("state file records %+v, want acl's only", run2.state.InMemory)
	}

	// Saved by the user with a value of their own: theirs.
	s, _ := f.ProfileSettings(ctx, dbus.ObjectPath(acl.Path))
	theirs, _ := nm.WithCloned(s, "02:00:00:00:00:09")
	if err := f.UpdateToDisk(ctx, dbus.ObjectPath(acl.Path), theirs); err != nil {
		t.Fatal(err)
	}
	if wrote, err := m.savedWithOurs(ctx, f, dbus.ObjectPath(acl.Path), acl.UUID); err != nil || wrote {
		t.Fatalf("profile saved with the user's own value: wrote %v, %v", wrote, err)
	}
	if _, disk := f.cloned(dbus.ObjectPath(acl.Path)); disk != "02:00:00:00:00:09" {
		t.Errorf("the user's own value replaced on disk: %q", disk)
	}
}

// The service was killed, then the user saved a profile holding the address
// it set ("permanent" of a restore): the next start writes the profile's own
// value back to disk instead of only dropping the record.
func TestInMemoryRecoverFixesProfileSavedAfterKill(t *testing.T) {
	ctx := context.Background()
	statePath := filepath.Join(t.TempDir(), "state.json")
	f := newFakeProfiles()
	acl := f.add("/p/2", "802-11-wireless", uuidACL, "")
	run1 := testMem(t, statePath)
	if err := run1.set(ctx, f, dbus.ObjectPath(acl.Path), acl.UUID, "permanent"); err != nil {
		t.Fatal(err)
	}
	// Killed; the user saves acl.
	f.save(dbus.ObjectPath(acl.Path), "connection", "autoconnect-priority", int32(3))
	run2 := testMem(t, statePath)
	if undone := run2.recover(ctx, f, map[dbus.ObjectPath]nm.Profile{dbus.ObjectPath(acl.Path): acl}); len(undone) != 1 {
		t.Errorf("undone %v, want acl", undone)
	}
	if _, disk := f.cloned(dbus.ObjectPath(acl.Path)); disk != "" {
		t.Errorf("acl on disk after recovery: %q, want its own (NM's default)", disk)
	}
	if len(run2.state.InMemory) != 0 {
		t.Errorf("records left: %+v", run2.state.InMemory)
	}
}
