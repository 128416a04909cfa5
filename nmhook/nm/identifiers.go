// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"fmt"
	"slices"
	"strconv"

	"github.com/godbus/dbus/v5"
)

// Ident is one profile property that carries, or decides, an identifier
// other than the card's address, with the value that hides it (policy
// identifiers = "hide"). Values are in text form: "true"/"false" for
// booleans, decimal for integers, the string itself for strings.
type Ident struct {
	Setting, Key string
	kind         byte // 'b' bool, 'i' int32, 's' string
	// Hidden is the value the service sets.
	Hidden string
	// Safe lists the values that hide the identifier already (Hidden
	// among them); any other value, or none (the default, which a
	// NetworkManager.conf the service does not own may change), is set to
	// Hidden.
	Safe []string
	// What says in words what it is, for the log and check.
	What string
}

// Name is "setting.key", as nmcli spells it.
func (i Ident) Name() string { return i.Setting + "." + i.Key }

// Idents are the identifier properties the service sets with identifiers =
// "hide", in the order it sets them:
//   - the host name in DHCPv4 (options 12 and 81) and DHCPv6 (FQDN): not
//     sent;
//   - the DHCPv4 client identifier: "mac", the address the card uses (the
//     private one), not "perm-mac" (the real one), "duid" (from the DUID,
//     which comes from /etc/machine-id or an old lease) or "stable" (a hash
//     of NetworkManager's secret key and the profile: the same at every
//     visit, whatever the address); "none" sends none and is kept;
//   - the DHCPv6 DUID: "ll", from the address the card uses, not "lease"
//     (an old lease's, else one from /etc/machine-id), "llt" or the
//     stable-* ones (secret key);
//   - the DHCP IAID: "mac" (the address the card uses) or NetworkManager's
//     "ifname" (a hash of the interface name), not "perm-mac" or "stable";
//   - IPv6 address generation: "eui64" from the address the card uses (so
//     it changes with it; "stable-privacy" hashes NetworkManager's secret
//     key, the interface and the network, which gives the same address at
//     every visit of one network whatever private address the card has),
//     with temporary addresses preferred (ip6-privacy 2) for outgoing
//     connections;
//   - LLMNR and mDNS (which announce the host name): off (0).
func Idents() []Ident {
	return []Ident{
		{Setting: "ipv4", Key: "dhcp-send-hostname", kind: 'b', Hidden: "false", Safe: []string{"false"}, What: "host name in DHCPv4 (options 12, 81)"},
		{Setting: "ipv6", Key: "dhcp-send-hostname", kind: 'b', Hidden: "false", Safe: []string{"false"}, What: "host name in DHCPv6 (FQDN)"},
		{Setting: "ipv4", Key: "dhcp-client-id", kind: 's', Hidden: "mac", Safe: []string{"mac", "none"}, What: "DHCPv4 client identifier"},
		{Setting: "ipv4", Key: "dhcp-iaid", kind: 's', Hidden: "mac", Safe: []string{"mac", "ifname"}, What: "DHCPv4 IAID"},
		{Setting: "ipv6", Key: "dhcp-duid", kind: 's', Hidden: "ll", Safe: []string{"ll"}, What: "DHCPv6 DUID"},
		{Setting: "ipv6", Key: "dhcp-iaid", kind: 's', Hidden: "mac", Safe: []string{"mac", "ifname"}, What: "DHCPv6 IAID"},
		{Setting: "ipv6", Key: "addr-gen-mode", kind: 'i', Hidden: "0", Safe: []string{"0"}, What: "IPv6 address generation (0 eui64 from the address in use)"},
		{Setting: "ipv6", Key: "ip6-privacy", kind: 'i', Hidden: "2", Safe: []string{"2"}, What: "IPv6 temporary addresses (2 preferred)"},
		{Setting: "connection", Key: "llmnr", kind: 'i', Hidden: "0", Safe: []string{"0"}, What: "LLMNR (announces the host name)"},
		{Setting: "connection", Key: "mdns", kind: 'i', Hidden: "0", Safe: []string{"0"}, What: "mDNS (announces the host name)"},
	}
}

// Hides reports whether value (present: set in the profile) hides the
// identifier.
func (i Ident) Hides(value string, present bool) bool {
	return present && slices.Contains(i.Safe, value)
}

// IdentsHidden reports whether every property of Idents hides its
// identifier in profile s.
func IdentsHidden(s Settings) bool {
	for _, i := range Idents() {
		if !i.Hides(IdentOf(s, i)) {
			return false
		}
	}
	return true
}

// IdentOf is property i of profile s in text form, and whether the profile
// sets it (absent: NetworkManager's default).
func IdentOf(s Settings, i Ident) (string, bool) {
	v, ok := s[i.Setting][i.Key]
	if !ok {
		return "", false
	}
	switch x := v.Value().(type) {
	case bool:
		return strconv.FormatBool(x), true
	case int32:
		return strconv.FormatInt(int64(x), 10), true
	case string:
		return x, x != ""
	}
	return fmt.Sprint(v.Value()), true
}

// WithIdent returns a copy of s, fit to send back to NetworkManager (see
// WithCloned), with property i set to value (present false removes it:
// NetworkManager's default).
func WithIdent(s Settings, i Ident, value string, present bool) (Settings, error) {
	out := copySettings(s)
	if !present {
		if out[i.Setting] != nil {
			delete(out[i.Setting], i.Key)
		}
		return out, nil
	}
	var v dbus.Variant
	switch i.kind {
	case 'b':
		b, err := strconv.ParseBool(value)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a boolean", i.Name(), value)
		}
		v = dbus.MakeVariant(b)
	case 'i':
		n, err := strconv.ParseInt(value, 10, 32)
		if err != nil {
			return nil, fmt.Errorf("%s: %q is not a number", i.Name(), value)
		}
		v = dbus.MakeVariant(int32(n))
	default:
		v = dbus.MakeVariant(value)
	}
	if out[i.Setting] == nil {
		out[i.Setting] = map[string]dbus.Variant{}
	}
	out[i.Setting][i.Key] = v
	return out, nil
}
