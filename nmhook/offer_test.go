// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// fakeClock is a clock a test moves by hand.
type fakeClock struct{ t time.Time }

func (c *fakeClock) now() time.Time          { return c.t }
func (c *fakeClock) advance(d time.Duration) { c.t = c.t.Add(d) }

const (
	offerUUID  = "5f0e8b7a-3c1d-4e2f-9a8b-7c6d5e4f3a2b"
	offerUUID2 = "6a1f9c8b-4d2e-4f30-8b9c-8d7e6f5a4b3c"
)

func offerSusp(id, uuid, ssid string, kind detect.Kind) detect.Suspicion {
	return detect.Suspicion{ID: id, Device: "wlan0", Kind: kind, Connection: detect.Connection{UUID: uuid, ID: ssid + " profile", SSID: ssid}}
}

// TestOfferGatePolicy: offer = "never" (or anything but "ask") offers
// nothing, whatever the network.
func TestOfferGatePolicy(t *testing.T) {
	g := newOfferGate((&fakeClock{time.Unix(1_700_000_000, 0)}).now)
	for _, mode := range []policy.Offer{policy.OfferNever, ""} {
		if why := g.decide(mode, offerSusp("a", offerUUID, "Home", detect.KindAuthLoop), false); why != notOfferedPolicy {
			t.Errorf("offer %q: decide = %q, want %q", mode, why, notOfferedPolicy)
		}
	}
	// Not offering records no offer: with "ask" the network is offered.
	if why := g.decide(policy.OfferAsk, offerSusp("b", offerUUID, "Home", detect.KindAuthLoop), false); why != "" {
		t.Errorf("offer ask after never: decide = %q, want an offer", why)
	}
}

// TestOfferGateOpenWiFiDHCP: DHCP failures on an open Wi-Fi network are
// never offered; other kinds there, and DHCP failures elsewhere, are.
func TestOfferGateOpenWiFiDHCP(t *testing.T) {
	tests := []struct {
		name string
		kind detect.Kind
		open bool
		want string
	}{
		{"open wifi, dhcp", detect.KindDHCPFailure, true, notOfferedOpenDHCP},
		{"open wifi, association timeout", detect.KindAssociationTimeout, true, ""},
		{"open wifi, auth failure", detect.KindAuthFailure, true, ""},
		{"secured or wired, dhcp", detect.KindDHCPFailure, false, ""},
		{"secured or wired, auth loop", detect.KindAuthLoop, false, ""},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			g := newOfferGate((&fakeClock{time.Unix(1_700_000_000, 0)}).now)
			if why := g.decide(policy.OfferAsk, offerSusp("x", offerUUID, "Cafe", tc.kind), tc.open); why != tc.want {
				t.Errorf("decide = %q, want %q", why, tc.want)
			}
		})
	}
}

// TestOfferGateOncePerHour: one offer per network per hour, the network
// named by profile UUID or by SSID; refused suspicions do not count.
func TestOfferGateOncePerHour(t *testing.T) {
	clk := &fakeClock{time.Unix(1_700_000_000, 0)}
	g := newOfferGate(clk.now)
	type step struct {
		advance time.Duration
		sp      detect.Suspicion
		open    bool
		want    string
	}
	steps := []step{
		{0, offerSusp("1", offerUUID, "Cafe", detect.KindAuthLoop), false, ""},
		{time.Minute, offerSusp("2", offerUUID, "Cafe", detect.KindAuthFailure), false, notOfferedRecent},
		// Another profile for the same name is the same network.
		{time.Minute, offerSusp("3", offerUUID2, "Cafe", detect.KindAuthLoop), false, notOfferedRecent},
		// Another network is not held back.
		{0, offerSusp("4", offerUUID2, "Library", detect.KindAuthLoop), false, ""},
		// A wired profile (no SSID) by its UUID.
		{0, offerSusp("5", "", "", detect.KindDHCPFailure), false, ""},
		{57*time.Minute + 59*time.Second, offerSusp("6", offerUUID, "Cafe", detect.KindAuthLoop), false, notOfferedRecent},
		// An hour after the first offer: offered again.
		{time.Second, offerSusp("7", offerUUID, "Cafe", detect.KindAuthLoop), false, ""},
		// Refused for another reason: it does not start a new hour...
		{time.Hour, offerSusp("8", offerUUID2, "Library", detect.KindDHCPFailure), true, notOfferedOpenDHCP},
		{0, offerSusp("9", offerUUID2, "Library", detect.KindAuthLoop), true, ""},
	}
	for i, st := range steps {
		clk.advance(st.advance)
		if why := g.decide(policy.OfferAsk, st.sp, st.open); why != st.want {
			t.Fatalf("step %d (%s at +%v): decide = %q, want %q", i, st.sp.ID, clk.t.Sub(time.Unix(1_700_000_000, 0)), why, st.want)
		}
	}
	// ...and the memory holds only the last hour's offers.
	clk.advance(2 * time.Hour)
	g.decide(policy.OfferNever, offerSusp("10", offerUUID, "Cafe", detect.KindAuthLoop), false)
	if len(g.last) != 0 {
		t.Errorf("offers older than an hour still remembered: %v", g.last)
	}
}

// TestOfferGateClockBack: a clock set back does not lift the limit.
func TestOfferGateClockBack(t *testing.T) {
	clk := &fakeClock{time.Unix(1_700_000_000, 0)}
	g := newOfferGate(clk.now)
	if why := g.decide(policy.OfferAsk, offerSusp("1", offerUUID, "Cafe", detect.KindAuthLoop), false); why != "" {
		t.Fatal(why)
	}
	clk.advance(-24 * time.Hour)
	if why := g.decide(policy.OfferAsk, offerSusp("2", offerUUID, "Cafe", detect.KindAuthLoop), false); why != notOfferedRecent {
		t.Fatalf("after the clock went back a day: decide = %q, want %q", why, notOfferedRecent)
	}
}

// TestOfferGateVisible: suspicions not offered are not listed, and are
// forgotten once the detector no longer holds them.
func TestOfferGateVisible(t *testing.T) {
	g := newOfferGate((&fakeClock{time.Unix(1_700_000_000, 0)}).now)
	a := offerSusp("a", offerUUID, "Cafe", detect.KindDHCPFailure)
	b := offerSusp("b", offerUUID2, "Home", detect.KindAuthLoop)
	if g.decide(policy.OfferAsk, a, true) == "" || g.decide(policy.OfferAsk, b, false) != "" {
		t.Fatal("setup: a must be refused, b offered")
	}
	got := g.visible([]detect.Suspicion{a, b})
	if len(got) != 1 || got[0].ID != "b" {
		t.Fatalf("visible = %v, want only b", got)
	}
	if got := g.visible([]detect.Suspicion{b}); len(got) != 1 || len(g.hidden) != 0 {
		t.Fatalf("visible = %v, hidden = %v: a should be forgotten", got, g.hidden)
	}
}

// TestProfileOpenWiFi: which profiles are open Wi-Fi networks, read from
// GetSettings answers.
func TestProfileOpenWiFi(t *testing.T) {
	wifi := func(sec map[string]dbus.Variant) map[string]map[string]dbus.Variant {
		s := map[string]map[string]dbus.Variant{
			"connection":      {"id": dbus.MakeVariant("Cafe"), "uuid": dbus.MakeVariant(offerUUID), "type": dbus.MakeVariant("802-11-wireless")},
			"802-11-wireless": {"ssid": dbus.MakeVariant([]byte("Cafe"))},
		}
		if sec != nil {
			s["802-11-wireless-security"] = sec
		}
		return s
	}
	km := func(v string) map[string]dbus.Variant {
		return map[string]dbus.Variant{"key-mgmt": dbus.MakeVariant(v)}
	}
	tests := []struct {
		name     string
		settings map[string]map[string]dbus.Variant
		want     bool
	}{
		{"no security setting", wifi(nil), true},
		{"security without key-mgmt", wifi(map[string]dbus.Variant{}), true},
		{"static WEP", wifi(km("none")), true},
		{"enhanced open (OWE)", wifi(km("owe")), true},
		{"WPA-PSK", wifi(km("wpa-psk")), false},
		{"WPA3 SAE", wifi(km("sae")), false},
		{"WPA-EAP", wifi(km("wpa-eap")), false},
		{"key-mgmt of the wrong type", wifi(map[string]dbus.Variant{"key-mgmt": dbus.MakeVariant(uint32(1))}), true},
		{"ethernet", map[string]map[string]dbus.Variant{
			"connection":     {"id": dbus.MakeVariant("Office"), "type": dbus.MakeVariant("802-3-ethernet")},
			"802-3-ethernet": {},
		}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := nm.ProfileFromSettings("/p/1", tc.settings)
			if got := p.OpenWiFi(); got != tc.want {
				t.Errorf("OpenWiFi() = %t (key-mgmt %q), want %t", got, p.KeyMgmt, tc.want)
			}
		})
	}
}

// TestServiceOpenWiFi: the service judges a suspicion's network by the
// profile it read, and takes an unread Wi-Fi profile as open.
func TestServiceOpenWiFi(t *testing.T) {
	s := &Service{profiles: map[dbus.ObjectPath]nm.Profile{
		"/p/open": {Path: "/p/open", UUID: offerUUID, SSID: "Cafe", Type: "802-11-wireless"},
		"/p/psk":  {Path: "/p/psk", UUID: offerUUID2, SSID: "Home", Type: "802-11-wireless", KeyMgmt: "wpa-psk"},
	}}
	wlan := &devState{iface: "wlan0", nm: nm.Device{Type: "wifi"}}
	eth := &devState{iface: "eth0", nm: nm.Device{Type: "ethernet"}}
	tests := []struct {
		name string
		d    *devState
		c    detect.Connection
		want bool
	}{
		{"open profile by UUID", wlan, detect.Connection{UUID: offerUUID, SSID: "Cafe"}, true},
		{"secured profile by UUID", wlan, detect.Connection{UUID: offerUUID2, SSID: "Home"}, false},
		{"secured profile, UUID in upper case", wlan, detect.Connection{UUID: "6A1F9C8B-4D2E-4F30-8B9C-8D7E6F5A4B3C", SSID: "Home"}, false},
		{"unknown profile on a Wi-Fi card", wlan, detect.Connection{UUID: "00000000-0000-4000-8000-000000000000"}, true},
		{"unknown profile with an SSID", eth, detect.Connection{SSID: "Other"}, true},
		{"unknown wired profile", eth, detect.Connection{UUID: "00000000-0000-4000-8000-000000000000", ID: "Office"}, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := s.openWiFi(tc.d, tc.c); got != tc.want {
				t.Errorf("openWiFi = %t, want %t", got, tc.want)
			}
		})
	}
}
