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
// before in this run of the service (compared in memory), or reported
// behind the portal in an earlier address generation (Event.Generation:
// an earlier run of the service, remembered with RememberPortal; the
// service keeps one private address per profile for a whole run, so a new
// run means a new address unless the mode is stable). The portal asks the
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
// behind a captive portal with, and its address generation. A sighting
// remembered from an earlier run (RememberPortal) has a generation only.
type portalSighting struct {
	address    string
	generation string
	ev         Event
}

// RememberPortal records that connection uuid was seen behind a captive
// portal in address generation gen (an earlier run of the service, from
// its state file): a sighting now in another generation is evidence that
// the address changed. It does not replace a sighting of this run.
func (d *Detector) RememberPortal(uuid, gen string) {
	if uuid == "" || gen == "" {
		return
	}
	if _, seen := d.portals[uuid]; seen {
		return
	}
	d.keepPortal(uuid, portalSighting{generation: gen})
}

// keepPortal stores a sighting, dropping the oldest beyond maxPortals.
func (d *Detector) keepPortal(uuid string, s portalSighting) {
	if _, seen := d.portals[uuid]; !seen {
		if len(d.portalFIFO) >= maxPortals {
			delete(d.portals, d.portalFIFO[0])
			d.portalFIFO = d.portalFIFO[1:]
		}
		d.portalFIFO = append(d.portalFIFO, uuid)
	}
	d.portals[uuid] = s
}

// changed reports whether a sighting now (address, generation) shows
// another private address than prev: another address in memory, or
// another address generation (both known).
func (prev portalSighting) changed(address, generation string) bool {
	if prev.address != "" && prev.address != address {
		return true
	}
	return prev.generation != "" && generation != "" && prev.generation != generation
}

// feedPortal judges an event that reports the device's connectivity while
// ACTIVATED: behind a portal with a private address other than the one the
// same connection had behind the portal before (or in another address
// generation), it raises portal-forgets. It remembers the latest address
// and generation per connection, in memory only (the service keeps the
// generations, never the addresses, across runs).
func (d *Detector) feedPortal(ev Event) []Suspicion {
	if ev.Connectivity != ConnectivityPortal || ev.State != StateActivated || !eligible(ev) || ev.Address == "" {
		return nil
	}
	uuid := ev.Connection.UUID
	if uuid == "" {
		return nil
	}
	addr := strings.ToLower(ev.Address)
	prev, seen := d.portals[uuid]
	d.keepPortal(uuid, portalSighting{address: addr, generation: ev.Generation, ev: ev})
	if !seen || !prev.changed(addr, ev.Generation) {
		return nil
	}
	evidence, first := []Event{prev.ev, ev}, prev.ev.Time
	if prev.ev.Time.IsZero() {
		// Seen in an earlier run: only its generation is known.
		evidence, first = []Event{ev}, ev.Time
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
		Evidence:   evidence,
		Confidence: ConfidenceHigh,
		FirstSeen:  first,
		LastSeen:   ev.Time,
		Reason:     "the network's captive portal asked again after the private address changed: it forgets this computer at every new address",
	}
	ep.suspicion = sp
	d.setState(ep, state{ep.state.phase, statusSuspected}, nil, "raised "+string(sp.Kind))
	d.log.Info("detect: a captive portal forgets the private address",
		slog.String("device", sp.Device), slog.String("connection", sp.Connection.UUID))
	return []Suspicion{sp.clone()}
}
