// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/profile"
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

// A profile with no interface-name can violate on one card and comply on
// another (a device rule keeps one card's real address). RefusalTerm would
// keep it from every card, so such a profile is refused on the violating
// cards only: for each, a mandatory inverted match.interface-name element
// "&!NAME" (NetworkManager's nm_wildcard_match_check: the device named NAME
// does not satisfy it, every other device does), and, so that the service
// can tell its own elements from the user's after a crash, a companion
// match.kernel-command-line element "&!mac-nmguard.refused-on=NAME": an
// inverted mandatory term for a parameter no kernel command line has, which
// every device satisfies.
const (
	refusedOnPrefix = "&!mac-nmguard.refused-on="
	ifaceDenyPrefix = "&!"
)

// Refusal is the mark a profile carries, or should carry (package profile).
type Refusal = profile.Refusal

// RefusableOn reports whether the mark can name the device iface alone:
// its name must be a literal for NetworkManager's wildcard match (no shell
// pattern characters, no leading escape) and a single kernel command line
// word. Otherwise the service marks the profile on every device.
func RefusableOn(iface string) bool {
	if iface == "" {
		return false
	}
	for _, c := range iface {
		ok := c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.'
		if !ok {
			return false
		}
	}
	return true
}

// KernelCmdlineOf is a profile's match.kernel-command-line.
func KernelCmdlineOf(s Settings) []string {
	v, _ := s["match"]["kernel-command-line"].Value().([]string)
	return v
}

// InterfaceMatchOf is a profile's match.interface-name.
func InterfaceMatchOf(s Settings) []string {
	v, _ := s["match"]["interface-name"].Value().([]string)
	return v
}

// RefusalOf reads the service's mark on a profile.
func RefusalOf(s Settings) Refusal {
	var r Refusal
	deny := InterfaceMatchOf(s)
	for _, t := range KernelCmdlineOf(s) {
		if t == RefusalTerm {
			r.All = true
		}
		if name, ok := strings.CutPrefix(t, refusedOnPrefix); ok && slices.Contains(deny, ifaceDenyPrefix+name) {
			r.On = append(r.On, name)
		}
	}
	if r.All {
		r.On = nil
	}
	slices.Sort(r.On)
	r.On = slices.Compact(r.On)
	return r
}

// HasRefusalTerm reports whether a profile carries the service's mark, on
// every device or on some.
func HasRefusalTerm(s Settings) bool {
	return RefusalOf(s).Any()
}

// WithRefusal returns a copy of s, fit to send back to NetworkManager (see
// WithCloned), with the mark on every device added (on) or any mark removed.
func WithRefusal(s Settings, on bool) Settings {
	return WithRefusalOf(s, Refusal{All: on})
}

// WithRefusalOf returns a copy of s, fit to send back to NetworkManager (see
// WithCloned), whose mark is r: the service's elements of any earlier mark
// are removed, the profile's own elements kept, and a match setting left
// empty is dropped.
func WithRefusalOf(s Settings, r Refusal) Settings {
	out := copySettings(s)
	var ours []string
	cmdline := slices.DeleteFunc(slices.Clone(KernelCmdlineOf(s)), func(t string) bool {
		if name, ok := strings.CutPrefix(t, refusedOnPrefix); ok {
			ours = append(ours, ifaceDenyPrefix+name)
			return true
		}
		return t == RefusalTerm
	})
	ifaces := slices.DeleteFunc(slices.Clone(InterfaceMatchOf(s)), func(t string) bool { return slices.Contains(ours, t) })
	switch {
	case r.All:
		cmdline = append(cmdline, RefusalTerm)
	default:
		for _, name := range r.On {
			cmdline = append(cmdline, refusedOnPrefix+name)
			ifaces = append(ifaces, ifaceDenyPrefix+name)
		}
	}
	if out["match"] == nil {
		out["match"] = map[string]dbus.Variant{}
	}
	setTerms(out["match"], "kernel-command-line", cmdline)
	setTerms(out["match"], "interface-name", ifaces)
	if len(out["match"]) == 0 {
		delete(out, "match")
	}
	return out
}

// setTerms sets a match property to terms, or removes it when there are
// none.
func setTerms(match map[string]dbus.Variant, key string, terms []string) {
	if len(terms) == 0 {
		delete(match, key)
		return
	}
	match[key] = dbus.MakeVariant(terms)
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
