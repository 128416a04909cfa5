// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
)

// EncodeTOML writes the effective policy as a TOML file that Parse
// accepts and that yields the same policy, with the sources and the
// precedence rule as comments.
func (p *Policy) EncodeTOML() string {
	var b strings.Builder
	b.WriteString("# Effective mac-nmguard policy (built-in default, then the files below, in order).\n")
	if len(p.Sources) == 0 {
		b.WriteString("# Sources: none; the built-in default applies.\n")
	} else {
		b.WriteString("# Sources:\n")
		for _, s := range p.Sources {
			fmt.Fprintf(&b, "#   %s\n", s)
		}
	}
	b.WriteString("# Precedence:\n")
	for _, line := range wrap(Precedence, 76) {
		fmt.Fprintf(&b, "#   %s\n", line)
	}
	fmt.Fprintf(&b, "# Vendor list: %s (%d wifi, %d ethernet prefixes).\n\n",
		p.Vendors.Source, p.Vendors.Count(KindWifi), p.Vendors.Count(KindEthernet))

	fmt.Fprintf(&b, "spoof = %t%s\n", p.Spoof, sourceComment(p.SpoofSource))
	fmt.Fprintf(&b, "offer = %s%s\n", quoteTOML(string(p.Offer)), sourceComment(p.OfferSource))
	fmt.Fprintf(&b, "hold = %t\n", p.Hold)
	fmt.Fprintf(&b, "hold_timeout = %s\n", quoteTOML(p.HoldTimeout.String()))
	if p.VendorsFile != "" {
		fmt.Fprintf(&b, "vendors_file = %s\n", quoteTOML(p.VendorsFile))
	}
	b.WriteString("\n[default]\n")
	fmt.Fprintf(&b, "mode = %s%s\n", quoteTOML(string(p.Default.Mode)), sourceComment(p.Default.ModeSource))
	fmt.Fprintf(&b, "enforcement = %s%s\n", quoteTOML(string(p.Default.Enforcement)), sourceComment(p.Default.EnforcementSource))
	if p.Default.Guard != "" {
		fmt.Fprintf(&b, "guard = %s%s\n", quoteTOML(string(p.Default.Guard)), sourceComment(p.Default.GuardSource))
	}
	if p.Default.Identifiers != "" {
		fmt.Fprintf(&b, "identifiers = %s%s\n", quoteTOML(string(p.Default.Identifiers)), sourceComment(p.Default.IdentifiersSource))
	}

	for _, r := range p.Devices {
		fmt.Fprintf(&b, "\n[[device]]%s\n", sourceComment(r.Source))
		kv(&b, "name", r.Name)
		kv(&b, "interface", r.Interface)
		kv(&b, "type", r.Type)
		kv(&b, "driver", r.Driver)
		kv(&b, "real_prefix", r.RealPrefix.String())
		kv(&b, "mode", string(r.Mode))
		kv(&b, "enforcement", string(r.Enforcement))
		kv(&b, "guard", string(r.Guard))
		kv(&b, "identifiers", string(r.Identifiers))
	}
	for _, r := range p.Networks {
		fmt.Fprintf(&b, "\n[[network]]%s\n", sourceComment(r.Source))
		kv(&b, "name", r.Name)
		kv(&b, "ssid", r.SSID)
		kv(&b, "uuid", r.UUID)
		kv(&b, "id", r.ID)
		kv(&b, "mode", string(r.Mode))
		kv(&b, "enforcement", string(r.Enforcement))
		kv(&b, "identifiers", string(r.Identifiers))
	}
	d := p.Detect
	b.WriteString("\n[detect]\n")
	fmt.Fprintf(&b, "window = %s\n", quoteTOML(d.Window.String()))
	fmt.Fprintf(&b, "auth_loop_rounds = %d\n", d.AuthLoopRounds)
	fmt.Fprintf(&b, "auth_failures = %d\n", d.AuthFailures)
	fmt.Fprintf(&b, "dhcp_failures = %d\n", d.DHCPFailures)
	fmt.Fprintf(&b, "association_timeouts = %d\n", d.AssociationTimeouts)
	return b.String()
}

func kv(b *strings.Builder, k, v string) {
	if v != "" {
		fmt.Fprintf(b, "%s = %s\n", k, quoteTOML(v))
	}
}

func sourceComment(src string) string {
	if src == "" {
		return "  # " + builtinDefault
	}
	return "  # " + strings.ReplaceAll(src, "\n", " ")
}

func wrap(s string, width int) []string {
	var lines []string
	var cur strings.Builder
	for _, w := range strings.Fields(s) {
		if cur.Len() > 0 && cur.Len()+1+len(w) > width {
			lines = append(lines, cur.String())
			cur.Reset()
		}
		if cur.Len() > 0 {
			cur.WriteByte(' ')
		}
		cur.WriteString(w)
	}
	if cur.Len() > 0 {
		lines = append(lines, cur.String())
	}
	return lines
}

// The JSON view of a policy (`mac-nmguard policy show --json`).
type jsonPolicy struct {
	Sources     []string         `json:"sources"`
	Precedence  string           `json:"precedence"`
	Spoof       bool             `json:"spoof"`
	SpoofSource string           `json:"spoof_source,omitempty"`
	Offer       Offer            `json:"offer"`
	OfferSource string           `json:"offer_source,omitempty"`
	Hold        bool             `json:"hold"`
	HoldTimeout Duration         `json:"hold_timeout"`
	VendorsFile string           `json:"vendors_file,omitempty"`
	Vendors     jsonVendors      `json:"vendors"`
	Default     jsonDefault      `json:"default"`
	Devices     []jsonDeviceRule `json:"devices"`
	Networks    []jsonNetRule    `json:"networks"`
	Detect      DetectSettings   `json:"detect"`
}

type jsonVendors struct {
	Source   string   `json:"source"`
	Wifi     []string `json:"wifi"`
	Ethernet []string `json:"ethernet"`
}

type jsonDefault struct {
	Mode              Mode        `json:"mode"`
	ModeSource        string      `json:"mode_source,omitempty"`
	Enforcement       Enforcement `json:"enforcement"`
	EnforcementSource string      `json:"enforcement_source,omitempty"`
	Guard             Guard       `json:"guard,omitempty"`
	GuardSource       string      `json:"guard_source,omitempty"`
	Identifiers       Identifiers `json:"identifiers,omitempty"`
	IdentifiersSource string      `json:"identifiers_source,omitempty"`
}

type jsonDeviceRule struct {
	Name        string      `json:"name,omitempty"`
	Interface   string      `json:"interface,omitempty"`
	Type        string      `json:"type,omitempty"`
	Driver      string      `json:"driver,omitempty"`
	RealPrefix  string      `json:"real_prefix,omitempty"`
	Mode        Mode        `json:"mode,omitempty"`
	Enforcement Enforcement `json:"enforcement,omitempty"`
	Guard       Guard       `json:"guard,omitempty"`
	Identifiers Identifiers `json:"identifiers,omitempty"`
	Source      string      `json:"source"`
}

type jsonNetRule struct {
	Name        string      `json:"name,omitempty"`
	SSID        string      `json:"ssid,omitempty"`
	UUID        string      `json:"uuid,omitempty"`
	ID          string      `json:"id,omitempty"`
	Mode        Mode        `json:"mode,omitempty"`
	Enforcement Enforcement `json:"enforcement,omitempty"`
	Identifiers Identifiers `json:"identifiers,omitempty"`
	Source      string      `json:"source"`
}

// EncodeJSON returns the effective policy as indented JSON, with its
// sources and the precedence rule.
func (p *Policy) EncodeJSON() ([]byte, error) {
	j := jsonPolicy{
		Sources:     append([]string{}, p.Sources...),
		Precedence:  Precedence,
		Spoof:       p.Spoof,
		SpoofSource: p.SpoofSource,
		Offer:       p.Offer,
		OfferSource: p.OfferSource,
		Hold:        p.Hold,
		HoldTimeout: p.HoldTimeout,
		VendorsFile: p.VendorsFile,
		Vendors:     jsonVendors{Source: p.Vendors.Source, Wifi: []string{}, Ethernet: []string{}},
		Default: jsonDefault{Mode: p.Default.Mode, ModeSource: p.Default.ModeSource,
			Enforcement: p.Default.Enforcement, EnforcementSource: p.Default.EnforcementSource,
			Guard: p.Default.Guard, GuardSource: p.Default.GuardSource,
			Identifiers: p.Default.Identifiers, IdentifiersSource: p.Default.IdentifiersSource},
		Devices:  []jsonDeviceRule{},
		Networks: []jsonNetRule{},
		Detect:   p.Detect,
	}
	for _, o := range p.Vendors.Prefixes(KindWifi) {
		j.Vendors.Wifi = append(j.Vendors.Wifi, o.String())
	}
	for _, o := range p.Vendors.Prefixes(KindEthernet) {
		j.Vendors.Ethernet = append(j.Vendors.Ethernet, o.String())
	}
	for _, r := range p.Devices {
		j.Devices = append(j.Devices, jsonDeviceRule{r.Name, r.Interface, r.Type, r.Driver, r.RealPrefix.String(), r.Mode, r.Enforcement, r.Guard, r.Identifiers, r.Source})
	}
	for _, r := range p.Networks {
		j.Networks = append(j.Networks, jsonNetRule(r))
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false) // keep "[[network]] > [[device]]" readable
	enc.SetIndent("", "  ")
	if err := enc.Encode(j); err != nil {
		return nil, fmt.Errorf("encode policy as JSON: %w", err)
	}
	return buf.Bytes(), nil
}
