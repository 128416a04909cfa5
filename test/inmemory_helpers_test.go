// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// profileCloned reads a profile's cloned-mac-address as NetworkManager
// holds it (in memory: what the next activation applies), lower case; ""
// for NM's default.
func profileCloned(t testing.TB, b *bed.Bed, uuid string) string {
	t.Helper()
	out, err := b.Nmcli(t, "-g", "802-3-ethernet.cloned-mac-address", "connection", "show", "uuid", uuid)
	if err != nil {
		t.Fatalf("read cloned-mac-address of %s: %v", uuid, err)
	}
	return strings.ToLower(strings.ReplaceAll(strings.TrimSpace(out), `\:`, ":"))
}

// waitProfileCloned waits until the service has given a profile a
// cloned-mac-address for which ok holds, and returns it.
func waitProfileCloned(t testing.TB, b *bed.Bed, uuid string, ok func(string) bool, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		v := profileCloned(t, b, uuid)
		if ok(v) {
			return v
		}
		if time.Now().After(deadline) {
			t.Fatalf("profile %s: cloned-mac-address %q after %s", uuid, v, timeout)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// isAddress reports whether v is an explicit address (not NM's default or
// one of its keywords).
func isAddress(v string) bool { return strings.Count(v, ":") == 5 }

// keyfileSums returns the checksum of every keyfile of the bed's private
// profile directory (the disk: in-memory changes live under NM's /run).
func keyfileSums(t testing.TB, b *bed.Bed) map[string]string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(b.Dir, "system-connections", "*"))
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		sum := sha256.Sum256(data)
		out[filepath.Base(f)] = hex.EncodeToString(sum[:])
	}
	return out
}

// sameKeyfiles fails t when a keyfile changed, appeared or went.
func sameKeyfiles(t testing.TB, before, after map[string]string) {
	t.Helper()
	for f, s := range before {
		if after[f] != s {
			t.Errorf("keyfile %s changed on disk (%s -> %s)", f, s, after[f])
		}
	}
	for f := range after {
		if _, ok := before[f]; !ok {
			t.Errorf("keyfile %s appeared on disk", f)
		}
	}
}
