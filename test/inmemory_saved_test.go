// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// keyfileOf is the keyfile on disk of the profile uuid ("" none).
func keyfileOf(t testing.TB, b *bed.Bed, uuid string) string {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(b.Dir, "system-connections", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), "uuid="+uuid+"\n") {
			return string(data)
		}
	}
	return ""
}

// waitKeyfile waits until the profile's keyfile holds every one of want and
// none of unwanted.
func waitKeyfile(t testing.TB, b *bed.Bed, uuid string, want, unwanted []string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		k := keyfileOf(t, b, uuid)
		ok := k != ""
		for _, w := range want {
			ok = ok && strings.Contains(k, w)
		}
		for _, u := range unwanted {
			ok = ok && !strings.Contains(k, u)
		}
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("keyfile of %s after %s, want %q and not %q:\n%s", uuid, timeout, want, unwanted, k)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestIntegrationInMemorySavedByUser: a user saves a profile while it holds
// the service's address in NetworkManager's memory (`nmcli connection
// modify` of another property writes the whole profile, that address
// included, to its keyfile, where it would outlive the service). The
// service notices (Updated, no longer Unsaved), writes the profile's own
// cloned-mac-address back to disk with the user's change kept, and gives it
// its address in memory again. The same for a profile restored with
// --always: "permanent" (the real address) never stays in its keyfile.
func TestIntegrationInMemorySavedByUser(t *testing.T) {
	gb := newGuardedBed(t, "")
	b, dev, g := gb.b, gb.dev, gb.g
	real := strings.ToLower(dev.MAC.String())
	isPrivate := func(a string) bool { return isAddress(a) && a != real }

	cafe := b.AddProfile(t, bed.Profile{Name: "cafe", Interface: dev.Name, DHCPTimeout: 15})
	addr := waitProfileCloned(t, b, cafe, isPrivate, 10*time.Second)
	waitKeyfile(t, b, cafe, nil, []string{"cloned-mac-address"}, time.Second)
	if _, err := b.Nmcli(t, "connection", "modify", "uuid", cafe, "connection.autoconnect-priority", "7"); err != nil {
		t.Fatal(err)
	}
	waitKeyfile(t, b, cafe, []string{"autoconnect-priority=7"}, []string{"cloned-mac-address"}, 10*time.Second)
	g.waitLog(t, 10*time.Second, "saved to disk with the address the service gave it in memory", cafe)
	if got := waitProfileCloned(t, b, cafe, isPrivate, 10*time.Second); got != addr {
		t.Logf("cafe's address in memory after the save: %s (was %s)", got, addr)
	}

	acl := b.AddProfile(t, bed.Profile{Name: "acl", Interface: dev.Name, DHCPTimeout: 15})
	waitProfileCloned(t, b, acl, isPrivate, 10*time.Second)
	out, err := cli(t, b, "restore", dev.Name, "--connection", "acl", "--always", "--timeout", "60s")
	if err != nil {
		t.Fatalf("restore --always: %v: %s\n%s", err, out, tail(g.p.Log(), 40))
	}
	waitConnected(t, b, dev.Name, "acl", func(a string) bool { return a == real }, 30*time.Second)
	if _, err := b.Nmcli(t, "connection", "modify", "uuid", acl, "connection.autoconnect-priority", "3"); err != nil {
		t.Fatal(err)
	}
	waitKeyfile(t, b, acl, []string{"autoconnect-priority=3"}, []string{"cloned-mac-address"}, 10*time.Second)
	g.waitLog(t, 10*time.Second, "saved to disk with the address the service gave it in memory", acl)
	waitProfileCloned(t, b, acl, func(a string) bool { return a == "permanent" || a == real }, 10*time.Second)
	if got := linkAddr(t, b, dev.Name); got != real {
		t.Errorf("acl's connection disturbed by the write-back: address %s", got)
	}
}
