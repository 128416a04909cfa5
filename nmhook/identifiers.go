// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// A private address protects little if the activation still announces the
// machine: its host name in DHCP, a client identifier or DUID made from
// the real address or /etc/machine-id, IPv6 addresses made from the real
// address, LLMNR and mDNS. With the policy's identifiers = "hide" (the
// default wherever the mode spoofs) every profile that applies to a
// guarded card is given, like its address (inmemory.go) and by the same
// mechanism, the values of nm.Idents that hide them, in NetworkManager's
// memory only: recorded in the state file before the change, given back
// when the policy no longer hides them, on a clean exit and at the next
// start after a crash, and written back to disk when someone saves the
// profile while it holds them. The shipped NetworkManager.conf snippet
// sets the same values as defaults where NetworkManager 1.42 has one
// (everything but dhcp-send-hostname).

func (m inMemory) findIdents(uuid string) (int, bool) {
	i := slices.IndexFunc(m.state.Identifiers, func(c state.IdentChange) bool { return c.UUID == uuid })
	return i, i >= 0
}

func identByName(name string) (nm.Ident, bool) {
	for _, i := range nm.Idents() {
		if i.Name() == name {
			return i, true
		}
	}
	return nm.Ident{}, false
}

// hideIdents gives profile path (uuid) the values that hide its
// identifiers, in memory, recording its own values first. It returns the
// properties it changed (none when the profile hides them already).
func (m inMemory) hideIdents(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath, uuid string) ([]string, error) {
	s, err := st.ProfileSettings(ctx, path)
	if err != nil {
		return nil, err
	}
	i, had := m.findIdents(uuid)
	var prev state.IdentChange
	rec := state.IdentChange{UUID: uuid}
	if had {
		prev = m.state.Identifiers[i]
		rec.Keys = slices.Clone(prev.Keys)
	}
	next := s
	var changed []string
	for _, id := range nm.Idents() {
		cur, present := nm.IdentOf(s, id)
		if id.Hides(cur, present) {
			continue
		}
		if next, err = nm.WithIdent(next, id, id.Hidden, true); err != nil {
			return nil, err
		}
		changed = append(changed, id.Name()+"="+id.Hidden)
		k := slices.IndexFunc(rec.Keys, func(c state.IdentKeyChange) bool { return c.Key == id.Name() })
		if k < 0 {
			rec.Keys = append(rec.Keys, state.IdentKeyChange{Key: id.Name(), Original: cur, Had: present, Set: id.Hidden})
		} else {
			// Someone changed it since the service set it: that value is
			// the profile's own now.
			rec.Keys[k] = state.IdentKeyChange{Key: id.Name(), Original: cur, Had: present, Set: id.Hidden}
		}
	}
	if len(changed) == 0 {
		return nil, nil
	}
	if had {
		m.state.Identifiers[i] = rec
	} else {
		m.state.Identifiers = append(m.state.Identifiers, rec)
	}
	restore := func() {
		if j, ok := m.findIdents(uuid); ok {
			if had {
				m.state.Identifiers[j] = prev
			} else {
				m.state.Identifiers = slices.Delete(m.state.Identifiers, j, j+1)
			}
		}
	}
	// Recorded before the change, as the address.
	if err := m.save(); err != nil {
		restore()
		return nil, fmt.Errorf("record the in-memory change: %w", err)
	}
	if err := st.UpdateInMemory(ctx, path, next); err != nil {
		restore()
		if serr := m.save(); serr != nil {
			m.log.Warn("state: save failed", slog.String("error", serr.Error()))
		}
		return nil, err
	}
	return changed, nil
}

// ownIdents returns s with every identifier property that still holds the
// value the service set given its own value back, and how many it gave
// back.
func ownIdents(s nm.Settings, rec state.IdentChange) (nm.Settings, int, error) {
	n := 0
	for _, k := range rec.Keys {
		id, ok := identByName(k.Key)
		if !ok {
			continue
		}
		cur, present := nm.IdentOf(s, id)
		if !present || cur != k.Set {
			continue
		}
		var err error
		if s, err = nm.WithIdent(s, id, k.Original, k.Had); err != nil {
			return nil, 0, err
		}
		n++
	}
	return s, n, nil
}

// undoIdents gives profile path (uuid) its own identifier values back
// where it still has those the service set, in memory, and drops the
// record.
func (m inMemory) undoIdents(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath, uuid string) error {
	i, ok := m.findIdents(uuid)
	if !ok {
		return nil
	}
	rec := m.state.Identifiers[i]
	s, err := st.ProfileSettings(ctx, path)
	if err != nil {
		return err
	}
	next, n, err := ownIdents(s, rec)
	if err != nil {
		return err
	}
	if n > 0 {
		if err := st.UpdateInMemory(ctx, path, next); err != nil {
			return err
		}
		m.log.Info("nm: profile's own identifier settings given back in memory", slog.String("uuid", uuid), slog.Int("properties", n))
	}
	m.dropIdents(uuid)
	return m.save()
}

func (m inMemory) dropIdents(uuid string) {
	if i, ok := m.findIdents(uuid); ok {
		m.state.Identifiers = slices.Delete(m.state.Identifiers, i, i+1)
	}
}

// recoverIdents undoes the identifier changes a previous run left in
// memory, as recover does for the address.
func (m inMemory) recoverIdents(ctx context.Context, st nm.ProfileStore, profiles map[dbus.ObjectPath]nm.Profile) {
	var errs []error
	for _, rec := range slices.Clone(m.state.Identifiers) {
		path := pathOfUUID(profiles, rec.UUID)
		if path == "" {
			m.dropIdents(rec.UUID)
			continue
		}
		unsaved, err := st.ProfileUnsaved(ctx, path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !unsaved {
			if _, err := m.savedWithOurs(ctx, st, path, rec.UUID); err != nil {
				errs = append(errs, err)
				continue
			}
			m.dropIdents(rec.UUID)
			continue
		}
		if err := m.undoIdents(ctx, st, path, rec.UUID); err != nil {
			errs = append(errs, err)
		}
	}
	if err := m.save(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		m.log.Warn("nm: could not undo every identifier setting the previous run changed in memory", slog.String("error", err.Error()))
	}
}

// identsVerdict is the policy's answer for profile p on device d (nil: no
// guarded device).
func (s *Service) identsVerdict(d *devState, p nm.Profile) (policy.Verdict, bool) {
	if d == nil {
		return policy.Verdict{}, false
	}
	v := s.effectivePolicy().Select(d.policyDevice(), policy.Network{UUID: p.UUID, ID: p.ID, SSID: p.SSID}, s.exemptions())
	return v, v.HidesIdentifiers()
}

// syncIdents gives profile p the identifier values that hide them when the
// policy hides them on d, and gives back its own values otherwise. It runs
// before the profile is given its address, so a profile holds both before
// the service lets an activation of it through.
func (s *Service) syncIdents(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath, p nm.Profile, d *devState) {
	m := s.mem()
	v, hide := s.identsVerdict(d, p)
	if !hide {
		if _, ok := m.findIdents(p.UUID); !ok {
			return
		}
		if err := m.undoIdents(ctx, st, path, p.UUID); err != nil {
			s.log.Warn("nm: cannot give the profile its own identifier settings back", slog.String("profile", p.ID), slog.String("error", err.Error()))
			return
		}
		s.refreshProfile(ctx, st, path)
		return
	}
	if p.IdentsHidden {
		return
	}
	changed, err := m.hideIdents(ctx, st, path, p.UUID)
	if err != nil {
		s.log.Warn("nm: cannot hide the profile's identifiers in memory", slog.String("profile", p.ID), slog.String("error", err.Error()))
		return
	}
	if len(changed) > 0 {
		s.log.Info("nm: profile's identifiers hidden in memory (policy identifiers = hide)", slog.String("profile", p.ID),
			slog.String("uuid", p.UUID), slog.String("device", d.iface), slog.String("set", strings.Join(changed, " ")),
			slog.String("rule", v.IdentifiersRule))
	}
	p.IdentsHidden = true
	s.profiles[path] = p
}

// refreshProfile reads profile path again into s.profiles.
func (s *Service) refreshProfile(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath) {
	set, err := st.ProfileSettings(ctx, path)
	if err != nil {
		return
	}
	s.profiles[path] = nm.ProfileFromSettings(path, set)
}
