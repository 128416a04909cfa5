// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"context"
	"fmt"
	"log/slog"
	"sort"
	"time"
)

// secretsCheckMaxDwell separates NM's secrets check from a timeout. When an
// activation needs secrets it does not hold, NM goes CONFIG -> NEED_AUTH
// (reason NONE) at once, inside stage 2 (nm-device-wifi.c act_stage2_config,
// observed for wired 802.1X on the test bed: milliseconds). The association
// timeout (Wi-Fi, 25 s) and the 802.1X auth-timeout (seconds, 25 by default)
// that produce the same transition fire after at least a second. A
// NEED_AUTH/NONE from CONFIG is therefore a timeout when it is not the first
// NEED_AUTH of the attempt, or when CONFIG lasted at least this long.
const secretsCheckMaxDwell = time.Second

// Detector is the failure detector: a pure state machine per (device,
// connection), fed with the ordered event stream. It is not safe for
// concurrent use; the service feeds it from one goroutine.
type Detector struct {
	cfg Config
	log *slog.Logger

	episodes map[string]*episode // by episodeKey
	current  map[string]string   // device -> key of the episode it is activating
	history  map[string]struct{} // connection UUIDs that once activated with the real address
	histFIFO []string            // insertion order of history, for its bound

	portals    map[string]portalSighting // by connection UUID: the latest private address behind a portal
	portalFIFO []string                  // insertion order of portals, for its bound

	seq       uint64    // episodes numbered so far
	now       time.Time // latest event time seen
	lastSweep time.Time
}

// New returns a detector with cfg; a nil log discards the transition log.
func New(cfg Config, log *slog.Logger) (*Detector, error) {
	if err := cfg.Validate(); err != nil {
		return nil, fmt.Errorf("new detector: %w", err)
	}
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Detector{
		cfg:      cfg,
		log:      log,
		episodes: make(map[string]*episode),
		current:  make(map[string]string),
		history:  make(map[string]struct{}),
		portals:  make(map[string]portalSighting),
	}, nil
}

// Feed hands the detector the next event and returns the suspicions it
// raises (usually none, at most one per event).
func (d *Detector) Feed(ev Event) []Suspicion {
	if ev.Time.After(d.now) {
		d.now = ev.Time
	}
	defer d.maybeSweep()

	if ev.Supplicant != nil {
		return d.feedSupplicant(ev)
	}
	if ev.ConnectivityChange {
		return d.feedPortal(ev)
	}
	if _, ok := phaseOf(ev.State); !ok {
		d.log.Debug("detect: ignoring unknown device state",
			slog.String("device", ev.Device), slog.Uint64("state", uint64(ev.State)))
		return nil
	}
	ep := d.episodeFor(ev)
	if ep == nil {
		return nil
	}
	if !ep.lastSeen.IsZero() && ev.Time.Sub(ep.lastSeen) > d.cfg.Window && ep.state.status == statusResolved {
		ep.endEpisode()
		d.setState(ep, state{ep.state.phase, statusWatching}, nil, "quiet for longer than the window: new episode")
	}
	if ev.Time.After(ep.lastSeen) {
		ep.lastSeen = ev.Time
	}
	ep.prune(ev.Time, d.cfg.Window)

	added := d.step(ep, ev)
	if ev.State == StateActivated && realConfirmed(ev) {
		d.RecordRealSuccess(ev.Connection.UUID)
	}
	if phase, _ := phaseOf(ev.State); phase == phaseIdle {
		delete(d.current, ev.Device)
	}
	if !added {
		return nil
	}
	return d.judge(ep, ev)
}

// judge raises the episode's suspicion when its evidence now suffices, or
// notes that a raised one was seen again.
func (d *Detector) judge(ep *episode, ev Event) []Suspicion {
	switch ep.state.status {
	case statusWatching:
		if sp, ok := d.maybeRaise(ep, ev); ok {
			return []Suspicion{sp.clone()}
		}
	case statusSuspected:
		ep.suspicion.LastSeen = ev.Time
	}
	return nil
}

// episodeFor finds or creates the episode the event belongs to. An event
// that names no connection (NM has none at DISCONNECTED) goes to the
// episode the device was last activating, if any.
func (d *Detector) episodeFor(ev Event) *episode {
	ck := connKey(ev.Connection)
	if ck == "" {
		key, ok := d.current[ev.Device]
		if !ok {
			return nil
		}
		return d.episodes[key]
	}
	key := episodeKey(ev.Device, ck)
	if prev, ok := d.current[ev.Device]; ok && prev != key {
		if old := d.episodes[prev]; old != nil {
			old.newAttempt()
			d.setState(old, state{phaseIdle, old.state.status}, nil, "device moved to connection "+ck)
		}
	}
	d.current[ev.Device] = key
	ep := d.episodes[key]
	if ep == nil {
		ep = &episode{key: key, device: ev.Device}
		d.episodes[key] = ep
	}
	ep.conn = mergeConn(ep.conn, ev.Connection)
	return ep
}

// mergeConn keeps what is known of a connection's names.
func mergeConn(old, nw Connection) Connection {
	if nw.UUID == "" {
		nw.UUID = old.UUID
	}
	if nw.ID == "" {
		nw.ID = old.ID
	}
	if nw.SSID == "" {
		nw.SSID = old.SSID
	}
	return nw
}

// setState is the one place an episode's state changes. Like NM's
// _set_state_full it logs "old -> new (reason)"; the reason names the NM
// transition ev (when there is one) and why.
func (d *Detector) setState(ep *episode, to state, ev *Event, why string) {
	old := ep.state
	if old == to {
		return
	}
	ep.state = to
	if !d.log.Enabled(context.Background(), slog.LevelDebug) {
		return
	}
	reason := why
	if ev != nil {
		reason = fmt.Sprintf("NM %d -> %d, reason %d%s", ev.Old, ev.State, ev.Reason, why)
	}
	d.log.Debug(fmt.Sprintf("detect: %s -> %s (%s)", old, to, reason),
		slog.String("device", ep.device), slog.String("connection", ep.conn.UUID),
		slog.String("id", ep.conn.ID))
}

// step advances the episode's state machine with ev and records the
// evidence ev carries. It reports whether evidence was added.
func (d *Detector) step(ep *episode, ev Event) bool {
	to, _ := phaseOf(ev.State)
	why := ""
	added := false
	switch to {
	case phasePrepare:
		if ev.Old != StateNeedAuth {
			ep.newAttempt()
			why += ", new attempt"
		}
	case phaseConfig:
		ep.configSince = ev.Time
	case phaseNeedAuth:
		tried := false
		if ev.Old == StateConfig {
			switch {
			case ev.Reason != ReasonNone:
				tried = true
				why += ", the supplicant gave up"
			case ep.needAuthRounds > 0 || ep.configDwell(ev) >= secretsCheckMaxDwell:
				tried = true
				why += ", association/authentication timed out"
				added = d.addEvidence(ep, catAssocTimeout, ev) || added
			default:
				why += ", secrets check"
			}
		}
		if tried {
			ep.tries++
		}
		added = d.closeRound(ep, ev) || added
		ep.needAuthRounds++
		ep.roundOpen = true
	case phaseIPConfig:
		if ep.roundOpen {
			why += ", secrets accepted"
		}
		ep.roundOpen = false
		if ev.Old < StateIPConfig {
			ep.ipCarrier = ev.Carrier
		}
	case phaseActivated:
		ep.endEpisode()
		d.setState(ep, state{phaseActivated, statusWatching}, &ev, why+", activated: episode ends")
		return false
	case phaseFailed:
		if interrupted(ev) {
			ep.roundOpen = false
			why += ", interrupted: not evidence"
			break
		}
		if ev.Old == StateConfig {
			ep.tries++
		}
		added = d.closeRound(ep, ev) || added
		switch {
		case authReason(ev.Reason) && ep.tries > 0 && ep.keyMismatch:
			why += ", the secrets were refused (wrong secrets look the same): not an auth-failure"
		case authReason(ev.Reason) && ep.tries > 0:
			added = d.addEvidence(ep, catAuthFailure, ev) || added
		case ev.Reason == ReasonSSIDNotFound && ev.Old == StateConfig && ep.configDwell(ev) >= secretsCheckMaxDwell:
			// NM 1.42-1.52: "association took too long" on a network it
			// sees ends in FAILED ssid-not-found, as a MAC allow-list's
			// refusal does.
			why += ", association timed out"
			added = d.addEvidence(ep, catAssocTimeout, ev) || added
		}
		// With carrier: the link was up and nobody answered. Wi-Fi loses
		// carrier as NetworkManager fails the activation (the FAILED
		// event already sees it down), so carrier when IP_CONFIG began
		// counts too.
		if ev.Reason == ReasonIPConfigUnavailable && ev.Old == StateIPConfig && (ev.Carrier || ep.ipCarrier) {
			added = d.addEvidence(ep, catDHCPFailure, ev) || added
		}
	case phaseIdle, phaseDeactivating:
		ep.roundOpen = false
	}
	if !eligible(ev) {
		why += ", not evidence: " + ineligibleWhy(ev)
	}
	d.setState(ep, state{to, ep.state.status}, &ev, why)
	return added
}

// configDwell is how long the device stayed in CONFIG before ev, or 0 when
// that is unknown.
func (ep *episode) configDwell(ev Event) time.Duration {
	if ep.configSince.IsZero() || ev.Time.IsZero() {
		return 0
	}
	return ev.Time.Sub(ep.configSince)
}

// closeRound ends an open NEED_AUTH round without progress; it counts as
// evidence only if the network was really tried in this attempt.
func (d *Detector) closeRound(ep *episode, ev Event) bool {
	if !ep.roundOpen {
		return false
	}
	ep.roundOpen = false
	if ep.tries == 0 {
		return false
	}
	return d.addEvidence(ep, catAuthRound, ev)
}

func ineligibleWhy(ev Event) string {
	if realInUse(ev) {
		return "real address in use"
	}
	return "exempt network"
}

// addEvidence records ev under c if ev may count as evidence.
func (d *Detector) addEvidence(ep *episode, c category, ev Event) bool {
	if !eligible(ev) {
		return false
	}
	if ep.id == "" {
		d.seq++
		ep.seq = d.seq
		ep.id = fmt.Sprintf("%s/%s/%d/%d", ep.device, connKey(ep.conn), ev.Time.Unix(), ep.seq)
	}
	if len(ep.evidence) >= maxEvidence {
		ep.evidence = append(ep.evidence[:0], ep.evidence[1:]...)
	}
	ep.evidence = append(ep.evidence, evidence{cat: c, ev: ev})
	return true
}

// maybeRaise raises a Suspicion when a threshold is reached.
func (d *Detector) maybeRaise(ep *episode, ev Event) (Suspicion, bool) {
	for _, c := range raiseOrder() {
		n := ep.count(c)
		if n < d.threshold(c) {
			continue
		}
		_, known := d.history[ep.conn.UUID]
		score := 0
		if ep.evidenceEvents() >= 2 {
			score++ // repeated: more than one failure, not one bad moment
		}
		if known {
			score++
		}
		sp := Suspicion{
			ID:         ep.id,
			Device:     ep.device,
			Connection: ep.conn,
			Kind:       c.kind(),
			Confidence: confidenceFromScore(score),
			FirstSeen:  ep.evidence[0].ev.Time,
			LastSeen:   ev.Time,
			Reason:     reasonText(c, n, known),
		}
		for _, e := range ep.evidence {
			sp.Evidence = append(sp.Evidence, e.ev)
		}
		ep.suspicion = sp
		d.setState(ep, state{ep.state.phase, statusSuspected}, nil, fmt.Sprintf("raised %s: %s", sp.Kind, sp.Reason))
		d.log.Info("detect: the network may be rejecting the private address",
			slog.String("device", sp.Device), slog.String("connection", sp.Connection.UUID),
			slog.String("kind", string(sp.Kind)), slog.String("confidence", sp.Confidence.String()),
			slog.String("reason", sp.Reason))
		return sp, true
	}
	return Suspicion{}, false
}

func (d *Detector) threshold(c category) int {
	switch c {
	case catAuthRound:
		return d.cfg.AuthLoopRounds
	case catAssocTimeout:
		return d.cfg.AssociationTimeouts
	case catAuthFailure:
		return d.cfg.AuthFailures
	case catDHCPFailure:
		return d.cfg.DHCPFailures
	case catAuthReject:
		return d.cfg.AuthFailures
	}
	return maxThreshold + 1
}

// Pending returns the suspicions raised and not yet resolved, oldest first.
func (d *Detector) Pending() []Suspicion {
	var out []Suspicion
	for _, ep := range d.episodes {
		if ep.state.status == statusSuspected {
			out = append(out, ep.suspicion.clone())
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].FirstSeen.Equal(out[j].FirstSeen) {
			return out[i].FirstSeen.Before(out[j].FirstSeen)
		}
		return out[i].ID < out[j].ID
	})
	return out
}

// Resolve records that the user acted on (device, uuid) (restored the real
// address or dismissed): the episode ends and nothing more is raised for
// it until a new episode (after ACTIVATED, or after a quiet Window).
func (d *Detector) Resolve(device, uuid string) {
	key := episodeKey(device, connKey(Connection{UUID: uuid}))
	ep := d.episodes[key]
	if ep == nil {
		return
	}
	ep.endEpisode()
	d.setState(ep, state{ep.state.phase, statusResolved}, nil, "resolved by the user")
}

// maxHistory bounds the remembered real-address successes.
const maxHistory = 4096

// RecordRealSuccess remembers that connection uuid once ACTIVATED with the
// real address: a later failure with the spoofed address is then more
// likely caused by the address (higher confidence). Feed also records it
// when it sees such an activation.
func (d *Detector) RecordRealSuccess(uuid string) {
	if uuid == "" {
		return
	}
	if _, ok := d.history[uuid]; ok {
		return
	}
	if len(d.histFIFO) >= maxHistory {
		delete(d.history, d.histFIFO[0])
		d.histFIFO = d.histFIFO[1:]
	}
	d.history[uuid] = struct{}{}
	d.histFIFO = append(d.histFIFO, uuid)
}
