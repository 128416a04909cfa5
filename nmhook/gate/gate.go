// SPDX-License-Identifier: GPL-3.0-or-later

package gate

import (
	"fmt"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/profile"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// View is the pure snapshot of one device the gate decides on.
type View struct {
	Device policy.Device
	// State is NM's device state (0 when NM does not know the device).
	State uint32
	// Network is the active connection's network (zero at rest).
	Network policy.Network
	// ActiveClonedMAC is the active profile's cloned-mac-address ("" none).
	ActiveClonedMAC string
	// Profiles are the autoconnect profiles NM could activate on the device.
	Profiles []profile.Profile
	// Hold is the boot-time hold: keep the device silent.
	Hold bool
}

// Decision is what the gate does about one device.
type Decision struct {
	Verdict policy.Verdict
	// Guard: the backstop must drop frames with the real address.
	Guard bool
	// Spoof: set a generated compliant address (link down first).
	Spoof bool
	// Block: keep the device down and NM's autoconnect off for it.
	Block bool
	// Disconnect: the device is activating or activated: disconnect it.
	Disconnect bool
	// Reactivate: after Spoof, activate the same connection again.
	Reactivate bool
	// Reason says why, in plain words.
	Reason string
}

// Activating reports whether NM is bringing the device up or has it up: the
// in-flight layer applies.
func Activating(state uint32) bool {
	return state >= detect.StatePrepare && state <= detect.StateActivated
}

// Spoofs reports whether a verdict means the real address must not be used.
func Spoofs(v policy.Verdict) bool {
	return v.Guarded && v.Mode != policy.ModePermanent
}

// Decide is the gate's pure decision over a device snapshot.
//
//   - At rest (not activating), a current address that breaks the policy is
//     fixed by setting a compliant one, whatever the enforcement (except
//     audit): that is the hotplug and at-rest layers. An autoconnect profile
//     that would set a violating address blocks the device: the service
//     cannot fix a profile without rewriting it.
//   - In flight, a violation is refused (link down, disconnect, autoconnect
//     off) or remediated (the same, then a compliant address and the same
//     connection again); a violation caused by the active profile's own
//     cloned-mac-address cannot be remediated and is refused.
//   - The backstop guards every device whose verdict spoofs and whose real
//     address is known.
func Decide(p *policy.Policy, v View, ex []policy.Exemption, secret []byte) Decision {
	verdict := p.Evaluate(v.Device, v.Network, ex)
	d := Decision{Verdict: verdict, Reason: verdict.Reason}
	if !verdict.Guarded {
		return d
	}
	d.Guard = Spoofs(verdict) && v.Device.RealKnown
	if v.Hold {
		d.Block = true
		d.Disconnect = Activating(v.State)
		d.Reason = "held until the user decides whether to hide the address"
		return d
	}
	if !v.Device.RealKnown && Spoofs(verdict) {
		// Fail closed: without the real address nothing can be checked.
		d.Block = true
		d.Disconnect = Activating(v.State)
		d.Reason = "the real address could not be determined, so the device is kept down"
		return d
	}
	if verdict.Enforcement == policy.EnforceAudit {
		return d
	}
	if !Activating(v.State) {
		// NetworkManager's scan address is its own, whatever the policy
		// wants for connections (spoof = false included): it puts the
		// profile's address back before it connects. Not while a restore
		// wants the real address on the card at rest (the view has the
		// network being restored then).
		scan := !verdict.Allowed && nmScanAddress(v) && (Spoofs(verdict) || v.Network == policy.Network{})
		if !verdict.Allowed && !scan {
			d.Spoof = true
			return d
		}
		if scan {
			d.Reason = "NetworkManager's random scan address " + v.Device.Current.String() +
				" (wifi.scan-rand-mac-address) on an idle card: left alone; NetworkManager puts the profile's address back before it connects"
		}
		for _, pr := range v.Profiles {
			if !pr.Autoconnect {
				continue
			}
			if bad, why := ProfileViolates(p, v.Device, pr, ex); bad {
				d.Block = true
				d.Reason = why
				return d
			}
		}
		return d
	}
	if verdict.Allowed {
		// The address is fine so far, but NM applies the profile's
		// cloned-mac-address during the activation (PREPARE), and skips
		// it when its own cache says the card has it already: a profile
		// that would set a violating address is refused in flight
		// whatever the card shows yet, as it is blocked at rest.
		active := profile.Profile{ID: v.Network.ID, UUID: v.Network.UUID, SSID: v.Network.SSID, ClonedMAC: v.ActiveClonedMAC}
		if bad, why := ProfileViolates(p, v.Device, active, ex); bad {
			d.Block, d.Disconnect = true, true
			d.Reason = "the profile being activated is refused: " + why
		}
		return d
	}
	if verdict.Mode == policy.ModePermanent && v.Device.RealKnown {
		// The real address is wanted here (exemption, spoof off, rule):
		// a private address reveals nothing, so put the real one back and
		// reconnect, whatever the enforcement.
		d.Spoof, d.Disconnect, d.Reactivate = true, true, true
		d.Reason = "this network uses the real address (" + verdict.Rule + "): setting it and reconnecting"
		return d
	}
	d.Block = true
	d.Disconnect = true
	if verdict.Enforcement == policy.EnforceRemediate {
		// A profile whose own address violates cannot be remediated: the
		// reactivation would set it again. One that sets a compliant
		// address (the one the service gives it in memory) can.
		active := profile.Profile{ID: v.Network.ID, UUID: v.Network.UUID, SSID: v.Network.SSID, ClonedMAC: v.ActiveClonedMAC}
		if bad, _ := ProfileViolates(p, v.Device, active, ex); bad {
			d.Reason = fmt.Sprintf("%s; the profile sets cloned-mac-address=%s, so it cannot be remediated: refused", verdict.Reason, v.ActiveClonedMAC)
			return d
		}
		d.Block = false
		d.Spoof = true
		d.Reactivate = true
	}
	return d
}

// nmScanAddress reports whether the address of an idle Wi-Fi card is the
// one NetworkManager sets while it scans (wifi.scan-rand-mac-address): one
// of NetworkManager's scan pattern (NMScanPattern) on a card NetworkManager
// manages and is not activating. It is not a violation: NetworkManager sets
// the activation's own address before it associates, and the backstop
// still drops any frame with the real address.
//
// The state is NetworkManager's: its scan address appears only while no
// activation is in flight (NetworkManager 1.42, nm-device-wifi.c
// _hw_addr_set_scanning returns at once while the device is activating or
// activated; it sets the address when the device enters DISCONNECTED after
// an activation and before its scans). The same address in flight
// (PREPARE to ACTIVATED) is the activation's and is judged as such.
func nmScanAddress(v View) bool {
	return v.Device.Type == "wifi" && (v.State == detect.StateDisconnected || v.State == detect.StateUnavailable) &&
		NMScanPattern(v.Device)
}

// NMScanPattern reports whether dev's current address fits the address
// NetworkManager makes for its scans with the default
// wifi.scan-generate-mac-address-mask (none): nm_utils_hw_addr_gen_random_eth,
// random bytes with the locally administered bit set and the multicast bit
// cleared, never the real address. Only the pattern: whether it is
// NetworkManager's scan address depends on NetworkManager's state
// (nmScanAddress).
func NMScanPattern(dev policy.Device) bool {
	cur := dev.Current
	return dev.RealKnown && cur != dev.Real && cur.IsLocal() && !cur.IsMulticast() && !cur.IsZero()
}

// profileSetsMAC reports whether a profile's cloned-mac-address makes NM set
// an address of its own (anything but the default and preserve).
func profileSetsMAC(cloned string) bool {
	return cloned != "" && cloned != "preserve"
}

// ProfileViolates checks the address a profile would make NM set.
func ProfileViolates(p *policy.Policy, dev policy.Device, pr profile.Profile, ex []policy.Exemption) (bool, string) {
	v, sets, err := profileVerdict(p, dev, pr, ex)
	if err != nil {
		// Fail closed: an address nobody can judge is a violation.
		return true, fmt.Sprintf("profile %q sets %v, which is not understood", pr.ID, err)
	}
	if !sets || !violates(v) {
		return false, ""
	}
	return true, fmt.Sprintf("profile %q would set cloned-mac-address=%s: %s; autoconnect is blocked until the profile is fixed (cloned-mac-address=preserve) or the user allows the real address", pr.ID, pr.ClonedMAC, v.Reason)
}

// violates reports whether a verdict on an address is one the gate acts on.
func violates(v policy.Verdict) bool {
	return !v.Allowed && v.Guarded && v.Enforcement != policy.EnforceAudit
}

// profileVerdict judges the address a profile would make NM set, on the
// profile's own network; false when the profile sets none (default,
// preserve) or sets the real address while it is unknown (nothing to judge
// it against: the unknown real address is handled as such); an error when
// the cloned-mac-address is not understood.
func profileVerdict(p *policy.Policy, dev policy.Device, pr profile.Profile, ex []policy.Exemption) (policy.Verdict, bool, error) {
	if !profileSetsMAC(pr.ClonedMAC) {
		return policy.Verdict{}, false, nil
	}
	net := policy.Network{UUID: pr.UUID, ID: pr.ID, SSID: pr.SSID}
	would := dev
	switch pr.ClonedMAC {
	case "permanent":
		if !dev.RealKnown {
			return policy.Verdict{}, false, nil
		}
		would.Current = dev.Real
	case "random", "stable", "stable-ssid":
		// NM makes a random locally administered unicast address; a
		// representative one is judged (it is never the real address).
		would.Current = policy.MAC{0x02, 0x6e, 0x6d, 0x67, 0x75, 0x61}
		if dev.RealKnown && would.Current == dev.Real {
			would.Current[5] ^= 1
		}
	default:
		m, err := policy.ParseMAC(pr.ClonedMAC)
		if err != nil {
			return policy.Verdict{}, true, fmt.Errorf("cloned-mac-address %q: %w", pr.ClonedMAC, err)
		}
		would.Current = m
	}
	return p.Evaluate(would, net, ex), true, nil
}
