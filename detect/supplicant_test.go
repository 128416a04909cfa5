// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

// supplicant adds a wpa_supplicant property change after d, in the
// device's current state.
func (s *scenario) supplicant(after time.Duration, prop string, v int32) *scenario {
	s.now = s.now.Add(after)
	addr := spoofMAC
	if !s.spoofed {
		addr = realMAC
	}
	s.evs = append(s.evs, Event{
		Time: s.now, Device: s.dev, Connection: s.conn, State: s.state, Old: s.state,
		Address: addr, Real: realMAC, Spoofed: s.spoofed, Carrier: s.carrier, Exempt: s.exempt,
		Supplicant: &SupplicantSignal{Property: prop, Value: v},
	})
	return s
}

// wifiStart is the start of every Wi-Fi activation NM 1.42 makes with a
// stored secret, as recorded on the Wi-Fi bed: the secrets-check NEED_AUTH,
// then CONFIG with the supplicant running.
func (s *scenario) wifiStart() *scenario {
	return s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(3*ms, StateNeedAuth, 0).
		to(3*ms, StatePrepare, 0).to(5*ms, StateConfig, 0).link(false)
}

func wifiACL() Connection { return Connection{UUID: "5d0c-acl", ID: "acl", SSID: "acl"} }

func TestWifiAllowListRefusal(t *testing.T) {
	cases := []struct {
		name string
		s    func() *scenario
		want []Kind
		at   int // index of the event that raises (when want is not nil)
	}{{
		// NM only: "association took too long" -> FAILED ssid-not-found
		// (53) from CONFIG, twice (NM's retry): association-timeout.
		name: "two FAILED 53 after the association timeout",
		s: func() *scenario {
			s := newScenario("wlan0", wifiACL())
			for range 2 {
				s.wifiStart().to(25*time.Second, StateFailed, ReasonSSIDNotFound).to(3*ms, StateDisconnected, 0).wait(time.Second)
			}
			return s
		},
		want: []Kind{KindAssociationTimeout}, at: 12,
	}, {
		name: "one FAILED 53: not yet",
		s: func() *scenario {
			return newScenario("wlan0", wifiACL()).wifiStart().to(25*time.Second, StateFailed, ReasonSSIDNotFound).to(3*ms, StateDisconnected, 0)
		},
	}, {
		// FAILED 53 right away: the network is simply not there.
		name: "FAILED 53 without a dwell in CONFIG",
		s: func() *scenario {
			s := newScenario("wlan0", wifiACL())
			for range 3 {
				s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(200*ms, StateFailed, ReasonSSIDNotFound).to(3*ms, StateDisconnected, 0).wait(time.Second)
			}
			return s
		},
	}, {
		// wpa_supplicant says the AP refused the authentication 0.7 s in:
		// raised on the first attempt.
		name: "AuthStatusCode 1",
		s: func() *scenario {
			return newScenario("wlan0", wifiACL()).wifiStart().supplicant(700*ms, PropAuthStatusCode, 1).
				to(25*time.Second, StateFailed, ReasonSSIDNotFound).to(3*ms, StateDisconnected, 0)
		},
		want: []Kind{KindAuthRejected}, at: 5,
	}, {
		name: "AuthStatusCode 1 with the real address",
		s: func() *scenario {
			return newScenario("wlan0", wifiACL()).real().wifiStart().supplicant(700*ms, PropAuthStatusCode, 1).
				to(25*time.Second, StateFailed, ReasonSSIDNotFound).to(3*ms, StateDisconnected, 0)
		},
	}, {
		name: "AuthStatusCode 0 is no refusal",
		s: func() *scenario {
			return newScenario("wlan0", wifiACL()).wifiStart().supplicant(700*ms, PropAuthStatusCode, 0).
				to(time.Second, StateIPConfig, 0).to(time.Second, StateActivated, 0)
		},
	}, {
		name: "AuthStatusCode outside an attempt",
		s: func() *scenario {
			return newScenario("wlan0", wifiACL()).wifiStart().to(time.Second, StateIPConfig, 0).
				to(time.Second, StateActivated, 0).supplicant(time.Second, PropAuthStatusCode, 1)
		},
	}}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			d, err := New(DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var got []Kind
			raisedAt := -1
			for i, ev := range c.s().evs {
				for _, sp := range d.Feed(ev) {
					got = append(got, sp.Kind)
					raisedAt = i
					t.Logf("raised %s at %d: %s", sp.Kind, i, sp.Reason)
				}
			}
			if diff := cmp.Diff(c.want, got); diff != "" {
				t.Errorf("kinds (-want +got):\n%s", diff)
			}
			if c.want != nil && raisedAt != c.at {
				t.Errorf("raised at event %d, want %d", raisedAt, c.at)
			}
		})
	}
}

// A wrong passphrase: the handshake fails (NEED_AUTH reason 8), no agent,
// FAILED no-secrets (7), as recorded on the Wi-Fi bed.
func wrongPassphrase(s *scenario, disconnectReason int32) *scenario {
	s.wifiStart()
	if disconnectReason != 0 {
		s.supplicant(8600*ms, PropDisconnectReason, disconnectReason)
	}
	return s.to(3*time.Second, StateNeedAuth, ReasonSupplicantDisconnect).
		to(5*ms, StateFailed, ReasonNoSecrets).to(3*ms, StateDisconnected, 0)
}

func TestWifiWrongPassphrase(t *testing.T) {
	cafe := Connection{UUID: "7a1e-cafe", ID: "cafe", SSID: "cafe"}
	// wpa_supplicant says the 4-way handshake failed: a wrong passphrase
	// cannot be told from a refused address, and a typo is likelier: no
	// suspicion on one failure.
	for _, r := range []int32{15, -15, 23} {
		d, _ := New(DefaultConfig(), nil)
		if sps := feedAll(d, wrongPassphrase(newScenario("wlan0", cafe), r).evs); len(sps) != 0 {
			t.Errorf("DisconnectReason %d: raised %v", r, kindsOf(sps))
		}
	}
	// NM's signals only: raised, and worded honestly.
	d, _ := New(DefaultConfig(), nil)
	sps := feedAll(d, wrongPassphrase(newScenario("wlan0", cafe), 0).evs)
	if len(sps) != 1 || sps[0].Kind != KindAuthFailure {
		t.Fatalf("raised %v, want one auth-failure", kindsOf(sps))
	}
	if !strings.Contains(sps[0].Reason, "wrong password") || strings.Contains(sps[0].Reason, "refused the sign-in") {
		t.Errorf("reason %q does not say a wrong password looks the same", sps[0].Reason)
	}
	// Three wrong rounds still make an auth-loop, also with the
	// supplicant's reason.
	d, _ = New(DefaultConfig(), nil)
	s := newScenario("wlan0", cafe).wifiStart()
	for range 3 {
		s.supplicant(8*time.Second, PropDisconnectReason, 15).to(time.Second, StateNeedAuth, ReasonSupplicantDisconnect).
			to(5*time.Second, StatePrepare, 0).to(5*ms, StateConfig, 0)
	}
	s.to(time.Second, StateNeedAuth, ReasonSupplicantDisconnect)
	if got := kindsOf(feedAll(d, s.evs)); !cmp.Equal(got, []Kind{KindAuthLoop}) {
		t.Errorf("three wrong rounds: raised %v, want auth-loop", got)
	}
}

// On Wi-Fi the carrier goes with the association: NetworkManager's FAILED
// after a DHCP timeout already sees it down (recorded on the Wi-Fi bed).
// Carrier when IP_CONFIG began is what counts.
func TestWifiDHCPFailureCarrierLostAtFailed(t *testing.T) {
	dhcpacl := Connection{UUID: "9b2f-dhcpacl", ID: "dhcpacl", SSID: "dhcpacl"}
	run := func(upAtIP bool) []Kind {
		s := newScenario("wlan0", dhcpacl)
		for range 2 {
			s.wifiStart().link(upAtIP).to(300*ms, StateIPConfig, 0).link(false).
				to(10*time.Second, StateFailed, ReasonIPConfigUnavailable).to(100*ms, StateDisconnected, 0).wait(time.Second)
		}
		d, _ := New(DefaultConfig(), nil)
		return kindsOf(feedAll(d, s.evs))
	}
	if got := run(true); !cmp.Equal(got, []Kind{KindDHCPFailure}) {
		t.Errorf("associated, then two DHCP timeouts: raised %v, want dhcp-failure", got)
	}
	if got := run(false); got != nil {
		t.Errorf("no carrier at all: raised %v, want nothing", got)
	}
}
