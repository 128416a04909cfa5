// SPDX-License-Identifier: GPL-3.0-or-later

package state

import (
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"

	"github.com/mac-nmguard/mac-nmguard/policy"
)

// Version is the format version of the state file.
const Version = 1

// FirstSeen records the address the service saw first on a device that has
// no permanent address (veth, some USB adapters): the service then treats it
// as the real one.
type FirstSeen struct {
	Index int       `json:"index"`
	Addr  string    `json:"addr"`
	Time  time.Time `json:"time"`
}

// State is what the service keeps across restarts and boots, in one JSON
// file written atomically: the stable-mode secret, the user's lasting
// exemptions, detector history. What holds for one boot only is in
// BootState.
type State struct {
	Version int `json:"version"`
	// Secret keys the stable mode (hex, 32 bytes); made once per machine.
	Secret string `json:"secret"`
	// FirstSeen is what versions before the per-boot file (BootState)
	// kept here: read once, moved there when of this boot, never written
	// again (first-seen real addresses are kept per boot, off the disk).
	FirstSeen map[string]FirstSeen `json:"first_seen,omitempty"`
	// Exemptions are the user's "use the real address for this network,
	// always" choices.
	Exemptions []policy.Exemption `json:"exemptions,omitempty"`
	// Spoof and DecidedBoot are the runtime spoof switch as versions
	// before the per-boot file kept it: read once, moved to BootState when
	// decided in this boot, dropped otherwise, never written again.
	Spoof       *bool  `json:"spoof,omitempty"`
	DecidedBoot string `json:"decided_boot,omitempty"`
	// RealSuccess lists connection UUIDs that once activated with the real
	// address (history for the detector).
	RealSuccess []string `json:"real_success,omitempty"`
	// LegacyInMemory and LegacyIdentifiers are the in-memory records
	// (InMemoryChanges) that versions
	// before the per-boot file kept here, on disk: read once, moved to
	// BootState, never written again. NetworkManager keeps in-memory values
	// under /run, so a record of them lives exactly as long in the per-boot
	// file, and a private address the service set never reaches the disk.
	LegacyInMemory    []InMemoryChange `json:"in_memory,omitempty"`
	LegacyIdentifiers []IdentChange    `json:"identifiers,omitempty"`
	// Portals lists the connections seen behind a captive portal with a
	// private address, each with the service's address generation of that
	// sighting (a token of the run that chose the address), oldest first,
	// at most MaxPortals: a sighting in a later generation means a new
	// private address (detector kind portal-forgets). Never an address
	// nor anything derived from one.
	Portals []PortalSighting `json:"portals,omitempty"`
}

// MaxPortals bounds State.Portals; the oldest sighting goes first.
const MaxPortals = 256

// PortalSighting is one connection seen behind a captive portal.
type PortalSighting struct {
	UUID       string `json:"uuid"`
	Generation string `json:"generation"`
}

// SeePortal records that connection uuid was seen behind a portal in
// address generation gen, as its latest sighting; it reports whether the
// state changed.
func (s *State) SeePortal(uuid, gen string) bool {
	if i := slices.IndexFunc(s.Portals, func(p PortalSighting) bool { return p.UUID == uuid }); i >= 0 {
		if s.Portals[i].Generation == gen && i == len(s.Portals)-1 {
			return false
		}
		s.Portals = slices.Delete(s.Portals, i, i+1)
	}
	s.Portals = append(s.Portals, PortalSighting{UUID: uuid, Generation: gen})
	if n := len(s.Portals) - MaxPortals; n > 0 {
		s.Portals = slices.Delete(s.Portals, 0, n)
	}
	return true
}

// DropPortal forgets the sighting of connection uuid (it keeps one private
// address now: mode stable); it reports whether there was one.
func (s *State) DropPortal(uuid string) bool {
	n := len(s.Portals)
	s.Portals = slices.DeleteFunc(s.Portals, func(p PortalSighting) bool { return p.UUID == uuid })
	return len(s.Portals) != n
}

// New returns an empty state with a fresh secret.
func New() (*State, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("make state secret: %w", err)
	}
	return &State{Version: Version, Secret: hex.EncodeToString(b), FirstSeen: map[string]FirstSeen{}}, nil
}

// SecretBytes decodes the stable-mode secret.
func (s *State) SecretBytes() []byte {
	b, err := hex.DecodeString(s.Secret)
	if err != nil {
		return nil
	}
	return b
}

// Load reads the state file. A missing file gives a fresh state. A
// corrupt one is moved aside (to path.corrupt-TIMESTAMP) and a fresh state is
// returned together with a non-nil warning that says where it went: the
// service keeps running, failing closed (no exemptions).
func Load(path string) (st *State, warning error, err error) {
	removeStaleTemps(path)
	data, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		st, err := New()
		return st, nil, err
	}
	if err != nil {
		return nil, nil, fmt.Errorf("read state %s: %w", path, err)
	}
	st = &State{}
	perr := json.Unmarshal(data, st)
	if perr == nil && (st.Version != Version || len(st.SecretBytes()) != 32) {
		perr = fmt.Errorf("version %d or secret not valid", st.Version)
	}
	if perr == nil {
		if st.FirstSeen == nil {
			st.FirstSeen = map[string]FirstSeen{}
		}
		return st, nil, nil
	}
	aside := fmt.Sprintf("%s.corrupt-%s", path, time.Now().UTC().Format("20060102T150405.000000000"))
	if err := os.Rename(path, aside); err != nil {
		return nil, nil, fmt.Errorf("state %s is corrupt (%v) and could not be moved aside: %w", path, perr, err)
	}
	st, err = New()
	if err != nil {
		return nil, nil, err
	}
	return st, fmt.Errorf("state %s was corrupt (%v); moved to %s, starting afresh", path, perr, aside), nil
}

// Save writes the state atomically: a temporary file in the same directory,
// fsync, rename over the old one, fsync of the directory. A crash at any
// point leaves either the old or the new file, never a torn one.
func (s *State) Save(path string) error {
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("encode state: %w", err)
	}
	return WriteFileAtomic(path, append(data, '\n'), 0o600)
}

// WriteFileAtomic writes data to path as Save does: a temporary file,
// fsync, rename, fsync of the directory.
func WriteFileAtomic(path string, data []byte, mode os.FileMode) (err error) {
	dir := filepath.Dir(path)
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return fmt.Errorf("create %s: %w", dir, err)
	}
	f, err := os.CreateTemp(dir, "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	tmp := f.Name()
	defer func() {
		if err != nil {
			os.Remove(tmp)
		}
	}()
	if _, err = f.Write(data); err == nil {
		err = f.Chmod(mode)
	}
	if err == nil {
		err = f.Sync()
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err = os.Rename(tmp, path); err != nil {
		return fmt.Errorf("replace %s: %w", path, err)
	}
	if d, derr := os.Open(dir); derr == nil {
		d.Sync()
		d.Close()
	}
	return nil
}

// Key is the state file's key for an interface name. Interface names
// are bytes, JSON keys are UTF-8: a name that is not plain printable UTF-8
// is stored as "hex:" and its bytes in hex, so that no two names share a key
// and a restart finds them again.
func Key(iface string) string {
	if utf8.ValidString(iface) && !strings.HasPrefix(iface, "hex:") {
		printable := true
		for _, r := range iface {
			if !unicode.IsPrint(r) {
				printable = false
				break
			}
		}
		if printable {
			return iface
		}
	}
	return "hex:" + hex.EncodeToString([]byte(iface))
}

// removeStaleTemps deletes temporary files a killed writer left beside path.
func removeStaleTemps(path string) {
	matches, _ := filepath.Glob(filepath.Join(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*"))
	for _, m := range matches {
		os.Remove(m)
	}
}

// IdentChange is one profile whose identifier properties the service
// changed in NetworkManager's memory.
type IdentChange struct {
	UUID string           `json:"uuid"`
	Keys []IdentKeyChange `json:"keys"`
}

// IdentKeyChange is one property of an IdentChange, values in text form.
type IdentKeyChange struct {
	Key string `json:"key"` // setting.property, as nmcli spells it
	// Original is the profile's own value; Had is false when the profile
	// did not set it (NetworkManager's default).
	Original string `json:"original,omitempty"`
	Had      bool   `json:"had"`
	// Set is the value the service gave it.
	Set string `json:"set"`
}

// InMemoryChanges are what the service changed in NetworkManager's memory,
// each with the profile's own value, so that a clean exit or the next start
// in the same boot gives it back. They are kept in the per-boot file
// (BootState), as long as NetworkManager keeps in-memory values.
type InMemoryChanges struct {
	// InMemory lists the profiles whose cloned-mac-address the service
	// changed in NetworkManager's memory.
	InMemory []InMemoryChange `json:"in_memory,omitempty"`
	// Identifiers lists the profiles whose identifier properties (DHCP
	// host name, client id, DUID, IPv6 address generation, LLMNR, mDNS)
	// the service changed in NetworkManager's memory (policy identifiers =
	// "hide").
	Identifiers []IdentChange `json:"identifiers,omitempty"`
}

// Empty reports whether c records no change.
func (c *InMemoryChanges) Empty() bool { return len(c.InMemory)+len(c.Identifiers) == 0 }

// InMemoryChange is one profile whose cloned-mac-address the service changed
// in NetworkManager's memory.
type InMemoryChange struct {
	UUID string `json:"uuid"`
	// Original is the profile's own value ("" NetworkManager's default).
	Original string `json:"original"`
	// Set is the value the service gave it.
	Set string `json:"set"`
}
