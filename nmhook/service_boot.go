// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"log/slog"
	"slices"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
)

// loadBootState reads the per-boot file for this boot, and moves what
// earlier versions kept in the persistent state (the runtime switch,
// first-seen addresses, in-memory records) into it when it is of this boot, dropping it
// otherwise.
func (s *Service) loadBootState() {
	s.bootID = state.BootID(s.cfg.BootIDPath)
	bs, stale, err := state.LoadBoot(s.cfg.BootStatePath, s.bootID)
	switch {
	case err != nil:
		s.bootLost = true
		s.log.Error("state: "+err.Error()+"; cards present now with no permanent address are kept down in this boot",
			slog.String("path", s.cfg.BootStatePath))
	case stale:
		s.log.Info("state: the per-boot state of an earlier boot is dropped (runtime spoof switch, first-seen addresses)",
			slog.String("path", s.cfg.BootStatePath))
	}
	s.boot = bs
	if s.migrateLegacyState(bootStarted()) {
		s.saveBootState()
		s.saveState()
	}
}

// migrateLegacyState moves the runtime switch and first-seen addresses an
// earlier version kept in the persistent state into the per-boot state when
// they are of this boot (the switch by its boot id, an address by its time:
// after started, the boot's start), moves the records of in-memory changes
// there, and drops them all from the persistent state. It reports whether
// anything changed.
func (s *Service) migrateLegacyState(started time.Time) bool {
	st := s.state
	changed := false
	if st.Spoof != nil {
		if st.DecidedBoot != "" && st.DecidedBoot == s.bootID && s.boot.Spoof == nil {
			s.boot.Spoof, s.boot.SpoofBy = st.Spoof, "decision of this boot (from the state file)"
		} else {
			s.log.Info("state: the runtime spoof switch of an earlier boot is dropped", slog.Bool("spoof", *st.Spoof))
		}
		st.Spoof, st.DecidedBoot = nil, ""
		changed = true
	}
	for k, fs := range st.FirstSeen {
		if _, ok := s.boot.FirstSeen[k]; !ok && !started.IsZero() && fs.Time.After(started) {
			s.boot.FirstSeen[k] = fs
		}
		changed = true
	}
	st.FirstSeen = map[string]state.FirstSeen{}
	// In-memory records: taken whatever their boot. NetworkManager forgets
	// in-memory values at a reboot, and a record whose value is not in
	// NetworkManager's memory any more is dropped unused at recovery.
	for _, r := range st.LegacyInMemory {
		if !slices.ContainsFunc(s.boot.InMemory, func(c state.InMemoryChange) bool { return c.UUID == r.UUID }) {
			s.boot.InMemory = append(s.boot.InMemory, r)
		}
		changed = true
	}
	for _, r := range st.LegacyIdentifiers {
		if !slices.ContainsFunc(s.boot.Identifiers, func(c state.IdentChange) bool { return c.UUID == r.UUID }) {
			s.boot.Identifiers = append(s.boot.Identifiers, r)
		}
		changed = true
	}
	st.LegacyInMemory, st.LegacyIdentifiers = nil, nil
	return changed
}
