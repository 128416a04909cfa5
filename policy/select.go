// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"fmt"
	"path"
	"strings"
)

// builtinDefault is the Rule text of the built-in default.
const builtinDefault = "built-in default"

// Precedence is the rule that picks the mode and enforcement, in words
// (also printed by `mac-nmguard policy show`).
const Precedence = "runtime exemption > [[network]] rule > [[device]] rule > [default] > built-in default; " +
	"among rules of one kind the last matching one wins, so drop-ins (applied after the main file, in name order) override it; " +
	"mode and enforcement are picked separately; an exemption makes a guarded device use its real address; " +
	"spoof = false turns every mode except ignore into permanent; " +
	"identifiers (hide | report; [default], [[device]], [[network]]: a network rule over a device rule over [default]) applies only where the mode spoofs; " +
	"guard (set in [default] or [[device]], the last matching device rule wins) says which devices are guarded at all: " +
	"\"auto\" network cards (a bus device or a Wi-Fi radio behind the interface, or unreadable: fail closed) " +
	"and virtual devices that carry a guarded card's real address, \"always\" every device, \"never\" none"

// matches reports whether every matcher the rule sets matches d. A
// real_prefix never matches a device whose real address is unknown.
func (r *DeviceRule) matches(d Device) bool {
	if r.Interface != "" {
		if ok, err := path.Match(r.Interface, d.Interface); err != nil || !ok {
			return false
		}
	}
	if r.Type != "" && r.Type != d.Type {
		return false
	}
	if r.Driver != "" && r.Driver != d.Driver {
		return false
	}
	if len(r.RealPrefix) > 0 && (!d.realKnown() || !r.RealPrefix.Matches(d.Real)) {
		return false
	}
	return true
}

func (r *DeviceRule) describe(idx int) string {
	return fmt.Sprintf("%s [[device]] %s", r.Source, strings.TrimPrefix(ruleLabel("device", idx, r.Name), "[[device]] "))
}

// matches reports whether every matcher the rule sets matches n; no rule
// matches the zero Network (a device at rest).
func (r *NetworkRule) matches(n Network) bool {
	if n.IsZero() {
		return false
	}
	if r.SSID != "" && r.SSID != n.SSID {
		return false
	}
	if r.UUID != "" && !strings.EqualFold(r.UUID, n.UUID) {
		return false
	}
	if r.ID != "" && r.ID != n.ID {
		return false
	}
	return true
}

func (r *NetworkRule) describe(idx int) string {
	return fmt.Sprintf("%s [[network]] %s", r.Source, strings.TrimPrefix(ruleLabel("network", idx, r.Name), "[[network]] "))
}

// Select picks the mode and enforcement for device d on network n with
// the runtime exemptions ex, without looking at the address in use: it
// fills Verdict's Guarded, Mode, Enforcement, Rule and Exempt (Allowed and
// Reason are Evaluate's, except the reason the guard setting leaves a device
// alone). See Precedence.
func (p *Policy) Select(d Device, n Network, ex []Exemption) Verdict {
	gv, alone, note := p.guardVerdict(d)
	v := p.selectMode(d, n, ex)
	v.Identifiers, v.IdentifiersRule = p.selectIdentifiers(d, n)
	if alone {
		gv.Enforcement = v.Enforcement
		return gv
	}
	if note != "" && v.Guarded {
		v.Rule += "; " + note
	}
	return v
}

// selectMode is Select without the guard setting.
func (p *Policy) selectMode(d Device, n Network, ex []Exemption) Verdict {
	mode, modeFrom := p.Default.Mode, p.Default.ModeSource
	enf, enfFrom := p.Default.Enforcement, p.Default.EnforcementSource
	if modeFrom == "" {
		modeFrom = builtinDefault
	}
	if enfFrom == "" {
		enfFrom = builtinDefault
	}
	// Ascending precedence, so a later match overrides an earlier one.
	for i := range p.Devices {
		r := &p.Devices[i]
		if !r.matches(d) {
			continue
		}
		if r.Mode != "" {
			mode, modeFrom = r.Mode, r.describe(i)
		}
		if r.Enforcement != "" {
			enf, enfFrom = r.Enforcement, r.describe(i)
		}
	}
	for i := range p.Networks {
		r := &p.Networks[i]
		if !r.matches(n) {
			continue
		}
		if r.Mode != "" {
			mode, modeFrom = r.Mode, r.describe(i)
		}
		if r.Enforcement != "" {
			enf, enfFrom = r.Enforcement, r.describe(i)
		}
	}
	if !mode.Valid() { // a hand-built Policy: fail closed
		mode, modeFrom = ModeKeepVendor, fmt.Sprintf("invalid mode %q replaced by %s", mode, ModeKeepVendor)
	}
	if !enf.Valid() {
		enf, enfFrom = EnforceRefuse, fmt.Sprintf("invalid enforcement %q replaced by %s", enf, EnforceRefuse)
	}
	v := Verdict{Guarded: mode != ModeIgnore, Mode: mode, Enforcement: enf, Rule: modeFrom}
	if !v.Guarded {
		// ignore: not guarded, so neither exemptions nor spoof apply.
		return v.withEnforcementFrom(enfFrom)
	}
	for i := len(ex) - 1; i >= 0; i-- {
		if !ex[i].matches(d, n) {
			continue
		}
		if !ex[i].Real() {
			// The same private address for this network: only where
			// the address is hidden at all (spoof = false and a
			// permanent rule keep the real one).
			if !p.Spoof || mode == ModePermanent {
				continue
			}
			v.Mode, v.Rule = ModeStable, ex[i].describe()+" instead of "+string(mode)+" from "+modeFrom
			return v.withEnforcementFrom(enfFrom)
		}
		v.Mode, v.Exempt, v.Rule = ModePermanent, true, ex[i].describe()
		return v.withEnforcementFrom(enfFrom)
	}
	if !p.Spoof && mode != ModePermanent {
		src := p.SpoofSource
		if src == "" {
			src = builtinDefault
		}
		v.Mode, v.Rule = ModePermanent, fmt.Sprintf("spoof = false (%s) overrides %s from %s", src, mode, modeFrom)
	}
	return v.withEnforcementFrom(enfFrom)
}

func (v Verdict) withEnforcementFrom(from string) Verdict {
	if from != v.Rule && !strings.HasSuffix(v.Rule, " from "+from) {
		v.Rule += "; enforcement " + string(v.Enforcement) + " from " + from
	}
	return v
}
