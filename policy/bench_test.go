// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import "testing"

func benchPolicy(b *testing.B) *Policy {
	b.Helper()
	p, err := Parse("bench.toml", []byte(precedencePolicy))
	if err != nil {
		b.Fatal(err)
	}
	return p
}

func BenchmarkEvaluate(b *testing.B) {
	p := benchPolicy(b)
	n := Network{SSID: "Cafe", UUID: "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b"}
	ex := []Exemption{{SSID: "Library", Scope: ScopeAlways}}
	for _, c := range []struct {
		name string
		dev  Device
	}{
		{"keep-vendor", Device{Interface: "eth0", Type: "ethernet", Current: MustParseMAC("00:19:b9:aa:bb:cc"), Real: MustParseMAC("00:19:b9:01:02:03"), RealKnown: true}},
		{"vendor", wifiDevice(listedVendor)},
		{"random", Device{Interface: "wlan1", Type: "wifi", Current: localAddr, Real: MustParseMAC("00:e0:4c:01:02:03"), RealKnown: true}},
		{"denied-real", wifiDevice(realAddr)},
	} {
		b.Run(c.name, func(b *testing.B) {
			for b.Loop() {
				p.Evaluate(c.dev, n, ex)
			}
		})
	}
}

func BenchmarkGenerate(b *testing.B) {
	for _, m := range []Mode{ModeKeepVendor, ModeVendor, ModeRandom, ModeStable, ModePermanent} {
		p := policyWithMode(m)
		d := wifiDevice(MAC{})
		n := Network{SSID: "Cafe"}
		b.Run(string(m), func(b *testing.B) {
			for b.Loop() {
				if _, err := p.Generate(d, n, testSecret); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

func BenchmarkParse(b *testing.B) {
	data := []byte(fullPolicy)
	for b.Loop() {
		if _, err := Parse("bench.toml", data); err != nil {
			b.Fatal(err)
		}
	}
}
