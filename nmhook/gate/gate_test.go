// SPDX-License-Identifier: GPL-3.0-or-later

package gate

import (
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/profile"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

func mustPMAC(t *testing.T, s string) policy.MAC {
	t.Helper()
	m, err := policy.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

func mustPolicy(t *testing.T, text string) *policy.Policy {
	t.Helper()
	p, err := policy.Parse("test.toml", []byte(text))
	if err != nil {
		t.Fatalf("parse policy: %v", err)
	}
	return p
}

func TestDecide(t *testing.T) {
	real := mustPMAC(t, "00:1b:21:aa:bb:cc")
	spoofed := mustPMAC(t, "00:1b:21:12:34:56") // same vendor, other NIC bytes: keep-vendor compliant
	dev := func(cur policy.MAC) policy.Device {
		return policy.Device{Interface: "eth0", Type: "ethernet", Current: cur, Real: real, RealKnown: true}
	}
	def := policy.Default()
	remediate := mustPolicy(t, "[default]\nmode = \"keep-vendor\"\nenforcement = \"remediate\"\n")
	audit := mustPolicy(t, "[default]\nmode = \"keep-vendor\"\nenforcement = \"audit\"\n")
	ignore := mustPolicy(t, "[default]\nmode = \"ignore\"\n")
	perm := mustPolicy(t, "[default]\nmode = \"permanent\"\n")
	net := policy.Network{UUID: "0b3e5e2c-1111-4a4a-9b9b-000000000001", ID: "cafe"}

	tests := []struct {
		name string
		pol  *policy.Policy
		view View
		ex   []policy.Exemption
		want Decision // Verdict and Reason are not compared
	}{
		{"at rest, real address: spoof it", def, View{Device: dev(real), State: detect.StateDisconnected},
			nil, Decision{Guard: true, Spoof: true}},
		{"at rest, compliant", def, View{Device: dev(spoofed), State: detect.StateDisconnected},
			nil, Decision{Guard: true}},
		{"unknown to NM (hotplug), real address: spoof it", def, View{Device: dev(real)},
			nil, Decision{Guard: true, Spoof: true}},
		{"at rest, profile would set permanent: block", def, View{Device: dev(spoofed), State: detect.StateDisconnected,
			Profiles: []profile.Profile{{ID: "p", UUID: net.UUID, Autoconnect: true, ClonedMAC: "permanent"}}},
			nil, Decision{Guard: true, Block: true}},
		{"at rest, profile with permanent but no autoconnect: fine", def, View{Device: dev(spoofed), State: detect.StateDisconnected,
			Profiles: []profile.Profile{{ID: "p", UUID: net.UUID, Autoconnect: false, ClonedMAC: "permanent"}}},
			nil, Decision{Guard: true}},
		{"at rest, profile preserve: fine", def, View{Device: dev(spoofed), State: detect.StateDisconnected,
			Profiles: []profile.Profile{{ID: "p", UUID: net.UUID, Autoconnect: true, ClonedMAC: "preserve"}}},
			nil, Decision{Guard: true}},
		{"in flight, real address, refuse", def, View{Device: dev(real), State: detect.StateConfig, Network: net},
			nil, Decision{Guard: true, Block: true, Disconnect: true}},
		{"in flight, real address, remediate", remediate, View{Device: dev(real), State: detect.StateIPConfig, Network: net},
			nil, Decision{Guard: true, Spoof: true, Disconnect: true, Reactivate: true}},
		{"in flight, remediate but profile sets it: refuse", remediate, View{Device: dev(real), State: detect.StateConfig, Network: net, ActiveClonedMAC: "permanent"},
			nil, Decision{Guard: true, Block: true, Disconnect: true}},
		{"in flight, compliant", def, View{Device: dev(spoofed), State: detect.StateActivated, Network: net},
			nil, Decision{Guard: true}},
		// NM sets the profile's address in PREPARE, or skips it when its
		// cache says the card has it already: the profile is judged too.
		{"in flight, private so far but the profile sets permanent: refuse", def,
			View{Device: dev(spoofed), State: detect.StatePrepare, Network: net, ActiveClonedMAC: "permanent"},
			nil, Decision{Guard: true, Block: true, Disconnect: true}},
		{"in flight, private so far but the profile sets the real address: refuse", remediate,
			View{Device: dev(spoofed), State: detect.StateActivated, Network: net, ActiveClonedMAC: "00:1b:21:aa:bb:cc"},
			nil, Decision{Guard: true, Block: true, Disconnect: true}},
		{"in flight, the profile sets an address nobody understands: refuse", def,
			View{Device: dev(spoofed), State: detect.StateConfig, Network: net, ActiveClonedMAC: "banana"},
			nil, Decision{Guard: true, Block: true, Disconnect: true}},
		{"in flight, the profile sets a compliant address: fine", def,
			View{Device: dev(spoofed), State: detect.StateConfig, Network: net, ActiveClonedMAC: "00:1b:21:12:34:56"},
			nil, Decision{Guard: true}},
		{"in flight, profile preserve: fine", def,
			View{Device: dev(spoofed), State: detect.StateConfig, Network: net, ActiveClonedMAC: "preserve"},
			nil, Decision{Guard: true}},
		{"in flight, exempt network whose profile sets permanent: fine", def,
			View{Device: dev(real), State: detect.StateActivated, Network: net, ActiveClonedMAC: "permanent"},
			[]policy.Exemption{{UUID: net.UUID, Scope: policy.ScopeAlways}}, Decision{}},
		{"audit, the profile sets permanent: nothing but the guard", audit,
			View{Device: dev(spoofed), State: detect.StateConfig, Network: net, ActiveClonedMAC: "permanent"},
			nil, Decision{Guard: true}},
		{"audit: nothing but the guard", audit, View{Device: dev(real), State: detect.StateConfig, Network: net},
			nil, Decision{Guard: true}},
		{"ignore: nothing", ignore, View{Device: dev(real), State: detect.StateConfig, Network: net},
			nil, Decision{}},
		{"permanent: no guard, real is fine", perm, View{Device: dev(real), State: detect.StateActivated, Network: net},
			nil, Decision{}},
		{"exempt network: real allowed in flight, no guard", def, View{Device: dev(real), State: detect.StateActivated, Network: net},
			[]policy.Exemption{{UUID: net.UUID, Scope: policy.ScopeAlways}}, Decision{}},
		{"exempt network but private address in flight: set the real one and reconnect", def,
			View{Device: dev(spoofed), State: detect.StateConfig, Network: net},
			[]policy.Exemption{{UUID: net.UUID, Scope: policy.ScopeAlways}}, Decision{Spoof: true, Disconnect: true, Reactivate: true}},
		{"real unknown: kept down", def, View{Device: policy.Device{Interface: "eth0", Current: spoofed}, State: detect.StateConfig, Network: net},
			nil, Decision{Block: true, Disconnect: true}},
		{"hold: kept down and silent", def, View{Device: dev(spoofed), State: detect.StateDisconnected, Hold: true},
			nil, Decision{Guard: true, Block: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(tc.pol, tc.view, tc.ex, make([]byte, 32))
			if got.Reason == "" {
				t.Errorf("no reason given")
			}
			got.Verdict, got.Reason = policy.Verdict{}, ""
			if got != tc.want {
				t.Errorf("decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestDecideProfileReasonNamesProfile(t *testing.T) {
	real := mustPMAC(t, "00:1b:21:aa:bb:cc")
	v := View{
		Device:   policy.Device{Interface: "eth0", Current: mustPMAC(t, "00:1b:21:12:34:56"), Real: real, RealKnown: true},
		State:    detect.StateDisconnected,
		Profiles: []profile.Profile{{ID: "office", Autoconnect: true, ClonedMAC: "00:1b:21:aa:bb:cc"}},
	}
	d := Decide(policy.Default(), v, nil, nil)
	if !d.Block || !strings.Contains(d.Reason, `"office"`) {
		t.Fatalf("decision %+v: want a block whose reason names the profile", d)
	}
}
