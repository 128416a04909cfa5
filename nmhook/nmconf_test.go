// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// writeNMConf writes a main file and one conf.d file and reads them back.
func writeNMConf(t *testing.T, main, dropIn string) inspect.NMConf {
	t.Helper()
	dir := t.TempDir()
	mainFile := filepath.Join(dir, "NetworkManager.conf")
	confD := filepath.Join(dir, "conf.d")
	if err := os.MkdirAll(confD, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(mainFile, []byte(main), 0o644); err != nil {
		t.Fatal(err)
	}
	if dropIn != "" {
		if err := os.WriteFile(filepath.Join(confD, "50-mac.conf"), []byte(dropIn), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	c, err := inspect.LoadNMConf(mainFile, []string{confD})
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// TestDecideWithNetworkManagerConfDefaults: an autoconnect profile without a
// cloned-mac-address of its own is judged with NetworkManager.conf's
// default for its type: blocked under ethernet.cloned-mac-address=permanent
// (or an explicit real address), allowed without it, with a wifi.* default
// for an Ethernet profile, or with the profile's own preserve.
func TestDecideWithNetworkManagerConfDefaults(t *testing.T) {
	pol := policy.Default()
	real := mustPMAC(t, "00:1b:21:00:00:01")
	cur := mustPMAC(t, "00:1b:21:9a:bc:de")
	dev := &devState{iface: "eth0", nm: nm.Device{Type: "ethernet", Driver: "e1000e"}}
	dev.link.Addr = cur.HardwareAddr()
	dev.real = real.HardwareAddr()
	plain := nm.Profile{ID: "wired", UUID: "u1", Type: nm.ConnTypeEthernet, Autoconnect: true}
	wifi := nm.Profile{ID: "cafe", UUID: "u2", Type: nm.ConnTypeWifi, SSID: "cafe", Autoconnect: true}
	own := plain
	own.ClonedMAC = "preserve"
	cases := []struct {
		name, main, dropIn string
		prof               nm.Profile
		block              bool
	}{
		{"no default", "[main]\nplugins=keyfile\n", "", plain, false},
		{"conf.d ethernet permanent", "", "[connection]\nethernet.cloned-mac-address=permanent\n", plain, true},
		{"main file ethernet permanent", "[connection]\nethernet.cloned-mac-address=permanent\n", "", plain, true},
		{"default is the real address itself", "", "[connection-mac]\nethernet.cloned-mac-address=00:1B:21:00:00:01\n", plain, true},
		{"default for this driver", "", "[connection-e1000e]\nmatch-device=driver:e1000e\nethernet.cloned-mac-address=permanent\n", plain, true},
		{"default for another driver", "", "[connection-other]\nmatch-device=driver:igb\nethernet.cloned-mac-address=permanent\n", plain, false},
		{"wifi default, Ethernet profile", "", "[connection]\nwifi.cloned-mac-address=permanent\n", plain, false},
		{"wifi default, Wi-Fi profile", "", "[connection]\nwifi.cloned-mac-address=permanent\n", wifi, true},
		{"the profile's own value wins", "", "[connection]\nethernet.cloned-mac-address=permanent\n", own, false},
		{"a random default breaks keep-vendor too", "", "[connection]\nethernet.cloned-mac-address=random\n", plain, true},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			conf := writeNMConf(t, c.main, c.dropIn)
			d := *dev
			if c.prof.Type == nm.ConnTypeWifi {
				d.nm.Type = "wifi"
			}
			p := withEffectiveCloned(conf, c.prof, d.confDevice())
			view := gate.View{Device: d.policyDevice(), State: 30, Profiles: []nm.Profile{p}}
			dec := gate.Decide(pol, view, nil, nil)
			if dec.Block != c.block {
				t.Fatalf("block=%v (%s) with cloned-mac-address %q; want block=%v", dec.Block, dec.Reason, p.ClonedMAC, c.block)
			}
		})
	}
	// An unreadable configuration fails closed.
	p := withEffectiveCloned(inspect.UnreadableNMConf(nil), plain, dev.confDevice())
	if dec := gate.Decide(pol, gate.View{Device: dev.policyDevice(), State: 30, Profiles: []nm.Profile{p}}, nil, nil); !dec.Block {
		t.Fatalf("an unreadable NetworkManager configuration did not block a profile without its own value: %s", dec.Reason)
	}
}
