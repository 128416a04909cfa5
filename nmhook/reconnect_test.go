// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"slices"
	"testing"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

func TestAutoconnectOrderIsNetworkManagers(t *testing.T) {
	ps := []nm.Profile{
		{UUID: "b", AutoconnectPriority: 0, Timestamp: 0},
		{UUID: "a", AutoconnectPriority: 0, Timestamp: 0},
		{UUID: "c", AutoconnectPriority: 0, Timestamp: 100},
		{UUID: "d", AutoconnectPriority: 0, Timestamp: 200},
		{UUID: "e", AutoconnectPriority: 5, Timestamp: 1},
		{UUID: "f", AutoconnectPriority: -1, Timestamp: 900},
	}
	slices.SortFunc(ps, autoconnectOrder)
	var got []string
	for _, p := range ps {
		got = append(got, p.UUID)
	}
	// Priority first, then the most recent activation (never last), then UUID.
	if want := []string{"e", "d", "c", "a", "b", "f"}; !slices.Equal(got, want) {
		t.Fatalf("order %v, want %v", got, want)
	}
}

func TestProfileFromSettingsReadsAutoconnectOrder(t *testing.T) {
	p := nm.ProfileFromSettings("/p/1", map[string]map[string]dbus.Variant{
		"connection": {
			"uuid": dbus.MakeVariant("u"), "autoconnect-priority": dbus.MakeVariant(int32(7)),
			"timestamp": dbus.MakeVariant(uint64(1234)),
		},
	})
	if p.AutoconnectPriority != 7 || p.Timestamp != 1234 {
		t.Fatalf("priority %d timestamp %d, want 7 and 1234", p.AutoconnectPriority, p.Timestamp)
	}
}
