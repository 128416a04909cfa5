// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"cmp"
	"context"
	"log/slog"
	"slices"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// NetworkManager answers Device.Disconnect (the service's refusal, the
// hold) by blocking autoconnect of the profile that was active, as a
// user's request, until that profile is activated again by a client (NM
// 1.42's policy: DEACTIVATING with reason user-requested; only
// ActivateConnection clears it; turning the device's Autoconnect back on
// does not). So when the service gives such a card back, it activates the
// autoconnect profile NetworkManager would have chosen itself if that is
// one it blocked: the card then comes up as it would have without the
// service.

// disconnect asks NM to disconnect d and remembers the profile NM now
// blocks from autoconnecting: the active one when the service knows it,
// else (the disconnect comes first: it must not wait for a read) every
// profile for the card that could be it.
func (s *Service) disconnect(ctx context.Context, d *devState) {
	if !d.nmKnown || s.nm == nil {
		return
	}
	if err := s.nm.Disconnect(ctx, d.nm.Path); err != nil {
		s.log.Debug("nm: disconnect", slog.String("device", d.iface), slog.String("error", err.Error()))
		return
	}
	if s.nmBlocked == nil {
		s.nmBlocked = map[dbus.ObjectPath]bool{}
	}
	blocked := []dbus.ObjectPath{d.profile}
	if d.profile == "" || d.profileAC != d.nm.ActiveConnection {
		blocked = blocked[:0]
		for path, p := range s.profiles {
			if p.AppliesTo(d.iface, d.nm.Type) {
				blocked = append(blocked, path)
			}
		}
	}
	for _, path := range blocked {
		s.nmBlocked[path] = true
	}
	s.log.Debug("nm: disconnected; NetworkManager blocks autoconnect of the profile until it is activated again",
		slog.String("device", d.iface), slog.Any("profiles", blocked))
}

// activate activates profile on d; a profile activated by a client is no
// longer blocked by NM. (A profile seen in flight is not taken off the
// list: the refused activation's own queued states arrive after the
// disconnect that blocked it. One a user activated stays listed, and is at
// worst activated by the service instead of NM's autoconnect.)
func (s *Service) activate(ctx context.Context, d *devState, profile dbus.ObjectPath) error {
	s.rearm() // the profile may carry the real address, given in memory
	if err := s.nm.Activate(ctx, profile, d.nm.Path); err != nil {
		return err
	}
	delete(s.nmBlocked, profile)
	return nil
}

// reconnect gives back a card at rest: when the autoconnect profile NM
// would choose for it is one NM blocks because the service disconnected
// it, the service activates it; then the device's autoconnect is turned
// back on (unblock leaves it off until then, so that NM does not start a
// worse profile first).
func (s *Service) reconnect(ctx context.Context, d *devState) {
	if !d.nmKnown || s.nm == nil || s.held || d.restoring != nil || d.nm.State != detect.StateDisconnected {
		return
	}
	switch d.gate {
	case gateAllowed, gateSpoofed:
	default:
		return
	}
	if s.blockedCandidate(d) {
		if best, ok := s.bestAutoconnect(ctx, d); ok && s.nmBlocked[dbus.ObjectPath(best.Path)] {
			if err := s.activate(ctx, d, dbus.ObjectPath(best.Path)); err != nil {
				s.log.Warn("nm: cannot reconnect the profile the service had disconnected", slog.String("device", d.iface),
					slog.String("connection", best.ID), slog.String("error", err.Error()))
			} else {
				s.log.Info("nm: reconnecting the profile NetworkManager would autoconnect (it blocked it after the service disconnected it)",
					slog.String("device", d.iface), slog.String("connection", best.ID))
			}
		}
	}
	if d.autoconnOff {
		if err := s.nm.SetAutoconnect(ctx, d.nm.Path, true); err != nil {
			s.log.Warn("nm: cannot turn autoconnect back on", slog.String("device", d.iface), slog.String("error", err.Error()))
			return
		}
		d.autoconnOff = false
	}
}

// blockedCandidate reports whether an autoconnect profile for d is one NM
// blocks because of the service (no D-Bus call).
func (s *Service) blockedCandidate(d *devState) bool {
	for path := range s.nmBlocked {
		if p, ok := s.profiles[path]; ok && p.Autoconnect && p.AppliesTo(d.iface, d.nm.Type) {
			return true
		}
	}
	return false
}

// bestAutoconnect is the profile NM's autoconnect would choose for d,
// blocks aside: available on the device, autoconnect on, highest
// autoconnect-priority, then most recently connected, then lowest UUID
// (NM 1.42 nm_settings_connection_cmp_autoconnect_priority). A profile
// that would set a violating address is never chosen.
func (s *Service) bestAutoconnect(ctx context.Context, d *devState) (nm.Profile, bool) {
	nd, err := s.nm.Device(ctx, d.nm.Path)
	if err != nil {
		return nm.Profile{}, false
	}
	var cands []nm.Profile
	for _, path := range nd.AvailableConnections {
		p, err := s.nm.Profile(ctx, path)
		if err != nil || !p.Autoconnect {
			continue
		}
		if bad, _ := gate.ProfileViolates(s.effectivePolicy(), d.policyDevice(), p, s.exemptions()); bad {
			continue
		}
		cands = append(cands, p)
	}
	if len(cands) == 0 {
		return nm.Profile{}, false
	}
	slices.SortFunc(cands, autoconnectOrder)
	return cands[0], true
}

// autoconnectOrder sorts profiles the way NM's autoconnect tries them.
func autoconnectOrder(a, b nm.Profile) int {
	if c := cmp.Compare(b.AutoconnectPriority, a.AutoconnectPriority); c != 0 {
		return c
	}
	if (a.Timestamp != 0) != (b.Timestamp != 0) {
		if a.Timestamp != 0 {
			return -1
		}
		return 1
	}
	if c := cmp.Compare(b.Timestamp, a.Timestamp); c != 0 {
		return c
	}
	return cmp.Compare(a.UUID, b.UUID)
}
