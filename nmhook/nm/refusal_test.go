// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"slices"
	"testing"

	"github.com/godbus/dbus/v5"
)

func TestWithRefusalKeepsOwnTermsAndInput(t *testing.T) {
	s := Settings{
		"connection":     {"type": dbus.MakeVariant("802-3-ethernet")},
		"802-3-ethernet": {"assigned-mac-address": dbus.MakeVariant("permanent")},
		"ipv4":           {"method": dbus.MakeVariant("auto"), "addresses": dbus.MakeVariant([][]uint32{})},
	}
	marked := WithRefusal(s, true)
	if !HasRefusalTerm(marked) || HasRefusalTerm(s) {
		t.Fatalf("mark: got %v, input now %v", KernelCmdlineOf(marked), KernelCmdlineOf(s))
	}
	if _, ok := marked["ipv4"]["addresses"]; ok {
		t.Error("ipv4.addresses (deprecated) was sent back")
	}
	if back := WithRefusal(marked, false); back["match"] != nil {
		t.Errorf("unmarked profile without terms of its own keeps a match setting: %v", back["match"])
	}
	s["match"] = map[string]dbus.Variant{"kernel-command-line": dbus.MakeVariant([]string{"quiet"})}
	marked = WithRefusal(WithRefusal(s, true), true)
	if got := KernelCmdlineOf(marked); !slices.Equal(got, []string{"quiet", RefusalTerm}) {
		t.Errorf("marked twice: %v", got)
	}
	if got := KernelCmdlineOf(WithRefusal(marked, false)); !slices.Equal(got, []string{"quiet"}) {
		t.Errorf("unmarked: %v, want the profile's own term kept", got)
	}
}
