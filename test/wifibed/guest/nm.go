// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// nmConf is NetworkManager.conf: keyfiles in runDir, internal DHCP, no
// DNS or hostname handling, no default profiles, no polkit, the access
// points' radios and hwsim0 unmanaged.
const nmConf = `[main]
plugins=keyfile
dhcp=internal
dns=none
rc-manager=unmanaged
systemd-resolved=false
hostname-mode=none
no-auto-default=*
auth-polkit=false

[keyfile]
path=` + runDir + `/system-connections
unmanaged-devices=%s

[logging]
level=INFO
domains=ALL

[connectivity]
enabled=false
`

// policyConf is the service's policy: the access points' radios (wlan1 to
// wlan8) and hwsim0 are not the service's (mode ignore); the client and
// hotplugged radios (wlan9...) get the default (keep-vendor, refuse), and
// the default guard = "auto" guards them as cards: every mac80211_hwsim
// radio has a wiphy (/sys/class/net/IFACE/phy80211), though no bus device.
const policyConf = `[[device]]
name = "bed access points"
interface = "wlan[1-8]"
mode = "ignore"

[[device]]
name = "hwsim monitor"
interface = "hwsim0"
mode = "ignore"
`

const serviceName = "io.github.macnmguard.Guard1"

// startService starts `mac-nmguard run` (before NetworkManager, as its
// unit is ordered).
func (g *guest) startService(ctx context.Context) error {
	if err := os.MkdirAll(filepath.Join(runDir, "policy.d"), 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(runDir, "policy.toml"), []byte(policyConf), 0o644); err != nil {
		return err
	}
	return g.runService(ctx)
}

// runService starts the service (again) and waits for its bus name.
func (g *guest) runService(ctx context.Context) error {
	d, err := g.start("mac-nmguard", filepath.Join(wifibed.GuestMount, wifibed.ServiceBin),
		"--policy", filepath.Join(runDir, "policy.toml"), "--policy-dir", filepath.Join(runDir, "policy.d"),
		"--state-dir", filepath.Join(runDir, "state"), "run", "--log-level", "debug")
	if err != nil {
		return err
	}
	g.service = d
	return waitName(ctx, serviceName, 30*time.Second)
}

// nmArgs is NetworkManager's command line: its own config and config dirs
// (not the host's), logging to stderr.
func nmArgs() []string {
	return []string{"NetworkManager", "--debug",
		"--config=" + filepath.Join(runDir, "NetworkManager.conf"),
		"--config-dir=" + nmConfD,
		"--system-config-dir=" + filepath.Join(runDir, "nm-sysconf.d"),
		"--state-file=" + filepath.Join(runDir, "NetworkManager.state"),
		"--pid-file=" + filepath.Join(runDir, "NetworkManager.pid")}
}

func (g *guest) startNM(ctx context.Context) error {
	var unmanaged []string
	for _, n := range g.res.Networks {
		unmanaged = append(unmanaged, "interface-name:"+n.Iface)
	}
	unmanaged = append(unmanaged, "interface-name:hwsim0")
	for _, d := range []string{filepath.Join(runDir, "system-connections"), filepath.Join(runDir, "nm-sysconf.d")} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return err
		}
	}
	if err := os.WriteFile(filepath.Join(runDir, "NetworkManager.conf"), fmt.Appendf(nil, nmConf, strings.Join(unmanaged, ";")), 0o644); err != nil {
		return err
	}
	// The service's snippet (shipped to /usr/lib/NetworkManager/conf.d).
	if err := copyFile(filepath.Join(wifibed.GuestMount, "90-mac-nmguard.conf"), filepath.Join(nmConfD, "90-mac-nmguard.conf")); err != nil {
		return err
	}
	return g.runNM(ctx)
}

// runNM starts NetworkManager (again) and waits until its startup is
// complete.
func (g *guest) runNM(ctx context.Context) error {
	d, err := g.start("NetworkManager", nmArgs()...)
	if err != nil {
		return err
	}
	g.nm = d
	if err := waitName(ctx, "org.freedesktop.NetworkManager", 60*time.Second); err != nil {
		return err
	}
	return waitFor(ctx, 60*time.Second, "NetworkManager startup complete", func() bool {
		out, err := run(ctx, "nmcli", "-t", "-f", "STARTUP", "general")
		return err == nil && strings.TrimSpace(out) == "started"
	})
}

// clientReady waits until the service has handed the client to
// NetworkManager and NetworkManager sees the access points.
func (g *guest) clientReady(ctx context.Context) error {
	if err := g.waitClientState(ctx, 60*time.Second, "disconnected"); err != nil {
		return err
	}
	return g.waitScan(ctx, 60*time.Second)
}

// waitClientState waits for nmcli's state of the client, e.g.
// "disconnected", "connected".
func (g *guest) waitClientState(ctx context.Context, timeout time.Duration, state string) error {
	return waitDeviceState(ctx, client, timeout, state)
}

// waitDeviceState waits for nmcli's state of iface.
func waitDeviceState(ctx context.Context, iface string, timeout time.Duration, state string) error {
	last := ""
	err := waitFor(ctx, timeout, iface+" "+state, func() bool {
		out, err := run(ctx, "nmcli", "-t", "-f", "DEVICE,STATE", "device")
		if err != nil {
			return false
		}
		for _, l := range strings.Split(out, "\n") {
			if dev, st, ok := strings.Cut(l, ":"); ok && dev == iface {
				last = st
				return strings.HasPrefix(st, state)
			}
		}
		return false
	})
	if err != nil {
		return fmt.Errorf("%w (last state %q)", err, last)
	}
	return nil
}

// waitScan waits until NetworkManager's scan list of the client has every
// access point (asking for a rescan now and then).
func (g *guest) waitScan(ctx context.Context, timeout time.Duration) error {
	last := time.Time{}
	seen := ""
	err := waitFor(ctx, timeout, "scan list", func() bool {
		if time.Since(last) > 10*time.Second {
			_, _ = run(ctx, "nmcli", "device", "wifi", "rescan", "ifname", client)
			last = time.Now()
		}
		out, err := run(ctx, "nmcli", "-t", "-f", "SSID", "device", "wifi", "list", "ifname", client, "--rescan", "no")
		if err != nil {
			return false
		}
		seen = strings.ReplaceAll(strings.TrimSpace(out), "\n", ",")
		have := map[string]bool{}
		for _, s := range strings.Split(out, "\n") {
			have[strings.TrimSpace(s)] = true
		}
		for _, n := range g.res.Networks {
			if !have[n.SSID] {
				return false
			}
		}
		return true
	})
	if err != nil {
		return fmt.Errorf("%w (seen %q)", err, seen)
	}
	return nil
}

// waitName waits until name has an owner on the system bus.
func waitName(ctx context.Context, name string, timeout time.Duration) error {
	return waitFor(ctx, timeout, name+" on the system bus", func() bool {
		conn, err := dbus.ConnectSystemBus()
		if err != nil {
			return false
		}
		defer conn.Close()
		var has bool
		err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
		return err == nil && has
	})
}
