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

// The systemd boot: the runner, PID 1 after switch_root, turns the overlay
// root into the machine a user has (the project's .deb installed with dpkg,
// its unit enabled by the package; mac80211_hwsim loaded by
// systemd-modules-load; units for the capture, the access points, their
// DHCP servers, an autoconnect profile, a user logged in on tty1) and
// executes /lib/systemd/systemd. systemd starts the runner again as the
// unit bootRunUnit (`guest systemd-run`, systemd_run.go) once multi-user is
// reached: it runs the plan's scenarios, writes the results and powers off.

const (
	systemdRunArg = "systemd-run"
	bootRunUnit   = "wifibed-run.service"
	captureUnit   = "wifibed-capture.service"
	apUnit        = "wifibed-aps.service"
	// bootRadios: wlan0 (the client) and the access points of bootNetworks.
	bootRadios = 4
	// bootProfile is the client's autoconnect profile, for "cafe".
	bootProfile = "home"
	// sessionUser is logged in on tty1 by getty; otherUser is a second
	// local user (another session).
	sessionUser = "alice"
	otherUser   = "bob"
	etcSystemd  = "/etc/systemd/system"
)

// hwsimPerm is the permanent address mac80211_hwsim gives its radio number
// idx (02:00:00:II:II:00, counted from 0 since the module was loaded).
func hwsimPerm(idx int) string {
	return fmt.Sprintf("02:00:00:%02x:%02x:00", idx>>8&0xff, idx&0xff)
}

// bootNetworks are the systemd boot's access points: "cafe" (the
// autoconnect profile's network) on wlan1, "aclreal" and "aclreal2"
// (allow-list: the client's real address only) on wlan2 and wlan3 (the
// service offers a network at most once an hour: the refusals of
// session-story need a network of their own).
func bootNetworks() []wifibed.Network {
	var out []wifibed.Network
	nets := append(networks(), wifibed.Network{SSID: "aclreal2", Security: "wpa-psk", ACL: []string{"REAL"}, Subnet: "10.42.9"})
	for _, n := range nets {
		switch n.SSID {
		case "cafe":
			n.Iface = "wlan1"
		case "aclreal":
			n.Iface = "wlan2"
		case "aclreal2":
			n.Iface = "wlan3"
		default:
			continue
		}
		for i, m := range n.ACL {
			if m == "REAL" {
				n.ACL[i] = hwsimPerm(0)
			}
		}
		out = append(out, n)
	}
	return out
}

// bootPolicy is the drop-in the bed adds to the installed policy: the
// access points' radios and hwsim0 are not the service's. Radios
// hotplugged later (wlan4...) are guarded by the default.
const bootPolicy = `[[device]]
name = "bed access points"
interface = "wlan[123]"
mode = "ignore"

[[device]]
name = "hwsim monitor"
interface = "hwsim0"
mode = "ignore"

[[device]]
name = "a card without a permanent address (state-first-boot, state-second-boot)"
interface = "vx0"
guard = "always"
`

// bootNMConf is the bed's NetworkManager snippet: no default profiles, no
// DNS or hostname handling, no connectivity check, the access points'
// radios and hwsim0 unmanaged.
const bootNMConf = `[main]
no-auto-default=*
dns=none
rc-manager=unmanaged
hostname-mode=none

[keyfile]
unmanaged-devices=interface-name:wlan1;interface-name:wlan2;interface-name:wlan3;interface-name:hwsim0

[connectivity]
enabled=false

[logging]
level=INFO
domains=ALL
`

// masked are the host's enabled units that have nothing to do in the bed
// (hostapd: the bed runs its own access points).
var masked = []string{
	"postgresql.service", "hostapd.service", "NetworkManager-wait-online.service",
	"apt-daily.timer", "apt-daily-upgrade.timer", "man-db.timer", "dpkg-db-backup.timer",
	"e2scrub_all.timer", "e2scrub_reap.service", "fstrim.timer", "systemd-timesyncd.service",
	"serial-getty@ttyS0.service",
}

// bootSystemd prepares the root and executes systemd; it returns only on
// failure.
func (g *guest) bootSystemd() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	t0 := time.Now()
	if err := prepareSystemd(ctx); err != nil {
		return err
	}
	fmt.Printf("wifibed-guest: root prepared for systemd (%.1f s) at %.1f s\n", time.Since(t0).Seconds(), uptime())
	syscall.Sync()
	return syscall.Exec("/lib/systemd/systemd", []string{"/lib/systemd/systemd"}, []string{"PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"})
}

func prepareSystemd(ctx context.Context) error {
	// What systemd would otherwise read as a container, or mount; and
	// the container's policy-rc.d (exit 101), which keeps packages from
	// starting or stopping their services as they do on a real system.
	for _, f := range []string{"/.dockerenv", "/usr/sbin/policy-rc.d"} {
		if err := os.Remove(f); err != nil && !errors.Is(err, os.ErrNotExist) {
			return err
		}
	}
	files := map[string]string{
		"/etc/fstab":                                               "# wifibed: nothing to mount\n",
		"/etc/hostname":                                            "wifibed\n",
		"/etc/modules-load.d/wifibed.conf":                         "mac80211_hwsim\n",
		"/etc/modprobe.d/wifibed.conf":                             fmt.Sprintf("options mac80211_hwsim radios=%d\n", bootRadios),
		"/etc/mac-nmguard/policy.d/50-wifibed.toml":                bootPolicy,
		"/etc/NetworkManager/conf.d/50-wifibed.conf":               bootNMConf,
		"/etc/NetworkManager/system-connections/home.nmconnection": homeProfile(),
		filepath.Join(etcSystemd, captureUnit):                     captureUnitText,
		filepath.Join(etcSystemd, apUnit):                          apUnitText(bootNetworks()),
		filepath.Join(etcSystemd, bootRunUnit):                     runUnitText,
	}
	for tty, user := range map[string]string{"tty1": sessionUser, "tty2": otherUser} {
		files[filepath.Join(etcSystemd, "getty@"+tty+".service.d", "wifibed-autologin.conf")] = autologin(user)
	}
	for _, n := range bootNetworks() {
		files[filepath.Join(etcSystemd, dhcpUnit(n))] = dhcpUnitText(n)
	}
	for path, text := range files {
		mode := os.FileMode(0o644)
		if strings.HasSuffix(path, ".nmconnection") {
			mode = 0o600
		}
		if err := writeFile(path, text, mode); err != nil {
			return err
		}
	}
	if err := writeAPConfigs(bootNetworks()); err != nil {
		return err
	}
	links := map[string]string{
		filepath.Join(etcSystemd, "default.target"):                       "/lib/systemd/system/multi-user.target",
		filepath.Join(etcSystemd, "sysinit.target.wants", captureUnit):    filepath.Join(etcSystemd, captureUnit),
		filepath.Join(etcSystemd, "multi-user.target.wants", apUnit):      filepath.Join(etcSystemd, apUnit),
		filepath.Join(etcSystemd, "multi-user.target.wants", bootRunUnit): filepath.Join(etcSystemd, bootRunUnit),
	}
	for _, tty := range []string{"tty1", "tty2"} {
		links[filepath.Join(etcSystemd, "getty.target.wants", "getty@"+tty+".service")] = "/lib/systemd/system/getty@.service"
	}
	for _, n := range bootNetworks() {
		links[filepath.Join(etcSystemd, "multi-user.target.wants", dhcpUnit(n))] = filepath.Join(etcSystemd, dhcpUnit(n))
	}
	for _, u := range masked {
		links[filepath.Join(etcSystemd, u)] = "/dev/null"
	}
	for link, target := range links {
		if err := os.MkdirAll(filepath.Dir(link), 0o755); err != nil {
			return err
		}
		_ = os.Remove(link)
		if err := os.Symlink(target, link); err != nil {
			return err
		}
	}
	if err := addUsers(ctx); err != nil {
		return err
	}
	if err := mountKeep(); err != nil {
		return err
	}
	return installDeb(ctx)
}

// installDeb installs the project's package as apt would on a machine
// being built (no systemd running: the package enables its unit, which
// starts at boot).
func installDeb(ctx context.Context) error {
	deb := filepath.Join(wifibed.GuestMount, wifibed.DebFile)
	if _, err := os.Stat(deb); err != nil {
		return fmt.Errorf("no package to install: %w", err)
	}
	// man-db's trigger would rebuild the manual page index of the whole
	// system (minutes under TCG); its switch is this file.
	if err := os.Remove("/var/lib/man-db/auto-update"); err != nil && !errors.Is(err, os.ErrNotExist) {
		return err
	}
	t0 := time.Now()
	out, err := run(ctx, "dpkg", "-i", deb)
	_ = os.WriteFile(logPath("dpkg"), fmt.Appendf(nil, "%s\n(%.1f s)\n", out, time.Since(t0).Seconds()), 0o644)
	return err
}

// mountKeep mounts the host's Options.Keep folder, when shared, on
// /var/lib/mac-nmguard (the service's state outlives the boot).
func mountKeep() error {
	if err := os.MkdirAll(wifibed.KeepMount, 0o700); err != nil {
		return err
	}
	err := syscall.Mount(wifibed.KeepTag, wifibed.KeepMount, "9p", 0, "trans=virtio,version=9p2000.L,msize=262144")
	if errors.Is(err, syscall.ENOENT) || errors.Is(err, syscall.EINVAL) {
		return nil // no such tag: this boot keeps nothing
	}
	if err != nil {
		return fmt.Errorf("mount %s: %w", wifibed.KeepMount, err)
	}
	_ = os.WriteFile(filepath.Join(wifibed.GuestMount, "keep-mounted"), nil, 0o644)
	return nil
}

// addUsers adds the session user and a second local user.
func addUsers(ctx context.Context) error {
	for i, u := range []string{sessionUser, otherUser} {
		if _, err := run(ctx, "useradd", "--create-home", "--uid", fmt.Sprint(1001+i), "--shell", "/bin/bash", u); err != nil {
			return err
		}
		if err := writeFile(filepath.Join("/home", u, ".profile"), sessionProfile, 0o644); err != nil {
			return err
		}
	}
	return nil
}

func writeFile(path, text string, mode os.FileMode) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	return os.WriteFile(path, []byte(text), mode)
}

// homeProfile is the client's autoconnect profile for "cafe", as a user
// who follows `mac-nmguard check` would have saved it (no host name sent
// over DHCP).
func homeProfile() string {
	return `[connection]
id=` + bootProfile + `
uuid=6b0c5f6a-1d57-4a44-9b1c-1f2a8f0e9a01
type=wifi
interface-name=` + client + `
autoconnect=true

[wifi]
mode=infrastructure
ssid=cafe

[wifi-security]
key-mgmt=wpa-psk
psk=` + psk + `

[ipv4]
method=auto
dhcp-send-hostname=false

[ipv6]
method=disabled
`
}

// captureUnitText captures every frame on hwsim0 from the moment the radios
// exist, before the service, NetworkManager, wpa_supplicant or an access
// point start (the unit counts as started once tcpdump has opened its
// file, which it does after it started listening).
const captureUnitText = `[Unit]
Description=wifibed: capture every 802.11 frame (hwsim0)
DefaultDependencies=no
Requires=sys-subsystem-net-devices-hwsim0.device
After=sys-subsystem-net-devices-hwsim0.device
Before=mac-nmguard.service NetworkManager.service wpa_supplicant.service ` + apUnit + `

[Service]
ExecStartPre=ip link set hwsim0 up
ExecStart=tcpdump -i hwsim0 -U -s 256 -Z root -w ` + runDir + `/` + wifibed.CaptureFile + `
ExecStartPost=sh -c 'while [ ! -s ` + runDir + `/` + wifibed.CaptureFile + ` ]; do sleep 0.1; done'
`

// runUnitText starts the runner once the system is up.
const runUnitText = `[Unit]
Description=wifibed: the scenarios
After=multi-user.target

[Service]
Type=simple
ExecStart=` + wifibed.GuestMount + `/` + wifibed.GuestBinary + ` ` + systemdRunArg + `
StandardOutput=journal+console
StandardError=journal+console
`

// apUnitText runs the access points (one hostapd for every radio).
func apUnitText(nets []wifibed.Network) string {
	var devs, confs, pre []string
	for _, n := range nets {
		// The access points stand for other machines: no link-local IPv6
		// address from their radios' permanent addresses on this one.
		pre = append(pre, "ExecStartPre=sysctl -q -w net.ipv6.conf."+n.Iface+".disable_ipv6=1\n")
		devs = append(devs, "sys-subsystem-net-devices-"+n.Iface+".device")
		confs = append(confs, filepath.Join(runDir, "hostapd-"+n.SSID+".conf"))
	}
	return `[Unit]
Description=wifibed: access points
Requires=` + strings.Join(devs, " ") + `
After=` + strings.Join(devs, " ") + `

[Service]
` + strings.Join(pre, "") + `ExecStart=hostapd -t ` + strings.Join(confs, " ") + `
`
}

func dhcpUnit(n wifibed.Network) string { return "wifibed-dhcp-" + n.SSID + ".service" }

// dhcpUnitText runs dnsmasq on one access point's radio.
func dhcpUnitText(n wifibed.Network) string {
	args := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
		"--port=0", "--interface=" + n.Iface, "--bind-interfaces", "--except-interface=lo",
		"--dhcp-range=" + n.Subnet + ".10," + n.Subnet + ".100,255.255.255.0,1h",
		"--dhcp-leasefile=" + filepath.Join(runDir, "leases-"+n.SSID), "--pid-file=",
		"--log-facility=-", "--log-dhcp", "--user=root", "--group=root"}
	for _, m := range n.DHCPOnly {
		args = append(args, "--dhcp-host="+m+",set:known")
	}
	if len(n.DHCPOnly) > 0 {
		args = append(args, "--dhcp-ignore=tag:!known")
	}
	return `[Unit]
Description=wifibed: DHCP on ` + n.SSID + `
Requires=` + apUnit + `
After=` + apUnit + `

[Service]
ExecStartPre=-ip addr add ` + n.Subnet + `.1/24 dev ` + n.Iface + `
ExecStart=` + strings.Join(args, " ") + `
`
}

// writeAPConfigs writes hostapd's configurations and allow-lists.
func writeAPConfigs(nets []wifibed.Network) error {
	if err := os.MkdirAll(runDir, 0o755); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(runDir, "eap_users"), []byte(eapUsers), 0o600); err != nil {
		return err
	}
	for _, n := range nets {
		if len(n.ACL) > 0 {
			if err := os.WriteFile(filepath.Join(runDir, "acl-"+n.SSID), []byte(strings.Join(n.ACL, "\n")+"\n"), 0o644); err != nil {
				return err
			}
		}
		if err := os.WriteFile(filepath.Join(runDir, "hostapd-"+n.SSID+".conf"), []byte(hostapdConf(n)), 0o600); err != nil {
			return err
		}
	}
	return nil
}
