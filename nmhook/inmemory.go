// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// The address of an activation is NetworkManager's to apply: with
// cloned-mac-address=preserve (its default) NetworkManager puts back the
// address it recorded for the card at every activation (and on Wi-Fi
// after each randomised scan), whatever the link has then. So the service
// gives every profile that applies to a guarded card, in NetworkManager's
// memory only (the keyfile is never written), the cloned-mac-address the
// policy wants for it: an explicit generated address, or NetworkManager's
// own "random" or "permanent" where the policy means exactly that. What it
// changed is recorded in the per-boot file (UUID, original value, value
// set; /run, like NetworkManager's own in-memory values, so the addresses
// never reach the disk) before the change, undone on a clean exit, and
// undone at the next start in the same boot after a crash. The only keyfile it writes is one someone saved while it
// held the service's value: that profile's own value goes back to disk
// (savedWithOurs).

// inMemory keeps the records of the in-memory changes in the per-boot file.
type inMemory struct {
	state *state.InMemoryChanges
	save  func() error
	log   *slog.Logger
}

func (m inMemory) find(uuid string) (int, bool) {
	i := slices.IndexFunc(m.state.InMemory, func(c state.InMemoryChange) bool { return c.UUID == uuid })
	return i, i >= 0
}

// set gives profile path (uuid) the cloned-mac-address value in memory,
// recording the original first. It does nothing when the profile has it.
func (m inMemory) set(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath, uuid, value string) error {
	s, err := st.ProfileSettings(ctx, path)
	if err != nil {
		return err
	}
	cur := nm.ClonedOf(s)
	if strings.EqualFold(cur, value) {
		return nil
	}
	next, err := nm.WithCloned(s, value)
	if err != nil {
		return err
	}
	i, ok := m.find(uuid)
	var prev state.InMemoryChange
	if ok {
		prev = m.state.InMemory[i]
		m.state.InMemory[i].Set = value
	} else {
		m.state.InMemory = append(m.state.InMemory, state.InMemoryChange{UUID: uuid, Original: cur, Set: value})
	}
	// Recorded before the change: a crash right after it leaves a record
	// the next start undoes.
	if err := m.save(); err != nil {
		m.forget(uuid, prev, ok)
		return fmt.Errorf("record the in-memory change: %w", err)
	}
	if err := st.UpdateInMemory(ctx, path, next); err != nil {
		m.forget(uuid, prev, ok)
		if serr := m.save(); serr != nil {
			m.log.Warn("state: save failed", slog.String("error", serr.Error()))
		}
		return err
	}
	orig := m.state.InMemory[len(m.state.InMemory)-1].Original
	if i, ok := m.find(uuid); ok {
		orig = m.state.InMemory[i].Original
	}
	m.log.Info("nm: profile given its address in memory", slog.String("uuid", uuid),
		slog.String("cloned_mac_address", value), slog.String("was", cur), slog.String("own", orig))
	return nil
}

// forget puts the record of uuid back as it was before a failed set.
func (m inMemory) forget(uuid string, prev state.InMemoryChange, had bool) {
	i, ok := m.find(uuid)
	if !ok {
		return
	}
	if had {
		m.state.InMemory[i] = prev
		return
	}
	m.state.InMemory = slices.Delete(m.state.InMemory, i, i+1)
}

// undo gives profile path (uuid) back its own cloned-mac-address when it
// still has the one the service set, and drops the record. A profile
// someone else changed since is left as it is.
func (m inMemory) undo(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath, uuid string) error {
	i, ok := m.find(uuid)
	if !ok {
		return nil
	}
	rec := m.state.InMemory[i]
	s, err := st.ProfileSettings(ctx, path)
	if err != nil {
		return err
	}
	if cur := nm.ClonedOf(s); strings.EqualFold(cur, rec.Set) {
		next, err := nm.WithCloned(s, rec.Original)
		if err != nil {
			return err
		}
		if err := st.UpdateInMemory(ctx, path, next); err != nil {
			return err
		}
		m.log.Info("nm: profile's own address given back in memory", slog.String("uuid", uuid),
			slog.String("cloned_mac_address", rec.Original), slog.String("was", cur))
	} else {
		m.log.Info("nm: profile changed by someone else since the service set its address; left as it is",
			slog.String("uuid", uuid), slog.String("cloned_mac_address", cur), slog.String("set", rec.Set))
	}
	m.drop(uuid)
	return m.save()
}

// savedWithOurs gives profile path (uuid) its own cloned-mac-address back on
// disk when someone saved it (it is no longer unsaved) while it held the
// value the service set in memory: saving a profile (nmcli connection
// modify of any property, a settings dialog) writes the whole profile, the
// service's address included, to its keyfile, where it would outlive the
// service (a restore's "permanent" or the real address for good). The
// same holds for the identifier values the service set (identifiers.go):
// those it still holds get their own values back in the same write. The
// user's other changes stay. The records written back are dropped: the
// caller gives the profile its address (and identifiers) in memory again.
// It reports whether it wrote.
func (m inMemory) savedWithOurs(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath, uuid string) (bool, error) {
	i, ok := m.find(uuid)
	j, iok := m.findIdents(uuid)
	if !ok && !iok {
		return false, nil
	}
	unsaved, err := st.ProfileUnsaved(ctx, path)
	if err != nil || unsaved {
		return false, err
	}
	s, err := st.ProfileSettings(ctx, path)
	if err != nil {
		return false, err
	}
	next, cur := s, nm.ClonedOf(s)
	var rec state.InMemoryChange
	cloned := false
	if ok {
		rec = m.state.InMemory[i]
		if strings.EqualFold(cur, rec.Set) {
			if next, err = nm.WithCloned(s, rec.Original); err != nil {
				return false, err
			}
			cloned = true
		}
	}
	idents := 0
	if iok {
		if next, idents, err = ownIdents(next, m.state.Identifiers[j]); err != nil {
			return false, err
		}
	}
	if !cloned && idents == 0 {
		return false, nil
	}
	// Nor the refusal term (unavailable.go): it is marked again in memory.
	next = nm.WithRefusal(next, false)
	if err := st.UpdateToDisk(ctx, path, next); err != nil {
		return false, err
	}
	if cloned {
		m.log.Warn("nm: profile saved to disk with the address the service gave it in memory; its own cloned-mac-address written back to disk",
			slog.String("uuid", uuid), slog.String("cloned_mac_address", rec.Original), slog.String("was", cur))
		m.drop(uuid)
	}
	if idents > 0 {
		m.log.Warn("nm: profile saved to disk with the identifier settings the service gave it in memory; its own written back to disk",
			slog.String("uuid", uuid), slog.Int("properties", idents))
		m.dropIdents(uuid)
	}
	return true, m.save()
}

func (m inMemory) drop(uuid string) {
	if i, ok := m.find(uuid); ok {
		m.state.InMemory = slices.Delete(m.state.InMemory, i, i+1)
	}
}

// recover undoes what a previous run left in memory: for each record, the
// profile (by UUID, among profiles) is given back its own value when
// NetworkManager still holds it unsaved with the value the service set. A
// profile someone saved since with that value gets its own value back on
// disk (savedWithOurs); one gone, or as on disk (NetworkManager started with
// a new /run), only loses its record. It returns the UUIDs undone.
func (m inMemory) recover(ctx context.Context, st nm.ProfileStore, profiles map[dbus.ObjectPath]nm.Profile) []string {
	var undone []string
	var errs []error
	for _, rec := range slices.Clone(m.state.InMemory) {
		path := pathOfUUID(profiles, rec.UUID)
		if path == "" {
			m.log.Info("nm: profile the previous run changed in memory is gone", slog.String("uuid", rec.UUID))
			m.drop(rec.UUID)
			continue
		}
		unsaved, err := st.ProfileUnsaved(ctx, path)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if !unsaved {
			// Saved since: with the value the previous run set (someone
			// saved it meanwhile), or as on disk (NetworkManager started
			// afresh).
			wrote, err := m.savedWithOurs(ctx, st, path, rec.UUID)
			if err != nil {
				errs = append(errs, err)
				continue
			}
			if wrote {
				undone = append(undone, rec.UUID)
				continue
			}
			m.log.Info("nm: profile the previous run changed in memory is as on disk now", slog.String("uuid", rec.UUID))
			m.drop(rec.UUID)
			continue
		}
		if err := m.undo(ctx, st, path, rec.UUID); err != nil {
			errs = append(errs, err)
			continue
		}
		undone = append(undone, rec.UUID)
	}
	if err := m.save(); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		m.log.Warn("nm: could not undo everything the previous run changed in memory", slog.String("error", err.Error()))
	}
	return undone
}

// memStore is NetworkManager as a ProfileStore (nil when not connected).
func (s *Service) memStore() nm.ProfileStore {
	if s.cfg.profiles != nil {
		return s.cfg.profiles
	}
	if s.nm == nil {
		return nil
	}
	return s.nm
}

func (s *Service) mem() inMemory {
	return inMemory{state: &s.boot.InMemoryChanges, log: s.log, save: func() error { return s.boot.Save(s.cfg.BootStatePath) }}
}

// realIsNMPermanent reports whether NetworkManager's "permanent" gives the
// card its real address (NM knows the card's permanent address).
func (d *devState) realIsNMPermanent() bool {
	return d.realSource == gate.RealFromKernel || d.realSource == gate.RealFromNM
}

// wantCloned is the cloned-mac-address the policy wants for profile p on
// device d ("" when the device is not guarded: no opinion), and whether it
// is the real address.
func (s *Service) wantCloned(d *devState, p nm.Profile) (string, bool, error) {
	pol := s.effectivePolicy()
	dev := d.policyDevice()
	net := policy.Network{UUID: p.UUID, ID: p.ID, SSID: p.SSID}
	ex := s.exemptions()
	v := pol.Select(dev, net, ex)
	if !v.Guarded {
		return "", false, nil
	}
	if len(d.real) != 6 {
		return "", false, fmt.Errorf("the real address of %s is unknown", d.iface)
	}
	switch v.Mode {
	case policy.ModePermanent:
		if d.realIsNMPermanent() {
			return "permanent", true, nil
		}
		return d.real.String(), true, nil
	case policy.ModeRandom:
		return "random", false, nil
	}
	// An address the service set before and that still complies stays:
	// one address per profile and card while the policy holds.
	if i, ok := s.mem().find(p.UUID); ok && v.Mode != policy.ModeStable {
		if m, err := policy.ParseMAC(s.boot.InMemory[i].Set); err == nil {
			dev.Current = m
			if pol.Evaluate(dev, net, ex).Allowed {
				return m.String(), false, nil
			}
		}
	}
	m, err := pol.GenerateWith(dev, net, ex, s.state.SecretBytes())
	if err != nil {
		return "", false, err
	}
	return m.String(), false, nil
}

// overridable reports whether the service gives a profile whose own
// cloned-mac-address is own the value want (real: want is the real
// address). Only NetworkManager's default and preserve are replaced (they
// mean "whatever NetworkManager recorded for the card"), and any value when
// the real address is wanted (the user's restore, an exemption, a permanent
// rule). A profile that sets an address of its own otherwise keeps it: a
// compliant one is used as it is, a violating one is blocked at rest and
// refused in flight as before — the service does not override what the
// user asked for, even in memory.
func overridable(own, want string, real bool) bool {
	switch {
	case want == "":
		return false
	case own == "" || own == "preserve":
		return true
	}
	return real
}

// syncProfiles gives every profile that applies to a guarded device the
// address the policy wants for it, in memory, and gives back their own
// value to those the service changed and no longer needs to. Called when
// profiles, devices, the policy or the exemptions change.
func (s *Service) syncProfiles(ctx context.Context, why string) {
	st := s.memStore()
	if st == nil || s.profiles == nil {
		return
	}
	for _, path := range slices.Sorted(maps.Keys(s.profiles)) {
		p := s.profiles[path]
		if p.Type != "802-3-ethernet" && p.Type != "802-11-wireless" {
			continue
		}
		d := s.profileDevice(p)
		s.syncIdents(ctx, st, path, p, d)
		s.syncProfile(ctx, st, path, s.profiles[path], d, why)
	}
	s.syncAllUnavailable(ctx)
}

// profileDevice is the guarded device a profile is given an address for:
// the one it is bound to, else the first by name it applies to (nil none).
func (s *Service) profileDevice(p nm.Profile) *devState {
	var names []string
	for name, d := range s.devs {
		if d.nmKnown && p.AppliesTo(d.iface, d.nm.Type) {
			names = append(names, name)
		}
	}
	if len(names) == 0 {
		return nil
	}
	slices.Sort(names)
	return s.devs[names[0]]
}

// syncProfile gives one profile the address wanted for it on d (nil: no
// device, give back its own value).
func (s *Service) syncProfile(ctx context.Context, st nm.ProfileStore, path dbus.ObjectPath, p nm.Profile, d *devState, why string) {
	m := s.mem()
	own := p.ClonedMAC
	if i, ok := m.find(p.UUID); ok {
		own = s.boot.InMemory[i].Original
	}
	want, real := "", false
	if d != nil && !s.held {
		var err error
		if want, real, err = s.wantCloned(d, p); err != nil {
			s.log.Debug("nm: no address for profile", slog.String("profile", p.ID), slog.String("error", err.Error()))
		}
	}
	if !overridable(own, want, real) {
		if _, ok := m.find(p.UUID); ok {
			if err := m.undo(ctx, st, path, p.UUID); err != nil {
				s.log.Warn("nm: cannot give the profile its own address back", slog.String("profile", p.ID), slog.String("error", err.Error()))
				return
			}
			p.ClonedMAC = own
			s.profiles[path] = p
		}
		return
	}
	if strings.EqualFold(p.ClonedMAC, want) {
		return
	}
	if err := m.set(ctx, st, path, p.UUID, want); err != nil {
		s.log.Warn("nm: cannot give the profile its address in memory", slog.String("profile", p.ID),
			slog.String("cloned_mac_address", want), slog.String("error", err.Error()))
		return
	}
	s.log.Debug("nm: profile address", slog.String("profile", p.ID), slog.String("device", d.iface), slog.String("why", why))
	p.ClonedMAC = strings.ToLower(want)
	s.profiles[path] = p
}

// recoverProfiles undoes what a crashed run left in NetworkManager's memory
// (see inMemory.recover) and updates the profiles read.
func (s *Service) recoverProfiles(ctx context.Context) {
	st := s.memStore()
	if st == nil {
		return
	}
	if len(s.boot.Identifiers) > 0 {
		s.mem().recoverIdents(ctx, st, s.profiles)
		for path := range s.profiles {
			s.refreshProfile(ctx, st, path)
		}
	}
	if len(s.boot.InMemory) == 0 {
		return
	}
	recs := map[string]string{}
	for _, r := range s.boot.InMemory {
		recs[r.UUID] = r.Original
	}
	for _, uuid := range s.mem().recover(ctx, st, s.profiles) {
		for path, p := range s.profiles {
			if p.UUID == uuid {
				p.ClonedMAC = strings.ToLower(recs[uuid])
				s.profiles[path] = p
			}
		}
	}
}

// undoProfiles gives every profile the service changed its own value back
// (clean exit).
func (s *Service) undoProfiles() {
	st := s.memStore()
	if st == nil || len(s.boot.InMemory)+len(s.boot.Identifiers) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	m := s.mem()
	for _, rec := range slices.Clone(s.boot.Identifiers) {
		path := pathOfUUID(s.profiles, rec.UUID)
		if path == "" {
			continue
		}
		if err := m.undoIdents(ctx, st, path, rec.UUID); err != nil {
			s.log.Warn("nm: cannot give the profile its own identifier settings back; the next start will", slog.String("uuid", rec.UUID), slog.String("error", err.Error()))
		}
	}
	for _, rec := range slices.Clone(s.boot.InMemory) {
		path := pathOfUUID(s.profiles, rec.UUID)
		if path == "" {
			if s.nm == nil {
				continue
			}
			p, err := s.nm.ProfileByUUID(ctx, rec.UUID)
			if err != nil {
				continue
			}
			path = p
		}
		if err := m.undo(ctx, st, path, rec.UUID); err != nil {
			s.log.Warn("nm: cannot give the profile its own address back; the next start will", slog.String("uuid", rec.UUID), slog.String("error", err.Error()))
		}
	}
}

// realWantedOn reports whether the service gave a profile that applies to d
// the real address in memory (a restore, an exemption, a permanent rule).
func (s *Service) realWantedOn(d *devState) bool {
	for _, rec := range s.boot.InMemory {
		if rec.Set != "permanent" && !strings.EqualFold(rec.Set, d.real.String()) {
			continue
		}
		for _, p := range s.profiles {
			if p.UUID == rec.UUID && p.AppliesTo(d.iface, d.nm.Type) {
				return true
			}
		}
	}
	return false
}

// pathOfUUID is the object path of the profile with uuid among profiles, ""
// when none.
func pathOfUUID(profiles map[dbus.ObjectPath]nm.Profile, uuid string) dbus.ObjectPath {
	for path, p := range profiles {
		if p.UUID == uuid {
			return path
		}
	}
	return ""
}
