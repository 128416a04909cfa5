// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"log/slog"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// offerInterval is the least time between two offers for one network.
const offerInterval = time.Hour

// Why a suspicion was not offered, for the log.
const (
	notOfferedPolicy   = "the policy says offer = \"never\""
	notOfferedOpenDHCP = "an open Wi-Fi network that gives out no address: anyone can make one do that"
	notOfferedRecent   = "an offer was already made for this network less than an hour ago"
)

// offerGate decides which suspicions the desktop is offered: those the
// service signals (Suspicion) and lists (ListSuspicions), since the agent
// shows both. A hostile network can cause failures at will (an evil twin
// of a known network, one that drops every DHCP request), so:
//
//   - with offer = "never" nothing is offered;
//   - a suspicion raised by DHCP failures on an open Wi-Fi network (no
//     key, static WEP or OWE: an access point anyone can imitate) is not
//     offered, whatever else was seen below its own threshold;
//   - a network is offered at most once per offerInterval, by profile UUID
//     and by SSID (two profiles for one name count as one network).
//
// A suspicion that is not offered is logged and not kept pending. The gate
// keeps its memory in the service's memory only: a restart of the service
// forgets when it last offered. Not safe for concurrent use: the service
// loop owns it.
type offerGate struct {
	now    func() time.Time
	last   map[string]time.Time // network key -> when it was last offered
	hidden map[string]bool      // ids of suspicions not offered, while the detector holds them
}

// newOfferGate returns a gate reading the time from now (time.Now when nil).
func newOfferGate(now func() time.Time) *offerGate {
	if now == nil {
		now = time.Now
	}
	return &offerGate{now: now, last: map[string]time.Time{}, hidden: map[string]bool{}}
}

// decide says whether sp may be offered under the policy's offer setting;
// openWiFi says whether its network is an open Wi-Fi network. It returns
// "" and records the offer, or why it is not offered (and remembers sp's
// id as hidden). Anything but offer = "ask" is taken as "never".
func (g *offerGate) decide(mode policy.Offer, sp detect.Suspicion, openWiFi bool) string {
	why := ""
	now := g.now()
	keys := offerKeys(sp.Connection)
	for k, t := range g.last {
		switch {
		case now.Before(t):
			g.last[k] = now // the clock went back: the hour starts again
		case now.Sub(t) >= offerInterval:
			delete(g.last, k)
		}
	}
	switch {
	case mode != policy.OfferAsk:
		why = notOfferedPolicy
	case openWiFi && sp.Kind == detect.KindDHCPFailure:
		why = notOfferedOpenDHCP
	default:
		for _, k := range keys {
			if _, ok := g.last[k]; ok {
				why = notOfferedRecent
				break
			}
		}
	}
	if why != "" {
		if sp.ID != "" {
			g.hidden[sp.ID] = true
		}
		return why
	}
	for _, k := range keys {
		g.last[k] = now
	}
	return ""
}

// visible returns the pending suspicions that were offered, and forgets
// the hidden ids that are no longer pending.
func (g *offerGate) visible(pending []detect.Suspicion) []detect.Suspicion {
	if len(g.hidden) == 0 {
		return pending
	}
	still := map[string]bool{}
	out := pending[:0:0]
	for _, sp := range pending {
		if g.hidden[sp.ID] {
			still[sp.ID] = true
			continue
		}
		out = append(out, sp)
	}
	g.hidden = still
	return out
}

// offerKeys names the network of c for the rate limit: its profile UUID
// and its SSID; its profile id only when it has neither.
func offerKeys(c detect.Connection) []string {
	var keys []string
	if c.UUID != "" {
		keys = append(keys, "uuid:"+strings.ToLower(c.UUID))
	}
	if c.SSID != "" {
		keys = append(keys, "ssid:"+c.SSID)
	}
	if len(keys) == 0 && c.ID != "" {
		keys = append(keys, "id:"+c.ID)
	}
	return keys
}

// openWiFi reports whether the network of a suspicion on device d is an
// open Wi-Fi network, from the profile's settings. A profile the service
// has not read is taken to be open when the network is Wi-Fi (an SSID, or
// a Wi-Fi card): the safe side, no offer from DHCP failures alone.
func (s *Service) openWiFi(d *devState, c detect.Connection) bool {
	if p, ok := s.profiles[d.profile]; ok && d.profile != "" && strings.EqualFold(p.UUID, c.UUID) {
		return p.OpenWiFi()
	}
	if c.UUID != "" {
		for _, p := range s.profiles {
			if strings.EqualFold(p.UUID, c.UUID) {
				return p.OpenWiFi()
			}
		}
	}
	return c.SSID != "" || d.nm.Type == "wifi"
}

// offerSuspicion decides whether a suspicion the detector just raised on
// d is offered to the desktop. One that is not is logged with the reason
// and resolved in the detector: it does not stay pending, where the agent
// would find it when it (re)connects, and nothing is raised again for the
// network until a new episode.
func (s *Service) offerSuspicion(d *devState, sp detect.Suspicion) bool {
	why := s.offers.decide(s.pol.Offer, sp, s.openWiFi(d, sp.Connection))
	if why == "" {
		return true
	}
	s.log.Warn("detect: not offering the real address: "+why,
		slog.String("device", sp.Device), slog.String("connection", sp.Connection.ID),
		slog.String("kind", string(sp.Kind)))
	s.det.Resolve(sp.Device, sp.Connection.UUID)
	return false
}

// withdrawOffers drops the pending suspicions when the policy (just
// reloaded) no longer offers anything.
func (s *Service) withdrawOffers() {
	if s.pol.Offer == policy.OfferAsk || len(s.suspicions) == 0 {
		return
	}
	for _, sp := range s.suspicions {
		s.det.Resolve(sp.Device, sp.Connection.UUID)
	}
	s.log.Info("detect: pending offers withdrawn: "+notOfferedPolicy, slog.Int("count", len(s.suspicions)))
	s.suspicions = nil
}
