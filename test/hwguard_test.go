// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// desktopGuardPolicy is a drop-in read after the bed's cards rule
// (bedCardsPolicy guards every link of the bed): the Docker-like devices
// these tests add get the built-in guard = "auto" back, as on a desktop.
const desktopGuardPolicy = `[[device]]
name = "docker-like bridge"
interface = "br-test"
guard = "auto"

[[device]]
name = "docker-like veths"
interface = "dkv*"
guard = "auto"

[[device]]
name = "bridges of cards"
interface = "brc*"
guard = "auto"
`

// writeDesktopGuard puts desktopGuardPolicy in dir/policy.d before the
// service (or check) reads it.
func writeDesktopGuard(t *testing.T, dir string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Join(dir, "policy.d"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "policy.d", "50-desktop.toml"), []byte(desktopGuardPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationGuardLeavesDockerBridgeAlone: on a bed whose card nmt0 is
// spoofed, a Docker-like bridge with veths enslaved (present at start, and
// one pair plugged later) keeps working: the service leaves their
// addresses and link states alone, installs no backstop rule for them,
// and check says they are not guarded and why.
func TestIntegrationGuardLeavesDockerBridgeAlone(t *testing.T) {
	bed.Require(t, "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	card := b.Devices()[0]
	// Docker gives its bridge an address of its own (02:42:...), so it does
	// not follow its ports' addresses as containers come and go.
	ipClient(t, b, "link", "add", "br-test", "address", "02:42:ac:11:00:01", "type", "bridge")
	ipClient(t, b, "link", "add", "dkv0", "type", "veth", "peer", "name", "dkv0c")
	ipClient(t, b, "link", "set", "dkv0", "master", "br-test")
	for _, d := range []string{"br-test", "dkv0", "dkv0c"} {
		ipClient(t, b, "link", "set", d, "up")
	}
	writeDesktopGuard(t, filepath.Join(b.Dir, "guard"))
	writeDesktopGuard(t, filepath.Join(b.Dir, "check"))
	before := map[string]string{}
	for _, d := range []string{"br-test", "dkv0", "dkv0c"} {
		before[d] = linkAddr(t, b, d)
	}
	g := startGuard(t, b, "")
	spoofed := waitAddrNot(t, b, card.Name, card.MAC.String(), 10*time.Second)
	compliant(t, card.Name, spoofed, card.MAC)

	// Plugged while the service runs: a second container's veth pair.
	ipClient(t, b, "link", "add", "dkv1", "type", "veth", "peer", "name", "dkv1c")
	ipClient(t, b, "link", "set", "dkv1", "master", "br-test")
	for _, d := range []string{"dkv1", "dkv1c"} {
		ipClient(t, b, "link", "set", d, "up")
		before[d] = linkAddr(t, b, d)
	}
	// The service has seen each device (and decided at once); give a wrong
	// decision time to show before judging.
	for d := range before {
		g.waitLog(t, 10*time.Second, "netlink: device appeared", "device="+d+" ")
	}
	time.Sleep(time.Second)
	rules := nftRuleset(t, b)
	for d, addr := range before {
		if got := linkAddr(t, b, d); got != addr {
			t.Errorf("%s: address changed %s -> %s: the service touched a virtual device", d, addr, got)
		}
		if !linkUp(t, b, d) {
			t.Errorf("%s: taken down", d)
		}
		if strings.Contains(rules, `"`+d+`"`) {
			t.Errorf("%s: a backstop rule names it:\n%s", d, rules)
		}
	}
	for d := range before {
		line := g.waitLog(t, 10*time.Second, "-> ignored", "device="+d+" ")
		if !strings.Contains(line, "virtual device without a card's address") {
			t.Errorf("%s: log line does not say why it is left alone: %s", d, line)
		}
	}
	if !strings.Contains(rules, `"`+card.Name+`"`) {
		t.Errorf("no backstop rule for the card %s:\n%s", card.Name, rules)
	}
	if got := linkAddr(t, b, card.Name); got != spoofed {
		t.Errorf("card %s: address %s, want still %s", card.Name, got, spoofed)
	}

	_, out := runCheck(t, b, "--json", "br-test")
	r := decodeReport(t, out)
	if len(r.Devices) != 1 || r.Devices[0].Verdict != inspect.VerdictNotGuarded ||
		!strings.Contains(r.Devices[0].Reason, "virtual device without a card's address") {
		t.Errorf("check br-test: %+v", r.Devices)
	}
}

// TestIntegrationGuardBridgeCarryingCardAddress: a bridge that enslaves the
// guarded card nmt1 is left alone while it has an address of its own; once
// it carries the card's real address (as one that inherited it would), it
// is guarded: given a private address, and the backstop drops the card's
// real address on it too.
func TestIntegrationGuardBridgeCarryingCardAddress(t *testing.T) {
	bed.Require(t, "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 2}))
	card := b.Devices()[1]
	const own = "2e:00:00:00:be:01" // set: the bridge does not follow its ports
	ipClient(t, b, "link", "add", "brc0", "address", own, "type", "bridge")
	ipClient(t, b, "link", "set", card.Name, "master", "brc0")
	ipClient(t, b, "link", "set", "brc0", "up")
	writeDesktopGuard(t, filepath.Join(b.Dir, "guard"))
	g := startGuard(t, b, "")
	spoofed := waitAddrNot(t, b, card.Name, card.MAC.String(), 10*time.Second)
	compliant(t, card.Name, spoofed, card.MAC)
	g.waitLog(t, 10*time.Second, "netlink: device appeared", "device=brc0 ")
	time.Sleep(500 * time.Millisecond) // time for a wrong decision to show
	if got := linkAddr(t, b, "brc0"); got != own {
		t.Fatalf("brc0 without the card's address: changed to %s", got)
	}
	g.waitLog(t, 10*time.Second, "-> ignored", "device=brc0 ")

	// The bridge takes the card's real address.
	ipClient(t, b, "link", "set", "brc0", "address", card.MAC.String())
	got := waitAddrNot(t, b, "brc0", card.MAC.String(), 10*time.Second)
	compliant(t, "brc0", got, card.MAC)
	g.waitLog(t, 10*time.Second, "virtual device carries the real address", "device=brc0 ", "of="+card.Name)
	deadline := time.Now().Add(10 * time.Second)
	for {
		rules := nftRuleset(t, b)
		if i := strings.Index(rules, `"brc0"`); i >= 0 && strings.Contains(rules[i:], strings.ToLower(card.MAC.String())) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("no backstop rule on brc0 dropping the card's real address %s:\n%s", card.MAC, rules)
		}
		time.Sleep(50 * time.Millisecond)
	}
	// The address is set while the link is down; the link comes back up.
	for !linkUp(t, b, "brc0") {
		if time.Now().After(deadline) {
			t.Fatalf("brc0 left down after its address was changed")
		}
		time.Sleep(20 * time.Millisecond)
	}
}
