// SPDX-License-Identifier: GPL-3.0-or-later

package state

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
)

func TestStateKeyRoundTripsOddNames(t *testing.T) {
	names := []string{"eth0", "nm\xe9t", "\xff\xfe\xfd\xfc", "\xff\xfe\xfd\xfd", "a\x1bb", "hex:6e6d"}
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	st, _, err := Load(path)
	if err != nil {
		t.Fatal(err)
	}
	seen := map[string]bool{}
	for i, n := range names {
		k := Key(n)
		if seen[k] {
			t.Fatalf("two names share the key %q", k)
		}
		seen[k] = true
		st.FirstSeen[k] = FirstSeen{Index: i + 2, Addr: "02:00:00:00:00:0" + string(rune('0'+i))}
	}
	if err := st.Save(path); err != nil {
		t.Fatal(err)
	}
	back, warn, err := Load(path)
	if err != nil || warn != nil {
		t.Fatalf("load: %v %v", err, warn)
	}
	for i, n := range names {
		if fs := back.FirstSeen[Key(n)]; fs.Index != i+2 {
			t.Errorf("%q: first_seen %+v after a round trip, want index %d", n, fs, i+2)
		}
	}
}

func TestLoadStateMovesCorruptAsideAndDropsTemps(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "state.json")
	if err := os.WriteFile(path, []byte(`{"version": 1, "secret": "tor`), 0o600); err != nil {
		t.Fatal(err)
	}
	tmp := filepath.Join(dir, ".state.json.tmp-123")
	if err := os.WriteFile(tmp, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	st, warn, err := Load(path)
	if err != nil || warn == nil || st == nil || len(st.SecretBytes()) != 32 {
		t.Fatalf("LoadState = %v, %v, %v; want a fresh state and a warning", st, warn, err)
	}
	if m, _ := filepath.Glob(path + ".corrupt-*"); len(m) != 1 {
		t.Fatalf("corrupt file not moved aside: %v", m)
	}
	if _, err := os.Stat(tmp); !os.IsNotExist(err) {
		t.Fatalf("stale temporary file left: %v", err)
	}
}

// TestSeePortalBounded: the portal sightings keep the latest generation per
// connection, latest last, at most MaxPortals (the oldest dropped).
func TestSeePortalBounded(t *testing.T) {
	var s State
	if !s.SeePortal("a", "g1") || s.SeePortal("a", "g1") {
		t.Fatal("SeePortal: want a change once, then none")
	}
	for i := 0; i < MaxPortals; i++ {
		s.SeePortal(fmt.Sprintf("u%d", i), "g1")
	}
	if len(s.Portals) != MaxPortals || s.Portals[0].UUID != "u0" {
		t.Fatalf("%d sightings, first %+v: want %d, the oldest (a) dropped", len(s.Portals), s.Portals[0], MaxPortals)
	}
	if !s.SeePortal("u0", "g2") || s.Portals[len(s.Portals)-1] != (PortalSighting{UUID: "u0", Generation: "g2"}) || len(s.Portals) != MaxPortals {
		t.Fatalf("a new generation of u0: last %+v, %d sightings", s.Portals[len(s.Portals)-1], len(s.Portals))
	}
	if !s.DropPortal("u0") || s.DropPortal("u0") || len(s.Portals) != MaxPortals-1 {
		t.Fatalf("DropPortal: %d sightings left", len(s.Portals))
	}
}
