// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

func i32(v int32) *int32 { return &v }

// ofKind lists the findings of kind k.
func ofKind(r CheckReport, k string) []Finding {
	var out []Finding
	for _, f := range r.Findings {
		if f.Kind == k {
			out = append(out, f)
		}
	}
	return out
}

// one wants exactly one finding of kind k with severity sev whose message
// has every part of want, and returns it.
func one(t *testing.T, r CheckReport, k, sev string, want ...string) Finding {
	t.Helper()
	fs := ofKind(r, k)
	if len(fs) != 1 || fs[0].Severity != sev {
		t.Fatalf("%s findings = %+v, want one %s; all: %+v", k, fs, sev, r.Findings)
	}
	for _, w := range want {
		if !strings.Contains(fs[0].Message, w) {
			t.Errorf("%s message %q lacks %q", k, fs[0].Message, w)
		}
	}
	if fs[0].Fix == "" {
		t.Errorf("%s has no fix", k)
	}
	return fs[0]
}

func none(t *testing.T, r CheckReport, kinds ...string) {
	t.Helper()
	for _, k := range kinds {
		if fs := ofKind(r, k); len(fs) != 0 {
			t.Errorf("unexpected %s: %+v", k, fs)
		}
	}
}

func TestCheckReportsHiddenNetwork(t *testing.T) {
	s := baseSnap()
	withProfile(s, func(p *profileInfo) {
		p.Type, p.ID, p.SSID, p.Hidden = nm.ConnTypeWifi, "Office", "corp-hidden", true
	})
	r := buildReport(s)
	f := one(t, r, KindWifiHidden, SeverityFinding, `"corp-hidden"`, "hidden=yes", "probe requests")
	if f.UUID != testUUID || !strings.Contains(f.Fix, testUUID+" 802-11-wireless.hidden no") {
		t.Errorf("finding = %+v, want the profile's UUID in it and its fix", f)
	}
	if r.Compliant || r.ExitCode != CheckExitFindings {
		t.Errorf("compliant %t exit %d, want false, 1", r.Compliant, r.ExitCode)
	}

	// Not hidden: nothing. The real address wanted there: not ours to judge.
	s = baseSnap()
	withProfile(s, func(p *profileInfo) { p.Type, p.SSID = nm.ConnTypeWifi, "open-name" })
	none(t, buildReport(s), KindWifiHidden)
	s = baseSnap()
	s.Policy.Spoof = false
	withProfile(s, func(p *profileInfo) { p.Type, p.SSID, p.Hidden = nm.ConnTypeWifi, "corp-hidden", true })
	none(t, buildReport(s), KindWifiHidden)
}

func TestCheckReportsIP6PrivacyOff(t *testing.T) {
	tests := []struct {
		name     string
		tempaddr int
		conf     string
		priv     *int32
		addrGen  *int32
		method   string
		sev      string // "" = no ipv6-privacy-off at all
		want     string
	}{
		{name: "kernel default off", tempaddr: 0, sev: SeverityFinding, want: "from net.ipv6.conf.default.use_tempaddr"},
		{name: "kernel default on", tempaddr: 2},
		{name: "kernel prefers public, temporaries made", tempaddr: 1},
		{name: "NM conf default on", tempaddr: 0, conf: "[connection]\nipv6.ip6-privacy=2\n"},
		{name: "NM conf default off", tempaddr: 2, conf: "[connection]\nipv6.ip6-privacy=0\n", sev: SeverityFinding, want: "from NetworkManager's default from /etc/NetworkManager/conf.d/a.conf:2"},
		{name: "profile off beats conf on", conf: "[connection]\nipv6.ip6-privacy=2\n", priv: i32(0), sev: SeverityFinding, want: "from the profile"},
		{name: "profile on beats kernel off", priv: i32(2)},
		{name: "unknown", tempaddr: -1, sev: SeverityNote, want: "not known"},
		{name: "IPv6 disabled", method: "disabled"},
		{name: "EUI-64 already says it", addrGen: i32(addrGenEUI64)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSnap()
			s.UseTempaddr = tc.tempaddr
			if tc.conf != "" {
				s.Conf = confOf(t, tc.conf)
			}
			m := tc.method
			if m == "" {
				m = "auto"
			}
			withProfile(s, func(p *profileInfo) { p.IPv6Method, p.IP6Privacy, p.AddrGenMode = m, tc.priv, tc.addrGen })
			r := buildReport(s)
			if tc.sev == "" {
				none(t, r, KindIPv6PrivacyOff)
				return
			}
			f := one(t, r, KindIPv6PrivacyOff, tc.sev, tc.want)
			if !strings.Contains(f.Fix, "ipv6.ip6-privacy 2") || !slices.Equal(f.Devices, []string{"eth0"}) {
				t.Errorf("finding = %+v", f)
			}
		})
	}
}

func TestCheckReportsBluetoothPrivacy(t *testing.T) {
	const conf = "/etc/bluetooth/main.conf"
	adapters := []btAdapter{{Name: "hci0", Address: "00:1a:7d:da:71:13", Alias: "alice-laptop", Powered: true, Discoverable: true}}
	tests := []struct {
		name      string
		bt        bluetoothView
		spoof     bool
		kind, sev string // "" = no Bluetooth entry
		want      []string
	}{
		{name: "running, privacy unset", spoof: true, bt: bluetoothView{ConfExists: true, Running: true, Adapters: adapters},
			kind: KindBluetoothPrivacy, sev: SeverityFinding, want: []string{"hci0 (powered, discoverable, name \"alice-laptop\")", "unset in " + conf, "default is off"}},
		{name: "running, privacy off at a line", spoof: true, bt: bluetoothView{ConfExists: true, Privacy: "off", PrivacyLine: 12, Running: true, Adapters: adapters},
			kind: KindBluetoothPrivacy, sev: SeverityFinding, want: []string{"Privacy = off at " + conf + ":12"}},
		{name: "running, privacy device", spoof: true, bt: bluetoothView{ConfExists: true, Privacy: "device", PrivacyLine: 3, Running: true, Adapters: adapters}},
		{name: "running, privacy network", spoof: true, bt: bluetoothView{ConfExists: true, Privacy: "network", Running: true, Adapters: adapters}},
		{name: "running, no adapter", spoof: true, bt: bluetoothView{ConfExists: true, Running: true}},
		{name: "not running, controller in sysfs", spoof: true, bt: bluetoothView{Sysfs: []string{"hci0"}},
			kind: KindBluetoothPrivacy, sev: SeverityFinding, want: []string{"hci0 will use their public address when BlueZ runs", "does not exist", "not running", "not known"}},
		{name: "not running, BlueZ installed", spoof: true, bt: bluetoothView{ConfExists: true},
			kind: KindBluetoothUnknown, sev: SeverityNote, want: []string{"not known", "org.bluez) is not running"}},
		{name: "bus unreadable", spoof: true, bt: bluetoothView{BusErr: errors.New("no bus")},
			kind: KindBluetoothUnknown, sev: SeverityNote, want: []string{"not known", "no bus"}},
		{name: "main.conf unreadable", spoof: true, bt: bluetoothView{ConfExists: true, ConfErr: errors.New("permission denied"), Running: true, Adapters: adapters},
			kind: KindBluetoothUnknown, sev: SeverityNote, want: []string{"permission denied", "not known"}},
		{name: "no Bluetooth at all", spoof: true},
		{name: "policy does not spoof", bt: bluetoothView{ConfExists: true, Running: true, Adapters: adapters}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSnap()
			s.Policy.Spoof = tc.spoof
			tc.bt.ConfPath = conf
			s.Bluetooth = tc.bt
			r := buildReport(s)
			if tc.kind == "" {
				none(t, r, KindBluetoothPrivacy, KindBluetoothUnknown)
				return
			}
			one(t, r, tc.kind, tc.sev, tc.want...)
			other := map[string]string{KindBluetoothPrivacy: KindBluetoothUnknown, KindBluetoothUnknown: KindBluetoothPrivacy}[tc.kind]
			none(t, r, other)
			if tc.sev == SeverityNote && r.ExitCode != CheckExitCompliant {
				t.Errorf("a note changed the exit code to %d", r.ExitCode)
			}
		})
	}
}

func TestParseBluetoothPrivacy(t *testing.T) {
	conf := "[General]\n#Privacy = device\nName = x\n\n[Policy]\nPrivacy = network\n[General]\n Privacy = off \nPrivacy=limited-device\n"
	v, line := parseBluetoothPrivacy([]byte(conf))
	if v != "limited-device" || line != 9 {
		t.Errorf("Privacy = %q at line %d, want limited-device at 9", v, line)
	}
	if v, line := parseBluetoothPrivacy([]byte("[General]\n#Privacy = device\n")); v != "" || line != 0 {
		t.Errorf("commented: %q at %d, want unset", v, line)
	}
	for v, on := range map[string]bool{"off": false, "": false, "network": true, "on": true, "device": true, "limited-network": true, "limited-device": true, "bogus": false} {
		if bluetoothPrivacyOn(v) != on {
			t.Errorf("bluetoothPrivacyOn(%q) = %t, want %t", v, !on, on)
		}
	}
}

func TestCheckReportsP2PDeviceName(t *testing.T) {
	p2pDev := nm.Device{Path: "/org/freedesktop/NetworkManager/Devices/3", Interface: "p2p-dev-wlan0", Type: p2pDeviceType, State: 30}
	tests := []struct {
		name     string
		hostname string
		p2p      p2pView
		noDevice bool
		state    uint32
		kind     string
		sev      string
		want     []string
	}{
		{name: "supplicant's name, idle", hostname: "localhost", p2p: p2pView{Running: true, Names: map[string]string{"wlan0": "alice-laptop"}},
			kind: KindWifiP2PName, sev: SeverityNote, want: []string{`"alice-laptop" on wlan0 (wpa_supplicant's P2PDeviceConfig DeviceName)`, "none is connected now"}},
		{name: "supplicant's name, in use", hostname: "localhost", state: 100, p2p: p2pView{Running: true, Names: map[string]string{"wlan0": "alice-laptop"}},
			kind: KindWifiP2PName, sev: SeverityFinding, want: []string{`"alice-laptop" on wlan0`, "connecting or connected"}},
		{name: "unset: the host name", hostname: "alice-laptop", state: 70, p2p: p2pView{Running: true, Names: map[string]string{"wlan0": ""}},
			kind: KindWifiP2PName, sev: SeverityFinding, want: []string{`"alice-laptop" on wlan0 (the host name`}},
		{name: "unset, generic host name", hostname: "localhost", p2p: p2pView{Running: true, Names: map[string]string{"wlan0": ""}}},
		{name: "supplicant not running", hostname: "alice-laptop",
			kind: KindWifiP2PNameUnknown, sev: SeverityNote, want: []string{"not known", "not running", `"alice-laptop"`}},
		{name: "getter failed", hostname: "h", p2p: p2pView{Running: true, Err: errors.New("getter failed")},
			kind: KindWifiP2PNameUnknown, sev: SeverityNote, want: []string{"getter failed"}},
		{name: "no P2P device", hostname: "alice-laptop", noDevice: true, p2p: p2pView{Running: true, Names: map[string]string{"wlan0": "alice-laptop"}}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSnap()
			s.Hostname = tc.hostname
			if !tc.noDevice {
				d := p2pDev
				if tc.state != 0 {
					d.State = tc.state
				}
				s.NMDevices = append(s.NMDevices, d)
			}
			s.P2P = tc.p2p
			r := buildReport(s)
			if tc.kind == "" {
				none(t, r, KindWifiP2PName, KindWifiP2PNameUnknown)
				return
			}
			f := one(t, r, tc.kind, tc.sev, tc.want...)
			if !slices.Equal(f.Devices, []string{"p2p-dev-wlan0"}) {
				t.Errorf("devices = %v", f.Devices)
			}
		})
	}
}
