// SPDX-License-Identifier: GPL-3.0-or-later

package policy

import (
	"strings"
	"testing"
)

const guardPolicy = `[default]
guard = "auto"

[[device]]
name = "iphone"
driver = "ipheth"
guard = "never"

[[device]]
name = "bed cards"
interface = "nmt*"
guard = "always"
`

func TestParseGuard(t *testing.T) {
	p, err := Parse("g.toml", []byte(guardPolicy))
	if err != nil {
		t.Fatal(err)
	}
	if p.Default.Guard != GuardAuto || p.Default.GuardSource != "g.toml:2 [default]" {
		t.Errorf("default guard %q from %q", p.Default.Guard, p.Default.GuardSource)
	}
	if len(p.Devices) != 2 || p.Devices[0].Guard != GuardNever || p.Devices[1].Guard != GuardAlways {
		t.Fatalf("device rules %+v", p.Devices)
	}
	if Default().Default.Guard != GuardAuto {
		t.Errorf("built-in default guard %q, want auto", Default().Default.Guard)
	}
	out := p.EncodeTOML()
	for _, want := range []string{"guard = \"auto\"  # g.toml:2 [default]\n", "guard = \"never\"\n", "guard = \"always\"\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("EncodeTOML lacks %q:\n%s", want, out)
		}
	}
	js, err := p.EncodeJSON()
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(string(js), `"guard": "auto"`) || !strings.Contains(string(js), `"guard": "never"`) {
		t.Errorf("EncodeJSON lacks the guard settings:\n%s", js)
	}
}

func TestSelectGuard(t *testing.T) {
	p, err := Parse("g.toml", []byte(guardPolicy))
	if err != nil {
		t.Fatal(err)
	}
	real := MAC{0x00, 0x1b, 0x77, 1, 2, 3}
	dev := func(name string, class Class) Device {
		return Device{Interface: name, Class: class, Current: real, Real: real, RealKnown: true}
	}
	cases := []struct {
		name    string
		d       Device
		guarded bool
		rule    string // substring of Rule
		reason  string // substring of Evaluate's reason
	}{
		{"card", dev("eth0", ClassCard), true, "built-in default", "equals the real address"},
		{"unset class is a card", dev("eth0", ClassUnset), true, "built-in default", "equals the real address"},
		{"unknown class fails closed", dev("eth0", ClassUnknown), true, "could not be read, so it is treated as a card", "equals the real address"},
		{"docker bridge", dev("docker0", ClassVirtual), false, "guard = auto from g.toml:2 [default]", "docker0 is a virtual device without a card's address"},
		{"bridge carrying a card's address", func() Device { d := dev("br0", ClassVirtual); d.Carries = "eth0"; return d }(), true, "carrying the real address of eth0", "equals the real address"},
		{"iphone tethering", func() Device { d := dev("eth1", ClassCard); d.Driver = "ipheth"; return d }(), false, `guard = never from g.toml:4 [[device]] "iphone"`, "not guarded (guard = never)"},
		{"bed veth guarded always", dev("nmt0", ClassVirtual), true, "built-in default", "equals the real address"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			v := p.Evaluate(c.d, Network{}, nil)
			if v.Guarded != c.guarded || !strings.Contains(v.Rule, c.rule) || !strings.Contains(v.Reason, c.reason) {
				t.Fatalf("Evaluate = guarded %t rule %q reason %q; want guarded %t, rule ~ %q, reason ~ %q", v.Guarded, v.Rule, v.Reason, c.guarded, c.rule, c.reason)
			}
			if !c.guarded && (!v.Allowed || v.Mode != ModeIgnore) {
				t.Errorf("a device left alone: allowed %t mode %q, want allowed, ignore", v.Allowed, v.Mode)
			}
			if _, err := p.Generate(c.d, Network{}, nil); c.guarded == (err != nil) {
				t.Errorf("Generate: %v (guarded %t)", err, c.guarded)
			}
		})
	}
	// A virtual device left alone stays so whatever spoof, exemptions say.
	off := *p
	off.Spoof = false
	if v := off.Select(dev("docker0", ClassVirtual), Network{UUID: "x"}, []Exemption{{UUID: "x", Scope: ScopeAlways}}); v.Guarded || v.Exempt {
		t.Errorf("spoof=false + exemption on a virtual device: %+v", v)
	}
	// GuardedAlone ignores what a virtual device carries.
	carrier := dev("br0", ClassVirtual)
	carrier.Carries = "eth0"
	if p.GuardedAlone(carrier) || !p.GuardedAlone(dev("eth0", ClassCard)) || p.GuardedAlone(func() Device { d := dev("eth1", ClassCard); d.Driver = "ipheth"; return d }()) {
		t.Error("GuardedAlone: want false for a carrying virtual device and a guard = never card, true for a card")
	}
	// A hand-built policy without the setting guards everything (fail closed).
	hand := &Policy{Spoof: true, Default: Rule{Mode: ModeRandom, Enforcement: EnforceRefuse}}
	if v := hand.Select(dev("docker0", ClassVirtual), Network{}, nil); !v.Guarded {
		t.Errorf("hand-built policy left a virtual device alone: %+v", v)
	}
	bad := &Policy{Spoof: true, Default: Rule{Mode: ModeRandom, Enforcement: EnforceRefuse, Guard: "bogus", GuardSource: "x"}}
	if v := bad.Select(dev("docker0", ClassVirtual), Network{}, nil); !v.Guarded {
		t.Errorf("invalid guard left a virtual device alone: %+v", v)
	}
	// [default] guard = "always": the old behaviour, every device.
	always, err := Parse("a.toml", []byte("[default]\nguard = \"always\"\n"))
	if err != nil {
		t.Fatal(err)
	}
	if v := always.Select(dev("docker0", ClassVirtual), Network{}, nil); !v.Guarded {
		t.Errorf("guard = always left a virtual device alone: %+v", v)
	}
}
