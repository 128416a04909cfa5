// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"strings"
	"testing"
)

// Fixtures: a Wi-Fi card with an Intel address.
var (
	realAddr     = MustParseMAC("00:1b:77:12:34:56")
	keepVendor   = MustParseMAC("00:1b:77:9a:bc:de") // real prefix, other NIC bytes
	listedVendor = MustParseMAC("00:26:bb:01:02:03") // Apple, in the shipped wifi list
	unlisted     = MustParseMAC("00:50:56:01:02:03") // VMware: in no shipped list
	localAddr    = MustParseMAC("02:1b:77:9a:bc:de") // locally administered
	multicast    = MustParseMAC("01:1b:77:9a:bc:de")
)

func wifiDevice(cur MAC) Device {
	return Device{Interface: "wlan0", Type: "wifi", Driver: "iwlwifi", Current: cur, Real: realAddr, RealKnown: true}
}

func policyWithMode(m Mode) *Policy {
	p := Default()
	p.Default.Mode = m
	return p
}

// TestEvaluateModes covers every mode against compliant, real, wrong
// vendor / kind, multicast, zero and unknown-real addresses.
func TestEvaluateModes(t *testing.T) {
	compliant := map[Mode]MAC{
		ModeKeepVendor: keepVendor, ModeVendor: listedVendor, ModeRandom: localAddr,
		ModeStable: localAddr, ModePermanent: realAddr, ModeIgnore: unlisted,
	}
	// wrong: the kind of address each mode forbids besides the real one.
	wrong := map[Mode]MAC{
		ModeKeepVendor: listedVendor, // other vendor
		ModeVendor:     unlisted,     // not in the list
		ModeRandom:     keepVendor,   // globally administered
		ModeStable:     keepVendor,
		ModePermanent:  keepVendor, // not the real address
		ModeIgnore:     keepVendor,
	}
	type want struct {
		allowed bool
		reason  string // part of the reason
	}
	type row struct {
		compliant, real, wrong, multicast, zero, unknownReal want
	}
	spoof := func(m Mode, wrongReason string) row {
		return row{
			compliant:   want{true, "differs from the real address"},
			real:        want{false, "address equals the real address but policy says " + string(m)},
			wrong:       want{false, wrongReason},
			multicast:   want{false, "is a multicast (group) address"},
			zero:        want{false, "00:00:00:00:00:00, which no device may use"},
			unknownReal: want{false, "the real address is unknown"},
		}
	}
	table := map[Mode]row{
		ModeKeepVendor: spoof(ModeKeepVendor, "does not keep the real vendor prefix 00:1b:77 but policy says keep-vendor"),
		ModeVendor:     spoof(ModeVendor, "prefix 00:50:56 of address 00:50:56:01:02:03 is not in the shipped vendor list for wifi devices"),
		ModeRandom:     spoof(ModeRandom, "is not locally administered but policy says random"),
		ModeStable:     spoof(ModeStable, "is not locally administered but policy says stable"),
		ModePermanent: {
			compliant:   want{true, "is the real address"},
			real:        want{true, "is the real address"},
			wrong:       want{false, "is not the real address 00:1b:77:12:34:56 but policy says permanent"},
			multicast:   want{false, "multicast"},
			zero:        want{false, "00:00:00:00:00:00"},
			unknownReal: want{true, "the real address is unknown"},
		},
		ModeIgnore: {
			compliant: want{true, "not guarded"}, real: want{true, "not guarded"}, wrong: want{true, "not guarded"},
			multicast: want{true, "not guarded"}, zero: want{true, "not guarded"}, unknownReal: want{true, "not guarded"},
		},
	}
	for _, m := range Modes() {
		r, ok := table[m]
		if !ok {
			t.Fatalf("no table row for mode %s", m)
		}
		p := policyWithMode(m)
		cases := []struct {
			name string
			dev  Device
			want want
		}{
			{"compliant", wifiDevice(compliant[m]), r.compliant},
			{"real", wifiDevice(realAddr), r.real},
			{"wrong", wifiDevice(wrong[m]), r.wrong},
			{"multicast", wifiDevice(multicast), r.multicast},
			{"zero", wifiDevice(MAC{}), r.zero},
			{"unknown-real", Device{Interface: "wlan0", Type: "wifi", Current: compliant[m]}, r.unknownReal},
		}
		for _, c := range cases {
			t.Run(string(m)+"/"+c.name, func(t *testing.T) {
				for _, n := range []Network{{}, {SSID: "cafe", UUID: "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b"}} {
					v := p.Evaluate(c.dev, n, nil)
					if v.Allowed != c.want.allowed || !strings.Contains(v.Reason, c.want.reason) {
						t.Fatalf("Evaluate(%s on %+v) = allowed %t, %q; want %t, reason containing %q",
							c.dev.Current, n, v.Allowed, v.Reason, c.want.allowed, c.want.reason)
					}
					if v.Mode != m || v.Guarded != (m != ModeIgnore) || v.Enforcement != EnforceRefuse || v.Rule != builtinDefault || v.Exempt {
						t.Fatalf("verdict %+v: want mode %s, guarded %t, refuse, built-in default", v, m, m != ModeIgnore)
					}
				}
			})
		}
	}
}

// A zero Real with RealKnown is garbage: treat it as unknown (fail closed).
func TestEvaluateZeroRealIsUnknown(t *testing.T) {
	d := Device{Interface: "eth0", Type: "ethernet", Current: localAddr, RealKnown: true}
	v := policyWithMode(ModeRandom).Evaluate(d, Network{}, nil)
	if v.Allowed || !strings.Contains(v.Reason, "real address is unknown") {
		t.Fatalf("zero real address: %+v", v)
	}
}

func TestEvaluateVendorPerKind(t *testing.T) {
	p := policyWithMode(ModeVendor)
	eth := MustParseMAC("00:19:b9:01:02:03") // Dell, in the ethernet list only
	for _, c := range []struct {
		typ     string
		addr    MAC
		allowed bool
	}{
		{"wifi", listedVendor, true}, {"wifi", eth, false},
		{"ethernet", eth, true}, {"ethernet", listedVendor, false},
		{"veth", eth, true}, {"", eth, true},
	} {
		d := Device{Interface: "x0", Type: c.typ, Current: c.addr, Real: realAddr, RealKnown: true}
		if v := p.Evaluate(d, Network{}, nil); v.Allowed != c.allowed {
			t.Errorf("type %q, %s: allowed %t (%s); want %t", c.typ, c.addr, v.Allowed, v.Reason, c.allowed)
		}
	}
}

func TestEvaluateExemption(t *testing.T) {
	p := Default()
	n := Network{SSID: "Library", UUID: "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b"}
	ex := []Exemption{{SSID: "Library", Scope: ScopeAlways}}
	v := p.Evaluate(wifiDevice(realAddr), n, ex)
	if !v.Allowed || !v.Exempt || v.Mode != ModePermanent || !strings.HasPrefix(v.Rule, `exemption (always) ssid "Library"`) {
		t.Fatalf("exempt network, real address: %+v", v)
	}
	v = p.Evaluate(wifiDevice(keepVendor), n, ex)
	if v.Allowed || !v.Exempt {
		t.Fatalf("exempt network, spoofed address: %+v (the exemption says use the real one)", v)
	}
	// Not on another network, nor at rest.
	for _, other := range []Network{{SSID: "Elsewhere"}, {}} {
		if v := p.Evaluate(wifiDevice(realAddr), other, ex); v.Allowed || v.Exempt {
			t.Fatalf("exemption leaked to %+v: %+v", other, v)
		}
	}
}
