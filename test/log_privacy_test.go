// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// TestIntegrationInfoLogLinksNoAddresses: the service logging at info level
// (the unit's level, what a persistent journal keeps) through a card present
// at start, a hotplugged card, an activation and a refused profile that
// sets the real address: its log names the cards and what happened, but
// holds none of their addresses (real, generated or current), in
// warnings and errors neither; so a seized disk does not link a card's real
// address with its private ones.
func TestIntegrationInfoLogLinksNoAddresses(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	dev0 := b.Devices()[0]
	b.StartDHCP(t, nil)
	g := startGuardAt(t, b, "", "info")
	addrs := map[string]bool{}
	see := func(a string) { addrs[strings.ToLower(a)] = true }
	see(dev0.MAC.String())
	see(waitAddrNot(t, b, dev0.Name, dev0.MAC.String(), 10*time.Second))

	// Hotplug.
	dev1 := b.AddDevice(t, "nmt9", bed.DeviceMAC(9))
	see(dev1.MAC.String())
	see(waitAddrNot(t, b, dev1.Name, dev1.MAC.String(), 10*time.Second))
	b.WaitState(t, dev0.Name, detect.StateDisconnected, 20*time.Second)
	b.WaitState(t, dev1.Name, detect.StateDisconnected, 20*time.Second)

	// Activation with the private address.
	uuid := b.AddProfile(t, bed.Profile{Name: "wired", Interface: dev0.Name, DHCPTimeout: 15})
	if err := b.Activate(t, uuid, dev0.Name); err != nil {
		t.Fatalf("activation failed: %v", err)
	}
	b.WaitState(t, dev0.Name, detect.StateActivated, 30*time.Second)

	// Refusal: a profile that sets the real address.
	reveal := b.AddProfile(t, bed.Profile{Name: "reveal", Interface: dev1.Name, ClonedMAC: dev1.MAC.String(), DHCPTimeout: 15})
	if err := b.Activate(t, reveal, dev1.Name); err == nil {
		t.Fatal("the profile that sets the real address was activated; want it refused")
	}
	g.waitLog(t, 10*time.Second, "violation: refused", "device="+dev1.Name)
	time.Sleep(time.Second) // whatever the refusal logs next

	for _, d := range []bed.Device{dev0, dev1} {
		see(linkAddr(t, b, d.Name))
		a := apiDevice(t, b, d.Name)
		see(a.Address)
		see(a.Real)
	}
	log := g.p.Log()
	// The log says what happened (the test judges a real log).
	for _, want := range [][]string{
		{"netlink: device appeared", "device=" + dev1.Name},
		{"gate:", "spoofed", "device=" + dev0.Name},
		{"gate:", "spoofed", "device=" + dev1.Name},
		{"violation: refused", "device=" + dev1.Name},
		{"mode=keep-vendor"},
	} {
		g.waitLog(t, time.Second, want...)
	}
	low := strings.ToLower(log)
	for a := range addrs {
		if a == "" {
			continue
		}
		for _, form := range []string{a, strings.ReplaceAll(a, ":", "-"), strings.ReplaceAll(a, ":", "")} {
			if i := strings.Index(low, form); i >= 0 {
				line := log[strings.LastIndex(log[:i], "\n")+1:]
				if j := strings.Index(line, "\n"); j >= 0 {
					line = line[:j]
				}
				t.Errorf("the info-level log holds the address %s: %s", form, line)
			}
		}
	}
	if t.Failed() {
		t.Logf("addresses of the guarded cards: %v\nservice log:\n%s", addrs, tail(log, 60))
	}
}
