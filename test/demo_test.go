// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// demoEnv makes TestIntegrationDemo narrate on standard output (make demo).
const demoEnv = "MAC_NMGUARD_DEMO"

// narrator tells the demo's story: on standard output under make demo, in
// the test log otherwise.
type narrator struct {
	t     *testing.T
	out   bool
	start time.Time
	step  int
}

func (n *narrator) say(format string, args ...any) {
	msg := fmt.Sprintf(format, args...)
	if n.out {
		fmt.Printf("%6.1fs  %s\n", time.Since(n.start).Seconds(), msg)
	} else {
		n.t.Log(msg)
	}
}

func (n *narrator) section(title string) {
	n.step++
	if n.out {
		fmt.Printf("\n== %d. %s\n", n.step, title)
	} else {
		n.t.Logf("== %d. %s", n.step, title)
	}
}

func (n *narrator) block(text string) {
	for _, l := range strings.Split(strings.TrimRight(text, "\n"), "\n") {
		n.say("   | %s", l)
	}
}

// TestIntegrationDemo is `make demo`: the real service gating a real
// NetworkManager in a private sandbox, with the built-in default policy.
// It is also an integration test: every claim it narrates is asserted.
func TestIntegrationDemo(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	n := &narrator{t: t, out: os.Getenv(demoEnv) == "1", start: time.Now()}

	n.section("A private sandbox")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 2}))
	laptop, other := b.Devices()[0], b.Devices()[1]
	n.say("NetworkManager %s runs on its own D-Bus system bus, in a network namespace with", b.NMVersion(t))
	n.say("two network cards: %s (real address %s) and %s (real address %s).", laptop.Name, laptop.MAC, other.Name, other.MAC)
	n.say("The network side has a DHCP server and a packet capture that counts every frame by sender.")
	capt := b.StartCapture(t)

	n.section("mac-nmguard starts with its built-in policy: hide every card's real address")
	g := startGuard(t, b, "")
	a0 := waitAddrNot(t, b, laptop.Name, laptop.MAC.String(), 10*time.Second)
	a1 := waitAddrNot(t, b, other.Name, other.MAC.String(), 10*time.Second)
	n.say("%s now uses %s, %s uses %s: same maker prefix, the rest random (keep-vendor).", laptop.Name, a0, other.Name, a1)
	n.say("A kernel backstop (nftables) drops any frame that would still carry a real address.")

	n.section("An ordinary network: the card connects with its private address")
	b.StartDHCP(t, nil)
	cafe := b.AddProfile(t, bed.Profile{Name: "cafe", Interface: laptop.Name, DHCPTimeout: 15})
	if err := b.Activate(t, cafe, laptop.Name); err != nil {
		t.Fatalf("cafe: %v", err)
	}
	b.WaitState(t, laptop.Name, detect.StateActivated, 30*time.Second)
	n.say("%s connected to \"cafe\" with %s and got an address from the DHCP server.", laptop.Name, linkAddr(t, b, laptop.Name))
	if err := b.Deactivate(t, cafe); err != nil {
		t.Fatal(err)
	}

	n.section("A profile that would reveal the real address is refused")
	leaky := b.AddProfile(t, bed.Profile{Name: "leaky", Interface: other.Name, ClonedMAC: other.MAC.String(), DHCPTimeout: 15})
	n.say("Profile \"leaky\" on %s asks NetworkManager to use the real address %s.", other.Name, other.MAC)
	err := b.Activate(t, leaky, other.Name)
	if err == nil {
		t.Fatalf("leaky profile was activated")
	}
	line := g.waitLog(t, 10*time.Second, "violation: refused", "device="+other.Name)
	n.say("NetworkManager says: %s", errorLine(err.Error()))
	if strings.Contains(line, "kept from activating") {
		n.say("mac-nmguard: the profile was made unavailable to NetworkManager as soon as it appeared (in memory), so NetworkManager refused it before starting.")
	} else {
		n.say("mac-nmguard: link down in %s, connection refused.", field(line, "reaction"))
	}
	n.say("Kernel backstop: %d frame(s) with a real address dropped so far (NetworkManager sends before any signal can stop it).", droppedPackets(nftRuleset(t, b)))
	if _, err := b.Nmcli(t, "connection", "delete", "leaky"); err != nil {
		t.Fatal(err)
	}

	n.section("A network that only admits known computers rejects the private address")
	b.StartDHCP(t, []net.HardwareAddr{laptop.MAC})
	office := b.AddProfile(t, bed.Profile{Name: "office", Interface: laptop.Name, DHCPTimeout: 4})
	n.say("\"office\" only answers DHCP for %s's real address. Two tries with the private one:", laptop.Name)
	for i := range 2 {
		if err := b.Activate(t, office, laptop.Name); err == nil {
			t.Fatalf("office accepted the private address")
		}
		n.say("  try %d: no address from the network", i+1)
	}
	line = g.waitLog(t, 10*time.Second, "level=WARN", "may be rejecting", "kind=dhcp-failure")
	n.say("mac-nmguard suspects the network: %s (confidence %s).", field(line, "reason"), field(line, "confidence"))
	n.say("On a desktop, `mac-nmguard agent` now offers: \"Use real address this time\" / \"Keep address private\" / \"Always use real address on this network\".")

	capt.Stop()
	if c := capt.Count(laptop.MAC) + capt.Count(other.MAC); c != 0 {
		t.Fatalf("LEAK: %d frames with a real address", c)
	}
	n.say("So far the capture saw %d frames from private addresses and 0 from real ones.", capt.Count(mustHW(t, a0))+capt.Count(mustHW(t, a1)))

	n.section("The user chooses the real address for \"office\"")
	out, err := cli(t, b, "restore", laptop.Name, "--always", "--timeout", "60s")
	if err != nil {
		t.Fatalf("restore: %v: %s", err, out)
	}
	n.say("$ mac-nmguard restore %s --always", laptop.Name)
	n.block(out)
	b.WaitState(t, laptop.Name, detect.StateActivated, 30*time.Second)
	if got := linkAddr(t, b, laptop.Name); got != strings.ToLower(laptop.MAC.String()) {
		t.Fatalf("restored with %s, want %s", got, laptop.MAC)
	}
	n.say("Only \"office\" is exempt; every other network still sees a private address.")

	n.section("mac-nmguard check")
	// The service's own policy (the bed's veths stand for cards: see
	// bedCardsPolicy), state and NetworkManager configuration.
	out, _ = cli(t, b, "--policy", filepath.Join(g.dir, "policy.toml"), "--policy-dir", filepath.Join(g.dir, "policy.d"),
		"--state-dir", g.stateDir, "--runtime-dir", g.runtimeDir, "check",
		"--nm-conf", filepath.Join(b.Dir, "NetworkManager.conf"),
		"--nm-conf-dir", filepath.Join(b.Dir, "nm-sysconf.d"), "--nm-conf-dir", filepath.Join(b.Dir, "nm-conf.d"))
	n.block(out)
	n.say("Done: the sandbox (namespaces, processes, files) is removed now.")
}

// errorLine is the line of nmcli's output that carries "Error:".
func errorLine(s string) string {
	for _, l := range strings.Split(s, "\n") {
		if i := strings.Index(l, "Error:"); i >= 0 {
			return strings.TrimSpace(l[i:])
		}
	}
	return strings.TrimSpace(s)
}

// field extracts key=value (quoted or not) from a slog text line.
func field(line, key string) string {
	i := strings.Index(line, " "+key+"=")
	if i < 0 {
		return "?"
	}
	v := line[i+len(key)+2:]
	if strings.HasPrefix(v, "\"") {
		if j := strings.Index(v[1:], "\""); j >= 0 {
			return v[1 : j+1]
		}
	}
	if j := strings.IndexByte(v, ' '); j >= 0 {
		return v[:j]
	}
	return v
}
