// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// scenarios are the scenarios the runner knows, by name. Each starts with
// the client disconnected and no profile of its own; runScenario deletes
// the profiles it adds and disconnects the client afterwards. Add one here
// and name it in a Plan (see ../README.md).
func scenarios() map[string]func(*sc) error {
	return map[string]func(*sc) error{
		wifibed.StoryScenario: agentStory,
		// The gate: the service guards the client while it connects.
		"first-connection": func(s *sc) error {
			if err := s.addProfile("cafe", "cafe"); err != nil {
				return err
			}
			return s.upOK("cafe")
		},
		"reconnect": func(s *sc) error {
			if err := s.addProfile("cafe", "cafe"); err != nil {
				return err
			}
			if err := s.upOK("cafe"); err != nil {
				return err
			}
			if err := s.down(); err != nil {
				return err
			}
			s.logf("disconnected")
			return s.upOK("cafe")
		},
		"permanent-refused": func(s *sc) error {
			if err := s.addProfile("cafe-permanent", "cafe", "802-11-wireless.cloned-mac-address", "permanent"); err != nil {
				return err
			}
			_ = s.up("cafe-permanent") // refused by the service: the outcome is judged on the frames
			time.Sleep(2 * time.Second)
			return nil
		},
		"service-restart": func(s *sc) error {
			s.g.service.kill()
			s.logf("service killed (SIGKILL)")
			time.Sleep(3 * time.Second)
			if err := s.g.runService(s.ctx); err != nil {
				return err
			}
			s.logf("service restarted")
			if err := s.addProfile("cafe", "cafe"); err != nil {
				return err
			}
			return s.upOK("cafe")
		},
		"scan-rand-off": func(s *sc) error { return scanRand(s, false) },
		"scan-rand-on":  func(s *sc) error { return scanRand(s, true) },
		// A radio added while everything runs: the service must give it a
		// private address before NetworkManager takes it.
		"hotplug": func(s *sc) error {
			iface, err := newRadio(s.ctx)
			if err != nil {
				return err
			}
			real, err := permAddr(s.ctx, iface)
			if err != nil {
				return err
			}
			s.reals = append(s.reals, real)
			if s.g.res.Hotplugged == nil {
				s.g.res.Hotplugged = map[string]string{}
			}
			s.g.res.Hotplugged[iface] = real
			s.logf("radio %s added, real address %s", iface, real)
			if err := waitDeviceState(s.ctx, iface, 60*time.Second, "disconnected"); err != nil {
				return err
			}
			s.logf("%s handed to NetworkManager with %s", iface, readAddr(iface))
			s.iface = iface
			if err := s.addProfile("cafe-hotplug", "cafe"); err != nil {
				return err
			}
			return s.upOK("cafe-hotplug")
		},

		// Detection: what NetworkManager and wpa_supplicant say (traces).
		"psk-wrong-passphrase": func(s *sc) error {
			if err := s.addProfile("cafe-wrong", "cafe", "wifi-sec.psk", "not-the-passphrase"); err != nil {
				return err
			}
			if err := s.upFails("cafe-wrong"); err != nil {
				return err
			}
			time.Sleep(3 * time.Second)
			return nil
		},
		"acl-refused": func(s *sc) error {
			if err := s.addProfile("acl", "acl"); err != nil {
				return err
			}
			for range 2 { // NetworkManager's autoconnect would try again too
				if err := s.upFails("acl"); err != nil {
					return err
				}
			}
			time.Sleep(3 * time.Second)
			return nil
		},
		"corp-connect": func(s *sc) error {
			if err := s.addProfile("corp", "corp"); err != nil {
				return err
			}
			return s.upOK("corp")
		},
		"corp-wrong-password": func(s *sc) error {
			if err := s.addProfile("corp-wrong", "corp", "802-1x.password", "wrongpass"); err != nil {
				return err
			}
			if err := s.upFails("corp-wrong"); err != nil {
				return err
			}
			time.Sleep(3 * time.Second)
			return nil
		},
		"corpacl-refused": func(s *sc) error {
			if err := s.addProfile("corpacl", "corpacl"); err != nil {
				return err
			}
			for range 2 {
				if err := s.upFails("corpacl"); err != nil {
					return err
				}
			}
			time.Sleep(3 * time.Second)
			return nil
		},
		"psk-no-agent": func(s *sc) error {
			// The passphrase is the user's (agent-owned) and nobody is
			// logged in to give it.
			if err := s.addProfile("cafe-agent", "cafe", "wifi-sec.psk-flags", "1"); err != nil {
				return err
			}
			if err := s.upFails("cafe-agent"); err != nil {
				return err
			}
			time.Sleep(3 * time.Second)
			return nil
		},
		"openacl-refused": func(s *sc) error {
			if err := s.addProfile("openacl", "openacl"); err != nil {
				return err
			}
			for range 2 {
				if err := s.upFails("openacl"); err != nil {
					return err
				}
			}
			time.Sleep(3 * time.Second)
			return nil
		},
		"dhcpacl-refused": func(s *sc) error {
			if err := s.addProfile("dhcpacl", "dhcpacl", "ipv4.dhcp-timeout", "10"); err != nil {
				return err
			}
			for range 2 {
				if err := s.upFails("dhcpacl"); err != nil {
					return err
				}
			}
			time.Sleep(3 * time.Second)
			return nil
		},
		// Issue 21: restore the real address for one network.
		"restore-once":   func(s *sc) error { return restoreScenario(s, false) },
		"restore-always": func(s *sc) error { return restoreScenario(s, true) },
		// Also judged for the identifiers (wifibed.IdentScenarios): the
		// profile asks to send a host name and an IPv6 link-local address
		// (activated only once DHCPv4 is done: ipv4.may-fail no).
		"open-connect": func(s *sc) error {
			if err := s.addProfile("open", "open", "ipv4.dhcp-hostname", wifibed.IdentHost,
				"ipv6.method", "link-local", "ipv4.may-fail", "no"); err != nil {
				return err
			}
			return s.upOK("open")
		},
	}
}

// scanRand restarts NetworkManager with wifi.scan-rand-mac-address on or
// off, lets it scan, and connects to "cafe".
func scanRand(s *sc, on bool) error {
	conf := filepath.Join(nmConfD, "99-wifibed-scan-rand.conf")
	if on {
		if err := os.Remove(conf); err != nil && !os.IsNotExist(err) {
			return err
		}
	} else if err := os.WriteFile(conf, []byte("[device]\nwifi.scan-rand-mac-address=no\n"), 0o644); err != nil {
		return err
	}
	s.g.nm.stop(10 * time.Second)
	s.logf("NetworkManager stopped; scan-rand-mac-address=%v", on)
	if err := s.g.runNM(s.ctx); err != nil {
		return err
	}
	s.logf("NetworkManager started")
	if err := s.g.waitClientState(s.ctx, 60*time.Second, "disconnected"); err != nil {
		return err
	}
	if err := s.g.waitScan(s.ctx, 60*time.Second); err != nil {
		return err
	}
	s.logf("scanned")
	if err := s.addProfile("cafe", "cafe"); err != nil {
		return err
	}
	return s.upOK("cafe")
}

// readAddr is an interface's current address.
func readAddr(iface string) string {
	b, _ := os.ReadFile("/sys/class/net/" + iface + "/address")
	return strings.TrimSpace(string(b))
}
