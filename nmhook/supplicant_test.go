// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"testing"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

func TestSupplicantSignals(t *testing.T) {
	cases := []struct {
		name string
		body []any
		want []detect.SupplicantSignal
	}{
		{"refusal", []any{nm.SupplicantIface, map[string]dbus.Variant{
			"AuthStatusCode": dbus.MakeVariant(int32(1)), "State": dbus.MakeVariant("authenticating")}, []string{}},
			[]detect.SupplicantSignal{{Property: "AuthStatusCode", Value: 1}}},
		{"both, in a fixed order", []any{nm.SupplicantIface, map[string]dbus.Variant{
			"DisconnectReason": dbus.MakeVariant(int32(-15)), "AuthStatusCode": dbus.MakeVariant(int32(0))}, []string{}},
			[]detect.SupplicantSignal{{Property: "AuthStatusCode", Value: 0}, {Property: "DisconnectReason", Value: -15}}},
		{"other properties only", []any{nm.SupplicantIface, map[string]dbus.Variant{"State": dbus.MakeVariant("scanning")}, []string{}}, nil},
		{"another interface", []any{"fi.w1.wpa_supplicant1.BSS", map[string]dbus.Variant{
			"AuthStatusCode": dbus.MakeVariant(int32(1))}, []string{}}, nil},
		{"wrong type", []any{nm.SupplicantIface, map[string]dbus.Variant{"AuthStatusCode": dbus.MakeVariant("1")}, []string{}}, nil},
		{"short body", []any{nm.SupplicantIface}, nil},
	}
	for _, c := range cases {
		if diff := cmp.Diff(c.want, supplicantSignals(c.body)); diff != "" {
			t.Errorf("%s (-want +got):\n%s", c.name, diff)
		}
	}
}
