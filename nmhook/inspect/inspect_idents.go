// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"slices"
	"strings"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
)

// CheckIdent is one identifier other than the address that a device's
// active connection sends or hides (the properties of nm.Idents, which the
// service sets under the policy's identifiers = "hide").
type CheckIdent struct {
	Property string `json:"property"` // setting.property, as nmcli spells it
	What     string `json:"what"`
	Value    string `json:"value"` // the value in effect ("" NetworkManager's built-in default)
	// From: "the profile", "mac-nmguard (in memory)", "NetworkManager.conf
	// FILE:LINE", "NetworkManager's built-in default", or the method that
	// turns DHCP or IPv6 off.
	From  string `json:"from"`
	State string `json:"state"` // IdentSent or IdentHidden
}

// The states of a CheckIdent.
const (
	IdentSent   = "sent"
	IdentHidden = "hidden"
)

// builtinHides are the properties whose NetworkManager built-in default
// (no value in the profile or NetworkManager.conf) hides the identifier:
// the internal DHCP client's client id is the address in use, the IAID a
// hash of the interface name.
var builtinHides = []string{"ipv4.dhcp-client-id", "ipv4.dhcp-iaid", "ipv6.dhcp-iaid"}

// identifiers says, for the profile p active on d, whether each
// identifier is sent or hidden, and what decides it.
func (b *builder) identifiers(d *inspectDevice, p *profileInfo, st *state.BootState) []CheckIdent {
	var rec *state.IdentChange
	if st != nil {
		for i := range st.Identifiers {
			if strings.EqualFold(st.Identifiers[i].UUID, p.UUID) {
				rec = &st.Identifiers[i]
			}
		}
	}
	var out []CheckIdent
	for _, id := range nm.Idents() {
		ci := CheckIdent{Property: id.Name(), What: id.What}
		switch {
		case id.Setting == "ipv4" && !dhcp4(p):
			ci.Value, ci.From, ci.State = p.IPv4Method, "ipv4.method="+p.IPv4Method, IdentHidden
		case id.Setting == "ipv6" && !ipv6On(p):
			ci.Value, ci.From, ci.State = p.IPv6Method, "ipv6.method="+p.IPv6Method, IdentHidden
		default:
			v, present := p.Idents[id.Name()]
			switch {
			case present:
				ci.Value, ci.From = v, "the profile"
				if rec != nil && slices.ContainsFunc(rec.Keys, func(k state.IdentKeyChange) bool { return k.Key == id.Name() && k.Set == v }) {
					ci.From = "mac-nmguard (in memory)"
				}
			default:
				if cv, ok := b.connDefault(id.Name(), []*inspectDevice{d}); ok && cv.Value != "" {
					v, present = confValue(cv.Value), true
					ci.Value, ci.From = v, "NetworkManager.conf "+cv.Where()
				} else {
					ci.From = "NetworkManager's built-in default"
				}
			}
			ci.State = IdentSent
			if id.Hides(v, present) || (!present && slices.Contains(builtinHides, id.Name())) {
				ci.State = IdentHidden
			}
		}
		out = append(out, ci)
	}
	return out
}

// confValue is a NetworkManager.conf value in the text form of nm.IdentOf.
func confValue(v string) string {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "yes", "true", "on":
		return "true"
	case "no", "false", "off":
		return "false"
	}
	return strings.TrimSpace(v)
}
