// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import "time"

// Kind names the failure pattern behind a Suspicion.
type Kind string

// The kinds of Suspicion.
const (
	// KindAuthLoop: NM asked for secrets again and again (NEED_AUTH rounds
	// that never reached IP_CONFIG).
	KindAuthLoop Kind = "auth-loop"
	// KindAuthFailure: the activation FAILED with NO_SECRETS or a supplicant
	// reason after the network was really tried.
	KindAuthFailure Kind = "auth-failure"
	// KindDHCPFailure: FAILED/IP_CONFIG_UNAVAILABLE from IP_CONFIG with
	// carrier: nobody handed out an address.
	KindDHCPFailure Kind = "dhcp-failure"
	// KindAssociationTimeout: NM's association (Wi-Fi) or 802.1X auth
	// timeout fired: NEED_AUTH/NONE from CONFIG after the supplicant ran.
	KindAssociationTimeout Kind = "association-timeout"
	// KindAuthRejected: the access point refused the authentication of the
	// private address (wpa_supplicant's AuthStatusCode), as a MAC
	// allow-list does.
	KindAuthRejected Kind = "auth-rejected"
)

// Confidence says how sure the detector is that the address is the cause.
type Confidence string

// Confidence levels, lowest first.
const (
	ConfidenceLow    Confidence = "low"
	ConfidenceMedium Confidence = "medium"
	ConfidenceHigh   Confidence = "high"
)

// String returns the level's name.
func (c Confidence) String() string { return string(c) }

// confidenceFromScore maps 0 to low, 1 to medium and 2 or more to high.
func confidenceFromScore(score int) Confidence {
	switch {
	case score <= 0:
		return ConfidenceLow
	case score == 1:
		return ConfidenceMedium
	default:
		return ConfidenceHigh
	}
}

// Suspicion says a network probably rejects the spoofed address in use.
type Suspicion struct {
	ID         string // stable per episode: device/connection/first-seen-unix/sequence
	Device     string
	Connection Connection
	Kind       Kind
	Evidence   []Event // the events that counted, oldest first, decisive event last
	Confidence Confidence
	FirstSeen  time.Time // first evidence of the episode still in the window
	LastSeen   time.Time // latest evidence
	Reason     string    // plain words, for people
}

func (s Suspicion) clone() Suspicion {
	s.Evidence = append([]Event(nil), s.Evidence...)
	return s
}
