// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"strings"
	"testing"
)

func TestIdentifiersSelect(t *testing.T) {
	const file = `
[default]
identifiers = "report"

[[device]]
interface = "wl*"
identifiers = "hide"

[[network]]
ssid = "Cafe"
identifiers = "report"

[[network]]
ssid = "Home"
mode = "permanent"
`
	p, err := Parse("p.toml", []byte(file))
	if err != nil {
		t.Fatal(err)
	}
	real := MAC{0x00, 0x1b, 0x21, 1, 2, 3}
	eth := Device{Interface: "eth0", Real: real, RealKnown: true}
	wl := Device{Interface: "wlan0", Real: real, RealKnown: true}
	for _, c := range []struct {
		name  string
		d     Device
		n     Network
		want  Identifiers
		hides bool
		from  string
	}{
		{"default", eth, Network{ID: "x"}, IdentifiersReport, false, "p.toml:3 [default]"},
		{"device rule", wl, Network{ID: "x"}, IdentifiersHide, true, "p.toml:5 [[device]] #1"},
		{"network over device", wl, Network{SSID: "Cafe"}, IdentifiersReport, false, "p.toml:9 [[network]] #1"},
		{"hide but not spoofing", wl, Network{SSID: "Home"}, IdentifiersHide, false, "p.toml:5 [[device]] #1"},
	} {
		t.Run(c.name, func(t *testing.T) {
			v := p.Select(c.d, c.n, nil)
			if v.Identifiers != c.want || v.HidesIdentifiers() != c.hides || v.IdentifiersRule != c.from {
				t.Fatalf("Select = identifiers %q from %q, hides %t; want %q from %q, hides %t",
					v.Identifiers, v.IdentifiersRule, v.HidesIdentifiers(), c.want, c.from, c.hides)
			}
		})
	}
}

func TestIdentifiersDefaultHides(t *testing.T) {
	d := Device{Interface: "eth0", Real: MAC{0x00, 0x1b, 0x21, 1, 2, 3}, RealKnown: true}
	v := Default().Select(d, Network{ID: "x"}, nil)
	if v.Identifiers != IdentifiersHide || !v.HidesIdentifiers() || v.IdentifiersRule != builtinDefault {
		t.Fatalf("built-in default: identifiers %q from %q, hides %t", v.Identifiers, v.IdentifiersRule, v.HidesIdentifiers())
	}
	// spoof = false: nothing is spoofed, so nothing is hidden either.
	p := Default()
	p.Spoof = false
	if p.Select(d, Network{ID: "x"}, nil).HidesIdentifiers() {
		t.Fatal("spoof = false still hides identifiers")
	}
	// A hand-built policy with an unknown value hides (fail closed).
	p = Default()
	p.Default.Identifiers = "bogus"
	if v := p.Select(d, Network{ID: "x"}, nil); !v.HidesIdentifiers() || !strings.Contains(v.IdentifiersRule, "invalid") {
		t.Fatalf("invalid identifiers: %+v", v)
	}
}

func TestIdentifiersEncode(t *testing.T) {
	p, err := Parse("p.toml", []byte("[default]\nidentifiers = \"report\"\n[[network]]\nssid = \"x\"\nidentifiers = \"hide\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	out := p.EncodeTOML()
	for _, want := range []string{`identifiers = "report"  # p.toml:2 [default]`, "[[network]]  # p.toml:3\nssid = \"x\"\nidentifiers = \"hide\"\n"} {
		if !strings.Contains(out, want) {
			t.Fatalf("EncodeTOML lacks %q:\n%s", want, out)
		}
	}
	j, err := p.EncodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(j), `"identifiers": "report"`) || !strings.Contains(string(j), `"identifiers_source": "p.toml:2 [default]"`) {
		t.Fatalf("EncodeJSON:\n%s", j)
	}
}
