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
// blocked (or the activation refused) and the peer sees no frame from the
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
			deadline := time.Now().Add(15 * time.Second)
			for apiDevice(t, b, dev.Name).Gate != "blocked" {
				if time.Now().After(deadline) {
					t.Fatalf("the profile without its own cloned-mac-address was not blocked under the permanent default (gate %s); log:\n%s",
						apiDevice(t, b, dev.Name).Gate, tail(g.p.Log(), 40))
				}
				time.Sleep(100 * time.Millisecond)
			}
			time.Sleep(3 * time.Second) // give NM every chance to autoconnect
			if st := b.State(t, dev.Name); st == detect.StateActivated {
				t.Fatalf("the profile was activated under the permanent default")
			}
			if a := apiDevice(t, b, dev.Name); a.Gate != "blocked" {
				t.Fatalf("gate %s, want blocked", a.Gate)
			}
			if !strings.Contains(g.p.Log(), "-> blocked") || !strings.Contains(g.p.Log(), "cloned-mac-address=permanent") {
				t.Fatalf("the block does not say it is for cloned-mac-address=permanent; log:\n%s", tail(g.p.Log(), 40))
			}
			noRealFrames(t, capt, dev.MAC)
		})
	}
}
