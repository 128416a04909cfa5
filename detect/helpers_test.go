// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"time"
)

// Addresses used by the tests: a real one and a keep-vendor spoofed one.
const (
	realMAC  = "00:1b:21:aa:bb:cc"
	spoofMAC = "00:1b:21:3f:91:07"
)

// t0 is the start of every scenario.
func t0() time.Time { return time.Date(2025, 11, 25, 10, 0, 0, 0, time.UTC) }

// scenario builds an ordered event stream for one device the way the
// service would see it. Each step advances the clock and records the NM
// transition from the previous state.
type scenario struct {
	now     time.Time
	dev     string
	conn    Connection
	state   uint32
	spoofed bool
	exempt  bool
	carrier bool
	evs     []Event
}

func newScenario(dev string, conn Connection) *scenario {
	return &scenario{now: t0(), dev: dev, conn: conn, state: StateDisconnected, spoofed: true, carrier: true}
}

// to advances the clock by after and moves NM to state with reason.
func (s *scenario) to(after time.Duration, st, reason uint32) *scenario {
	s.now = s.now.Add(after)
	addr := spoofMAC
	if !s.spoofed {
		addr = realMAC
	}
	s.evs = append(s.evs, Event{
		Time: s.now, Device: s.dev, Connection: s.conn,
		State: st, Old: s.state, Reason: reason,
		Address: addr, Real: realMAC, Spoofed: s.spoofed,
		Carrier: s.carrier, Exempt: s.exempt,
	})
	s.state = st
	return s
}

func (s *scenario) wait(d time.Duration) *scenario { s.now = s.now.Add(d); return s }

func (s *scenario) real() *scenario        { s.spoofed = false; return s }
func (s *scenario) spoof() *scenario       { s.spoofed = true; return s }
func (s *scenario) exemptNet() *scenario   { s.exempt = true; return s }
func (s *scenario) link(on bool) *scenario { s.carrier = on; return s }

const ms = time.Millisecond

// dhcpFail is one activation that dies in IP_CONFIG (dnsmasq ignoring the
// address), as recorded on the test bed: 40,30 50,40 70,50 120,70,5 30,120.
func (s *scenario) dhcpFail() *scenario {
	return s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(5*ms, StateIPConfig, 0).
		to(8*time.Second, StateFailed, ReasonIPConfigUnavailable).to(5*ms, StateDisconnected, 0)
}

// dhcpSuccess is one plain activation up to ACTIVATED.
func (s *scenario) dhcpSuccess() *scenario {
	return s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(5*ms, StateIPConfig, 0).
		to(3*time.Second, StateIPCheck, 0).to(5*ms, StateSecondaries, 0).to(5*ms, StateActivated, 0)
}

// userDown is `nmcli connection down` on an activated device.
func (s *scenario) userDown() *scenario {
	return s.to(time.Second, StateDeactivating, ReasonUserRequested).to(5*ms, StateDisconnected, ReasonUserRequested)
}

// dot1xStart is the start of every wired 802.1X activation: the secrets
// check NEED_AUTH, then back to CONFIG with the supplicant running.
func (s *scenario) dot1xStart() *scenario {
	return s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(3*ms, StateNeedAuth, 0).
		to(3*ms, StatePrepare, 0).to(5*ms, StateConfig, 0)
}

// dot1xTimeout is the 802.1X auth-timeout (5 s on the test bed) firing in
// CONFIG, NM re-using the stored secrets, and the supplicant trying again.
func (s *scenario) dot1xTimeout() *scenario {
	return s.to(5*time.Second, StateNeedAuth, 0).to(3*ms, StatePrepare, 0).to(5*ms, StateConfig, 0)
}

// toIP finishes an activation from CONFIG.
func (s *scenario) toIP() *scenario {
	return s.to(time.Second, StateIPConfig, 0).to(time.Second, StateIPCheck, 0).
		to(5*ms, StateSecondaries, 0).to(5*ms, StateActivated, 0)
}

func kindsOf(sps []Suspicion) []Kind {
	var ks []Kind
	for _, sp := range sps {
		ks = append(ks, sp.Kind)
	}
	return ks
}

// feedAll feeds every event and returns every suspicion raised.
func feedAll(d *Detector, evs []Event) []Suspicion {
	var out []Suspicion
	for _, ev := range evs {
		out = append(out, d.Feed(ev)...)
	}
	return out
}
