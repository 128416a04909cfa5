// SPDX-License-Identifier: GPL-3.0-or-later

package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"
)

// BootVersion is the format version of the per-boot file.
const BootVersion = 1

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
//     the service take the private addresses it set for real ones;
//   - the private addresses the service gave profiles in NetworkManager's
//     memory, and the other values it set there, are recorded as long as
//     NetworkManager keeps them (its in-memory values live under /run too)
//     and never on disk.
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
	// FirstSeen maps an interface name (Key) to the first address
	// the service saw on it in this boot. An entry with no address records
	// a card whose real address cannot be known in this boot (it fails
	// closed).
	FirstSeen map[string]FirstSeen `json:"first_seen,omitempty"`
	// RadiosBeforeHold maps each wireless rfkill switch the boot-time
	// hold soft-blocked to whether it was soft-blocked before, until the
	// hold ends.
	RadiosBeforeHold map[uint32]bool `json:"radios_before_hold,omitempty"`
	// InMemoryChanges: what the service changed in NetworkManager's
	// memory (private addresses, hidden identifiers), to give back. Like
	// NetworkManager's in-memory values (under /run) they last one boot.
	InMemoryChanges
}

// NewBoot is an empty state for boot id.
func NewBoot(id string) *BootState {
	return &BootState{Version: BootVersion, BootID: id, FirstSeen: map[string]FirstSeen{}}
}

// ErrBootLost says the per-boot file existed but cannot be used for
// this boot: corrupt, unreadable, or the current boot id is unknown. What it
// said about the cards present now is lost: those without a permanent
// address must fail closed.
var ErrBootLost = errors.New("per-boot state lost")

// LoadBoot reads the per-boot file for boot id. A missing file, or
// one of another boot, gives a fresh state (stale reports the latter). A
// file that cannot be used for this boot (corrupt, unreadable, or the boot
// id unknown) gives a fresh state and an error wrapping ErrBootLost; a
// corrupt one is moved aside (path.corrupt-TIMESTAMP).
func LoadBoot(path, id string) (bs *BootState, stale bool, err error) {
	if path == "" {
		return NewBoot(id), false, nil
	}
	removeStaleTemps(path)
	data, rerr := os.ReadFile(path)
	if errors.Is(rerr, fs.ErrNotExist) {
		return NewBoot(id), false, nil
	}
	if rerr != nil {
		return NewBoot(id), false, fmt.Errorf("%w: read %s: %v", ErrBootLost, path, rerr)
	}
	st := &BootState{}
	perr := json.Unmarshal(data, st)
	if perr == nil && st.Version != BootVersion {
		perr = fmt.Errorf("version %d, want %d", st.Version, BootVersion)
	}
	if perr != nil {
		aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000"))
		if err := os.Rename(path, aside); err != nil {
			aside = "not moved aside: " + err.Error()
		}
		return NewBoot(id), false, fmt.Errorf("%w: %s is corrupt (%v); moved to %s", ErrBootLost, path, perr, aside)
	}
	if id == "" {
		return NewBoot(id), false, fmt.Errorf("%w: the current boot id is unknown, so %s (boot %s) may be of this boot or another", ErrBootLost, path, st.BootID)
	}
	if st.BootID != id {
		return NewBoot(id), true, nil
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
	return WriteFileAtomic(path, append(data, '\n'), 0o600)
}

// BootID identifies this boot; a decision taken in another boot does not
// end a hold.
func BootID(path string) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return strings.TrimSpace(string(b))
}
