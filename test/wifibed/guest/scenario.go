// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// sc is a running scenario: its context, its log and the profiles it
// added (deleted at its end).
type sc struct {
	g        *guest
	iface    string // the radio addProfile and up use: the client, or a hotplugged one
	ctx      context.Context
	log      []string
	profiles []string
	reals    []string // real addresses of radios hotplugged in this scenario
	t0       time.Time
	// since, when set, starts the scenario's window earlier than its own
	// start (the systemd boot's first scenario judges the whole boot).
	since time.Time
}

func (s *sc) logf(format string, args ...any) {
	s.log = append(s.log, fmt.Sprintf("%5.1fs ", time.Since(s.t0).Seconds())+fmt.Sprintf(format, args...))
}

func (s *sc) nmcli(args ...string) (string, error) {
	return run(s.ctx, append([]string{"nmcli"}, args...)...)
}

// addProfile adds a Wi-Fi profile for the client (no autoconnect) for the
// network ssid; extra are more nmcli settings.
func (s *sc) addProfile(name, ssid string, extra ...string) error {
	args := []string{"connection", "add", "type", "wifi", "ifname", s.iface, "con-name", name, "ssid", ssid,
		"connection.autoconnect", "no", "ipv4.dhcp-timeout", "20", "ipv6.method", "disabled"}
	var sec []string
	for _, n := range s.g.res.Networks {
		if n.SSID != ssid {
			continue
		}
		switch n.Security {
		case "wpa-psk":
			sec = []string{"wifi-sec.key-mgmt", "wpa-psk", "wifi-sec.psk", psk}
		case "wpa-eap":
			sec = []string{"wifi-sec.key-mgmt", "wpa-eap", "802-1x.eap", "peap", "802-1x.phase2-auth", "mschapv2",
				"802-1x.identity", peapUser, "802-1x.password", peapPass,
				"802-1x.ca-cert", wifibed.GuestMount + "/ca.pem"}
		}
	}
	args = append(args, sec...)
	args = append(args, extra...)
	if _, err := s.nmcli(args...); err != nil {
		return err
	}
	s.profiles = append(s.profiles, name)
	s.logf("added profile %s (%s) %s", name, ssid, strings.Join(extra, " "))
	return nil
}

// up activates profile name on the client and waits for the result.
func (s *sc) up(name string) error {
	t := time.Now()
	out, err := s.nmcli("--wait", "90", "connection", "up", name, "ifname", s.iface)
	if err != nil {
		s.logf("up %s failed after %.1fs: %v", name, time.Since(t).Seconds(), err)
		return err
	}
	s.logf("up %s: connected after %.1fs, %s, %s", name, time.Since(t).Seconds(), s.address(), s.ipv4())
	_ = out
	return nil
}

// upFails activates name and requires it to fail.
func (s *sc) upFails(name string) error {
	if err := s.up(name); err == nil {
		return fmt.Errorf("connection %s came up, want a failure", name)
	}
	return nil
}

// upOK activates name and requires an IPv4 address from the network's DHCP.
func (s *sc) upOK(name string) error {
	if err := s.up(name); err != nil {
		return err
	}
	if s.ipv4() == "" {
		return fmt.Errorf("connection %s up without an IPv4 address", name)
	}
	return nil
}

// down disconnects the client and waits for NetworkManager's disconnected.
func (s *sc) down() error {
	_, _ = s.nmcli("device", "disconnect", client)
	return s.g.waitClientState(s.ctx, 30*time.Second, "disconnected")
}

func (s *sc) address() string {
	b, _ := os.ReadFile("/sys/class/net/" + s.iface + "/address")
	return strings.TrimSpace(string(b))
}

func (s *sc) ipv4() string {
	out, err := run(s.ctx, "ip", "-4", "-o", "addr", "show", "dev", s.iface)
	if err != nil {
		return ""
	}
	f := strings.Fields(out)
	for i, w := range f {
		if w == "inet" && i+1 < len(f) {
			return f[i+1]
		}
	}
	return ""
}

// cleanup leaves the bed as the next scenario expects it: the client
// disconnected, the scenario's profiles deleted, the service and
// NetworkManager running.
func (s *sc) cleanup() error {
	var errs []error
	if s.g.systemd {
		errs = append(errs, unitsRunning(s.ctx))
	} else if s.g.service == nil || s.g.service.exited() {
		errs = append(errs, errors.New("the service was not running at the end"))
		if err := s.g.runService(s.ctx); err != nil {
			errs = append(errs, err)
		}
	}
	if !s.g.systemd && (s.g.nm == nil || s.g.nm.exited()) {
		errs = append(errs, errors.New("NetworkManager was not running at the end"))
		if err := s.g.runNM(s.ctx); err != nil {
			errs = append(errs, err)
		}
	}
	_, _ = s.nmcli("device", "disconnect", client)
	if s.iface != client {
		_, _ = s.nmcli("device", "disconnect", s.iface)
	}
	for _, p := range s.profiles {
		if _, err := s.nmcli("connection", "delete", p); err != nil {
			errs = append(errs, err)
		}
	}
	if err := s.g.waitClientState(s.ctx, 30*time.Second, "disconnected"); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// runScenario runs one scenario within timeout, then its cleanup, and
// returns what it saw. A scenario that hangs is abandoned (its commands
// are killed with its context).
func (g *guest) runScenario(name string, timeout time.Duration) wifibed.Scenario {
	res := wifibed.Scenario{Name: name}
	all := scenarios()
	if g.systemd {
		all = systemdScenarios()
	}
	f, ok := all[name]
	ne, ns := g.rec.mark()
	res.Start = time.Now()
	fmt.Printf("wifibed-guest: scenario %s at %.1f s\n", name, uptime())
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	s := &sc{g: g, ctx: ctx, t0: res.Start, iface: client}
	var err error
	if !ok {
		err = fmt.Errorf("no scenario %q in the guest runner", name)
	} else {
		done := make(chan error, 1)
		go func() { done <- f(s) }()
		select {
		case err = <-done:
		case <-ctx.Done():
			err = fmt.Errorf("scenario timed out after %v", timeout)
			select {
			case <-done:
			case <-time.After(10 * time.Second):
			}
		}
	}
	cancel()
	cctx, ccancel := context.WithTimeout(context.Background(), 90*time.Second)
	s.ctx = cctx
	if cerr := s.cleanup(); cerr != nil {
		s.logf("cleanup: %v", cerr)
		if err == nil {
			err = fmt.Errorf("cleanup: %w", cerr)
		}
	}
	ccancel()
	time.Sleep(time.Second) // what follows at once is part of the scenario
	res.End = time.Now()
	if !s.since.IsZero() {
		res.Start = s.since
	}
	if err != nil {
		res.Err = err.Error()
	}
	res.Log = s.log
	res.Reals = s.reals
	res.Events, res.Suspicions = g.rec.since(ne, ns)
	fmt.Printf("wifibed-guest: scenario %s done in %.1f s (error: %v)\n", name, res.End.Sub(res.Start).Seconds(), err)
	return res
}
