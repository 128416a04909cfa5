// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"strings"
	"testing"
)

const precedencePolicy = `[default]
mode = "keep-vendor"

[[device]]
name = "all-wifi"
type = "wifi"
mode = "random"

[[device]]
name = "intel"
real_prefix = "00:1b:77"
mode = "vendor"
enforcement = "remediate"

[[device]]
name = "dock"
interface = "enx*"
mode = "permanent"

[[device]]
name = "lab"
driver = "veth"
mode = "ignore"

[[network]]
name = "home"
ssid = "Home"
mode = "permanent"

[[network]]
name = "home-audit"
ssid = "Home"
enforcement = "audit"

[[network]]
name = "office"
uuid = "5F0E8B7A-3C1D-4E2F-9A8B-7C6D5E4F3A2B"
mode = "stable"
`

func TestSelectPrecedence(t *testing.T) {
	p, err := Parse("p.toml", []byte(precedencePolicy))
	if err != nil {
		t.Fatal(err)
	}
	wifi := Device{Interface: "wlan0", Type: "wifi", Real: realAddr, RealKnown: true}
	realtekWifi := Device{Interface: "wlan1", Type: "wifi", Real: MustParseMAC("00:e0:4c:01:02:03"), RealKnown: true}
	unknownWifi := Device{Interface: "wlan1", Type: "wifi"}
	dock := Device{Interface: "enx001b77aabbcc", Type: "ethernet", Real: realAddr, RealKnown: true}
	eth := Device{Interface: "eth0", Type: "ethernet", Real: MustParseMAC("00:19:b9:01:02:03"), RealKnown: true}
	lab := Device{Interface: "veth0", Type: "veth", Driver: "veth"}
	home := Network{SSID: "Home", ID: "Home", UUID: "11111111-2222-3333-4444-555555555555"}
	office := Network{UUID: "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b", ID: "Office wired"}
	cases := []struct {
		name        string
		dev         Device
		net         Network
		ex          []Exemption
		mode        Mode
		enforcement Enforcement
		rule        string
		exempt      bool
	}{
		{"default", eth, Network{}, nil, ModeKeepVendor, EnforceRefuse, "p.toml:2 [default]; enforcement refuse from built-in default", false},
		{"device rule", realtekWifi, Network{}, nil, ModeRandom, EnforceRefuse, `p.toml:4 [[device]] "all-wifi"; enforcement refuse from built-in default`, false},
		{"last matching device rule wins", wifi, Network{}, nil, ModeVendor, EnforceRemediate, `p.toml:9 [[device]] "intel"`, false},
		{"real_prefix needs a known real address", unknownWifi, Network{}, nil, ModeRandom, EnforceRefuse, `[[device]] "all-wifi"`, false},
		{"later device rule over earlier", dock, Network{}, nil, ModePermanent, EnforceRemediate, `p.toml:15 [[device]] "dock"; enforcement remediate from p.toml:9 [[device]] "intel"`, false},
		{"network rule over device rule", wifi, home, nil, ModePermanent, EnforceAudit, `p.toml:25 [[network]] "home"; enforcement audit from p.toml:30 [[network]] "home-audit"`, false},
		{"network uuid, any case", eth, office, nil, ModeStable, EnforceRefuse, `p.toml:35 [[network]] "office"`, false},
		{"network rules do not apply at rest", wifi, Network{SSID: ""}, nil, ModeVendor, EnforceRemediate, `"intel"`, false},
		{"network rule needs its network", wifi, Network{SSID: "home"}, nil, ModeVendor, EnforceRemediate, `"intel"`, false},
		{"exemption over network rule", eth, office, []Exemption{{UUID: "5F0E8B7A-3C1D-4E2F-9A8B-7C6D5E4F3A2B", Scope: ScopeOnce}}, ModePermanent, EnforceRefuse, "exemption (once) uuid 5F0E8B7A-3C1D-4E2F-9A8B-7C6D5E4F3A2B", true},
		{"exemption for another device", eth, office, []Exemption{{Interface: "wlan0", UUID: office.UUID, Scope: ScopeAlways}}, ModeStable, EnforceRefuse, `"office"`, false},
		{"exemption needing both fields", eth, office, []Exemption{{UUID: office.UUID, SSID: "x", Scope: ScopeAlways}}, ModeStable, EnforceRefuse, `"office"`, false},
		{"empty exemption matches nothing", eth, office, []Exemption{{Scope: ScopeAlways}}, ModeStable, EnforceRefuse, `"office"`, false},
		{"last exemption wins", wifi, home, []Exemption{{SSID: "Home", Scope: ScopeOnce}, {SSID: "Home", Interface: "wlan0", Scope: ScopeAlways}}, ModePermanent, EnforceAudit, `exemption (always) ssid "Home" on wlan0`, true},
		{"ignore is not guarded even when exempt", lab, Network{SSID: "Lab"}, []Exemption{{SSID: "Lab", Scope: ScopeAlways}}, ModeIgnore, EnforceRefuse, `[[device]] "lab"`, false},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := p.Select(c.dev, c.net, c.ex)
			if v.Mode != c.mode || v.Enforcement != c.enforcement || v.Exempt != c.exempt || !strings.Contains(v.Rule, c.rule) {
				t.Fatalf("Select = mode %s, %s, exempt %t, rule %q; want %s, %s, %t, rule containing %q",
					v.Mode, v.Enforcement, v.Exempt, v.Rule, c.mode, c.enforcement, c.exempt, c.rule)
			}
			if v.Guarded != (c.mode != ModeIgnore) {
				t.Fatalf("Guarded = %t for mode %s", v.Guarded, v.Mode)
			}
			if v.Reason != "" || v.Allowed {
				t.Fatalf("Select filled Evaluate's fields: %+v", v)
			}
		})
	}
}

func TestSelectSpoofOff(t *testing.T) {
	p, err := Parse("p.toml", []byte("spoof = false\n"+precedencePolicy))
	if err != nil {
		t.Fatal(err)
	}
	eth := Device{Interface: "eth0", Type: "ethernet", Real: MustParseMAC("00:19:b9:01:02:03"), RealKnown: true}
	v := p.Select(eth, Network{}, nil)
	if v.Mode != ModePermanent || !v.Guarded || !strings.HasPrefix(v.Rule, "spoof = false (p.toml:1) overrides keep-vendor from p.toml:3 [default]") {
		t.Fatalf("spoof=false: %+v", v)
	}
	lab := Device{Interface: "veth0", Driver: "veth"}
	if v := p.Select(lab, Network{}, nil); v.Mode != ModeIgnore || v.Guarded {
		t.Fatalf("spoof=false changed an ignored device: %+v", v)
	}
	if v := p.Evaluate(Device{Interface: "eth0", Current: realAddr, Real: realAddr, RealKnown: true}, Network{}, nil); !v.Allowed {
		t.Fatalf("spoof=false refuses the real address: %+v", v)
	}
}

// A Policy built by hand with bad values must not open the gate.
func TestSelectInvalidModeFailsClosed(t *testing.T) {
	p := Default()
	p.Default.Mode, p.Default.Enforcement = "bogus", "bogus"
	v := p.Select(wifiDevice(realAddr), Network{}, nil)
	if v.Mode != ModeKeepVendor || v.Enforcement != EnforceRefuse || !v.Guarded {
		t.Fatalf("invalid mode: %+v", v)
	}
	if p.Evaluate(wifiDevice(realAddr), Network{}, nil).Allowed {
		t.Fatal("invalid mode allowed the real address")
	}
}

func TestExemptionValidate(t *testing.T) {
	good := []Exemption{
		{SSID: "x", Scope: ScopeOnce},
		{UUID: "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b", Scope: ScopeAlways, Interface: "wlan0"},
	}
	for _, e := range good {
		if err := e.Validate(); err != nil {
			t.Errorf("%+v: %v", e, err)
		}
	}
	bad := []Exemption{{Scope: ScopeOnce}, {SSID: "x", Scope: "forever"}, {UUID: "nope", Scope: ScopeOnce}}
	for _, e := range bad {
		if err := e.Validate(); err == nil {
			t.Errorf("%+v accepted", e)
		}
	}
}
