// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

func nocSignal(sender string, path dbus.ObjectPath, name, old, owner string) *dbus.Signal {
	return &dbus.Signal{Sender: sender, Path: path, Name: DBusName + "." + NameOwnerChanged, Body: []any{name, old, owner}}
}

func nmSignal(sender, member string) *dbus.Signal {
	return &dbus.Signal{Sender: sender, Path: "/org/freedesktop/NetworkManager/Devices/1", Name: DeviceIface + "." + member,
		Body: []any{uint32(100), uint32(90), uint32(0)}}
}

func TestNMSenderAdmit(t *testing.T) {
	f := Sender{Owner: ":1.5"}
	steps := []struct {
		name       string
		sig        *dbus.Signal
		ok, forged bool
		owner      string // owner afterwards
	}{
		{"NM's own signal", nmSignal(":1.5", "StateChanged"), true, false, ":1.5"},
		{"unicast from another client", nmSignal(":1.9", "StateChanged"), false, true, ":1.5"},
		{"a client claiming NM's well-known name", nmSignal(BusName, "StateChanged"), false, true, ":1.5"},
		{"no sender", nmSignal("", "StateChanged"), false, true, ":1.5"},
		{"NameOwnerChanged from a client", nocSignal(":1.9", DBusPath, BusName, ":1.5", ""), false, true, ":1.5"},
		{"NameOwnerChanged from a client claiming the bus's name", nocSignal(":1.9", DBusPath, BusName, ":1.5", ":1.9"), false, true, ":1.5"},
		{"NameOwnerChanged from the bus on another path", nocSignal(DBusName, "/x", BusName, ":1.5", ":1.9"), false, true, ":1.5"},
		{"the bus about another name", nocSignal(DBusName, DBusPath, "org.example.X", "", ":1.3"), false, false, ":1.5"},
		{"the bus's NameAcquired", &dbus.Signal{Sender: DBusName, Path: DBusPath, Name: DBusName + ".NameAcquired", Body: []any{":1.2"}}, false, false, ":1.5"},
		{"malformed NameOwnerChanged from the bus", &dbus.Signal{Sender: DBusName, Path: DBusPath, Name: DBusName + "." + NameOwnerChanged, Body: []any{uint32(1)}}, false, false, ":1.5"},
		{"NM restarts: the bus says so", nocSignal(DBusName, DBusPath, BusName, ":1.5", ":1.7"), true, false, ":1.7"},
		{"the old NM's name is no longer trusted", nmSignal(":1.5", "StateChanged"), false, true, ":1.7"},
		{"the new NM is", nmSignal(":1.7", "StateChanged"), true, false, ":1.7"},
		{"NM leaves the bus", nocSignal(DBusName, DBusPath, BusName, ":1.7", ""), true, false, ""},
		{"nobody is NM now", nmSignal(":1.7", "StateChanged"), false, true, ""},
	}
	for _, st := range steps {
		ok, forged := f.admit(st.sig)
		if ok != st.ok || forged != st.forged || f.Owner != st.owner {
			t.Errorf("%s: ok=%v forged=%v owner=%q; want ok=%v forged=%v owner=%q", st.name, ok, forged, f.Owner, st.ok, st.forged, st.owner)
		}
	}
}

func TestNMSenderFilterKeepsOrderAndRateLimitsItsWarning(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, nil))
	f := Sender{Owner: ":1.5"}
	t0 := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	batch := []*dbus.Signal{
		nmSignal(":1.5", "StateChanged"),
		nmSignal(":1.9", "StateChanged"),
		nocSignal(DBusName, DBusPath, BusName, ":1.5", ":1.7"),
		nmSignal(":1.5", "StateChanged"), // queued from the old NM, after the bus said it left
		nmSignal(":1.7", "StateChanged"),
		nmSignal(":1.9", "StateChanged"),
	}
	got := f.Filter(log, batch, t0)
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
	f.Filter(log, []*dbus.Signal{nmSignal(":1.9", "StateChanged")}, t0.Add(forgeryLogEvery/2))
	if buf.Len() != 0 {
		t.Fatalf("warned again within %s:\n%s", forgeryLogEvery, buf.String())
	}
	f.Filter(log, []*dbus.Signal{nmSignal(":1.9", "StateChanged")}, t0.Add(forgeryLogEvery))
	if !strings.Contains(buf.String(), "dropped=4") {
		t.Fatalf("the next warning does not count the forgeries since the last one (want dropped=4):\n%s", buf.String())
	}
}

func supSignal(sender string) *dbus.Signal {
	return &dbus.Signal{Sender: sender, Path: SupplicantIfacesPath + "/3", Name: PropertiesIface + ".PropertiesChanged",
		Body: []any{SupplicantIface, map[string]dbus.Variant{"AuthStatusCode": dbus.MakeVariant(int32(1))}, []string{}}}
}

// wpa_supplicant's property changes count only from its unique name,
// followed through the bus daemon's NameOwnerChanged, as NetworkManager's.
func TestNMSenderAdmitsWpaSupplicant(t *testing.T) {
	f := Sender{Owner: ":1.5", SupplicantOwner: ":1.4"}
	steps := []struct {
		name            string
		sig             *dbus.Signal
		ok, forged      bool
		SupplicantOwner string
	}{
		{"wpa_supplicant's own", supSignal(":1.4"), true, false, ":1.4"},
		{"NetworkManager sending on its path", supSignal(":1.5"), false, true, ":1.4"},
		{"another client", supSignal(":1.9"), false, true, ":1.4"},
		{"a NameOwnerChanged from a client", nocSignal(":1.9", DBusPath, SupplicantBusName, ":1.4", ":1.9"), false, true, ":1.4"},
		{"wpa_supplicant restarts", nocSignal(DBusName, DBusPath, SupplicantBusName, ":1.4", ":1.8"), false, false, ":1.8"},
		{"the old one no longer counts", supSignal(":1.4"), false, true, ":1.8"},
		{"the new one does", supSignal(":1.8"), true, false, ":1.8"},
		{"it leaves", nocSignal(DBusName, DBusPath, SupplicantBusName, ":1.8", ""), false, false, ""},
		{"nobody is wpa_supplicant", supSignal(":1.8"), false, true, ""},
		{"NetworkManager still counts", nmSignal(":1.5", "StateChanged"), true, false, ""},
	}
	for _, st := range steps {
		ok, forged := f.admit(st.sig)
		if ok != st.ok || forged != st.forged || f.SupplicantOwner != st.SupplicantOwner || f.Owner != ":1.5" {
			t.Errorf("%s: ok=%v forged=%v supOwner=%q owner=%q; want ok=%v forged=%v supOwner=%q", st.name, ok, forged, f.SupplicantOwner, f.Owner, st.ok, st.forged, st.SupplicantOwner)
		}
	}
}
