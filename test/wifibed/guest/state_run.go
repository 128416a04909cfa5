// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"encoding/json"
	"fmt"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// Two boots with /var/lib/mac-nmguard kept (the host's Options.Keep):
// "state-first-boot" ends the first, "state-second-boot" starts the
// second. vethDev is a virtual card without a permanent address that the
// bed's policy guards (guard = "always"): its real address is the first one
// the service saw in the boot.
const (
	vethDev  = "vx0"
	vethPeer = "vx1"
)

// vethAddr is the address vethDev is created with in boot n (1 or 2).
func vethAddr(n int) string { return fmt.Sprintf("02:5e:00:00:00:%02x", n) }

// checkReport is what the scenarios read of `mac-nmguard check --json`.
type checkReport struct {
	Policy struct {
		Spoof         bool  `json:"spoof"`
		SpoofOverride *bool `json:"spoof_override"`
	} `json:"policy"`
	Devices []struct {
		Interface  string `json:"interface"`
		Address    string `json:"address"`
		Real       string `json:"real"`
		RealSource string `json:"real_source"`
		Verdict    string `json:"verdict"`
		Backstop   string `json:"backstop"`
	} `json:"devices"`
	Compliant bool `json:"compliant"`
}

func (s *sc) check() (checkReport, error) {
	var rep checkReport
	out, _ := runStdout(s.ctx, "mac-nmguard", "check", "--json")
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		return rep, fmt.Errorf("mac-nmguard check --json: %w: %s", err, out)
	}
	return rep, nil
}

// addVeth creates vethDev with addr and waits until check says its real
// address is addr, the first address the service saw.
func (s *sc) addVeth(addr string) error {
	if _, err := run(s.ctx, "ip", "link", "add", vethDev, "address", addr, "type", "veth", "peer", "name", vethPeer); err != nil {
		return err
	}
	last := ""
	err := waitFor(s.ctx, 30*time.Second, vethDev+"'s real address", func() bool {
		rep, err := s.check()
		if err != nil {
			return false
		}
		for _, d := range rep.Devices {
			if d.Interface == vethDev {
				last = fmt.Sprintf("%+v", d)
				return d.Real == addr && strings.HasPrefix(d.RealSource, "first")
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("%w: created with %s, check says %s", err, addr, last)
	}
	s.logf("%s created with %s: check: %s", vethDev, addr, last)
	return nil
}

// stateFirstBoot: an administrator's `decide --no-spoof`; vethDev's real
// address learned in this boot; nothing on disk holds it.
func stateFirstBoot(s *sc) error {
	if err := s.addVeth(vethAddr(1)); err != nil {
		return err
	}
	// From the decision on, the real address is what the administrator
	// wants: the host judges the frames before it only.
	s.logf("%s: decide --no-spoof", wifibed.RestoreOpen)
	if out, err := run(s.ctx, "mac-nmguard", "decide", "--no-spoof"); err != nil {
		return fmt.Errorf("decide --no-spoof: %w: %s", err, out)
	}
	if err := waitFor(s.ctx, 30*time.Second, "spoofing off", func() bool {
		rep, err := s.check()
		return err == nil && !rep.Policy.Spoof
	}); err != nil {
		return err
	}
	s.logf("decide --no-spoof: spoofing off in this boot")
	return noAddressOnDisk(s, vethAddr(1))
}

// noAddressOnDisk fails when a file of the state directory holds addr or
// the client's real address.
func noAddressOnDisk(s *sc, addr string) error {
	for _, a := range []string{addr, s.g.res.Real} {
		if out, err := run(s.ctx, "grep", "-rilF", a, wifibed.KeepMount); err == nil {
			return fmt.Errorf("%s holds %s: %s", wifibed.KeepMount, a, out)
		}
	}
	out, _ := run(s.ctx, "ls", "-la", wifibed.KeepMount)
	s.logf("%s holds no address: %s", wifibed.KeepMount, out)
	return nil
}

// stateSecondBoot: the first boot's `decide --no-spoof` does not hold (the
// autoconnect profile connected with a private address, check says spoof
// with no runtime switch); vethDev, created again with another address, is
// judged by this boot's first address, not the first boot's.
func stateSecondBoot(s *sc) error {
	s.since = time.Now().Add(-time.Duration(uptime() * float64(time.Second))) // the frames of the whole boot
	if out, err := run(s.ctx, "ls", "-la", wifibed.KeepMount); err == nil {
		s.logf("%s kept from the first boot: %s", wifibed.KeepMount, out)
	}
	if err := s.waitAutoconnect(); err != nil {
		return err
	}
	if err := s.private(bootProfile); err != nil {
		return err
	}
	s.logf("%s connected by autoconnect with %s", client, s.address())
	rep, err := s.check()
	if err != nil {
		return err
	}
	if !rep.Policy.Spoof || rep.Policy.SpoofOverride != nil {
		return fmt.Errorf("the first boot's decide --no-spoof holds in the second: spoof %v, override %v", rep.Policy.Spoof, rep.Policy.SpoofOverride)
	}
	if err := s.addVeth(vethAddr(2)); err != nil {
		return err
	}
	_, _ = run(s.ctx, "ip", "link", "del", vethDev)
	return noAddressOnDisk(s, vethAddr(2))
}
