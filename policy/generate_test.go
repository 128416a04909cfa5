// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"bytes"
	"fmt"
	mrand "math/rand/v2"
	"strings"
	"testing"
)

var testSecret = bytes.Repeat([]byte{0x5a}, 32)

// randomInput draws a policy, device and network from a seeded source
// (the test's own randomness, not Generate's).
func randomInput(r *mrand.Rand) (*Policy, Device, Network) {
	p := Default()
	ms := Modes()
	p.Default.Mode = ms[r.IntN(len(ms))]
	p.Spoof = r.IntN(5) != 0
	if r.IntN(2) == 0 {
		p.Devices = append(p.Devices, DeviceRule{Type: "wifi", Mode: ms[r.IntN(len(ms))]})
	}
	if r.IntN(2) == 0 {
		p.Networks = append(p.Networks, NetworkRule{SSID: "net1", Mode: ms[r.IntN(len(ms))]})
	}
	types := []string{"wifi", "ethernet", "veth", "", "bridge"}
	d := Device{Interface: fmt.Sprintf("if%d", r.IntN(4)), Type: types[r.IntN(len(types))]}
	for i := range d.Real {
		d.Real[i] = byte(r.Uint32())
	}
	switch r.IntN(6) {
	case 0:
		d.Real[0] &^= 0x03 // a typical vendor address
	case 1:
		d.Real = MAC{} // zero: treated as unknown
	case 2:
		d.Real[0] |= 0x01 // bad data: multicast "real" address
	}
	d.RealKnown = r.IntN(8) != 0
	var n Network
	switch r.IntN(4) {
	case 1:
		n = Network{SSID: "net1"}
	case 2:
		n = Network{SSID: fmt.Sprintf("net%d", r.IntN(50)), UUID: "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b"}
	case 3:
		n = Network{ID: "wired", UUID: "11111111-2222-3333-4444-555555555555"}
	}
	return p, d, n
}

// TestGenerateSatisfiesEvaluate is the property test: over many random
// inputs, whatever Generate returns, Evaluate allows; it is never the real
// address (unless permanent), never multicast, never zero; and Generate
// refuses exactly where no address can be right.
func TestGenerateSatisfiesEvaluate(t *testing.T) {
	r := mrand.New(mrand.NewPCG(1, 2))
	iterations := 5000
	if testing.Short() {
		iterations = 500
	}
	counts := map[Mode]int{}
	for i := range iterations {
		p, d, n := randomInput(r)
		v := p.Select(d, n, nil)
		m, err := p.Generate(d, n, testSecret)
		known := d.RealKnown && !d.Real.IsZero()
		if err != nil {
			switch {
			case !v.Guarded, !known, d.Real.IsMulticast():
			default:
				t.Fatalf("#%d: Generate(%+v, %+v) under %s: unexpected error %v", i, d, n, v.Mode, err)
			}
			continue
		}
		if !v.Guarded || !known {
			t.Fatalf("#%d: Generate gave %s for mode %s, real known %t; want an error", i, m, v.Mode, known)
		}
		counts[v.Mode]++
		d.Current = m
		if ev := p.Evaluate(d, n, nil); !ev.Allowed {
			t.Fatalf("#%d: Generate gave %s that Evaluate refuses: %s (device %+v, network %+v)", i, m, ev.Reason, d, n)
		}
		if v.Mode == ModePermanent {
			if m != d.Real {
				t.Fatalf("#%d: permanent gave %s, real is %s", i, m, d.Real)
			}
			continue
		}
		if m == d.Real || m.IsMulticast() || m.IsZero() {
			t.Fatalf("#%d: mode %s gave %s (real %s)", i, v.Mode, m, d.Real)
		}
	}
	for _, m := range []Mode{ModeKeepVendor, ModeVendor, ModeRandom, ModeStable, ModePermanent} {
		if counts[m] == 0 {
			t.Errorf("mode %s was never exercised: %v", m, counts)
		}
	}
}

func TestGenerateModes(t *testing.T) {
	d := wifiDevice(MAC{})
	t.Run("keep-vendor keeps the real prefix", func(t *testing.T) {
		m, err := policyWithMode(ModeKeepVendor).Generate(d, Network{}, nil)
		if err != nil || m.OUI() != realAddr.OUI() || m == realAddr {
			t.Fatalf("got %s, %v", m, err)
		}
	})
	t.Run("keep-vendor keeps a local real prefix", func(t *testing.T) {
		veth := Device{Interface: "veth0", Type: "veth", Real: MustParseMAC("0a:11:22:33:44:55"), RealKnown: true}
		m, err := policyWithMode(ModeKeepVendor).Generate(veth, Network{}, nil)
		if err != nil || m.OUI() != veth.Real.OUI() || !m.IsLocal() {
			t.Fatalf("got %s, %v", m, err)
		}
	})
	t.Run("vendor draws from the list of the device kind", func(t *testing.T) {
		p := policyWithMode(ModeVendor)
		seen := map[OUI]bool{}
		for range 200 {
			m, err := p.Generate(d, Network{}, nil)
			if err != nil || !p.Vendors.Has(KindWifi, m.OUI()) || m.IsLocal() {
				t.Fatalf("got %s, %v", m, err)
			}
			seen[m.OUI()] = true
		}
		if len(seen) < 2 {
			t.Fatalf("200 draws used only %v", seen)
		}
		eth := Device{Interface: "eth0", Type: "ethernet", Real: realAddr, RealKnown: true}
		m, err := p.Generate(eth, Network{}, nil)
		if err != nil || !p.Vendors.Has(KindEthernet, m.OUI()) {
			t.Fatalf("ethernet got %s, %v", m, err)
		}
	})
	t.Run("random is local unicast and varies", func(t *testing.T) {
		p := policyWithMode(ModeRandom)
		a, err1 := p.Generate(d, Network{}, nil)
		b, err2 := p.Generate(d, Network{}, nil)
		if err1 != nil || err2 != nil || !a.IsLocal() || a.IsMulticast() || a == b {
			t.Fatalf("got %s, %s, %v, %v", a, b, err1, err2)
		}
	})
	t.Run("permanent is the real address", func(t *testing.T) {
		m, err := policyWithMode(ModePermanent).Generate(d, Network{}, nil)
		if err != nil || m != realAddr {
			t.Fatalf("got %s, %v", m, err)
		}
	})
	t.Run("exempt device gets its real address", func(t *testing.T) {
		ex := []Exemption{{SSID: "x", Scope: ScopeOnce}}
		m, err := Default().GenerateWith(d, Network{SSID: "x"}, ex, nil)
		if err != nil || m != realAddr {
			t.Fatalf("got %s, %v", m, err)
		}
	})
}

func TestGenerateErrors(t *testing.T) {
	unknown := Device{Interface: "wlan0", Type: "wifi"}
	cases := []struct {
		name string
		mode Mode
		dev  Device
		net  Network
		sec  []byte
		want string
	}{
		{"ignore", ModeIgnore, wifiDevice(MAC{}), Network{}, nil, "not guarded"},
		{"permanent, real unknown", ModePermanent, unknown, Network{}, nil, "real address is unknown"},
		{"random, real unknown", ModeRandom, unknown, Network{}, nil, "real address is unknown"},
		{"keep-vendor, real unknown", ModeKeepVendor, unknown, Network{}, nil, "real address is unknown"},
		{"stable without secret", ModeStable, wifiDevice(MAC{}), Network{SSID: "x"}, nil, "machine secret of at least 16 bytes"},
		{"stable with short secret", ModeStable, wifiDevice(MAC{}), Network{SSID: "x"}, []byte("short"), "got 5"},
		{"keep-vendor, multicast real", ModeKeepVendor, Device{Interface: "x", Real: multicast, RealKnown: true}, Network{}, nil, "multicast"},
	}
	for _, c := range cases {
		_, err := policyWithMode(c.mode).Generate(c.dev, c.net, c.sec)
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v; want one containing %q", c.name, err, c.want)
		}
	}
}

func TestGenerateStable(t *testing.T) {
	p := policyWithMode(ModeStable)
	d := wifiDevice(MAC{})
	gen := func(d Device, n Network, secret []byte) MAC {
		t.Helper()
		m, err := p.Generate(d, n, secret)
		if err != nil {
			t.Fatal(err)
		}
		if !m.IsLocal() || m.IsMulticast() || m == d.Real {
			t.Fatalf("stable gave %s", m)
		}
		return m
	}
	cafe := Network{SSID: "Cafe", UUID: "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b"}
	a := gen(d, cafe, testSecret)
	if b := gen(d, cafe, testSecret); a != b {
		t.Fatalf("stable is not deterministic: %s then %s", a, b)
	}
	// Same SSID through another profile: same address (no new captive-portal login).
	if b := gen(d, Network{SSID: "Cafe", UUID: "11111111-2222-3333-4444-555555555555"}, testSecret); a != b {
		t.Fatalf("same SSID, other profile: %s vs %s", a, b)
	}
	other := map[string]MAC{
		"other network": gen(d, Network{SSID: "Library"}, testSecret),
		"other secret":  gen(d, cafe, bytes.Repeat([]byte{0xa5}, 32)),
		"other device":  gen(Device{Interface: "wlan1", Type: "wifi", Real: MustParseMAC("00:1b:77:00:00:01"), RealKnown: true}, cafe, testSecret),
	}
	for what, m := range other {
		if m == a {
			t.Errorf("%s gave the same stable address %s", what, m)
		}
	}
	// Wired: identified by UUID, case-insensitively.
	w1 := gen(d, Network{UUID: "5F0E8B7A-3C1D-4E2F-9A8B-7C6D5E4F3A2B", ID: "x"}, testSecret)
	w2 := gen(d, Network{UUID: "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b", ID: "y"}, testSecret)
	if w1 != w2 {
		t.Fatalf("UUID case changed the stable address: %s vs %s", w1, w2)
	}
	// Known answer, so the derivation cannot change silently (it would
	// give every user new addresses on every network).
	if got, want := a.String(), stableKAT; got != want {
		t.Fatalf("stable address for the fixed inputs = %s; want %s", got, want)
	}
	// At rest: a random local address, no secret needed.
	r1, err1 := p.Generate(d, Network{}, nil)
	r2, err2 := p.Generate(d, Network{}, nil)
	if err1 != nil || err2 != nil || r1 == r2 || !r1.IsLocal() {
		t.Fatalf("stable at rest: %s, %s, %v, %v", r1, r2, err1, err2)
	}
}
