// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

func nocSignal(sender string, path dbus.ObjectPath, name, old, owner string) *dbus.Signal {
	return &dbus.Signal{Sender: sender, Path: path, Name: dbusBusName + "." + nameOwnerChanged, Body: []any{name, old, owner}}
}

func nmSignal(sender, member string) *dbus.Signal {
	return &dbus.Signal{Sender: sender, Path: "/org/freedesktop/NetworkManager/Devices/1", Name: nmDeviceIface + "." + member,
		Body: []any{uint32(100), uint32(90), uint32(0)}}
}

func TestNMSenderAdmit(t *testing.T) {
	f := nmSender{owner: ":1.5"}
	steps := []struct {
		name       string
		sig        *dbus.Signal
		ok, forged bool
		owner      string // owner afterwards
	}{
		{"NM's own signal", nmSignal(":1.5", "StateChanged"), true, false, ":1.5"},
		{"unicast from another client", nmSignal(":1.9", "StateChanged"), false, true, ":1.5"},
		{"a client claiming NM's well-known name", nmSignal(nmBusName, "StateChanged"), false, true, ":1.5"},
		{"no sender", nmSignal("", "StateChanged"), false, true, ":1.5"},
		{"NameOwnerChanged from a client", nocSignal(":1.9", dbusObjectPath, nmBusName, ":1.5", ""), false, true, ":1.5"},
		{"NameOwnerChanged from a client claiming the bus's name", nocSignal(":1.9", dbusObjectPath, nmBusName, ":1.5", ":1.9"), false, true, ":1.5"},
		{"NameOwnerChanged from the bus on another path", nocSignal(dbusBusName, "/x", nmBusName, ":1.5", ":1.9"), false, true, ":1.5"},
		{"the bus about another name", nocSignal(dbusBusName, dbusObjectPath, "org.example.X", "", ":1.3"), false, false, ":1.5"},
		{"the bus's NameAcquired", &dbus.Signal{Sender: dbusBusName, Path: dbusObjectPath, Name: dbusBusName + ".NameAcquired", Body: []any{":1.2"}}, false, false, ":1.5"},
		{"malformed NameOwnerChanged from the bus", &dbus.Signal{Sender: dbusBusName, Path: dbusObjectPath, Name: dbusBusName + "." + nameOwnerChanged, Body: []any{uint32(1)}}, false, false, ":1.5"},
		{"NM restarts: the bus says so", nocSignal(dbusBusName, dbusObjectPath, nmBusName, ":1.5", ":1.7"), true, false, ":1.7"},
		{"the old NM's name is no longer trusted", nmSignal(":1.5", "StateChanged"), false, true, ":1.7"},
		{"the new NM is", nmSignal(":1.7", "StateChanged"), true, false, ":1.7"},
		{"NM leaves the bus", nocSignal(dbusBusName, dbusObjectPath, nmBusName, ":1.7", ""), true, false, ""},
		{"nobody is NM now", nmSignal(":1.7", "StateChanged"), false, true, ""},
	}
	for _, st := range steps {
		ok, forged := f.admit(st.sig)
		if ok != st.ok || forged != st.forged || f.owner != st.owner {
			t.Errorf("%s: ok=%v forged=%v owner=%q; want ok=%v forged=%v owner=%q", st.name, ok, forged, f.owner, st.ok, st.forged, st.owner)
		}
	}
}

func TestNMSenderFilterKeepsOrderAndRateLimitsItsWarning(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	f := nmSender{owner: ":1.5"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := []*dbus.Signal{
		nmSignal(":1.5", "StateChanged"),
		nmSignal(":1.9", "StateChanged"),
		nocSignal(dbusBusName, dbusObjectPath, nmBusName, ":1.5", ":1.7"),
		nmSignal(":1.5", "StateChanged"), // queued from the old NM, after the bus said it left
		nmSignal(":1.7", "StateChanged"),
		nmSignal(":1.9", "StateChanged"),
	}
	got := f.filter(log, batch, t0)
	want := []*dbus.Signal{batch[0], batch[2], batch[4]}
	if len(got) != len(want) {
		t.Fatalf("filter kept %d signals, want %d", len(got), len(want))
	}
	for i := range want {
		if got[i] != want[i] {
			t.Errorf("kept[%d] = %v from %s, want %v from %s", i, got[i].Name, got[i].Sender, want[i].Name, want[i].Sender)
		}
	}
	if n := strings.Count(buf.String(), "level=WARN"); n != 1 {
		t.Fatalf("%d warnings for 3 forgeries at once, want 1 (rate-limited):\n%s", n, buf.String())
	}
	if !strings.Contains(buf.String(), "sender=:1.9") {
		t.Errorf("the warning does not name the sender:\n%s", buf.String())
	}
	buf.Reset()
	f.filter(log, []*dbus.Signal{nmSignal(":1.9", "StateChanged")}, t0.Add(forgeryLogEvery/2))
	if buf.Len() != 0 {
		t.Fatalf("warned again within %s:\n%s", forgeryLogEvery, buf.String())
	}
	f.filter(log, []*dbus.Signal{nmSignal(":1.9", "StateChanged")}, t0.Add(forgeryLogEvery))
	if !strings.Contains(buf.String(), "dropped=4") {
		t.Fatalf("the next warning does not count the forgeries since the last one (want dropped=4):\n%s", buf.String())
	}
}
