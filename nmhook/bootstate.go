// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"time"
)

// bootStateVersion is the format version of the per-boot file.
const bootStateVersion = 1

// BootState is what holds for one boot only. It is kept apart from the
// persistent State, in the service's runtime directory
// (/run/mac-nmguard/boot.json: a tmpfs, gone at shutdown), and carries the
// boot id it belongs to: read in another boot it is dropped whole. So
//
//   - a runtime spoof switch (decide, SetSpoofing, a hold's timeout) never
//     outlives the boot that decided it, and a policy's spoof = true is
//     never overridden by one of an earlier boot;
//   - a first-seen "real" address (cards with no permanent address) is
//     never applied to whatever card has the same name and index in a
//     later boot;
//   - the real addresses of such cards are never written to disk;
//   - a corrupt persistent state file in the middle of a boot does not make
//     the service take the private addresses it set for real ones.
//
// The kernel command line's spoof option is not kept here: it is read again
// at every start.
type BootState struct {
	Version int    `json:"version"`
	BootID  string `json:"boot_id"`
	// Spoof, when set, overrides the policy's spoof switch for this boot.
	Spoof *bool `json:"spoof,omitempty"`
	// SpoofBy says who decided (SetSpoofing over D-Bus, hold timeout).
	SpoofBy string `json:"spoof_by,omitempty"`
	// FirstSeen maps an interface name (StateKey) to the first address
	// the service saw on it in this boot. An entry with no address records
	// a card whose real address cannot be known in this boot (it fails
	// closed).
	FirstSeen map[string]FirstSeen `json:"first_seen,omitempty"`
	// RadiosBeforeHold maps each wireless rfkill switch the boot-time
	// hold soft-blocked to whether it was soft-blocked before, until the
	// hold ends.
	RadiosBeforeHold map[uint32]bool `json:"radios_before_hold,omitempty"`
}

// newBootState is an empty state for boot id.
func newBootState(id string) *BootState {
	return &BootState{Version: bootStateVersion, BootID: id, FirstSeen: map[string]FirstSeen{}}
}

// errBootStateLost says the per-boot file existed but cannot be used for
// this boot: corrupt, unreadable, or the current boot id is unknown. What it
// said about the cards present now is lost: those without a permanent
// address must fail closed.
var errBootStateLost = errors.New("per-boot state lost")

// LoadBootState reads the per-boot file for boot id. A missing file, or
// one of another boot, gives a fresh state (stale reports the latter). A
// file that cannot be used for this boot (corrupt, unreadable, or the boot
// id unknown) gives a fresh state and an error wrapping errBootStateLost; a
// corrupt one is moved aside (path.corrupt-TIMESTAMP).
func LoadBootState(path, id string) (bs *BootState, stale bool, err error) {
	if path == "" {
		return newBootState(id), false, nil
	}
	removeStaleTemps(path)
	data, rerr := os.ReadFile(path)
	if errors.Is(rerr, fs.ErrNotExist) {
		return newBootState(id), false, nil
	}
	if rerr != nil {
		return newBootState(id), false, fmt.Errorf("%w: read %s: %v", errBootStateLost, path, rerr)
	}
	st := &BootState{}
	perr := json.Unmarshal(data, st)
	if perr == nil && st.Version != bootStateVersion {
		perr = fmt.Errorf("version %d, want %d", st.Version, bootStateVersion)
	}
	if perr != nil {
		aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000"))
		if err := os.Rename(path, aside); err != nil {
			aside = "not moved aside: " + err.Error()
		}
		return newBootState(id), false, fmt.Errorf("%w: %s is corrupt (%v); moved to %s", errBootStateLost, path, perr, aside)
	}
	if id == "" {
		return newBootState(id), false, fmt.Errorf("%w: the current boot id is unknown, so %s (boot %s) may be of this boot or another", errBootStateLost, path, st.BootID)
	}
	if st.BootID != id {
		return newBootState(id), true, nil
	}
	if st.FirstSeen == nil {
		st.FirstSeen = map[string]FirstSeen{}
	}
	return st, false, nil
}

// Save writes the per-boot file atomically, readable by root only (it
// holds real addresses).
func (b *BootState) Save(path string) error {
	if path == "" {
		return nil
	}
	data, err := json.MarshalIndent(b, "", "  ")
	if err != nil {
		return fmt.Errorf("encode per-boot state: %w", err)
	}
	return writeFileAtomic(path, append(data, '\n'), 0o600)
}

// loadBootState reads the per-boot file for this boot, and moves what
// earlier versions kept in the persistent state (the runtime switch,
// first-seen addresses) into it when it is of this boot, dropping it
// otherwise.
func (s *Service) loadBootState() {
	s.bootID = bootID(s.cfg.BootIDPath)
	bs, stale, err := LoadBootState(s.cfg.BootStatePath, s.bootID)
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
// after started, the boot's start), and drops them from the persistent
// state. It reports whether anything changed.
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
	st.FirstSeen = map[string]FirstSeen{}
	return changed
}
