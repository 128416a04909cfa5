// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"fmt"
	"net"
	"os"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/policy"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// compliant fails t unless addr satisfies the built-in default policy for a
// device whose real address is real.
func compliant(t *testing.T, iface, addr string, real net.HardwareAddr) {
	t.Helper()
	cur, err := policy.ParseMAC(addr)
	if err != nil {
		t.Fatal(err)
	}
	r, err := policy.FromHardwareAddr(real)
	if err != nil {
		t.Fatal(err)
	}
	v := policy.Default().Evaluate(policy.Device{Interface: iface, Current: cur, Real: r, RealKnown: true}, policy.Network{}, nil)
	if !v.Allowed {
		t.Fatalf("%s has %s, not compliant: %s", iface, addr, v.Reason)
	}
}

// noRealFrames fails t if the capture saw any frame from real.
func noRealFrames(t *testing.T, c *bed.Capture, real net.HardwareAddr) {
	t.Helper()
	c.Stop()
	if n := c.Count(real); n != 0 {
		t.Fatalf("LEAK: the peer saw %d frames from the real address %s (all sources: %v)", n, real, c.Sources())
	}
}

// guardedBed is the common start of the gate tests: a bed with one card, an
// open DHCP server, the capture, and the service with policyText, once it
// has made the card private.
type guardedBed struct {
	b    *bed.Bed
	dev  bed.Device
	capt *bed.Capture
	g    *guard
	addr string // the private address the service set
}

func newGuardedBed(t *testing.T, policyText string) guardedBed {
	t.Helper()
	bed.Require(t, "dnsmasq", "tcpdump", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	gb := guardedBed{b: b, dev: b.Devices()[0]}
	b.StartDHCP(t, nil)
	gb.capt = b.StartCapture(t)
	gb.g = startGuard(t, b, policyText)
	gb.addr = waitAddrNot(t, b, gb.dev.Name, gb.dev.MAC.String(), 10*time.Second)
	return gb
}

// activate adds a plain DHCP profile for the card, waits until the service
// has given it its address in memory, activates it and waits until it is
// up.
func (gb guardedBed) activate(t *testing.T) string {
	t.Helper()
	uuid := gb.b.AddProfile(t, bed.Profile{Name: "wired", Interface: gb.dev.Name, DHCPTimeout: 15})
	waitProfileCloned(t, gb.b, uuid, isAddress, 10*time.Second)
	if err := gb.b.Activate(t, uuid, gb.dev.Name); err != nil {
		t.Fatalf("activation failed: %v", err)
	}
	gb.b.WaitState(t, gb.dev.Name, detect.StateActivated, 30*time.Second)
	return uuid
}

// TestIntegrationGateSpoofsAndActivates: the service spoofs a device NM
// already manages and gives the profile a compliant address in memory; NM
// activates it with that address and a lease, the keyfile on disk is
// unchanged, and the peer never sees the real address.
func TestIntegrationGateSpoofsAndActivates(t *testing.T) {
	gb := newGuardedBed(t, "")
	b, dev, capt := gb.b, gb.dev, gb.capt
	compliant(t, dev.Name, gb.addr, dev.MAC)
	uuid := gb.activate(t)
	addr := profileCloned(t, b, uuid)
	compliant(t, dev.Name, addr, dev.MAC)
	if got := linkAddr(t, b, dev.Name); got != addr {
		t.Fatalf("activated with %s, not the address %s the profile carries in memory", got, addr)
	}
	noRealFrames(t, capt, dev.MAC)
	if n := capt.Count(mustHW(t, addr)); n == 0 {
		t.Fatalf("the peer saw no frame from the spoofed address %s: the capture is not judging anything (sources %v)", addr, capt.Sources())
	}
}

func mustHW(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// TestIntegrationGateRefusesRealAddressProfiles: profiles that make NM set
// the real address (explicitly, or cloned-mac-address=permanent) are refused;
// the peer sees zero frames from the real address.
func TestIntegrationGateRefusesRealAddressProfiles(t *testing.T) {
	gb := newGuardedBed(t, "")
	b, dev, capt, g := gb.b, gb.dev, gb.capt, gb.g

	// cloned-mac-address=permanent cannot be shown on a veth: it has no
	// permanent address and NM then leaves the address as it is (observed,
	// ../shared/notes); the at-rest check below treats permanent as the real
	// address (TestDecide covers it).
	for _, cloned := range []string{dev.MAC.String()} {
		uuid := b.AddProfile(t, bed.Profile{Name: "real-" + cloned, Interface: dev.Name, ClonedMAC: cloned, DHCPTimeout: 15})
		err := b.Activate(t, uuid, dev.Name)
		if err == nil {
			t.Fatalf("cloned-mac-address=%s: activation succeeded; want it refused", cloned)
		}
		g.waitLog(t, 10*time.Second, "violation: refused", "device="+dev.Name)
		if st := b.State(t, dev.Name); st == detect.StateActivated {
			t.Fatalf("cloned-mac-address=%s: device is activated", cloned)
		}
		t.Logf("cloned-mac-address=%s refused: %v", cloned, err)
	}

	// At rest: an autoconnect profile that would set the real address is
	// blocked before NM activates it.
	// NM autoconnects a new profile at once; the service either blocks it at
	// rest (when it reads the profile first) or refuses it in flight.
	for _, cloned := range []string{dev.MAC.String(), "permanent"} {
		before := strings.Count(g.p.Log(), "violation: refused")
		name := "auto-" + cloned
		b.AddProfile(t, bed.Profile{Name: name, Interface: dev.Name, ClonedMAC: cloned, Autoconnect: true, DHCPTimeout: 15})
		deadline := time.Now().Add(10 * time.Second)
		for !strings.Contains(g.p.Log(), "profile \\\""+name) && strings.Count(g.p.Log(), "violation: refused") == before {
			if time.Now().After(deadline) {
				t.Fatalf("autoconnect profile %s: neither blocked at rest nor refused; log:\n%s", name, tail(g.p.Log(), 40))
			}
			time.Sleep(50 * time.Millisecond)
		}
		time.Sleep(3 * time.Second) // give NM every chance to autoconnect
		if st := b.State(t, dev.Name); st == detect.StateActivated && linkAddr(t, b, dev.Name) == strings.ToLower(dev.MAC.String()) {
			t.Fatalf("autoconnect profile %s was activated with the real address", name)
		}
		if _, err := b.Nmcli(t, "connection", "delete", name); err != nil {
			t.Fatal(err)
		}
	}
	noRealFrames(t, capt, dev.MAC)
}

// TestIntegrationGateRealAddressMidConnection: the real address forced on an
// activated device: link down at once, reported, and no frame with it.
func TestIntegrationGateRealAddressMidConnection(t *testing.T) {
	gb := newGuardedBed(t, "")
	b, dev, capt, g := gb.b, gb.dev, gb.capt, gb.g
	gb.activate(t)

	ipClient(t, b, "link", "set", "dev", dev.Name, "address", dev.MAC.String())
	line := g.waitLog(t, 10*time.Second, "violation: refused", "device="+dev.Name)
	t.Logf("reported: %s", line)
	b.WaitState(t, dev.Name, detect.StateDisconnected, 20*time.Second)
	noRealFrames(t, capt, dev.MAC)
}

// TestIntegrationGateRemediates: under enforcement remediate, the real
// address forced mid-connection is replaced by a compliant one and the same
// connection comes back.
func TestIntegrationGateRemediates(t *testing.T) {
	gb := newGuardedBed(t, "[default]\nmode = \"keep-vendor\"\nenforcement = \"remediate\"\n")
	b, dev, capt, g := gb.b, gb.dev, gb.capt, gb.g
	gb.activate(t)

	ipClient(t, b, "link", "set", "dev", dev.Name, "address", dev.MAC.String())
	g.waitLog(t, 10*time.Second, "violation: remediated", "device="+dev.Name)
	g.waitLog(t, 10*time.Second, "gate:", "remediating", "device="+dev.Name)
	b.WaitState(t, dev.Name, detect.StateActivated, 30*time.Second)
	addr := linkAddr(t, b, dev.Name)
	compliant(t, dev.Name, addr, dev.MAC)
	noRealFrames(t, capt, dev.MAC)
}

// TestIntegrationGateHotplug50: 50 devices hotplugged while the service runs,
// each with an autoconnect profile: every one is guarded before NM activates
// it; zero frames from any real address.
func TestIntegrationGateHotplug50(t *testing.T) {
	bed.Require(t, "dnsmasq", "tcpdump", "nft")
	n := 50
	if v := os.Getenv("MAC_NMGUARD_HOTPLUG_N"); v != "" {
		fmt.Sscan(v, &n)
	}
	b := bed.New(t, guardOptions(t, bed.Options{}))
	b.StartDHCP(t, nil)
	capt := b.StartCapture(t)
	startGuard(t, b, "")
	for i := range n {
		b.AddProfile(t, bed.Profile{Name: fmt.Sprintf("auto%d", i), Interface: bed.DeviceName(i), Autoconnect: true, DHCPTimeout: 30})
	}
	for i := range n {
		b.AddDevice(t, bed.DeviceName(i), bed.DeviceMAC(i))
	}
	for i := range n {
		b.WaitState(t, bed.DeviceName(i), detect.StateActivated, 90*time.Second)
	}
	capt.Stop()
	leaks := 0
	for i := range n {
		real := bed.DeviceMAC(i)
		if c := capt.Count(real); c != 0 {
			t.Errorf("LEAK: %s: %d frames from the real address %s", bed.DeviceName(i), c, real)
			leaks += c
		}
		compliant(t, bed.DeviceName(i), linkAddr(t, b, bed.DeviceName(i)), real)
	}
	t.Logf("%d devices hotplugged and activated, %d real-address frames on the wire", n, leaks)
}

// TestIntegrationGateSurvivesRestarts: NM restarted while the service runs
// (resync, still compliant); the service killed with SIGKILL: the kernel
// backstop keeps dropping real-address frames; a restarted service adopts it.
func TestIntegrationGateSurvivesRestarts(t *testing.T) {
	gb := newGuardedBed(t, "")
	b, dev, capt, g := gb.b, gb.dev, gb.capt, gb.g
	uuid := b.AddProfile(t, bed.Profile{Name: "wired", Interface: dev.Name, DHCPTimeout: 15})

	b.RestartNM(t)
	g.waitLog(t, 10*time.Second, "NetworkManager (re)appeared")
	if err := b.Activate(t, uuid, dev.Name); err != nil {
		t.Fatalf("activation after NM restart failed: %v", err)
	}
	compliant(t, dev.Name, linkAddr(t, b, dev.Name), dev.MAC)

	// The service dies hard; the real address goes on the device and NM
	// reactivates: only the backstop stands between it and the wire.
	if err := g.p.Signal(syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	if err := g.p.Wait(10 * time.Second); err == nil {
		t.Log("service exited")
	}
	ipClient(t, b, "link", "set", "dev", dev.Name, "address", dev.MAC.String())
	ipClient(t, b, "link", "set", "dev", dev.Name, "up")
	b.Deactivate(t, uuid)
	_ = b.Activate(t, uuid, dev.Name) // may or may not get a lease: the peer still serves
	rules := nftRuleset(t, b)
	if !strings.Contains(rules, strings.ToLower(dev.MAC.String())) {
		t.Fatalf("backstop rule gone after SIGKILL:\n%s", rules)
	}
	t.Logf("backstop after SIGKILL:\n%s", rules)
	if n := droppedPackets(rules); n == 0 {
		t.Fatalf("the backstop dropped nothing: the test did not put real-address frames on the device")
	}

	g.start(t)
	g.waitLog(t, 10*time.Second, "backstop: adopted rule", dev.Name)
	noRealFrames(t, capt, dev.MAC)
}

// droppedPackets sums "counter packets N" in an nft listing.
func droppedPackets(ruleset string) int {
	total := 0
	f := strings.Fields(ruleset)
	for i := 0; i+2 < len(f); i++ {
		if f[i] == "counter" && f[i+1] == "packets" {
			var n int
			fmt.Sscan(f[i+2], &n)
			total += n
		}
	}
	return total
}
