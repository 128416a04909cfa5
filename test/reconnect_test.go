// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// writeKeyfile puts an autoconnect DHCP profile for iface straight into the
// bed's keyfile directory (NetworkManager not running yet).
func writeKeyfile(t *testing.T, b *bed.Bed, name, uuid, iface string) {
	t.Helper()
	kf := fmt.Sprintf("[connection]\nid=%s\nuuid=%s\ntype=ethernet\ninterface-name=%s\nautoconnect=true\n\n"+
		"[ethernet]\n\n[ipv4]\nmethod=auto\ndhcp-timeout=20\n\n[ipv6]\nmethod=disabled\n", name, uuid, iface)
	if err := os.WriteFile(filepath.Join(b.Dir, "system-connections", name+".nmconnection"), []byte(kf), 0o600); err != nil {
		t.Fatal(err)
	}
}

// TestIntegrationHoldReconnectsManagedCard: a card that a local conf.d file
// marks managed (the override the shipped snippet suggests), with an
// autoconnect profile, and the boot-time hold. The hold takes down and
// disconnects a card NetworkManager brings up, and NetworkManager then
// blocks that profile's autoconnect as the user's request. After the
// decision the card must come up as it would have without the service,
// with the address the choice says, and nothing may leave the card during
// the hold. "service-first" is the boot order (the service starts before
// NetworkManager: whether NetworkManager starts the activation before the
// hold takes the link down is a race, logged); "nm-first" starts the
// service once NetworkManager has the card activated, so the disconnect
// always happens.
func TestIntegrationHoldReconnectsManagedCard(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	for _, tc := range []struct {
		name, decide      string
		nmFirst, wantReal bool
	}{
		{"service-first/spoof", "--spoof", false, false},
		{"nm-first/spoof", "--spoof", true, false},
		{"nm-first/no-spoof", "--no-spoof", true, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			b := bed.New(t, guardOptions(t, bed.Options{Devices: 1, NoNM: true}))
			dev := b.Devices()[0]
			local := "[device-local-managed]\nmatch-device=interface-name:" + dev.Name + "\nmanaged=1\n"
			if err := os.WriteFile(filepath.Join(b.Dir, "nm-conf.d", "99-local.conf"), []byte(local), 0o644); err != nil {
				t.Fatal(err)
			}
			writeKeyfile(t, b, "auto0", "4f1c7a9e-6f0b-4a57-9d3e-1b2c3d4e5f60", dev.Name)
			b.StartDHCP(t, nil)
			var g *guard
			if tc.nmFirst {
				b.StartNM(t)
				b.WaitState(t, dev.Name, detect.StateActivated, 30*time.Second)
				g = startGuard(t, b, "hold = true\n")
			} else {
				g = startGuard(t, b, "hold = true\n")
				g.waitLog(t, 10*time.Second, "hold: every guarded device is kept silent")
				b.StartNM(t)
			}
			g.waitLog(t, 15*time.Second, "-> held", "device="+dev.Name)
			capt := b.StartCapture(t)
			// NetworkManager gets every chance to (re)activate the card.
			time.Sleep(3 * time.Second)
			// NetworkManager's audit line, whichever version of the service.
			disconnected := strings.Count(b.NM().Log(), `op="device-disconnect" interface="`+dev.Name+`"`)
			t.Logf("the hold disconnected %s %d times; NM state now %d", dev.Name, disconnected, b.State(t, dev.Name))
			if tc.nmFirst && disconnected == 0 {
				t.Fatalf("the hold did not disconnect the activated card")
			}
			if src := capt.Sources(); len(src) != 0 {
				t.Fatalf("frames left the held card before the decision: %v", src)
			}
			out, err := cli(t, b, "decide", tc.decide)
			if err != nil {
				t.Fatalf("decide %s: %v: %s", tc.decide, err, out)
			}
			b.WaitState(t, dev.Name, detect.StateActivated, 40*time.Second)
			addr := linkAddr(t, b, dev.Name)
			if isReal := addr == strings.ToLower(dev.MAC.String()); isReal != tc.wantReal {
				t.Errorf("%s connected with %s (real: %t), want real=%t", dev.Name, addr, isReal, tc.wantReal)
			}
			capt.Stop()
			for src, n := range capt.Sources() {
				if isReal := strings.EqualFold(src, dev.MAC.String()); isReal != tc.wantReal {
					t.Errorf("the wire saw %d frames from %s (real: %t); the decision wanted real=%t only", n, src, isReal, tc.wantReal)
				}
			}
		})
	}
}

// TestIntegrationRefusalFixedReconnects: a profile that sets the real
// address is refused when activated by hand (the service disconnects the
// card, and NetworkManager blocks the profile's autoconnect as the user's
// request); the user then fixes it (cloned-mac-address=preserve) and makes
// it autoconnect. It must then come up by itself, as NetworkManager would
// bring up a fixed autoconnect profile without the service.
func TestIntegrationRefusalFixedReconnects(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	dev := b.Devices()[0]
	b.StartDHCP(t, nil)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	waitAddrNot(t, b, dev.Name, dev.MAC.String(), 10*time.Second)
	uuid := b.AddProfile(t, bed.Profile{Name: "leaky", Interface: dev.Name, ClonedMAC: dev.MAC.String(), DHCPTimeout: 20})
	if err := b.Activate(t, uuid, dev.Name); err == nil {
		t.Fatalf("the profile that sets the real address was activated")
	}
	g.waitLog(t, 10*time.Second, "violation: refused", "device="+dev.Name)
	b.WaitState(t, dev.Name, detect.StateDisconnected, 20*time.Second)
	if _, err := b.Nmcli(t, "connection", "modify", "uuid", uuid, "ethernet.cloned-mac-address", "preserve", "connection.autoconnect", "yes"); err != nil {
		t.Fatalf("fix the profile: %v", err)
	}
	b.WaitState(t, dev.Name, detect.StateActivated, 40*time.Second)
	if addr := linkAddr(t, b, dev.Name); addr == strings.ToLower(dev.MAC.String()) {
		t.Errorf("%s came up with its real address", dev.Name)
	}
	noRealFramesAll(t, capt, []bed.Device{dev})
}
