// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

func TestSupplicantSignals(t *testing.T) {
	cases := []struct {
		name string
		body []any
		want []detect.SupplicantSignal
	}{
		{"refusal", []any{supIface, map[string]dbus.Variant{
			"AuthStatusCode": dbus.MakeVariant(int32(1)), "State": dbus.MakeVariant("authenticating")}, []string{}},
			[]detect.SupplicantSignal{{Property: "AuthStatusCode", Value: 1}}},
		{"both, in a fixed order", []any{supIface, map[string]dbus.Variant{
			"DisconnectReason": dbus.MakeVariant(int32(-15)), "AuthStatusCode": dbus.MakeVariant(int32(0))}, []string{}},
			[]detect.SupplicantSignal{{Property: "AuthStatusCode", Value: 0}, {Property: "DisconnectReason", Value: -15}}},
		{"other properties only", []any{supIface, map[string]dbus.Variant{"State": dbus.MakeVariant("scanning")}, []string{}}, nil},
		{"another interface", []any{"fi.w1.wpa_supplicant1.BSS", map[string]dbus.Variant{
			"AuthStatusCode": dbus.MakeVariant(int32(1))}, []string{}}, nil},
		{"wrong type", []any{supIface, map[string]dbus.Variant{"AuthStatusCode": dbus.MakeVariant("1")}, []string{}}, nil},
		{"short body", []any{supIface}, nil},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, supplicantSignals(c.body)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}

func supSignal(sender string) *dbus.Signal {
	return &dbus.Signal{Sender: sender, Path: supIfacesPath + "/3", Name: propertiesIface + ".PropertiesChanged",
		Body: []any{supIface, map[string]dbus.Variant{"AuthStatusCode": dbus.MakeVariant(int32(1))}, []string{}}}
}

// wpa_supplicant's property changes count only from its unique name,
// followed through the bus daemon's NameOwnerChanged, as NetworkManager's.
func TestNMSenderAdmitsWpaSupplicant(t *testing.T) {
	f := nmSender{owner: ":1.5", supOwner: ":1.4"}
	steps := []struct {
		name       string
		sig        *dbus.Signal
		ok, forged bool
		supOwner   string
	}{
		{"wpa_supplicant's own", supSignal(":1.4"), true, false, ":1.4"},
		{"NetworkManager sending on its path", supSignal(":1.5"), false, true, ":1.4"},
		{"another client", supSignal(":1.9"), false, true, ":1.4"},
		{"a NameOwnerChanged from a client", nocSignal(":1.9", dbusObjectPath, supBusName, ":1.4", ":1.9"), false, true, ":1.4"},
		{"wpa_supplicant restarts", nocSignal(dbusBusName, dbusObjectPath, supBusName, ":1.4", ":1.8"), false, false, ":1.8"},
		{"the old one no longer counts", supSignal(":1.4"), false, true, ":1.8"},
		{"the new one does", supSignal(":1.8"), true, false, ":1.8"},
		{"it leaves", nocSignal(dbusBusName, dbusObjectPath, supBusName, ":1.8", ""), false, false, ""},
		{"nobody is wpa_supplicant", supSignal(":1.8"), false, true, ""},
		{"NetworkManager still counts", nmSignal(":1.5", "StateChanged"), true, false, ""},
	}
	for _, st := range steps {
		ok, forged := f.admit(st.sig)
		if ok != st.ok || forged != st.forged || f.supOwner != st.supOwner || f.owner != ":1.5" {
			t.Errorf("%s: ok=%v forged=%v supOwner=%q owner=%q; want ok=%v forged=%v supOwner=%q", st.name, ok, forged, f.supOwner, f.owner, st.ok, st.forged, st.supOwner)
		}
	}
}
