// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"strings"
	"testing"
)

func TestStableExemption(t *testing.T) {
	d := Device{Interface: "wlan0", Type: "wifi"}
	cafe := Network{UUID: "5e0f3c1a-8a52-4c1e-9d7e-2f4b6a8c0d13", SSID: "cafe"}
	stable := Exemption{UUID: cafe.UUID, Scope: ScopeAlways, Mode: ModeStable}
	real := Exemption{UUID: cafe.UUID, Scope: ScopeAlways}

	p := Default()
	v := p.Select(d, cafe, []Exemption{stable})
	if v.Mode != ModeStable || v.Exempt || !v.Guarded || !strings.Contains(v.Rule, "the same private address") {
		t.Errorf("stable choice: %+v, want mode stable, not exempt", v)
	}
	if v := p.Select(d, Network{UUID: "0b7e4f7c-6a40-4f55-8a7e-0c1d2e3f4a5b", SSID: "other"}, []Exemption{stable}); v.Mode != ModeKeepVendor {
		t.Errorf("another network: mode %s, want keep-vendor", v.Mode)
	}
	// The latest choice wins.
	if v := p.Select(d, cafe, []Exemption{stable, real}); v.Mode != ModePermanent || !v.Exempt {
		t.Errorf("real after stable: %+v", v)
	}
	if v := p.Select(d, cafe, []Exemption{real, stable}); v.Mode != ModeStable || v.Exempt {
		t.Errorf("stable after real: %+v", v)
	}
	// It never reveals more than the policy: spoof = false keeps the real
	// address.
	off := Default()
	off.Spoof = false
	if v := off.Select(d, cafe, []Exemption{stable}); v.Mode != ModePermanent {
		t.Errorf("spoof = false: mode %s, want permanent", v.Mode)
	}
	if err := stable.Validate(); err != nil {
		t.Errorf("Validate: %v", err)
	}
	bad := stable
	bad.Mode = ModeRandom
	if err := bad.Validate(); err == nil {
		t.Error("Validate accepted mode random")
	}
	// A stable address complies with the choice.
	v = p.Select(d, cafe, []Exemption{stable})
	d.Real, d.RealKnown = MAC{0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}, true
	m, err := p.GenerateWith(d, cafe, []Exemption{stable}, make([]byte, MinSecretLen))
	if err != nil {
		t.Fatal(err)
	}
	m2, _ := p.GenerateWith(d, cafe, []Exemption{stable}, make([]byte, MinSecretLen))
	if m != m2 || !m.IsLocal() {
		t.Errorf("stable addresses %s, %s: want the same locally administered one", m, m2)
	}
	d.Current = m
	if e := p.Evaluate(d, cafe, []Exemption{stable}); !e.Allowed || e.Mode != v.Mode {
		t.Errorf("Evaluate = %+v", e)
	}
}
