// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/backstop"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

func inspMAC(s string) net.HardwareAddr {
	m, err := net.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m
}

const (
	testReal    = "00:1b:21:aa:bb:cc" // eth0's permanent address
	testSpoofed = "00:1b:21:11:22:33" // keep-vendor compliant
	testProfile = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/1")
	testUUID    = "0b7e4f7c-6a40-4f55-8a7e-0c1d2e3f4a5b"
)

// baseSnap is a compliant machine: eth0 spoofed (keep-vendor), guarded by
// the backstop, managed by NM, the service running, no profile.
func baseSnap() *inspectSnapshot {
	return &inspectSnapshot{
		Now:           time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC),
		Policy:        policy.Default(),
		PolicySources: nil,
		StatePath:     "/var/lib/mac-nmguard/state.json",
		UseTempaddr:   0,
		Links: []links.Link{
			{Index: 1, Name: "lo", Kind: "device"},
			{Index: 2, Name: "eth0", Kind: "device", Addr: inspMAC(testSpoofed), PermAddr: inspMAC(testReal), Up: true, Carrier: true},
		},
		Guards:    []backstop.Rule{{Interface: "eth0", Real: inspMAC(testReal), Dropped: 7}},
		NMVersion: "1.42.4",
		NMDevices: []nm.Device{
			{Path: "/org/freedesktop/NetworkManager/Devices/1", Interface: "lo", Type: "loopback", State: 100},
			{Path: "/org/freedesktop/NetworkManager/Devices/2", Interface: "eth0", Type: "ethernet", Driver: "e1000e",
				State: 30, HwAddress: strings.ToUpper(testSpoofed), PermHwAddress: testReal},
		},
		Hostname: "localhost",
		Service:  serviceView{Running: true, Status: &api.Status{Version: "dev", Spoof: true, NMRunning: true}},
	}
}

// withProfile adds a profile NM offers on eth0.
func withProfile(s *inspectSnapshot, edit func(*profileInfo)) {
	p := profileInfo{Profile: nm.Profile{Path: string(testProfile), UUID: testUUID, ID: "Wired 1", Autoconnect: true, Type: nm.ConnTypeEthernet},
		IPv4Method: "auto", IPv6Method: "disabled"}
	if edit != nil {
		edit(&p)
	}
	s.Profiles = append(s.Profiles, p)
	s.NMDevices[1].AvailableConnections = append(s.NMDevices[1].AvailableConnections, dbus.ObjectPath(p.Path))
}

func confOf(t *testing.T, files ...string) NMConf {
	t.Helper()
	var names []string
	var per [][]NMConfSection
	for i, f := range files {
		n := filepath.Join("/etc/NetworkManager/conf.d", string(rune('a'+i))+".conf")
		names = append(names, n)
		per = append(per, parseNMConf(n, []byte(f)))
	}
	return orderNMConf(names, per)
}

// kinds lists the kinds of the findings of severity sev, in order.
func kinds(r CheckReport, sev string) []string {
	out := []string{}
	for _, f := range r.Findings {
		if f.Severity == sev {
			out = append(out, f.Kind)
		}
	}
	return out
}

func problems(r CheckReport) []string {
	out := append(kinds(r, SeverityViolation), kinds(r, SeverityFinding)...)
	slices.Sort(out)
	return out
}

func finding(t *testing.T, r CheckReport, kind string) Finding {
	t.Helper()
	for _, f := range r.Findings {
		if f.Kind == kind {
			return f
		}
	}
	t.Fatalf("no %s finding in %+v", kind, r.Findings)
	return Finding{}
}

func TestBuildReport(t *testing.T) {
	tests := []struct {
		name     string
		edit     func(t *testing.T, s *inspectSnapshot)
		exit     int
		problems []string // kinds of violations and findings, sorted
		check    func(t *testing.T, r CheckReport)
	}{{
		name: "compliant",
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if len(r.Devices) != 1 {
				t.Fatalf("devices = %+v, want eth0 only (lo is not guardable)", r.Devices)
			}
			d := r.Devices[0]
			want := CheckDevice{Interface: "eth0", Index: 2, Kind: "device", Up: true, Carrier: true, NMType: "ethernet",
				NMState: "disconnected", Driver: "e1000e", Address: testSpoofed, Real: testReal, RealSource: gate.RealFromKernel,
				Mode: "keep-vendor", Enforcement: "refuse", Rule: "built-in default", Verdict: VerdictCompliant,
				Reason:   "address 00:1b:21:11:22:33 keeps the real vendor prefix 00:1b:21 and differs from the real address",
				Gate:     "allows it",
				Backstop: "guarding " + testReal, Dropped: 7}
			if diff := cmp.Diff(want, d); diff != "" {
				t.Errorf("eth0 (-want +got):\n%s", diff)
			}
			if !r.Compliant || !r.Policy.BuiltinDefault || !r.Policy.Spoof || !r.NM.Running || !r.Service.Running {
				t.Errorf("report = %+v", r)
			}
		},
	}, {
		name: "real address in use",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links[1].Addr = inspMAC(testReal)
			s.NMDevices[1].HwAddress = testReal
		},
		exit: CheckExitFindings, problems: []string{KindDeviceViolation},
		check: func(t *testing.T, r CheckReport) {
			d := r.Devices[0]
			if d.Verdict != VerdictViolation || d.Gate != "sets a compliant address while the device is down" {
				t.Errorf("eth0 verdict %q gate %q", d.Verdict, d.Gate)
			}
			f := finding(t, r, KindDeviceViolation)
			if f.Severity != SeverityViolation || !strings.Contains(f.Message, "equals the real address") || !slices.Equal(f.Devices, []string{"eth0"}) {
				t.Errorf("finding = %+v", f)
			}
		},
	}, {
		name: "activating with the real address is refused",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links[1].Addr = inspMAC(testReal)
			s.NMDevices[1].State = 70
			s.NMDevices[1].ActiveConnection = "/ac/1"
			s.Active = map[dbus.ObjectPath]nm.Profile{s.NMDevices[1].Path: {Path: string(testProfile), UUID: testUUID, ID: "Wired 1"}}
		},
		exit: CheckExitFindings, problems: []string{KindDeviceViolation},
		check: func(t *testing.T, r CheckReport) {
			d := r.Devices[0]
			if d.Connection != "Wired 1" || d.UUID != testUUID || d.NMState != "ip-config" || !strings.HasPrefix(d.Gate, "refuses") {
				t.Errorf("eth0 = %+v", d)
			}
		},
	}, {
		name: "veth without state: real unknown, fail closed",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links[1].PermAddr = nil
			s.NMDevices[1].PermHwAddress = ""
		},
		exit: CheckExitFindings, problems: []string{KindRealUnknown},
		check: func(t *testing.T, r CheckReport) {
			d := r.Devices[0]
			if d.Real != "" || d.RealSource != gate.RealUnknown || d.Verdict != VerdictViolation || !strings.Contains(d.Reason, "no per-boot state") {
				t.Errorf("eth0 = %+v", d)
			}
			if d.Gate != "keeps it down: the real address is unknown" {
				t.Errorf("gate = %q", d.Gate)
			}
		},
	}, {
		name: "real from NM when the kernel has none",
		edit: func(t *testing.T, s *inspectSnapshot) { s.Links[1].PermAddr = nil },
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if d := r.Devices[0]; d.Real != testReal || d.RealSource != gate.RealFromNM {
				t.Errorf("real %q from %q", d.Real, d.RealSource)
			}
		},
	}, {
		name: "real from the per-boot first seen",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links[1].PermAddr = nil
			s.NMDevices[1].PermHwAddress = ""
			s.BootState = &state.BootState{Version: 1, FirstSeen: map[string]state.FirstSeen{"eth0": {Index: 2, Addr: testReal}}}
		},
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if d := r.Devices[0]; d.Real != testReal || d.RealSource != gate.RealFromFirstSeen {
				t.Errorf("real %q from %q", d.Real, d.RealSource)
			}
		},
	}, {
		name: "first seen of an earlier device of that name is not used",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links[1].PermAddr = nil
			s.NMDevices[1].PermHwAddress = ""
			s.BootState = &state.BootState{Version: 1, FirstSeen: map[string]state.FirstSeen{"eth0": {Index: 9, Addr: testReal}}}
		},
		exit: CheckExitFindings, problems: []string{KindRealUnknown},
		check: func(t *testing.T, r CheckReport) {
			if d := r.Devices[0]; !strings.Contains(d.Reason, "earlier device of this name (ifindex 9, now 2)") {
				t.Errorf("reason = %q", d.Reason)
			}
		},
	}, {
		name: "NetworkManager not running: exit 2, kernel devices still listed",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.NMErr = errors.New("NetworkManager is not running")
			s.NMDevices, s.NMVersion = nil, ""
			s.Links[1].Addr = inspMAC(testReal)
		},
		exit: CheckExitNoCheck, problems: []string{KindDeviceViolation},
		check: func(t *testing.T, r CheckReport) {
			if len(r.Devices) != 1 || r.Devices[0].Interface != "eth0" || r.Devices[0].NMType != "" || r.Devices[0].NMState != "" {
				t.Errorf("devices = %+v", r.Devices)
			}
			if r.NM.Running || r.NM.Error == "" || r.Compliant {
				t.Errorf("nm = %+v compliant %t", r.NM, r.Compliant)
			}
			if !slices.Contains(kinds(r, SeverityNote), KindNMUnavailable) {
				t.Errorf("notes = %v", kinds(r, SeverityNote))
			}
		},
	}, {
		name: "netlink unreadable: exit 2, NM's devices listed",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links, s.LinksErr = nil, errors.New("netlink: permission denied")
		},
		exit: CheckExitNoCheck, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if len(r.Devices) != 1 || r.Devices[0].Address != testSpoofed || r.Devices[0].Index != 0 || r.Kernel.Error == "" {
				t.Errorf("devices = %+v kernel %+v", r.Devices, r.Kernel)
			}
		},
	}, {
		name: "invalid policy: a finding, evaluated with the built-in default",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Policy, s.PolicyErr = nil, errors.New("policy.toml:3:8: mode: unknown mode \"spoofy\"")
			s.PolicySources = []string{"policy.toml"}
		},
		exit: CheckExitFindings, problems: []string{KindPolicyInvalid},
		check: func(t *testing.T, r CheckReport) {
			if !r.Policy.BuiltinDefault || !strings.Contains(r.Policy.Error, "policy.toml:3:8") || r.Devices[0].Rule != "built-in default" {
				t.Errorf("policy = %+v, rule %q", r.Policy, r.Devices[0].Rule)
			}
		},
	}, {
		name: "runtime spoof off (this boot): the real address is right",
		edit: func(t *testing.T, s *inspectSnapshot) {
			off := false
			s.BootState = &state.BootState{Version: 1, Spoof: &off}
			s.Links[1].Addr = inspMAC(testReal)
		},
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if r.Policy.Spoof || r.Policy.SpoofOverride == nil || r.Devices[0].Mode != "permanent" {
				t.Errorf("policy %+v mode %q", r.Policy, r.Devices[0].Mode)
			}
		},
	}, {
		name: "mode ignore: not guarded",
		edit: func(t *testing.T, s *inspectSnapshot) {
			p, err := policy.Parse("p.toml", []byte("[default]\nmode = \"ignore\"\n"))
			if err != nil {
				t.Fatal(err)
			}
			s.Policy = p
			s.Links[1].Addr = inspMAC(testReal)
			s.Guards = nil
		},
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if d := r.Devices[0]; d.Verdict != VerdictNotGuarded || d.Backstop != "none" {
				t.Errorf("eth0 = %+v", d)
			}
		},
	}, {
		name: "no backstop rule",
		edit: func(t *testing.T, s *inspectSnapshot) { s.Guards = nil },
		exit: CheckExitFindings, problems: []string{KindBackstopMissing},
	}, {
		name: "backstop guards another address",
		edit: func(t *testing.T, s *inspectSnapshot) { s.Guards[0].Real = inspMAC("00:1b:21:00:00:01") },
		exit: CheckExitFindings, problems: []string{KindBackstopMissing},
	}, {
		name: "backstop unreadable: a note, not a finding",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Guards, s.GuardErr = nil, errors.New("operation not permitted")
		},
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if r.Devices[0].Backstop != "unknown" || !slices.Contains(kinds(r, SeverityNote), KindBackstopUnknown) {
				t.Errorf("backstop %q notes %v", r.Devices[0].Backstop, kinds(r, SeverityNote))
			}
		},
	}, {
		name: "IPv6 address from the real MAC",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.IPv6 = map[int][]netip.Addr{2: {
				netip.MustParseAddr("fe80::21b:21ff:fe11:2233"), // from the spoofed address: fine
				netip.MustParseAddr("fe80::21b:21ff:feaa:bbcc"), // from the real one
			}}
		},
		exit: CheckExitFindings, problems: []string{KindIPv6EUI64Address},
		check: func(t *testing.T, r CheckReport) {
			f := finding(t, r, KindIPv6EUI64Address)
			if !strings.Contains(f.Message, "fe80::21b:21ff:feaa:bbcc") || strings.Contains(f.Message, "fe11:2233") {
				t.Errorf("message = %q", f.Message)
			}
			if len(r.Devices[0].IPv6) != 2 {
				t.Errorf("ipv6 = %v", r.Devices[0].IPv6)
			}
		},
	}, {
		name: "profile cloned-mac-address=permanent",
		edit: func(t *testing.T, s *inspectSnapshot) {
			withProfile(s, func(p *profileInfo) { p.ClonedMAC = "permanent" })
		},
		exit: CheckExitFindings, problems: []string{KindProfileCloned},
		check: func(t *testing.T, r CheckReport) {
			f := finding(t, r, KindProfileCloned)
			if f.Profile != "Wired 1" || f.UUID != testUUID || !slices.Equal(f.Devices, []string{"eth0"}) ||
				f.Fix != "nmcli connection modify "+testUUID+" ethernet.cloned-mac-address preserve" ||
				!strings.Contains(f.Message, "the gate blocks its autoconnect") {
				t.Errorf("finding = %+v", f)
			}
			if g := r.Devices[0].Gate; !strings.HasPrefix(g, "blocks autoconnect") {
				t.Errorf("gate = %q", g)
			}
		},
	}, {
		name: "profile cloned permanent on a device whose real address is unknown",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links[1].PermAddr = nil
			s.NMDevices[1].PermHwAddress = ""
			withProfile(s, func(p *profileInfo) { p.ClonedMAC = "permanent" })
		},
		exit: CheckExitFindings, problems: []string{KindProfileCloned, KindRealUnknown},
	}, {
		name: "profile cloned permanent where the policy says permanent",
		edit: func(t *testing.T, s *inspectSnapshot) {
			p, err := policy.Parse("p.toml", []byte("[[network]]\nname = \"home\"\nuuid = \""+testUUID+"\"\nmode = \"permanent\"\n"))
			if err != nil {
				t.Fatal(err)
			}
			s.Policy = p
			withProfile(s, func(p *profileInfo) { p.ClonedMAC = "permanent"; p.IPv6Method = "auto" })
			s.Hostname = "alice-laptop"
		},
		// The user wants the real address there: neither the profile nor
		// its identifiers are findings.
		exit: CheckExitCompliant, problems: []string{},
	}, {
		name: "profile not available on any device, cloned permanent",
		edit: func(t *testing.T, s *inspectSnapshot) {
			withProfile(s, func(p *profileInfo) { p.ClonedMAC = "permanent"; p.Type = nm.ConnTypeWifi; p.SSID = "Cafe" })
			s.NMDevices[1].AvailableConnections = nil
		},
		exit: CheckExitFindings, problems: []string{KindProfileCloned},
		check: func(t *testing.T, r CheckReport) {
			f := finding(t, r, KindProfileCloned)
			if len(f.Devices) != 0 || !strings.Contains(f.Message, "on any device") || !strings.Contains(f.Fix, "wifi.cloned-mac-address") {
				t.Errorf("finding = %+v", f)
			}
		},
	}, {
		name: "NM.conf default cloned-mac-address=permanent reaches a profile",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Conf = confOf(t, "[connection]\nethernet.cloned-mac-address=permanent\n")
			withProfile(s, nil)
		},
		exit: CheckExitFindings, problems: []string{KindConfCloned, KindProfileCloned},
		check: func(t *testing.T, r CheckReport) {
			f := finding(t, r, KindProfileCloned)
			if f.File != "/etc/NetworkManager/conf.d/a.conf:2" || !strings.Contains(f.Fix, "remove ethernet.cloned-mac-address from /etc/NetworkManager/conf.d/a.conf") {
				t.Errorf("finding = %+v", f)
			}
		},
	}, {
		name: "DHCP sends the host name",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Hostname = "alice-laptop"
			withProfile(s, nil)
		},
		exit: CheckExitFindings, problems: []string{KindDHCPHostname},
		check: func(t *testing.T, r CheckReport) {
			f := finding(t, r, KindDHCPHostname)
			if !strings.Contains(f.Message, `"alice-laptop"`) || f.Fix != "nmcli connection modify "+testUUID+" ipv4.dhcp-send-hostname no" {
				t.Errorf("finding = %+v", f)
			}
		},
	}, {
		name: "DHCP host name: sending off, or generic, or own",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Hostname = "alice-laptop"
			off := false
			withProfile(s, func(p *profileInfo) { p.SendHostname4 = &off })
			withProfile(s, func(p *profileInfo) { p.Path, p.Hostname4 = "/p/2", "localhost" })
			withProfile(s, func(p *profileInfo) { p.Path, p.IPv4Method = "/p/3", "manual" })
		},
		exit: CheckExitCompliant, problems: []string{},
	}, {
		name: "DHCP client id perm-mac",
		edit: func(t *testing.T, s *inspectSnapshot) {
			withProfile(s, func(p *profileInfo) { p.ClientID = "perm-mac" })
			withProfile(s, func(p *profileInfo) { p.Path, p.ClientID = "/p/2", "mac" })
			withProfile(s, func(p *profileInfo) { p.Path, p.ClientID = "/p/3", "stable" })
		},
		exit: CheckExitFindings, problems: []string{KindDHCPClientID},
	}, {
		name: "DHCP client id from NM.conf's default",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Conf = confOf(t, "[connection-eth]\nmatch-device=interface-name:eth*\nipv4.dhcp-client-id=duid\n")
			withProfile(s, nil)
		},
		exit: CheckExitFindings, problems: []string{KindDHCPClientID},
		check: func(t *testing.T, r CheckReport) {
			if f := finding(t, r, KindDHCPClientID); !strings.Contains(f.Message, "a.conf:3") || !strings.Contains(f.Message, "machine-id") {
				t.Errorf("finding = %+v", f)
			}
		},
	}, {
		name: "dhclient without a client id: a note",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Conf = confOf(t, "[main]\ndhcp=dhclient\n")
			withProfile(s, nil)
		},
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if !slices.Contains(kinds(r, SeverityNote), KindDHCPClientID) {
				t.Errorf("notes = %v", kinds(r, SeverityNote))
			}
		},
	}, {
		name: "IPv6 EUI-64 without temporary addresses, default DUID",
		edit: func(t *testing.T, s *inspectSnapshot) {
			eui := int32(addrGenEUI64)
			withProfile(s, func(p *profileInfo) { p.IPv6Method = "auto"; p.AddrGenMode = &eui })
		},
		exit: CheckExitFindings, problems: []string{KindDHCPv6DUID, KindIPv6AddrGenEUI64},
		check: func(t *testing.T, r CheckReport) {
			if f := finding(t, r, KindIPv6AddrGenEUI64); !strings.Contains(f.Message, "ipv6.ip6-privacy is 0 (net.ipv6.conf.default.use_tempaddr)") {
				t.Errorf("finding = %+v", f)
			}
			if f := finding(t, r, KindDHCPv6DUID); !strings.Contains(f.Message, "machine-id") || !strings.Contains(f.Message, "not determined") {
				t.Errorf("finding = %+v", f)
			}
		},
	}, {
		name: "IPv6 EUI-64 with temporary addresses preferred, stable DUID",
		edit: func(t *testing.T, s *inspectSnapshot) {
			eui, temp := int32(addrGenEUI64), int32(2)
			withProfile(s, func(p *profileInfo) {
				p.IPv6Method, p.AddrGenMode, p.IP6Privacy, p.DUID = "auto", &eui, &temp, "stable-uuid"
			})
		},
		exit: CheckExitCompliant, problems: []string{},
	}, {
		name: "IPv6 default-or-eui64 falls back to eui64; privacy unknown",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.UseTempaddr = -1
			m := int32(addrGenDefaultOrEUI64)
			withProfile(s, func(p *profileInfo) { p.IPv6Method, p.AddrGenMode, p.DUID = "link-local", &m, "llt" })
		},
		exit: CheckExitFindings, problems: []string{KindIPv6AddrGenEUI64},
		check: func(t *testing.T, r CheckReport) {
			if f := finding(t, r, KindIPv6AddrGenEUI64); !strings.Contains(f.Message, "could not be determined") {
				t.Errorf("finding = %+v", f)
			}
		},
	}, {
		name: "IPv6 default mode is stable-privacy; llt DUID",
		edit: func(t *testing.T, s *inspectSnapshot) {
			withProfile(s, func(p *profileInfo) { p.IPv6Method, p.DUID = "dhcp", "llt" })
		},
		exit: CheckExitFindings, problems: []string{KindDHCPv6DUID, KindIPv6PrivacyOff},
	}, {
		name: "scan-rand-mac-address off for a Wi-Fi device",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.NMDevices[1].Type = "wifi"
			s.Conf = confOf(t, "[device-any]\nwifi.scan-rand-mac-address=no\n")
		},
		exit: CheckExitFindings, problems: []string{KindScanRandOff},
		check: func(t *testing.T, r CheckReport) {
			f := finding(t, r, KindScanRandOff)
			if !slices.Equal(f.Devices, []string{"eth0"}) || f.File != "/etc/NetworkManager/conf.d/a.conf:2" {
				t.Errorf("finding = %+v", f)
			}
			if !slices.Contains(kinds(r, SeverityNote), KindWifiManagement) {
				t.Errorf("notes = %v", kinds(r, SeverityNote))
			}
		},
	}, {
		name: "scan-rand-mac-address off only for absent drivers: a note",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.NMDevices[1].Type = "wifi"
			s.Conf = confOf(t, "[device-mac-randomization]\nmatch-device=driver:eagle_sdio,driver:wl\nwifi.scan-rand-mac-address=no\n")
		},
		exit: CheckExitCompliant, problems: []string{},
	}, {
		name: "scan-rand-mac-address off, overridden by a later file",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Conf = confOf(t, "[device]\nwifi.scan-rand-mac-address=no\n", "[device]\nwifi.scan-rand-mac-address=yes\n")
		},
		exit: CheckExitCompliant, problems: []string{},
	}, {
		name: "scan-rand-mac-address off with no Wi-Fi device now",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Conf = confOf(t, "[device]\nwifi.scan-rand-mac-address=false\n")
		},
		exit: CheckExitFindings, problems: []string{KindScanRandOff},
	}, {
		name: "service not running: a note",
		edit: func(t *testing.T, s *inspectSnapshot) { s.Service = serviceView{} },
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if r.Service.Running || !slices.Contains(kinds(r, SeverityNote), KindServiceDown) {
				t.Errorf("service %+v notes %v", r.Service, kinds(r, SeverityNote))
			}
		},
	}, {
		name: "service view: gate state, exemption, suspicion",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links[1].Addr = inspMAC(testReal)
			s.NMDevices[1].State = 100
			s.NMDevices[1].ActiveConnection = "/ac/1"
			s.Active = map[dbus.ObjectPath]nm.Profile{s.NMDevices[1].Path: {Path: string(testProfile), UUID: testUUID, ID: "Wired 1"}}
			s.Service.Status.Exemptions = []policy.Exemption{{UUID: testUUID, Scope: policy.ScopeAlways}}
			s.Service.Devices = []api.Device{{Interface: "eth0", Gate: "allowed"}}
			s.Service.Suspicions = []api.Suspicion{{ID: "1", Device: "eth0", Kind: "dhcp-failure", Confidence: "high", Reason: "no answer"}}
		},
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			d := r.Devices[0]
			if !d.Exempt || d.Mode != "permanent" || d.Verdict != VerdictCompliant || d.ServiceGate != "allowed" {
				t.Errorf("eth0 = %+v", d)
			}
			if len(r.Service.Suspicions) != 1 || !slices.Contains(kinds(r, SeverityNote), KindSuspicion) {
				t.Errorf("suspicions %+v notes %v", r.Service.Suspicions, kinds(r, SeverityNote))
			}
		},
	}, {
		name: "interface filter",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links = append(s.Links, links.Link{Index: 3, Name: "eth1", Addr: inspMAC(testReal), PermAddr: inspMAC(testReal)})
			s.Interfaces = []string{"eth0"}
		},
		exit: CheckExitCompliant, problems: []string{},
		check: func(t *testing.T, r CheckReport) {
			if len(r.Devices) != 1 || r.Devices[0].Interface != "eth0" {
				t.Errorf("devices = %+v", r.Devices)
			}
		},
	}, {
		name: "interface filter keeps the other device's problems",
		edit: func(t *testing.T, s *inspectSnapshot) {
			s.Links = append(s.Links, links.Link{Index: 3, Name: "eth1", Addr: inspMAC(testReal), PermAddr: inspMAC(testReal)})
			s.Interfaces = []string{"eth1"}
		},
		exit: CheckExitFindings, problems: []string{KindBackstopMissing, KindDeviceViolation},
	}}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			s := baseSnap()
			if tc.edit != nil {
				tc.edit(t, s)
			}
			r := buildReport(s)
			if r.ExitCode != tc.exit {
				t.Errorf("exit code = %d, want %d; findings: %+v", r.ExitCode, tc.exit, r.Findings)
			}
			if diff := cmp.Diff(tc.problems, problems(r)); diff != "" {
				t.Errorf("violations and findings (-want +got):\n%s\nall: %+v", diff, r.Findings)
			}
			if r.Format != CheckFormat || !r.Time.Equal(s.Now) {
				t.Errorf("format %d time %v", r.Format, r.Time)
			}
			for _, f := range r.Findings {
				if f.Severity != SeverityNote && f.Fix == "" {
					t.Errorf("finding without a fix: %+v", f)
				}
			}
			if tc.check != nil {
				tc.check(t, r)
			}
		})
	}
}

func TestMatchDeviceSpec(t *testing.T) {
	dev := ConfDevice{Interface: "wlan0", Driver: "iwlwifi", Type: "wifi", MACs: []string{"00:1b:21:aa:bb:cc"}}
	tests := []struct {
		spec         string
		match, known bool
	}{
		{"interface-name:wlan*", true, true},
		{"interface-name:=wlan*", false, true},
		{"interface-name:~wl*", true, true},
		{"driver:eagle_sdio,driver:wl", false, true},
		{"driver:iwlwifi/1.0", true, true},
		{"type:wifi", true, true},
		{"mac:00:1B:21:AA:BB:CC", true, true},
		{"00:1b:21:aa:bb:cc", true, true},
		{"wlan0", true, true},
		{"*", true, true},
		{"except:type:wifi", false, true},
		{"except:type:ethernet", true, true},
		{"type:wifi;except:driver:iwlwifi", false, true},
		{"s390-subchannels:0.0.1", true, false},
		{`interface-name:wl\,an0`, false, true},
	}
	for _, tc := range tests {
		m, k := matchDeviceSpec(tc.spec, dev)
		if m != tc.match || k != tc.known {
			t.Errorf("matchDeviceSpec(%q) = %t, %t; want %t, %t", tc.spec, m, k, tc.match, tc.known)
		}
	}
}

func TestNMConfPrecedence(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(text), 0o644); err != nil {
			t.Fatal(err)
		}
		return p
	}
	main := write("NetworkManager.conf", "[main]\ndhcp=internal\n[connection]\nipv6.ip6-privacy=0\n")
	write("lib/10-x.conf", "[connection]\nipv6.ip6-privacy=1\n")
	write("etc/10-x.conf", "# replaces lib/10-x.conf\n[connection]\nipv6.ip6-privacy=2\n")
	write("lib/20-y.conf", "[connection-wl]\nmatch-device=interface-name:wl*\nipv6.ip6-privacy=1\n[connection]\nipv6.addr-gen-mode=eui64\n")
	write("etc/.hidden.conf", "[connection]\nipv6.ip6-privacy=9\n")
	write("etc/note.txt", "[connection]\nipv6.ip6-privacy=9\n")
	c, err := LoadNMConf(main, []string{filepath.Join(dir, "lib"), filepath.Join(dir, "missing"), filepath.Join(dir, "etc")})
	if err != nil {
		t.Fatal(err)
	}
	wantFiles := []string{main, filepath.Join(dir, "etc/10-x.conf"), filepath.Join(dir, "lib/20-y.conf")}
	if diff := cmp.Diff(wantFiles, c.Files); diff != "" {
		t.Errorf("files (-want +got):\n%s", diff)
	}
	get := func(key string, dev *ConfDevice) string {
		v, ok, _ := c.Lookup("connection", key, dev)
		if !ok {
			return "<unset>"
		}
		return v.Value
	}
	if got := get("ipv6.ip6-privacy", nil); got != "2" {
		t.Errorf("ip6-privacy for any device = %s, want 2 (etc/10-x.conf)", got)
	}
	if got := get("ipv6.ip6-privacy", &ConfDevice{Interface: "wlan0"}); got != "1" {
		t.Errorf("ip6-privacy for wlan0 = %s, want 1 ([connection-wl] in the latest file)", got)
	}
	if got := get("ipv6.addr-gen-mode", nil); got != "eui64" {
		t.Errorf("addr-gen-mode = %s", got)
	}
	if v, ok := c.mainValue("dhcp"); !ok || v.Value != "internal" || v.Where() != main+":2" {
		t.Errorf("main dhcp = %+v, %t", v, ok)
	}
	if got := get("ethernet.cloned-mac-address", nil); got != "<unset>" {
		t.Errorf("cloned = %s", got)
	}
}

func TestNMConfUnreadable(t *testing.T) {
	dir := t.TempDir()
	big := filepath.Join(dir, "big.conf")
	if err := os.WriteFile(big, make([]byte, maxNMConfSize+1), 0o644); err != nil {
		t.Fatal(err)
	}
	if _, err := LoadNMConf("", []string{dir}); err == nil || !strings.Contains(err.Error(), "larger than") {
		t.Errorf("loadNMConf with a huge file: %v", err)
	}
}

func TestReadStateFileIsReadOnly(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "state.json")
	if st, err := readStateFile(p); st != nil || err != nil {
		t.Errorf("missing state = %v, %v; want nil, nil", st, err)
	}
	if err := os.WriteFile(p, []byte("{not json"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, err := readStateFile(p); err == nil {
		t.Error("corrupt state: no error")
	}
	ents, _ := os.ReadDir(dir)
	if len(ents) != 1 || ents[0].Name() != "state.json" {
		t.Errorf("check changed the state dir: %v", ents)
	}
	if err := os.WriteFile(p, []byte(`{"version":1,"first_seen":{"veth0":{"index":4,"addr":"00:1b:21:00:00:01"}}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	st, err := readStateFile(p)
	if err != nil || st.FirstSeen["veth0"].Addr != "00:1b:21:00:00:01" {
		t.Errorf("state = %+v, %v", st, err)
	}
}

func TestProfileInfoFromSettings(t *testing.T) {
	s := map[string]map[string]dbus.Variant{
		"connection": {"id": dbus.MakeVariant("Cafe"), "uuid": dbus.MakeVariant(testUUID), "type": dbus.MakeVariant("802-11-wireless"),
			"interface-name": dbus.MakeVariant("wlan0"), "autoconnect": dbus.MakeVariant(false)},
		"802-11-wireless": {"ssid": dbus.MakeVariant([]byte("Cafe")), "assigned-mac-address": dbus.MakeVariant("permanent")},
		"ipv4": {"method": dbus.MakeVariant("auto"), "dhcp-send-hostname": dbus.MakeVariant(false), "dhcp-client-id": dbus.MakeVariant("perm-mac"),
			"dhcp-hostname": dbus.MakeVariant("h")},
		"ipv6": {"method": dbus.MakeVariant("auto"), "addr-gen-mode": dbus.MakeVariant(int32(0)), "ip6-privacy": dbus.MakeVariant(int32(2)),
			"dhcp-duid": dbus.MakeVariant("ll"), "token": dbus.MakeVariant(uint32(5))}, // a token of the wrong type is absent
	}
	p := profileInfoFromSettings(testProfile, s)
	f, eui, priv := false, int32(0), int32(2)
	want := profileInfo{
		Profile: nm.Profile{Path: string(testProfile), UUID: testUUID, ID: "Cafe", SSID: "Cafe", ClonedMAC: "permanent",
			Type: nm.ConnTypeWifi, InterfaceName: "wlan0"},
		IPv4Method: "auto", IPv6Method: "auto",
		SendHostname4: &f, Hostname4: "h", ClientID: "perm-mac", DUID: "ll", AddrGenMode: &eui, IP6Privacy: &priv,
		Idents: map[string]string{"ipv4.dhcp-send-hostname": "false", "ipv4.dhcp-client-id": "perm-mac",
			"ipv6.addr-gen-mode": "0", "ipv6.ip6-privacy": "2", "ipv6.dhcp-duid": "ll"},
	}
	if diff := cmp.Diff(want, p); diff != "" {
		t.Errorf("profileInfoFromSettings (-want +got):\n%s", diff)
	}
	if p.MACSetting() != "wifi.cloned-mac-address" || p.nmDeviceType() != "wifi" {
		t.Errorf("macSetting %q type %q", p.MACSetting(), p.nmDeviceType())
	}
}

func TestEUI64IID(t *testing.T) {
	got := eui64IID(inspMAC("00:1b:21:aa:bb:cc"))
	want := [8]byte{0x02, 0x1b, 0x21, 0xff, 0xfe, 0xaa, 0xbb, 0xcc}
	if got != want {
		t.Errorf("eui64IID = % x, want % x", got, want)
	}
}

func TestShellQuote(t *testing.T) {
	for in, want := range map[string]string{"Wired-1": "Wired-1", "My Wifi": "'My Wifi'", "it's": `'it'\''s'`, "": "''"} {
		if got := shellQuote(in); got != want {
			t.Errorf("shellQuote(%q) = %s, want %s", in, got, want)
		}
	}
}

// TestCheckSaysVirtualDevicesAreLeftAlone: check shows a Docker-like
// bridge as not guarded, with the reason, and a bridge carrying the card's
// real address as guarded (a violation while it shows it).
func TestCheckSaysVirtualDevicesAreLeftAlone(t *testing.T) {
	s := baseSnap()
	s.Links = append(s.Links,
		links.Link{Index: 3, Name: "docker0", Kind: "bridge", Addr: inspMAC("02:42:ac:11:00:01"), Up: true},
		links.Link{Index: 4, Name: "br0", Kind: "bridge", Addr: inspMAC(testReal), Up: true})
	s.State = &state.State{FirstSeen: map[string]state.FirstSeen{}}
	s.Hardware = map[int]links.Hardware{2: {Class: policy.ClassCard}, 3: {Class: policy.ClassVirtual}, 4: {Class: policy.ClassVirtual}}
	r := buildReport(s)
	got := map[string]CheckDevice{}
	for _, d := range r.Devices {
		got[d.Interface] = d
	}
	if d := got["docker0"]; d.Verdict != VerdictNotGuarded || !strings.Contains(d.Reason, "virtual device without a card's address") || d.Gate != "not guarded" {
		t.Errorf("docker0: verdict %q reason %q gate %q", d.Verdict, d.Reason, d.Gate)
	}
	if d := got["br0"]; d.Verdict != VerdictViolation || d.Real != testReal || !strings.Contains(d.Rule, "carrying the real address of eth0") {
		t.Errorf("br0: verdict %q real %q rule %q", d.Verdict, d.Real, d.Rule)
	}
	if d := got["eth0"]; d.Verdict != VerdictCompliant {
		t.Errorf("eth0: verdict %q", d.Verdict)
	}
}

// TestReadBootStateFile: check reads the per-boot file without changing it
// and ignores one of another boot.
func TestReadBootStateFile(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "boot.json")
	if bs, stale, err := ReadBootStateFile(p, "b1"); bs != nil || stale || err != nil {
		t.Fatalf("missing: %v %v %v", bs, stale, err)
	}
	off := false
	b := state.NewBoot("b1")
	b.Spoof = &off
	if err := b.Save(p); err != nil {
		t.Fatal(err)
	}
	if bs, stale, err := ReadBootStateFile(p, "b1"); bs == nil || stale || err != nil || bs.Spoof == nil {
		t.Fatalf("this boot: %+v %v %v", bs, stale, err)
	}
	for _, id := range []string{"b2", ""} {
		if bs, stale, err := ReadBootStateFile(p, id); bs != nil || !stale || err != nil {
			t.Fatalf("boot %q: %+v %v %v, want ignored as stale", id, bs, stale, err)
		}
	}
	if err := os.WriteFile(p, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := ReadBootStateFile(p, "b1"); err == nil {
		t.Fatal("corrupt: no error")
	}
	if ents, _ := os.ReadDir(dir); len(ents) != 1 {
		t.Fatalf("check changed the runtime dir: %v", ents)
	}
}
