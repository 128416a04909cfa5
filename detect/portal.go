// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"fmt"
	"log/slog"
	"strings"
)

// NetworkManager's connectivity states (NMConnectivityState), as the
// device's Ip4Connectivity property gives them.
const (
	ConnectivityUnknown uint32 = 0
	ConnectivityNone    uint32 = 1
	ConnectivityPortal  uint32 = 2
	ConnectivityLimited uint32 = 3
	ConnectivityFull    uint32 = 4
)

// KindPortalForgets: a captive portal that forgets the private address.
// The evidence, precisely: the same connection (UUID) reported behind a
// captive portal (a connectivity event with Ip4Connectivity = portal while
// ACTIVATED, spoofed, not exempt) with a private address other than the
// one it had the last time it was reported behind the portal, at any time
// before in this run of the service (in memory only). The portal asks the
// user to sign in again because the address changed. It is not a refusal:
// the offer is to keep one private address for that network (mode stable),
// never the real address.
const KindPortalForgets Kind = "portal-forgets"

// Rejects reports whether a kind is a network refusing the private address
// (the kinds for which the real address may be offered); false for
// portal-forgets, whose answer is a stable private address.
func (k Kind) Rejects() bool { return k != KindPortalForgets && k != "" }

// maxPortals bounds the remembered portal sightings (one per connection).
const maxPortals = 1024

// portalSighting is the latest private address a connection was seen
// behind a captive portal with.
type portalSighting struct {
	address string
	ev      Event
}

// feedPortal judges an event that reports the device's connectivity while
// ACTIVATED: behind a portal with a private address other than the one the
// same connection had behind the portal before, it raises
// portal-forgets. It remembers the latest address per connection, in
// memory only.
func (d *Detector) feedPortal(ev Event) []Suspicion {
	if ev.Connectivity != ConnectivityPortal || ev.State != StateActivated || !eligible(ev) || ev.Address == "" {
		return nil
	}
	uuid := ev.Connection.UUID
	if uuid == "" {
		return nil
	}
	prev, seen := d.portals[uuid]
	if !seen {
		if len(d.portalFIFO) >= maxPortals {
			delete(d.portals, d.portalFIFO[0])
			d.portalFIFO = d.portalFIFO[1:]
		}
		d.portalFIFO = append(d.portalFIFO, uuid)
	}
	d.portals[uuid] = portalSighting{address: strings.ToLower(ev.Address), ev: ev}
	if !seen || prev.address == strings.ToLower(ev.Address) {
		return nil
	}
	key := episodeKey(ev.Device, connKey(ev.Connection))
	ep := d.episodes[key]
	if ep == nil {
		ep = &episode{key: key, device: ev.Device, conn: ev.Connection}
		d.episodes[key] = ep
	}
	ep.conn = mergeConn(ep.conn, ev.Connection)
	if ep.state.status == statusSuspected {
		ep.suspicion.LastSeen = ev.Time
		return nil
	}
	d.seq++
	ep.seq = d.seq
	ep.id = fmt.Sprintf("%s/%s/%d/%d", ep.device, connKey(ep.conn), ev.Time.Unix(), ep.seq)
	sp := Suspicion{
		ID:         ep.id,
		Device:     ep.device,
		Connection: ep.conn,
		Kind:       KindPortalForgets,
		Evidence:   []Event{prev.ev, ev},
		Confidence: ConfidenceHigh,
		FirstSeen:  prev.ev.Time,
		LastSeen:   ev.Time,
		Reason:     "the network's captive portal asked again after the private address changed: it forgets this computer at every new address",
	}
	ep.suspicion = sp
	d.setState(ep, state{ep.state.phase, statusSuspected}, nil, "raised "+string(sp.Kind))
	d.log.Info("detect: a captive portal forgets the private address",
		slog.String("device", sp.Device), slog.String("connection", sp.Connection.UUID))
	return []Suspicion{sp.clone()}
}
