// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"slices"

	"github.com/godbus/dbus/v5"
)

// RefusalTerm is the mark the service puts, in NetworkManager's memory, on
// a profile that sets a violating address of its own: a mandatory
// match.kernel-command-line element ("&") that no kernel command line has
// (a parameter mac-nmguard.refused with that value). NetworkManager checks
// it whenever an activation is asked for (nm_device_check_connection_
// available), finds the profile not available on any device, and refuses
// at once, naming the element in its error; it never autoconnects it
// either.
const RefusalTerm = "&mac-nmguard.refused=run-mac-nmguard-check"

// KernelCmdlineOf is a profile's match.kernel-command-line.
func KernelCmdlineOf(s Settings) []string {
	v, _ := s["match"]["kernel-command-line"].Value().([]string)
	return v
}

// HasRefusalTerm reports whether a profile carries the service's mark.
func HasRefusalTerm(s Settings) bool {
	return slices.Contains(KernelCmdlineOf(s), RefusalTerm)
}

// WithRefusal returns a copy of s, fit to send back to NetworkManager (see
// WithCloned), with the mark added (on) or removed; the profile's own terms
// are kept, and a match setting left empty is dropped.
func WithRefusal(s Settings, on bool) Settings {
	out := copySettings(s)
	terms := slices.DeleteFunc(slices.Clone(KernelCmdlineOf(s)), func(t string) bool { return t == RefusalTerm })
	if on {
		terms = append(terms, RefusalTerm)
	}
	if out["match"] == nil {
		out["match"] = map[string]dbus.Variant{}
	}
	if len(terms) == 0 {
		delete(out["match"], "kernel-command-line")
		if len(out["match"]) == 0 {
			delete(out, "match")
		}
		return out
	}
	out["match"]["kernel-command-line"] = dbus.MakeVariant(terms)
	return out
}

// copySettings returns a copy of s fit to send back to NetworkManager: the
// deprecated ipv4/ipv6 addresses and routes, whose replacements
// (address-data, route-data) GetSettings also gives, are left out (empty
// ones do not survive the round trip with their D-Bus type).
func copySettings(s Settings) Settings {
	out := make(Settings, len(s)+1)
	for name, props := range s {
		cp := make(map[string]dbus.Variant, len(props)+1)
		for k, v := range props {
			cp[k] = v
		}
		out[name] = cp
	}
	for _, ip := range []string{"ipv4", "ipv6"} {
		if props, ok := out[ip]; ok {
			delete(props, "addresses")
			delete(props, "routes")
		}
	}
	return out
}
