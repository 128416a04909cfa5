// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import "fmt"

// Evaluate says whether device d may use its current address d.Current
// on network n (zero Network: at rest), and why. It never allows an
// all-zero or multicast address on a guarded device, nor the real address
// under a spoofing mode, and it fails closed when the real address is
// unknown (unless the mode is ignore or permanent).
//
// Mode stable is checked for its properties only (locally administered,
// unicast, not the real address), like random: the exact value depends on
// the machine secret, which Evaluate does not take; compare with Generate
// to check the value itself. At rest (no network) a stable device is
// treated as random.
func (p *Policy) Evaluate(d Device, n Network, ex []Exemption) Verdict {
	v := p.Select(d, n, ex)
	allow := func(format string, args ...any) Verdict {
		v.Allowed, v.Reason = true, fmt.Sprintf(format, args...)
		return v
	}
	deny := func(format string, args ...any) Verdict {
		v.Allowed, v.Reason = false, fmt.Sprintf(format, args...)
		return v
	}
	cur := d.Current
	if !v.Guarded {
		if v.Reason != "" { // the guard setting left it alone
			return allow("%s", v.Reason)
		}
		return allow("device %s is not guarded (mode ignore)", d.Interface)
	}
	if cur.IsZero() {
		return deny("address is 00:00:00:00:00:00, which no device may use")
	}
	if cur.IsMulticast() {
		return deny("address %s is a multicast (group) address, which no device may use", cur)
	}
	if v.Mode == ModePermanent {
		switch {
		case !d.realKnown():
			return allow("policy says permanent (the real address); the real address is unknown, so %s was not compared with it", cur)
		case cur == d.Real:
			return allow("address is the real address, as policy says permanent")
		default:
			return deny("address %s is not the real address %s but policy says permanent", cur, d.Real)
		}
	}
	// A spoofing mode from here on.
	if !d.realKnown() {
		return deny("the real address is unknown, so nothing shows that %s differs from it; policy says %s", cur, v.Mode)
	}
	if cur == d.Real {
		return deny("address equals the real address but policy says %s", v.Mode)
	}
	switch v.Mode {
	case ModeKeepVendor:
		if cur.OUI() != d.Real.OUI() {
			return deny("address %s does not keep the real vendor prefix %s but policy says keep-vendor", cur, d.Real.OUI())
		}
		return allow("address %s keeps the real vendor prefix %s and differs from the real address", cur, d.Real.OUI())
	case ModeVendor:
		kind := VendorKind(d.Type)
		if !p.Vendors.Has(kind, cur.OUI()) {
			return deny("prefix %s of address %s is not in the %s for %s devices but policy says vendor", cur.OUI(), cur, p.Vendors.Source, kind)
		}
		return allow("address %s uses the listed %s vendor prefix %s and differs from the real address", cur, kind, cur.OUI())
	case ModeRandom, ModeStable:
		if !cur.IsLocal() {
			return deny("address %s is not locally administered but policy says %s", cur, v.Mode)
		}
		if v.Mode == ModeStable {
			return allow("address %s is locally administered, unicast and differs from the real address (a stable address is checked for these properties only)", cur)
		}
		return allow("address %s is locally administered, unicast and differs from the real address", cur)
	}
	return deny("mode %q is unknown, so no address is allowed", v.Mode)
}
