// SPDX-License-Identifier: GPL-3.0-or-later

package state

import (
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
