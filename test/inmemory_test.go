// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// TestIntegrationInMemoryAddress: the address of an activation is
// NetworkManager's to apply. The service gives each profile of a guarded
// card the policy's address in NetworkManager's memory; NetworkManager
// activates with it; the keyfiles on disk never change. `restore --once`
// puts the real address in memory for that one connection; when it ends the
// profile is private again, and so is the next connection of any other
// network. `--always` gives that profile the real address at every
// connection, and no other. The peer sees the real address only during the
// restored connections. A clean stop gives the profiles their own value
// back; after a SIGKILL the next start does.
func TestIntegrationInMemoryAddress(t *testing.T) {
	gb := newGuardedBed(t, "")
	b, dev, capt := gb.b, gb.dev, gb.capt
	g := gb.g
	real := strings.ToLower(dev.MAC.String())
	isReal := func(a string) bool { return a == real }
	isPrivate := func(a string) bool { return isAddress(a) && a != real }

	cafe := b.AddProfile(t, bed.Profile{Name: "cafe", Interface: dev.Name, DHCPTimeout: 15})
	acl := b.AddProfile(t, bed.Profile{Name: "acl", Interface: dev.Name, DHCPTimeout: 15})
	cafeAddr := waitProfileCloned(t, b, cafe, isPrivate, 10*time.Second)
	aclAddr := waitProfileCloned(t, b, acl, isPrivate, 10*time.Second)
	compliant(t, dev.Name, cafeAddr, dev.MAC)
	compliant(t, dev.Name, aclAddr, dev.MAC)
	if cafeAddr == aclAddr {
		t.Fatalf("two networks share the address %s", cafeAddr)
	}
	disk := keyfileSums(t, b)
	if len(disk) != 2 {
		t.Fatalf("keyfiles on disk: %v, want cafe and acl", disk)
	}

	up := func(uuid, id string, ok func(string) bool) string {
		t.Helper()
		if err := b.Activate(t, uuid, dev.Name); err != nil {
			t.Logf("activate %s: %v (the service may redo it)", id, err)
		}
		return waitConnected(t, b, dev.Name, id, ok, 30*time.Second)
	}
	down := func(uuid string) {
		t.Helper()
		if err := b.Deactivate(t, uuid); err != nil {
			t.Fatal(err)
		}
		b.WaitState(t, dev.Name, detect.StateDisconnected, 10*time.Second)
	}

	if got := up(cafe, "cafe", isPrivate); got != cafeAddr {
		t.Fatalf("cafe connected with %s, not its address in memory %s", got, cafeAddr)
	}
	down(cafe)
	if n := capt.Count(dev.MAC); n != 0 {
		t.Fatalf("LEAK before any restore: %d frames from the real address", n)
	}

	// Restore once: the real address for this one connection of acl.
	out, err := cli(t, b, "restore", dev.Name, "--connection", "acl", "--timeout", "60s")
	if err != nil {
		t.Fatalf("restore: %v: %s\n%s", err, out, tail(g.p.Log(), 40))
	}
	t.Logf("restore: %s", strings.TrimSpace(out))
	waitConnected(t, b, dev.Name, "acl", isReal, 30*time.Second)
	if got := profileCloned(t, b, acl); got != real {
		t.Errorf("acl restored once carries %q in memory, want the real address", got)
	}
	if got := profileCloned(t, b, cafe); got != cafeAddr {
		t.Errorf("cafe changed by acl's restore: %q", got)
	}
	sameKeyfiles(t, disk, keyfileSums(t, b))
	down(acl)
	realFrames := capt.Count(dev.MAC)
	t.Logf("frames from the real address during the restored connection: %d", realFrames)

	// The connection ended: acl is private again, and so is cafe.
	waitProfileCloned(t, b, acl, isPrivate, 10*time.Second)
	up(cafe, "cafe", isPrivate)
	down(cafe)
	up(acl, "acl", isPrivate)
	down(acl)
	if n := capt.Count(dev.MAC); n != realFrames {
		t.Fatalf("LEAK: %d frames from the real address outside the restored connection", n-realFrames)
	}
	sameKeyfiles(t, disk, keyfileSums(t, b))

	// Always: acl uses the real address at every connection, cafe never.
	out, err = cli(t, b, "restore", dev.Name, "--connection", "acl", "--always", "--timeout", "60s")
	if err != nil {
		t.Fatalf("restore --always: %v: %s\n%s", err, out, tail(g.p.Log(), 40))
	}
	waitConnected(t, b, dev.Name, "acl", isReal, 30*time.Second)
	down(acl)
	up(acl, "acl", isReal)
	down(acl)
	realFrames = capt.Count(dev.MAC)
	up(cafe, "cafe", isPrivate)
	down(cafe)
	if n := capt.Count(dev.MAC); n != realFrames {
		t.Fatalf("LEAK: %d frames from the real address on cafe", n-realFrames)
	}
	sameKeyfiles(t, disk, keyfileSums(t, b))

	// Killed: the in-memory values stay; the next start gives them back
	// (and gives the profiles the policy's address again).
	if err := g.p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := g.p.Wait(10 * time.Second); err == nil {
		t.Log("service exited")
	}
	if got := profileCloned(t, b, cafe); !isPrivate(got) {
		t.Fatalf("cafe after SIGKILL: %q, want the value the killed service set", got)
	}
	g.start(t)
	g.waitLog(t, 10*time.Second, "own address given back in memory", cafe)
	waitProfileCloned(t, b, cafe, isPrivate, 10*time.Second)
	waitProfileCloned(t, b, acl, isReal, 10*time.Second)

	// A clean stop: every profile gets its own value back (NM's default).
	g.p.Stop(10 * time.Second)
	for _, u := range []string{cafe, acl} {
		if got := profileCloned(t, b, u); got != "" {
			t.Errorf("profile %s after a clean stop: %q, want its own (NM's default)", u, got)
		}
	}
	sameKeyfiles(t, disk, keyfileSums(t, b))
	capt.Stop()
}
