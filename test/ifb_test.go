// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// TestIntegrationKeptDownWhenRaised: an ifb device refuses an address
// change on this kernel ("Operation not supported"), up or down, so the
// service cannot give it a private address and keeps it down. Root raising
// it (three times) gets it taken down again each time, and the episode is
// one violation. NetworkManager does not manage ifb devices (it lists them
// unmanaged), so this is the kernel side alone; with NetworkManager's state
// changes the count stays one as well (nmhook's
// TestServiceKeepsDeviceDownWhenAddressCannotBeSet).
func TestIntegrationKeptDownWhenRaised(t *testing.T) {
	bed.Require(t, "nft")
	b := bed.New(t, guardOptions(t, bed.Options{}))
	const dev = "mngifb0"
	ipClient(t, b, "link", "add", dev, "type", "ifb")
	t.Cleanup(func() { exec.Command("ip", "-n", b.ClientNS, "link", "del", dev).Run() })
	real := linkAddr(t, b, dev)
	if out, err := exec.Command("ip", "-n", b.ClientNS, "link", "set", "dev", dev, "address", "02:00:00:00:00:42").CombinedOutput(); err == nil {
		t.Fatalf("this kernel lets an ifb change its address: the test needs one that refuses")
	} else {
		t.Logf("ifb address change, as expected: %s", strings.TrimSpace(string(out)))
	}
	ipClient(t, b, "link", "set", dev, "up")
	g := startGuard(t, b, "")
	g.waitLog(t, 10*time.Second, "violation: kept down", "device="+dev)
	if linkUp(t, b, dev) {
		t.Fatalf("%s is up although its address could not be set", dev)
	}
	if out, err := b.Nmcli(t, "-t", "-f", "DEVICE,TYPE,STATE", "device"); err == nil {
		t.Logf("NetworkManager's devices:\n%s", strings.TrimSpace(out))
	}
	for i := range 3 {
		ipClient(t, b, "link", "set", dev, "up")
		deadline := time.Now().Add(5 * time.Second)
		for linkUp(t, b, dev) {
			if time.Now().After(deadline) {
				t.Fatalf("raise %d: %s still up after 5s; log:\n%s", i+1, dev, tail(g.p.Log(), 30))
			}
			time.Sleep(10 * time.Millisecond)
		}
	}
	g.waitLogCount(t, 3, 5*time.Second, "taken down again", "device="+dev)
	n := 0
	for _, v := range status(t, b).Violations {
		if v.Device == dev {
			n++
		}
	}
	if n != 1 {
		t.Fatalf("%d violations for %s, want 1 for the episode", n, dev)
	}
	if a := linkAddr(t, b, dev); a != real {
		t.Logf("%s address changed from %s to %s", dev, real, a)
	}
	if !strings.Contains(nftRuleset(t, b), dev) {
		t.Errorf("no backstop rule for %s:\n%s", dev, nftRuleset(t, b))
	}
}
