// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import "fmt"

// Guard says which devices the service guards at all.
type Guard string

// The guard settings.
const (
	// GuardAuto guards network cards (a bus device or a Wi-Fi radio behind
	// the interface), devices whose class could not be read, and virtual
	// devices that carry a guarded card's real address; other virtual
	// devices (Docker's and libvirt's bridges and veths, tun/tap, ifb) are
	// left alone.
	GuardAuto Guard = "auto"
	// GuardAlways guards the device whatever is behind it.
	GuardAlways Guard = "always"
	// GuardNever leaves the device alone (as mode "ignore" does).
	GuardNever Guard = "never"
)

// Guards returns every valid guard setting.
func Guards() []Guard { return []Guard{GuardAuto, GuardAlways, GuardNever} }

// Valid reports whether g is one of the defined guard settings.
func (g Guard) Valid() bool { return g == GuardAuto || g == GuardAlways || g == GuardNever }

// ParseGuard parses a guard setting; the error lists the valid ones.
func ParseGuard(s string) (Guard, error) {
	if g := Guard(s); g.Valid() {
		return g, nil
	}
	return "", fmt.Errorf("unknown guard %q (want one of %s)", s, joinQuoted(Guards()))
}

// Class says what is behind a network device, as the kernel (sysfs) tells.
type Class string

// The device classes.
const (
	// ClassUnset: not classified (a hand-built Device); treated as a card.
	ClassUnset Class = ""
	// ClassCard: hardware, a bus device (PCI, USB, SDIO, virtio...) or a
	// Wi-Fi radio (a wiphy, mac80211_hwsim's too).
	ClassCard Class = "card"
	// ClassVirtual: a software device (bridge, bond, VLAN, veth, tun/tap...).
	ClassVirtual Class = "virtual"
	// ClassUnknown: what is behind it could not be read; treated as a card
	// (fail closed).
	ClassUnknown Class = "unknown"
)

// selectGuard picks the guard setting for d: the last matching device
// rule that sets one, else [default], else auto. An invalid value (a
// hand-built Policy) is always: fail closed.
func (p *Policy) selectGuard(d Device) (Guard, string) {
	g, from := p.Default.Guard, p.Default.GuardSource
	if g == "" && from == "" {
		g = GuardAlways // a hand-built Policy without the setting: guard everything
	}
	if from == "" {
		from = builtinDefault
	}
	for i := range p.Devices {
		r := &p.Devices[i]
		if r.Guard != "" && r.matches(d) {
			g, from = r.Guard, r.describe(i)
		}
	}
	if !g.Valid() {
		return GuardAlways, fmt.Sprintf("invalid guard %q replaced by %s", g, GuardAlways)
	}
	return g, from
}

// guardVerdict decides whether the guard setting leaves d alone: a
// not-guarded Verdict with its reason, or ok false when d is guarded (note
// then says why a device that is not plainly a card is, "" otherwise).
func (p *Policy) guardVerdict(d Device) (v Verdict, alone bool, note string) {
	g, from := p.selectGuard(d)
	switch {
	case g == GuardNever:
		return Verdict{Mode: ModeIgnore, Rule: "guard = never from " + from,
			Reason: fmt.Sprintf("device %s is not guarded (guard = never)", d.Interface)}, true, ""
	case g == GuardAlways:
		return Verdict{}, false, ""
	case d.Class == ClassVirtual && d.Carries == "":
		return Verdict{Mode: ModeIgnore, Rule: "guard = auto from " + from,
			Reason: fmt.Sprintf("%s is a virtual device without a card's address (guard = auto): not guarded", d.Interface)}, true, ""
	case d.Class == ClassVirtual:
		return Verdict{}, false, fmt.Sprintf("guarded: a virtual device carrying the real address of %s (guard = auto)", d.Carries)
	case d.Class == ClassUnknown:
		return Verdict{}, false, "guarded: what is behind the device could not be read, so it is treated as a card (guard = auto)"
	}
	return Verdict{}, false, ""
}

// GuardedAlone reports whether the guard setting guards d on its own
// account (at rest): as a card, or by a rule, and not with mode ignore;
// not because it carries another device's real address (d.Carries is
// ignored).
func (p *Policy) GuardedAlone(d Device) bool {
	d.Carries = ""
	return p.Select(d, Network{}, nil).Guarded
}

// GuardFor returns the guard setting that applies to d and where it was
// set.
func (p *Policy) GuardFor(d Device) (Guard, string) { return p.selectGuard(d) }

// FailClosed is the policy used when the configured one cannot be loaded:
// the built-in default, guarding every device whatever is behind it
// (guard = "always"), since the files that could say otherwise were not
// read.
func FailClosed() *Policy {
	p := Default()
	p.Default.Guard, p.Default.GuardSource = GuardAlways, "fail closed: the policy files could not be loaded"
	return p
}
