// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// TestIntegrationNMConfDefaultIsJudged: a conf.d file, read by both
// NetworkManager and the service, makes cloned-mac-address=permanent the
// default for Ethernet profiles. An autoconnect profile with no
// cloned-mac-address of its own then means the real address: the card is
// given a private address in memory by the service, or blocked, and the
// peer sees no frame from the
// real address. Without the file the same profile is allowed and connects.
func TestIntegrationNMConfDefaultIsJudged(t *testing.T) {
	bed.Require(t, "dnsmasq", "tcpdump", "nft")
	for _, withConf := range []bool{true, false} {
		name := "without the default"
		if withConf {
			name = "ethernet.cloned-mac-address=permanent in conf.d"
		}
		t.Run(name, func(t *testing.T) {
			b := bed.New(t, guardOptions(t, bed.Options{Devices: 1, NoNM: true}))
			if withConf {
				conf := "[connection-mac-nmguard-test]\nethernet.cloned-mac-address=permanent\n"
				if err := os.WriteFile(filepath.Join(b.Dir, "nm-conf.d", "50-permanent-mac.conf"), []byte(conf), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			b.StartNM(t)
			dev := b.Devices()[0]
			b.StartDHCP(t, nil)
			capt := b.StartCapture(t)
			g := startGuard(t, b, "")
			waitAddrNot(t, b, dev.Name, dev.MAC.String(), 10*time.Second)
			b.WaitState(t, dev.Name, detect.StateDisconnected, 20*time.Second)

			b.AddProfile(t, bed.Profile{Name: "plain", Interface: dev.Name, Autoconnect: true, DHCPTimeout: 15})
			if !withConf {
				b.WaitState(t, dev.Name, detect.StateActivated, 30*time.Second)
				if a := apiDevice(t, b, dev.Name); a.Gate == "blocked" {
					t.Fatalf("without the conf.d default the card is blocked: %s", a.Reason)
				}
				return
			}
			// Two outcomes keep the real address off the wire: the service
			// gives the profile a private address in memory (issue 21: the
			// address of an activation is NetworkManager's to apply), so the
			// permanent default never applies, or it blocks the profile.
			deadline := time.Now().Add(30 * time.Second)
			for {
				a := apiDevice(t, b, dev.Name)
				if a.Gate == "blocked" {
					if !strings.Contains(g.p.Log(), "cloned-mac-address=permanent") {
						t.Fatalf("the block does not say it is for cloned-mac-address=permanent; log:\n%s", tail(g.p.Log(), 40))
					}
					break
				}
				if b.State(t, dev.Name) == detect.StateActivated {
					if got := linkAddr(t, b, dev.Name); got == strings.ToLower(dev.MAC.String()) {
						t.Fatalf("activated with the real address %s under the permanent default", got)
					}
					break
				}
				if time.Now().After(deadline) {
					t.Fatalf("neither blocked nor activated with a private address under the permanent default (gate %s); log:\n%s",
						a.Gate, tail(g.p.Log(), 40))
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(3 * time.Second) // give NM every chance to use the default
			noRealFrames(t, capt, dev.MAC)
		})
	}
}
