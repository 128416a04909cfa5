// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"testing"

	"github.com/godbus/dbus/v5"
)

// NetworkManager's answers are input from outside: properties of the wrong
// type or missing must give zero values (which the gate treats
// conservatively), never a panic.
func TestDeviceFromPropsWrongTypes(t *testing.T) {
	v := dbus.MakeVariant
	cases := []map[string]dbus.Variant{
		nil,
		{},
		{"Interface": v(42), "State": v("activated"), "HwAddress": v([]byte{1, 2}), "DeviceType": v("wifi"),
			"Autoconnect": v("yes"), "ActiveConnection": v(7), "AvailableConnections": v("none")},
		{"Interface": v("eth0"), "State": v(uint32(100)), "DeviceType": v(uint32(9999))},
	}
	for i, props := range cases {
		d := deviceFromProps("/d", props, map[string]dbus.Variant{"PermHwAddress": v(123)})
		if i == 2 && (d.Interface != "" || d.State != 0 || d.HwAddress != "" || d.Autoconnect || len(d.AvailableConnections) != 0) {
			t.Errorf("case %d: wrong-typed values leaked through: %+v", i, d)
		}
		if i == 3 && (d.Interface != "eth0" || d.State != 100 || d.Type == "") {
			t.Errorf("case %d: %+v", i, d)
		}
	}
}

func TestProfileFromSettingsWrongTypes(t *testing.T) {
	v := dbus.MakeVariant
	cases := []map[string]map[string]dbus.Variant{
		nil,
		{"connection": {"uuid": v(1), "id": v([]byte("x")), "autoconnect": v("no"), "interface-name": v(3)}},
		{"802-3-ethernet": {"assigned-mac-address": v(5), "cloned-mac-address": v([]byte{1, 2, 3})}},
		{"802-11-wireless": {"ssid": v("not-bytes"), "cloned-mac-address": v([]byte{0, 0x1b, 0x21, 1, 2, 3})}},
	}
	for i, s := range cases {
		p := ProfileFromSettings("/p", s)
		if !p.Autoconnect {
			t.Errorf("case %d: autoconnect of a wrong type should keep NM's default (yes), the conservative reading", i)
		}
		switch i {
		case 1:
			if p.UUID != "" || p.ID != "" || p.InterfaceName != "" {
				t.Errorf("case %d: %+v", i, p)
			}
		case 2:
			if p.ClonedMAC != "" {
				t.Errorf("case %d: a 3-byte cloned MAC became %q", i, p.ClonedMAC)
			}
		case 3:
			if p.SSID != "" || p.ClonedMAC != "00:1b:21:01:02:03" {
				t.Errorf("case %d: %+v", i, p)
			}
		}
	}
}
