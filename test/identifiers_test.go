// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
	"github.com/mac-nmguard/mac-nmguard/test/identwire"
)

// identHost is the host name the bed's profiles ask DHCP to send, so the
// capture can tell it.
const identHost = "mng-ident-host"

// profileValue reads one property of a profile as NetworkManager holds it
// (in memory).
func profileValue(t testing.TB, b *bed.Bed, uuid, prop string) string {
	t.Helper()
	out, err := b.Nmcli(t, "-g", prop, "connection", "show", "uuid", uuid)
	if err != nil {
		t.Fatalf("read %s of %s: %v", prop, uuid, err)
	}
	return strings.TrimSpace(out)
}

// waitIPv6Global waits until dev has an IPv6 address from the bed's DHCPv6
// range (the router solicitation answered, DHCPv6 done).
func waitIPv6Global(t *testing.T, b *bed.Bed, dev string, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		out, _ := exec.Command("ip", "-n", b.ClientNS, "-6", "addr", "show", "dev", dev).CombinedOutput()
		if strings.Contains(string(out), "fd00:213::1") {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s has no address from the DHCPv6 range after %s:\n%s", dev, timeout, out)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// checkIdents runs `check --json` with the service's policy, state file and
// per-boot file (which records what it set in memory) and returns dev's identifiers by property.
func checkIdents(t *testing.T, b *bed.Bed, g *guard, dev string) map[string]inspect.CheckIdent {
	t.Helper()
	_, out := runCheck(t, b, "--json", "--policy", filepath.Join(g.dir, "policy.toml"), "--state-dir", g.stateDir, "--runtime-dir", g.runtimeDir, dev)
	d, ok := reportDevice(decodeReport(t, out), dev)
	if !ok {
		t.Fatalf("check does not show %s:\n%s", dev, out)
	}
	m := map[string]inspect.CheckIdent{}
	for _, ci := range d.Identifiers {
		m[ci.Property] = ci
	}
	return m
}

// TestIntegrationIdentifiersHidden judges on the wire what leaves the
// spoofed card, with IPv4 (DHCP) and IPv6 (router advertisements, DHCPv6)
// served: a profile under the default identifiers = "hide" that asks to send
// a host name activates, and the capture (parsed with gopacket's layers)
// holds DHCPv4, DHCPv6, router and neighbour solicitations, and none of:
// the host name (DHCPv4 options 12 and 81, the DHCPv6 FQDN), a client
// identifier or DUID not made from the address in use, a link-layer option,
// IPv6 address or any byte sequence from the real address, mDNS or LLMNR.
// The profile holds the hiding values in memory and its keyfile is
// unchanged. Then a profile of a network under identifiers = "report"
// activates, and its DHCPv4 requests do carry the host name (so the
// assertions above can fail).
func TestIntegrationIdentifiersHidden(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	dev := b.Devices()[0]
	b.StartDHCP(t, nil)
	b.StartDHCPv6(t)
	capt := b.StartFrameCapture(t)
	g := startGuard(t, b, "[[network]]\nname = \"reported\"\nid = \"reported\"\nidentifiers = \"report\"\n")
	waitAddrNot(t, b, dev.Name, dev.MAC.String(), 10*time.Second)
	real := strings.ToLower(dev.MAC.String())
	isPrivate := func(a string) bool { return isAddress(a) && a != real }
	profile := func(name string) bed.Profile {
		return bed.Profile{Name: name, Interface: dev.Name, DHCPTimeout: 15, IPv6: true,
			Extra: []string{"ipv4.dhcp-hostname", identHost, "ipv6.dhcp-hostname", identHost}}
	}
	hidden := b.AddProfile(t, profile("hidden"))
	reported := b.AddProfile(t, profile("reported"))
	waitProfileCloned(t, b, hidden, isPrivate, 10*time.Second)
	waitProfileCloned(t, b, reported, isPrivate, 10*time.Second)
	disk := keyfileSums(t, b)

	// The service set the identifiers before the address, in memory.
	for prop, want := range map[string][]string{
		"ipv4.dhcp-send-hostname": {"no"}, "ipv6.dhcp-send-hostname": {"no"},
		"ipv4.dhcp-client-id": {"mac"}, "ipv6.dhcp-duid": {"ll"},
		"ipv6.addr-gen-mode": {"eui64", "0"}, "ipv6.ip6-privacy": {"2", "enabled (prefer temporary address)"},
		"connection.llmnr": {"no", "0"}, "connection.mdns": {"no", "0"},
	} {
		if got := profileValue(t, b, hidden, prop); !slices.Contains(want, got) {
			t.Errorf("hidden: %s = %q in memory, want %q", prop, got, want[0])
		}
	}
	if got := profileValue(t, b, reported, "ipv4.dhcp-send-hostname"); got != "yes" {
		t.Errorf("reported (identifiers = report): ipv4.dhcp-send-hostname = %q, want NetworkManager's yes", got)
	}

	if err := b.Activate(t, hidden, dev.Name); err != nil {
		t.Fatalf("activate hidden: %v", err)
	}
	b.WaitState(t, dev.Name, detect.StateActivated, 30*time.Second)
	waitIPv6Global(t, b, dev.Name, 30*time.Second)
	ids := checkIdents(t, b, g, dev.Name)
	if len(ids) == 0 {
		t.Error("check shows no identifiers for the active connection")
	}
	for p, ci := range ids {
		if ci.State != inspect.IdentHidden {
			t.Errorf("check: hidden's %s is %s (%s from %s)", p, ci.State, ci.Value, ci.From)
		}
	}
	if ci := ids["ipv4.dhcp-send-hostname"]; ci.From != "mac-nmguard (in memory)" {
		t.Errorf("check: ipv4.dhcp-send-hostname from %q, want mac-nmguard (in memory)", ci.From)
	}
	if err := b.Deactivate(t, hidden); err != nil {
		t.Fatal(err)
	}
	b.WaitState(t, dev.Name, detect.StateDisconnected, 10*time.Second)
	split := len(capt.Frames())

	if err := b.Activate(t, reported, dev.Name); err != nil {
		t.Fatalf("activate reported: %v", err)
	}
	b.WaitState(t, dev.Name, detect.StateActivated, 30*time.Second)
	if ci := checkIdents(t, b, g, dev.Name)["ipv4.dhcp-send-hostname"]; ci.State != inspect.IdentSent {
		t.Errorf("check: reported's ipv4.dhcp-send-hostname is %q (%+v), want sent", ci.State, ci)
	}
	capt.Stop()
	frames := capt.Frames()
	if n := capt.Count(dev.MAC); n != 0 {
		t.Fatalf("LEAK: %d frames from the real address %s", n, dev.MAC)
	}
	sameKeyfiles(t, disk, keyfileSums(t, b))

	w := identwire.Ethernet(frames[:split], dev.MAC)
	t.Logf("hide: %d frames: %d DHCPv4, %d DHCPv6, %d RS, %d NS, %d NA, %d IPv6 sources from the address in use (EUI-64)",
		split, w.DHCP4, w.DHCP6, w.RS, w.NS, w.NA, w.EUI64OfSource)
	if w.DHCP4 == 0 || w.DHCP6 == 0 || w.RS == 0 || w.NS == 0 {
		t.Errorf("hide: the capture lacks what it judges: %d DHCPv4, %d DHCPv6, %d router and %d neighbour solicitations", w.DHCP4, w.DHCP6, w.RS, w.NS)
	}
	for _, p := range w.Problems {
		t.Errorf("hide: %s", p)
	}
	if len(w.Hostnames4) != 0 || w.FQDN4 != 0 || w.FQDN6 != 0 {
		t.Errorf("hide: host name sent: DHCPv4 option 12 %q, %d with option 81, %d DHCPv6 FQDN", w.Hostnames4, w.FQDN4, w.FQDN6)
	}
	if w.MDNS != 0 || w.LLMNR != 0 {
		t.Errorf("hide: %d mDNS and %d LLMNR packets", w.MDNS, w.LLMNR)
	}
	if w.EUI64OfSource == 0 {
		t.Errorf("hide: no IPv6 address made from the address in use (ipv6.addr-gen-mode eui64 not applied?)")
	}

	r := identwire.Ethernet(frames[split:], dev.MAC)
	t.Logf("report: %d frames: %d DHCPv4 (host names %q), %d DHCPv6 (%d FQDN)", len(frames)-split, r.DHCP4, r.Hostnames4, r.DHCP6, r.FQDN6)
	if !slices.Contains(r.Hostnames4, identHost) {
		t.Errorf("report: DHCPv4 did not send the host name %q (option 12: %q): the hide assertions could not tell", identHost, r.Hostnames4)
	}
	if log := g.p.Log(); !strings.Contains(log, "identifiers hidden in memory") || !strings.Contains(log, `profile=hidden`) {
		t.Errorf("the service did not log that it hid the identifiers of profile hidden")
	}
	if t.Failed() {
		t.Logf("service log:\n%s", tail(g.p.Log(), 60))
	}
}
