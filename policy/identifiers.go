// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import "fmt"

// Identifiers says what happens to the identifiers other than the address
// (DHCP host name, DHCP client identifier and DUID, IPv6 addresses built
// from the address, LLMNR and mDNS) on a device that spoofs.
type Identifiers string

// The identifiers settings.
const (
	// IdentifiersHide: an activation that spoofs carries none of them
	// (the service brings the profile in line in NetworkManager's memory).
	IdentifiersHide Identifiers = "hide"
	// IdentifiersReport: the profile is left as it is; `check` reports
	// what it would send.
	IdentifiersReport Identifiers = "report"
)

// IdentifiersSettings returns every valid identifiers setting.
func IdentifiersSettings() []Identifiers { return []Identifiers{IdentifiersHide, IdentifiersReport} }

// Valid reports whether i is one of the defined identifiers settings.
func (i Identifiers) Valid() bool { return i == IdentifiersHide || i == IdentifiersReport }

// ParseIdentifiers parses an identifiers setting; the error lists the
// valid ones.
func ParseIdentifiers(s string) (Identifiers, error) {
	if i := Identifiers(s); i.Valid() {
		return i, nil
	}
	return "", fmt.Errorf("unknown identifiers %q (want one of %s)", s, joinQuoted(IdentifiersSettings()))
}

// HidesIdentifiers reports whether an activation under v must not carry
// the identifiers: the device is guarded, its mode spoofs and the
// identifiers setting is not report (an unset or invalid one hides: fail
// closed).
func (v Verdict) HidesIdentifiers() bool {
	return v.Guarded && v.Mode.Spoofs() && v.Identifiers != IdentifiersReport
}

// selectIdentifiers picks the identifiers setting for d on n: the last
// matching [[network]] rule that sets one, else the last matching
// [[device]] rule, else [default], else hide. An invalid value (a
// hand-built Policy) is hide: fail closed.
func (p *Policy) selectIdentifiers(d Device, n Network) (Identifiers, string) {
	id, from := p.Default.Identifiers, p.Default.IdentifiersSource
	if id == "" {
		id, from = IdentifiersHide, builtinDefault
	} else if from == "" {
		from = builtinDefault
	}
	for i := range p.Devices {
		if r := &p.Devices[i]; r.Identifiers != "" && r.matches(d) {
			id, from = r.Identifiers, r.describe(i)
		}
	}
	for i := range p.Networks {
		if r := &p.Networks[i]; r.Identifiers != "" && r.matches(n) {
			id, from = r.Identifiers, r.describe(i)
		}
	}
	if !id.Valid() {
		return IdentifiersHide, fmt.Sprintf("invalid identifiers %q replaced by %s", id, IdentifiersHide)
	}
	return id, from
}
