// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"log/slog"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
)

// NetworkManager can take an activation from PREPARE to ACTIVATED in about
// 15 ms (no DHCP to wait for), and nmcli then reports "successfully
// activated" even when the refusal lands 2 ms later. Reading which profile
// is being activated costs D-Bus round trips to NetworkManager first. When
// every profile NetworkManager knows for the card sets a violating address,
// whichever one this activation is, it is refused: the link is taken down
// and the card disconnected at the first state, before any round trip.
// Otherwise the profile is read, and judged at once (evaluate).

// refuseAtPrepare refuses an activation at its first state, when every
// profile for d would set a violating address: link down, disconnect, the
// violation recorded, the card blocked. It reports whether it did (the
// caller then does not decide on this state again: the profile it reads
// next may already be unreadable, the activation being gone).
func (s *Service) refuseAtPrepare(ctx context.Context, d *devState, t0 time.Time) bool {
	if s.held || !d.nmKnown || s.nm == nil || d.restoring != nil {
		return false
	}
	if d.gate == gateBlocked && time.Since(d.refusedAt) < 3*time.Second {
		// Refused already (its address change came before this signal):
		// the usual path goes on with it, without a second violation.
		return false
	}
	why, ok := s.onlyViolatingProfiles(d)
	if !ok {
		return false
	}
	if err := s.cfg.Links.SetDown(d.iface); err != nil {
		s.log.Error("link: down failed", slog.String("device", d.iface), slog.String("error", err.Error()))
		return false
	}
	reaction := time.Since(t0)
	d.link.Up = false
	s.disconnect(ctx, d)
	if !d.autoconnOff {
		if err := s.nm.SetAutoconnect(ctx, d.nm.Path, false); err == nil {
			d.autoconnOff = true
		}
	}
	d.refusedAC, d.refusedAt = refusedAtPrepare, time.Now()
	s.recordViolation(d, "refused", why, reaction)
	s.setGate(d, gateBlocked, "NetworkManager state prepare: "+why)
	return true
}

// refusedAtPrepare marks a refusal made before the active connection was
// read: the later states of the same activation are not refused again.
const refusedAtPrepare = dbus.ObjectPath("/refused-at-prepare")

// onlyViolatingProfiles reports whether d has profiles and each one would
// set an address the policy refuses (no D-Bus call: the service's copy of
// the profiles), with the reason.
func (s *Service) onlyViolatingProfiles(d *devState) (string, bool) {
	pol, dev, ex := s.effectivePolicy(), d.policyDevice(), s.exemptions()
	if !dev.RealKnown {
		return "", false
	}
	why := ""
	n := 0
	for _, p := range s.profiles {
		if !p.AppliesTo(d.iface, d.nm.Type) {
			continue
		}
		bad, w := gate.ProfileViolates(pol, dev, p, ex)
		if !bad {
			return "", false
		}
		why = w
		n++
	}
	if n > 1 {
		why = "every profile for the device sets a violating address, this one too"
	}
	return "the profile being activated is refused at its first state: " + why, n > 0
}
