// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// Fixed names of the bed inside the guest.
const (
	client   = "wlan0"        // the radio the service guards
	runDir   = "/run/wifibed" // configs, leases, the capture while running
	nmConfD  = runDir + "/nm-conf.d"
	radios   = 9 // wlan0 (client) + the access points
	psk      = "cafe-passphrase"
	peapUser = "peapuser" // hostapd's EAP user (PEAP, MSCHAPv2 inside)
	peapPass = "correctpass"
	// otherMAC is on the "acl" network's allow-list: an address the bed
	// never uses.
	otherMAC = "02:00:00:aa:bb:cc"
)

// guest is the runner's state.
type guest struct {
	res     *wifibed.Results
	daemons []*daemon
	capture *daemon
	nm      *daemon
	service *daemon
	rec     *recorder
	// systemd: the runner runs under systemd (the systemd boot), which
	// started the service and NetworkManager.
	systemd bool
}

// networks are the bed's access points, one radio each (wlan1...). "REAL"
// is replaced by the client's real address at setup.
func networks() []wifibed.Network {
	return []wifibed.Network{
		{SSID: "cafe", Iface: "wlan1", Security: "wpa-psk", Subnet: "10.42.1"},
		{SSID: "acl", Iface: "wlan2", Security: "wpa-psk", ACL: []string{otherMAC}, Subnet: "10.42.2"},
		{SSID: "corp", Iface: "wlan3", Security: "wpa-eap", Subnet: "10.42.3"},
		{SSID: "open", Iface: "wlan4", Security: "open", Subnet: "10.42.4"},
		{SSID: "aclreal", Iface: "wlan5", Security: "wpa-psk", ACL: []string{"REAL"}, Subnet: "10.42.5"},
		{SSID: "corpacl", Iface: "wlan6", Security: "wpa-eap", ACL: []string{"REAL"}, Subnet: "10.42.6"},
		{SSID: "openacl", Iface: "wlan7", Security: "open", ACL: []string{otherMAC}, Subnet: "10.42.7"},
		{SSID: "dhcpacl", Iface: "wlan8", Security: "wpa-psk", DHCPOnly: []string{"REAL"}, Subnet: "10.42.8"},
	}
}

// mountBase mounts what every program expects: proc, sys, dev, devpts,
// fresh tmpfs on /run and /tmp (the host's are in the lower layer).
func mountBase() error {
	mounts := []struct{ src, dst, fs, data string }{
		{"proc", "/proc", "proc", ""},
		{"sys", "/sys", "sysfs", ""},
		{"dev", "/dev", "devtmpfs", ""},
		{"devpts", "/dev/pts", "devpts", "gid=5,mode=620"},
		{"run", "/run", "tmpfs", "mode=755"},
		{"tmp", "/tmp", "tmpfs", "mode=1777"},
		{"shm", "/dev/shm", "tmpfs", "mode=1777"},
	}
	for _, m := range mounts {
		_ = os.MkdirAll(m.dst, 0o755)
		if err := syscall.Mount(m.src, m.dst, m.fs, 0, m.data); err != nil && !errors.Is(err, syscall.EBUSY) {
			return fmt.Errorf("mount %s: %w", m.dst, err)
		}
	}
	for _, d := range []string{runDir, nmConfD, "/run/dbus", "/run/NetworkManager", "/run/udev", "/run/hostapd"} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			return err
		}
	}
	return nil
}

// setup brings the bed up; the first failure ends it.
func (g *guest) setup() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	step := func(name string, f func(context.Context) error) error {
		t0 := time.Now()
		if err := f(ctx); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
		fmt.Printf("wifibed-guest: %s (%.1f s) at %.1f s\n", name, time.Since(t0).Seconds(), uptime())
		return nil
	}
	for _, s := range []struct {
		name string
		f    func(context.Context) error
	}{
		{"loopback and hostname", g.basics},
		{"udev", g.udev},
		{"radios", g.radios},
		{"capture", g.startCapture},
		{"system bus", g.bus},
		{"access points", g.accessPoints},
		{"dhcp", g.dhcp},
		{"wpa_supplicant", g.supplicant},
		{"service", g.startService},
		{"NetworkManager", g.startNM},
		{"recorder", g.startRecorder},
		{"client handed to NetworkManager", g.clientReady},
	} {
		if err := step(s.name, s.f); err != nil {
			return err
		}
	}
	return nil
}

func (g *guest) basics(ctx context.Context) error {
	if _, err := run(ctx, "ip", "link", "set", "lo", "up"); err != nil {
		return err
	}
	_ = os.WriteFile("/proc/sys/kernel/hostname", []byte("wifibed"), 0o644)
	b, _ := os.ReadFile("/proc/sys/kernel/osrelease")
	g.res.Kernel = strings.TrimSpace(string(b))
	out, err := run(ctx, "NetworkManager", "--version")
	if err != nil {
		return err
	}
	g.res.NMVersion = strings.TrimSpace(out)
	return nil
}

func (g *guest) udev(ctx context.Context) error {
	if _, err := g.start("udevd", "/lib/systemd/systemd-udevd"); err != nil {
		return err
	}
	if err := waitFor(ctx, 10*time.Second, "udev control socket", func() bool {
		_, err := os.Stat("/run/udev/control")
		return err == nil
	}); err != nil {
		return err
	}
	if _, err := run(ctx, "udevadm", "trigger", "--action=add", "--subsystem-match=net"); err != nil {
		return err
	}
	_, err := run(ctx, "udevadm", "settle", "--timeout=30")
	return err
}

func (g *guest) radios(ctx context.Context) error {
	if _, err := run(ctx, "modprobe", "mac80211_hwsim", fmt.Sprintf("radios=%d", radios)); err != nil {
		return err
	}
	if err := waitFor(ctx, 10*time.Second, "radios", func() bool {
		for i := range radios {
			if _, err := os.Stat(fmt.Sprintf("/sys/class/net/wlan%d", i)); err != nil {
				return false
			}
		}
		_, err := os.Stat("/sys/class/net/hwsim0")
		return err == nil
	}); err != nil {
		return err
	}
	if _, err := run(ctx, "udevadm", "settle", "--timeout=30"); err != nil {
		return err
	}
	real, err := permAddr(ctx, client)
	if err != nil {
		return err
	}
	g.res.Client, g.res.Real = client, real
	for _, n := range networks() {
		a, err := permAddr(ctx, n.Iface)
		if err != nil {
			return err
		}
		n.BSSID = a
		for _, list := range [][]string{n.ACL, n.DHCPOnly} {
			for i, m := range list {
				if m == "REAL" {
					list[i] = real
				}
			}
		}
		g.res.Networks = append(g.res.Networks, n)
	}
	return nil
}

// permAddr is the interface's permanent address (ethtool -P).
func permAddr(ctx context.Context, iface string) (string, error) {
	out, err := run(ctx, "ethtool", "-P", iface)
	if err != nil {
		return "", err
	}
	f := strings.Fields(out)
	if len(f) == 0 {
		return "", fmt.Errorf("ethtool -P %s: %q", iface, out)
	}
	return strings.ToLower(f[len(f)-1]), nil
}

func (g *guest) startCapture(ctx context.Context) error {
	if _, err := run(ctx, "ip", "link", "set", "hwsim0", "up"); err != nil {
		return err
	}
	d, err := g.start("tcpdump", "tcpdump", "-i", "hwsim0", "-U", "-s", "2048", "-Z", "root", "-w", filepath.Join(runDir, wifibed.CaptureFile))
	if err != nil {
		return err
	}
	g.capture = d
	return waitFor(ctx, 10*time.Second, "tcpdump listening", func() bool {
		b, _ := os.ReadFile(logPath("tcpdump"))
		return strings.Contains(string(b), "listening on")
	})
}

// stopCapture stops tcpdump (it flushes on SIGTERM) and copies the capture
// to the shared folder.
func (g *guest) stopCapture() {
	if g.capture == nil {
		return
	}
	g.capture.stop(5 * time.Second)
	b, err := os.ReadFile(filepath.Join(runDir, wifibed.CaptureFile))
	if err != nil {
		fmt.Println("wifibed-guest: capture:", err)
		return
	}
	if err := os.WriteFile(filepath.Join(wifibed.GuestMount, wifibed.CaptureFile), b, 0o644); err != nil {
		fmt.Println("wifibed-guest: capture:", err)
	}
}

func (g *guest) bus(ctx context.Context) error {
	// The service's bus policy, from the shared folder (the host copied it
	// from cmd/mac-nmguard/dist).
	if err := copyFile(filepath.Join(wifibed.GuestMount, "io.github.macnmguard.Guard1.conf"), "/etc/dbus-1/system.d/io.github.macnmguard.Guard1.conf"); err != nil {
		return err
	}
	// Its polkit actions, as installed: polkit (bus-activated from the
	// host's files) answers restore requests (root is authorised).
	if err := copyFile(filepath.Join(wifibed.GuestMount, "io.github.macnmguard.policy"), "/usr/share/polkit-1/actions/io.github.macnmguard.policy"); err != nil {
		return err
	}
	if _, err := g.start("dbus", "dbus-daemon", "--system", "--nofork", "--nopidfile", "--nosyslog"); err != nil {
		return err
	}
	return waitFor(ctx, 10*time.Second, "system bus", func() bool {
		_, err := os.Stat("/run/dbus/system_bus_socket")
		return err == nil
	})
}

func copyFile(from, to string) error {
	b, err := os.ReadFile(from)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(to), 0o755); err != nil {
		return err
	}
	return os.WriteFile(to, b, 0o644)
}
