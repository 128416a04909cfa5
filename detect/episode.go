// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"strings"
	"time"
)

// category is one kind of evidence an event can add to an episode.
type category uint8

const (
	catAuthRound    category = iota // a NEED_AUTH round that ended without reaching IP_CONFIG
	catAssocTimeout                 // NEED_AUTH/NONE from CONFIG after a supplicant or 802.1X timeout
	catAuthFailure                  // FAILED with NO_SECRETS or a supplicant reason after a real try
	catDHCPFailure                  // FAILED/IP_CONFIG_UNAVAILABLE from IP_CONFIG with carrier
	catAuthReject                   // the access point refused the authentication (wpa_supplicant AuthStatusCode)
	numCategories
)

// kind is the Kind a category raises.
func (c category) kind() Kind {
	switch c {
	case catAuthRound:
		return KindAuthLoop
	case catAssocTimeout:
		return KindAssociationTimeout
	case catAuthFailure:
		return KindAuthFailure
	case catDHCPFailure:
		return KindDHCPFailure
	case catAuthReject:
		return KindAuthRejected
	}
	return ""
}

// raiseOrder is the order thresholds are checked in when one event
// completes more than one: the pattern that says most about the network
// first.
func raiseOrder() [numCategories]category {
	return [numCategories]category{catAuthReject, catAuthRound, catAssocTimeout, catAuthFailure, catDHCPFailure}
}

// evidence is one event that counts toward a category.
type evidence struct {
	cat category
	ev  Event
}

// maxEvidence bounds the evidence one episode keeps inside the window (a
// flood of events cannot grow memory). It is far above maxThreshold times
// the number of categories that can be reached by ordinary NM behaviour.
const maxEvidence = 4 * maxThreshold

// episode is the state of one (device, connection): its state machine,
// the evidence inside the window and the activation attempt in progress.
type episode struct {
	key      string
	device   string
	conn     Connection
	state    state
	lastSeen time.Time // time of the latest event fed for it

	// Identity of the episode, set with its first evidence.
	id  string
	seq uint64

	evidence  []evidence // oldest first, all inside the window
	suspicion Suspicion  // meaningful in statusSuspected

	// The activation attempt in progress (from PREPARE, not counting the
	// PREPARE that follows a NEED_AUTH round).
	roundOpen      bool      // a NEED_AUTH round is open
	needAuthRounds int       // NEED_AUTH rounds seen in this attempt
	tries          int       // times the network was really tried in this attempt
	configSince    time.Time // when CONFIG was last entered, zero if unknown
	ipCarrier      bool      // carrier when IP_CONFIG was entered
	rejected       bool      // wpa_supplicant: the access point refused the authentication
	keyMismatch    bool      // wpa_supplicant: the 4-way handshake or 802.1X failed (wrong secrets look the same)
}

// newAttempt forgets the attempt in progress (an open round is dropped,
// not counted).
func (ep *episode) newAttempt() {
	ep.roundOpen = false
	ep.needAuthRounds = 0
	ep.tries = 0
	ep.configSince = time.Time{}
	ep.rejected = false
	ep.keyMismatch = false
	ep.ipCarrier = false
}

// endEpisode forgets the evidence and the episode's identity.
func (ep *episode) endEpisode() {
	ep.newAttempt()
	ep.evidence = nil
	ep.id = ""
	ep.suspicion = Suspicion{}
}

// prune drops evidence older than window before now.
func (ep *episode) prune(now time.Time, window time.Duration) {
	i := 0
	for i < len(ep.evidence) && now.Sub(ep.evidence[i].ev.Time) > window {
		i++
	}
	if i > 0 {
		ep.evidence = append(ep.evidence[:0], ep.evidence[i:]...)
	}
}

// count is the number of evidence items of c.
func (ep *episode) count(c category) int {
	n := 0
	for _, e := range ep.evidence {
		if e.cat == c {
			n++
		}
	}
	return n
}

// evidenceEvents is the number of distinct events among the evidence (one
// event can count in more than one category; its items are adjacent).
func (ep *episode) evidenceEvents() int {
	n := 0
	for i, e := range ep.evidence {
		if i == 0 || !sameEvent(ep.evidence[i-1].ev, e.ev) {
			n++
		}
	}
	return n
}

func sameEvent(a, b Event) bool {
	return a.Time.Equal(b.Time) && a.State == b.State && a.Old == b.Old && a.Reason == b.Reason && a.Device == b.Device
}

// connKey is the part of the episode key that names the network: the
// profile UUID, else its id, else the SSID; "" when the event names none.
func connKey(c Connection) string {
	switch {
	case c.UUID != "":
		return c.UUID
	case c.ID != "":
		return "id:" + c.ID
	case c.SSID != "":
		return "ssid:" + c.SSID
	}
	return ""
}

func episodeKey(device, conn string) string { return device + "\x00" + conn }

// realInUse reports whether the event says the real address is in use,
// either by its flag or because the address in use equals the known real
// one. Detection never raises then.
func realInUse(ev Event) bool {
	if !ev.Spoofed {
		return true
	}
	return ev.Address != "" && ev.Real != "" && strings.EqualFold(ev.Address, ev.Real)
}

// realConfirmed reports whether the event proves the real address is in
// use: both addresses known, equal, and the flag agrees.
func realConfirmed(ev Event) bool {
	return !ev.Spoofed && ev.Address != "" && ev.Real != "" && strings.EqualFold(ev.Address, ev.Real)
}

// eligible reports whether ev may count as evidence: the spoofed address
// is in use and the network is not exempt.
func eligible(ev Event) bool { return !realInUse(ev) && !ev.Exempt }

// interrupted reports whether a state change was caused by the user or a
// lost link, which says nothing about the network's view of the address.
func interrupted(ev Event) bool {
	return ev.Reason == ReasonUserRequested || ev.Reason == ReasonCarrier
}

// authReason reports whether a FAILED reason is about secrets or the
// supplicant: NO_SECRETS (7) or SUPPLICANT_DISCONNECT/CONFIG_FAILED/
// FAILED/TIMEOUT (8-11).
func authReason(r uint32) bool {
	return r == ReasonNoSecrets || (r >= ReasonSupplicantDisconnect && r <= ReasonSupplicantTimeout)
}
