// SPDX-License-Identifier: GPL-3.0-or-later

package detect

// phase is the detector's view of where an activation of one (device,
// connection) stands, derived from NM's device state.
type phase uint8

const (
	phaseIdle         phase = iota // UNMANAGED, UNAVAILABLE, DISCONNECTED, or not seen yet
	phasePrepare                   // PREPARE
	phaseConfig                    // CONFIG: the supplicant / link layer runs here
	phaseNeedAuth                  // NEED_AUTH: a secrets round is open
	phaseIPConfig                  // IP_CONFIG, IP_CHECK, SECONDARIES: past L2
	phaseActivated                 // ACTIVATED
	phaseDeactivating              // DEACTIVATING
	phaseFailed                    // FAILED
)

func (p phase) String() string {
	switch p {
	case phaseIdle:
		return "idle"
	case phasePrepare:
		return "prepare"
	case phaseConfig:
		return "config"
	case phaseNeedAuth:
		return "need-auth"
	case phaseIPConfig:
		return "ip-config"
	case phaseActivated:
		return "activated"
	case phaseDeactivating:
		return "deactivating"
	case phaseFailed:
		return "failed"
	}
	return "invalid"
}

// phaseOf maps an NM device state to a phase; ok is false for states NM
// does not define.
func phaseOf(nmState uint32) (p phase, ok bool) {
	switch nmState {
	case StateUnmanaged, StateUnavailable, StateDisconnected:
		return phaseIdle, true
	case StatePrepare:
		return phasePrepare, true
	case StateConfig:
		return phaseConfig, true
	case StateNeedAuth:
		return phaseNeedAuth, true
	case StateIPConfig, StateIPCheck, StateSecondaries:
		return phaseIPConfig, true
	case StateActivated:
		return phaseActivated, true
	case StateDeactivating:
		return phaseDeactivating, true
	case StateFailed:
		return phaseFailed, true
	}
	return phaseIdle, false
}

// status is where the episode stands with the user.
type status uint8

const (
	statusWatching  status = iota // collecting evidence, nothing raised
	statusSuspected               // a Suspicion was raised and is pending
	statusResolved                // the user acted; nothing is raised until a new episode
)

func (s status) String() string {
	switch s {
	case statusWatching:
		return "watching"
	case statusSuspected:
		return "suspected"
	case statusResolved:
		return "resolved"
	}
	return "invalid"
}

// state is the state of one (device, connection) state machine. Every
// change goes through Detector.setState.
type state struct {
	phase  phase
	status status
}

func (s state) String() string { return s.phase.String() + "/" + s.status.String() }
