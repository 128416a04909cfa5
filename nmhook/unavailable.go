// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// A profile that sets a violating address of its own (cloned-mac-address
// =permanent, the real address, another vendor's under keep-vendor) is known
// to violate before any activation. Refusing it in flight is a race
// NetworkManager can win: with no DHCP to wait for it reaches ACTIVATED
// milliseconds after PREPARE, and nmcli then says "successfully activated"
// although the card is disconnected right after. So such a profile is made
// unavailable to NetworkManager itself, in its memory only (like the
// addresses of inmemory.go): the profile is given a mandatory
// match.kernel-command-line term that no kernel command line has.
// NetworkManager checks it when an activation is asked for
// (nm_device_check_connection_available), so `nmcli connection up` fails at
// once, naming the term, and NetworkManager never autoconnects the profile.
// The mark is taken off as soon as the profile complies (fixed, or the real
// address allowed for it), on a clean exit, and at the next start after a
// crash (the term names the service, so no record is needed to find it). A
// profile someone saved with the mark is written back to disk without it
// (savedWithMark), as inmemory.go does for the address.
// The in-flight refusal stays for what the mark cannot cover (a profile
// activated before the service saw it change, an address set by hand).

// refusalOf says which mark profile p must carry: on each guarded device
// NetworkManager knows and p applies to, the address p would make
// NetworkManager set (NetworkManager.conf's default when p has none, or the
// one the service gave it) is judged. Refused on every such device (or on
// one the mark cannot name alone), p is kept from every device; refused on
// some only (a profile with no interface-name, a device rule that keeps one
// card's real address), from those only. d is the first device it is
// refused on, why the reason. judged is false when no device could be
// judged (NetworkManager does not know the devices yet, e.g. right after it
// restarted, or no real address is known): then nothing is known about p
// and its mark stays as it is.
func (s *Service) refusalOf(p nm.Profile) (d *devState, why string, r nm.Refusal, judged bool) {
	if p.Type != "802-3-ethernet" && p.Type != "802-11-wireless" {
		return nil, "", nm.Refusal{}, true
	}
	names := make([]string, 0, len(s.devs))
	for name, d := range s.devs {
		if d.nmKnown && p.AppliesTo(d.iface, d.nm.Type) {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	pol, ex := s.effectivePolicy(), s.exemptions()
	complies := 0
	for _, name := range names {
		dv := s.devs[name]
		dev := dv.policyDevice()
		if !dev.RealKnown {
			continue // kept down as such: nothing to judge the profile against
		}
		judged = true
		bad, reason := gate.ProfileViolates(pol, dev, withEffectiveCloned(s.nmconf, p, dv.confDevice()), ex)
		if !bad {
			complies++
			continue
		}
		if d == nil {
			d, why = dv, reason
			why, _, _ = strings.Cut(why, "; autoconnect is blocked")
		}
		if !nm.RefusableOn(name) {
			r.All = true
		}
		r.On = append(r.On, name)
	}
	if d != nil && complies == 0 {
		r.All = true
	}
	if r.All {
		r.On = nil
	}
	return d, why, r, judged
}

// syncUnavailable puts the mark on the profile at path, or takes it off,
// as refusalOf says. A profile newly marked is reported as a violation
// (log, Violation signal): NetworkManager's refusal of its activations
// comes with no signal the service could see.
func (s *Service) syncUnavailable(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath) {
	p, ok := s.profiles[path]
	if !ok {
		return
	}
	if p.Unavailable {
		wrote, err := s.savedWithMark(ctx, st, path)
		if err != nil {
			s.log.Warn("nm: cannot take the refusal term off a saved profile on disk", slog.String("profile", p.ID), slog.String("error", err.Error()))
		} else if wrote {
			p = p.WithRefusal(nm.Refusal{})
			s.profiles[path] = p
		}
	}
	d, why, want, judged := s.refusalOf(p)
	if !judged || want.Equal(p.Refusal()) {
		return
	}
	if err := s.setUnavailable(ctx, st, path, want); err != nil {
		s.log.Warn("nm: cannot change whether NetworkManager may activate the profile", slog.String("profile", p.ID),
			slog.Bool("unavailable", want.Any()), slog.String("on", strings.Join(want.On, ",")), slog.String("error", err.Error()))
		return
	}
	p = p.WithRefusal(want)
	s.profiles[path] = p
	if !want.Any() {
		delete(s.refusedProfiles, p.UUID)
		s.log.Info("gate: profile available to NetworkManager again", slog.String("profile", p.ID), slog.String("uuid", p.UUID))
		return
	}
	reason := why + "; " + unavailableNoteFor(want)
	if s.refusedProfiles[p.UUID] == reason {
		// The same refusal, marked again (NetworkManager restarted and
		// read the profile from disk): not a new violation.
		s.log.Info("gate: profile kept from activating again", slog.String("profile", p.ID), slog.String("uuid", p.UUID))
		return
	}
	if s.refusedProfiles == nil {
		s.refusedProfiles = map[string]string{}
	}
	s.refusedProfiles[p.UUID] = reason
	s.recordViolation(d, "refused", reason, 0)
}

// unavailableNote ends the reason of a profile made unavailable; tests and
// benchmarks tell it from a refusal in flight by it.
const unavailableNote = "NetworkManager is kept from activating it (match.kernel-command-line " + nm.RefusalTerm +
	", in memory) until the profile is fixed (cloned-mac-address=preserve) or the user allows the real address"

// unavailableNoteFor is unavailableNote for the mark r: a mark on some
// devices names them and NetworkManager's property that keeps them.
func unavailableNoteFor(r nm.Refusal) string {
	if r.All {
		return unavailableNote
	}
	return "NetworkManager is kept from activating it on " + strings.Join(r.On, ", ") +
		" (match.interface-name &!NAME, in memory; other devices may use it) until the profile is fixed (cloned-mac-address=preserve) or the user allows the real address"
}

// setUnavailable puts the mark r (none: no mark) in NetworkManager's memory.
func (s *Service) setUnavailable(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath, r nm.Refusal) error {
	cur, err := st.ProfileSettings(ctx, path)
	if err != nil {
		return err
	}
	if nm.RefusalOf(cur).Equal(r) {
		return nil
	}
	return st.UpdateInMemory(ctx, path, nm.WithRefusalOf(cur, r))
}

// savedWithMark writes the profile at path back to disk without the mark
// when someone saved it (it is no longer unsaved) while it carried the mark
// (nmcli connection modify, a settings dialog: the whole profile is written,
// the mark included, where it would outlive the service). The user's other
// changes stay. It reports whether it wrote; the caller marks the profile
// in memory again if it still violates.
func (s *Service) savedWithMark(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath) (bool, error) {
	unsaved, err := st.ProfileUnsaved(ctx, path)
	if err != nil || unsaved {
		return false, err
	}
	cur, err := st.ProfileSettings(ctx, path)
	if err != nil || !nm.HasRefusalTerm(cur) {
		return false, err
	}
	if err := st.UpdateToDisk(ctx, path, nm.WithRefusal(cur, false)); err != nil {
		return false, err
	}
	s.log.Warn("nm: profile saved to disk with the service's refusal term; written back to disk without it",
		slog.String("profile", s.profiles[path].ID), slog.String("uuid", s.profiles[path].UUID))
	return true, nil
}

// syncAllUnavailable brings the mark of every profile up to date.
func (s *Service) syncAllUnavailable(ctx context.Context) {
	st := s.memStore()
	if st == nil || s.profiles == nil {
		return
	}
	for _, path := range slices.Sorted(maps.Keys(s.profiles)) {
		s.syncUnavailable(ctx, st, path)
	}
}

// undoUnavailable takes the mark off every profile (clean exit): with the
// service stopped, the backstop alone guards.
func (s *Service) undoUnavailable() {
	st := s.memStore()
	if st == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for path, p := range s.profiles {
		if !p.Unavailable {
			continue
		}
		if err := s.setUnavailable(ctx, st, path, nm.Refusal{}); err != nil {
			s.log.Warn("nm: cannot make the profile available again; the next start will", slog.String("profile", p.ID), slog.String("error", err.Error()))
			continue
		}
		s.profiles[path] = p.WithRefusal(nm.Refusal{})
	}
}
