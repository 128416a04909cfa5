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

// A mark on some devices: a mandatory inverted match.interface-name element
// per device, with its companion term; the user's own elements are kept,
// and the mark reads back as written.
func TestWithRefusalOnSomeDevices(t *testing.T) {
	s := Settings{
		"connection": {"type": dbus.MakeVariant("802-3-ethernet")},
		"match":      {"interface-name": dbus.MakeVariant([]string{"en*"}), "kernel-command-line": dbus.MakeVariant([]string{"quiet"})},
	}
	r := Refusal{On: []string{"eth0", "eth2"}}
	marked := WithRefusalOf(s, r)
	if got := InterfaceMatchOf(marked); !slices.Equal(got, []string{"en*", "&!eth0", "&!eth2"}) {
		t.Errorf("interface-name %v", got)
	}
	if got := RefusalOf(marked); !got.Equal(r) || !HasRefusalTerm(marked) {
		t.Errorf("read back %+v, want %+v", got, r)
	}
	if p := ProfileFromSettings("/p", marked); !p.Refusal().Equal(r) {
		t.Errorf("profile's mark %+v, want %+v", p.Refusal(), r)
	}
	all := WithRefusalOf(marked, Refusal{All: true})
	if got := InterfaceMatchOf(all); !slices.Equal(got, []string{"en*"}) {
		t.Errorf("marked on every device: interface-name %v, want the user's own only", got)
	}
	if got := KernelCmdlineOf(all); !slices.Equal(got, []string{"quiet", RefusalTerm}) {
		t.Errorf("marked on every device: kernel-command-line %v", got)
	}
	back := WithRefusal(marked, false)
	if got := InterfaceMatchOf(back); !slices.Equal(got, []string{"en*"}) || !slices.Equal(KernelCmdlineOf(back), []string{"quiet"}) {
		t.Errorf("unmarked: %v %v", got, KernelCmdlineOf(back))
	}
	// The user's own "&!eth0" without the companion is not the mark.
	if own := (Settings{"match": {"interface-name": dbus.MakeVariant([]string{"&!eth0"})}}); HasRefusalTerm(own) {
		t.Error("the user's own inverted element read as the service's mark")
	}
	for name, ok := range map[string]bool{"eth0": true, "enp0s3.100": true, "wl*": false, "!x": false, `\a`: false, "": false, "a b": false} {
		if RefusableOn(name) != ok {
			t.Errorf("RefusableOn(%q) = %t", name, !ok)
		}
	}
}
