// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"bytes"
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// evaluate decides on one device and acts, in three steps: snapshot reads
// what the decision rests on (the link as it is now, NetworkManager's state
// when an address change may belong to an activation it has not signalled
// yet); plan, pure, returns the gate's decision and the actions it asks for
// (de-duplication of a refusal's violation and the restore follow-up
// included); execute performs them. Every change of the device's gate state
// goes through setGate, which logs it as "gate: old -> new (reason)".
func (s *Service) evaluate(ctx context.Context, d *devState, cause string, t0 time.Time) {
	snap := s.snapshot(ctx, d, cause, t0)
	defer s.giveLinkBack(d)
	p := plan(snap)
	if p.needBackstopDrops {
		// The one read the plan may ask for, only when a connection that
		// uses the real address is starting on a guarded card.
		snap.backstopRead, snap.backstopDropped = true, s.backstopDropped(d.iface)
		p = plan(snap)
	}
	if p.logDecided {
		s.log.Debug("gate: decided", slog.String("device", d.iface), slog.String("state", nm.StateName(d.nm.State)),
			slog.String("address", d.link.Addr.String()), slog.String("connection", snap.view.Network.ID), slog.String("cloned", snap.view.ActiveClonedMAC),
			slog.Bool("allowed", p.dec.Verdict.Allowed), slog.Bool("block", p.dec.Block), slog.Bool("spoof", p.dec.Spoof), slog.String("cause", cause))
	}
	s.execute(ctx, d, p, t0)
}

// evalSnapshot is everything plan decides on: the gate's inputs and the
// device's state the actions depend on.
type evalSnapshot struct {
	cause string
	now   time.Time

	pol        *policy.Policy
	view       gate.View
	exemptions []policy.Exemption
	secret     []byte

	gate         gateState
	held         bool // the service's boot-time hold
	nmReachable  bool // NetworkManager knows the device and the service has a client
	autoconnOff  bool
	restoring    bool
	network      detect.Connection
	profile      dbus.ObjectPath
	activeConn   dbus.ObjectPath
	refusedAC    dbus.ObjectPath
	refusedAt    time.Time
	guarded      bool // the backstop drops the real address
	realKnown    bool // six-byte real address
	backstopRead bool // backstopDropped was read (plan asks for it)
	// backstopDropped: the backstop's rule for the device has dropped frames.
	backstopDropped bool
}

// snapshot reads what evaluate decides on. The link is judged as it is now,
// not as the last event said; the real address on a card whose backstop
// guards it is taken down before anything else (fastDownWanted), since a
// D-Bus round trip below can take milliseconds.
func (s *Service) snapshot(ctx context.Context, d *devState, cause string, t0 time.Time) evalSnapshot {
	if cur, err := s.cfg.Links.Get(d.iface); err == nil && cur.Index == d.link.Index {
		d.link = cur
	}
	s.refreshCarries(d)
	d.fast = fastDown{}
	if fd, ok := s.tripOf(d); ok {
		// The sentinel took it down already, from the kernel's message.
		d.fast = fd
	}
	if !d.fast.done && fastDownWanted(d, s.held, func() bool { return s.realWantedOn(d) }) {
		if err := s.cfg.Links.SetDown(d.iface); err == nil {
			d.fast = fastDown{done: true, wasUp: true, reaction: time.Since(t0)}
			d.link.Up = false
		}
	}
	// NM applies a profile's address in PREPARE and says so afterwards: an
	// address change seen "at rest" may belong to an activation whose
	// signal has not arrived. Ask NM before treating it as at rest.
	if d.nmKnown && s.nm != nil && !gate.Activating(d.nm.State) && strings.HasPrefix(cause, causeAddressChanged) {
		if st, err := s.nm.DeviceState(ctx, d.nm.Path); err == nil && st != d.nm.State {
			s.log.Debug("nm: state read ahead of its signal", slog.String("device", d.iface), slog.String("state", nm.StateName(st)))
			d.nm.State = st
			if gate.Activating(st) {
				// The device's ActiveConnection is the new one by now;
				// the one recorded may be the last connection's (the
				// profile NM applies the address of is the new one's).
				if ac, err := s.nm.ActiveConnectionOf(ctx, d.nm.Path); err == nil {
					d.nm.ActiveConnection = ac
				}
				s.refreshConnection(ctx, d)
			}
		}
	}
	// The other way round: NetworkManager ends an activation (FAILED,
	// then DISCONNECTED) and sets its random scan address on the card at
	// once, before its signals saying so reach the service, which still
	// has the device in flight and would judge that address as the
	// activation's (a false violation at the end of every refused Wi-Fi
	// activation). NetworkManager sets a scan address only while no
	// activation is in flight (gate.NMScanPattern, nmScanAddress): for an
	// address of that pattern, ask NetworkManager whether the activation
	// is still in flight. In flight the address is judged as the
	// activation's, as before; anything else is judged at rest.
	if d.nmKnown && s.nm != nil && gate.Activating(d.nm.State) && strings.HasPrefix(cause, causeAddressChanged) &&
		d.nm.Type == "wifi" && gate.NMScanPattern(d.policyDevice()) {
		if st, err := s.nm.DeviceState(ctx, d.nm.Path); err == nil && st != 0 && !gate.Activating(st) {
			s.log.Debug("nm: activation over ahead of its signal", slog.String("device", d.iface), slog.String("state", nm.StateName(st)),
				slog.String("address", d.link.Addr.String()))
			d.nm.State = st
		}
	}
	return s.snapshotOf(d, cause)
}

// snapshotOf assembles the snapshot from what the service holds on d (no
// I/O).
func (s *Service) snapshotOf(d *devState, cause string) evalSnapshot {
	return evalSnapshot{
		cause: cause, now: time.Now(),
		pol: s.effectivePolicy(), view: s.viewOf(d), exemptions: s.exemptions(), secret: s.state.SecretBytes(),
		gate: d.gate, held: s.held, nmReachable: d.nmKnown && s.nm != nil, autoconnOff: d.autoconnOff,
		restoring: d.restoring != nil, network: d.network, profile: d.profile, activeConn: d.nm.ActiveConnection,
		refusedAC: d.refusedAC, refusedAt: d.refusedAt, guarded: d.guarded != nil, realKnown: len(d.real) == 6,
	}
}

// fastDownWanted reports whether evaluate takes d's link down before it
// decides: the real address, up, on a card whose backstop guards it. Not
// during the hold (the hold drops everything), nor when a profile of the
// card carries the real address in memory (realWanted, asked last): that may be
// NetworkManager applying it for an exempt network (a link down would break
// the association on Wi-Fi); the backstop drops the frames meanwhile and the
// decision still refuses the rest.
func fastDownWanted(d *devState, held bool, realWanted func() bool) bool {
	return len(d.real) == 6 && d.guarded != nil && !held && bytes.Equal(d.link.Addr, d.real) && d.link.Up && !realWanted()
}

// giveLinkBack ends an evaluate that took the link down on suspicion
// (fastDownWanted) and then found the device allowed (an exempt network, a
// policy that keeps the real address): the link comes back up.
func (s *Service) giveLinkBack(d *devState) {
	if d.fast.done && (d.gate == gateAllowed || d.gate == gateIgnored || d.gate == gateAudit) {
		if cur, err := s.cfg.Links.Get(d.iface); err == nil && !cur.Up {
			s.rearm()
			if err := s.cfg.Links.SetUp(d.iface); err != nil {
				s.log.Warn("link: up failed", slog.String("device", d.iface), slog.String("error", err.Error()))
			}
		}
	}
	d.fast = fastDown{}
}

// backstopDropped reports whether the backstop's rule for iface has dropped
// frames (false when the rules cannot be read).
func (s *Service) backstopDropped(iface string) bool {
	rules, err := s.cfg.Backstop.List()
	if err != nil {
		return false
	}
	for _, r := range rules {
		if r.Interface == iface && r.Dropped > 0 {
			return true
		}
	}
	return false
}

// actionKind is one thing evaluate does to a device.
type actionKind int

const (
	actSetGate        actionKind = iota // setGate(gate, reason)
	actRecordVerdict                    // remember the decision's verdict on the device
	actGuard                            // put the backstop in the state the decision asks for
	actRestore                          // begin the reconnect with the real address (restore follow-up)
	actUnblock                          // give the device back to NM; stop when the block stays, if stopOnFail
	actAuditWarn                        // log the violation the audit enforcement does not enforce
	actSpoof                            // set a compliant address (spoof)
	actLinkDown                         // take the link down; the reaction time is measured here
	actMarkRefused                      // remember the refused active connection (de-duplication)
	actDisconnect                       // disconnect the device in NM
	actAutoconnectOff                   // turn NM's autoconnect off on the device (warnOnFail: say so)
	actViolation                        // record a violation (action "refused")
	actRelease                          // hand an unmanaged device to NM once the gate is satisfied
	actReconnect                        // reconnect a profile the service had disconnected
)

// action is one step of a plan.
type action struct {
	kind   actionKind
	gate   gateState // actSetGate
	reason string    // actSetGate, actAuditWarn, actViolation
	// stopOnFail (actUnblock): the rest of the plan is dropped when the
	// block stays.
	stopOnFail bool
	// warnOnFail (actAutoconnectOff): a failure is logged.
	warnOnFail bool
	// reportFailure (actSpoof): a failure to set the address is a new
	// violation (not when the card was already kept down for it).
	reportFailure bool
	// unblockAfter (actSpoof): after a boot-time hold, a spoof that left
	// the card spoofed or allowed gives it back to NM.
	unblockAfter bool
}

// evalPlan is plan's answer: the decision and the actions, in order.
type evalPlan struct {
	dec     gate.Decision
	cause   string // what made the service decide, for the logs
	actions []action
	// needBackstopDrops: the decision depends on whether the backstop
	// dropped frames; read it and plan again.
	needBackstopDrops bool
	logDecided        bool
}

// refusalRepeat is how long a refusal of one activation covers its later
// states and address changes: no second violation within it.
const refusalRepeat = 3 * time.Second

// plan is the pure decision on a snapshot: the gate's Decision and the
// actions that carry it out.
func plan(sn evalSnapshot) evalPlan {
	dec := gate.Decide(sn.pol, sn.view, sn.exemptions, sn.secret)
	p := evalPlan{dec: dec, cause: sn.cause}
	if startedUnderBackstopCandidate(sn, dec) {
		if !sn.backstopRead {
			return evalPlan{dec: dec, cause: sn.cause, needBackstopDrops: true}
		}
		if sn.backstopDropped {
			// NetworkManager gave the exempt network the real address (the
			// profile's, in memory) before the service could lift the
			// backstop, which dropped its first frames (a DHCP request):
			// reconnect with the backstop lifted from the start.
			p.actions = []action{
				{kind: actSetGate, gate: gateRemediating, reason: sn.cause + ": the backstop dropped the first frames of a connection that uses the real address; reconnecting"},
				{kind: actGuard},
				{kind: actRestore},
			}
			return p
		}
	}
	p.logDecided = true
	add := func(a ...action) { p.actions = append(p.actions, a...) }
	add(action{kind: actRecordVerdict}, action{kind: actGuard})
	if sn.view.State == detect.StateDeactivating || sn.view.State == detect.StateFailed {
		// NM is tearing the connection down and resets the address when it
		// is done: act when it reports the card at rest, not in between
		// (the backstop still guards).
		return p
	}
	if dec.Spoof && dec.Reactivate && dec.Verdict.Mode == policy.ModePermanent && sn.profile != "" {
		if !sn.restoring {
			add(action{kind: actSetGate, gate: gateRemediating, reason: sn.cause + ": " + dec.Reason}, action{kind: actRestore})
		}
		return p
	}
	wasHeld := sn.gate == gateHeld
	kept := sn.gate == gateBlocked || sn.gate == gateFailed || sn.gate == gateHeld
	unblockAfter := false
	switch {
	case !dec.Verdict.Guarded:
		// Not guarded: hands off, except to undo what the service did.
		if kept {
			add(action{kind: actUnblock, stopOnFail: true})
		}
		add(action{kind: actSetGate, gate: gateIgnored, reason: dec.Reason})
	case dec.Verdict.Enforcement == policy.EnforceAudit && !dec.Verdict.Allowed:
		add(action{kind: actAuditWarn, reason: dec.Reason}, action{kind: actSetGate, gate: gateAudit, reason: dec.Reason})
	case dec.Spoof:
		add(action{kind: actSpoof, reportFailure: sn.gate != gateFailed, unblockAfter: wasHeld})
	case dec.Block && sn.held:
		// Keep the device silent until the decision; it stays unmanaged.
		add(action{kind: actLinkDown})
		if dec.Disconnect {
			add(action{kind: actDisconnect})
		}
		if sn.nmReachable && !sn.autoconnOff {
			add(action{kind: actAutoconnectOff})
		}
		add(action{kind: actSetGate, gate: gateHeld, reason: dec.Reason})
	case dec.Block:
		add(refusal(sn, dec)...)
	default:
		// A block is lifted at rest only: a compliant address in flight
		// (PREPARE comes before NM applies a profile's address) proves
		// nothing about what the profile will set.
		if kept && !gate.Activating(sn.view.State) {
			add(action{kind: actUnblock, stopOnFail: true})
		}
		if sn.gate != gateSpoofed || !dec.Verdict.Allowed {
			add(action{kind: actSetGate, gate: gateAllowed, reason: dec.Reason})
			unblockAfter = wasHeld
		}
	}
	if unblockAfter {
		add(action{kind: actUnblock})
	}
	add(action{kind: actRelease}, action{kind: actReconnect})
	return p
}

// refusal is the actions that refuse a device: link down at once, then NM
// disconnect and autoconnect off, one violation per refused activation
// (refusedAlready: a repeat is only taken down).
func refusal(sn evalSnapshot, dec gate.Decision) []action {
	acts := []action{{kind: actLinkDown}}
	if dec.Disconnect && refusedAlready(sn) {
		return acts
	}
	if dec.Disconnect {
		acts = append(acts, action{kind: actMarkRefused}, action{kind: actDisconnect})
	}
	if sn.nmReachable && !sn.autoconnOff {
		acts = append(acts, action{kind: actAutoconnectOff, warnOnFail: true})
	}
	if dec.Disconnect {
		acts = append(acts, action{kind: actViolation, reason: dec.Reason})
	}
	return append(acts, action{kind: actSetGate, gate: gateBlocked, reason: sn.cause + ": " + dec.Reason})
}

// block refuses d on dec alone (the refusal's actions on a snapshot of d).
func (s *Service) block(ctx context.Context, d *devState, dec gate.Decision, cause string, t0 time.Time) {
	s.execute(ctx, d, evalPlan{dec: dec, cause: cause, actions: refusal(s.snapshotOf(d, cause), dec)}, t0)
}

// startedUnderBackstopCandidate reports whether d may be activating a
// network that uses the real address while the backstop, put back when the
// previous connection ended, still guards it: NetworkManager applies the
// profile's address and sends at once (a DHCP request within milliseconds
// of PREPARE on Ethernet), before the service has seen the activation
// start. Whether the backstop dropped frames decides.
func startedUnderBackstopCandidate(sn evalSnapshot, dec gate.Decision) bool {
	return sn.guarded && !sn.restoring && sn.profile != "" && gate.Activating(sn.view.State) &&
		dec.Verdict.Guarded && dec.Verdict.Mode == policy.ModePermanent && dec.Verdict.Allowed && sn.realKnown
}

// refusedAlready reports whether this activation was refused already: its
// address change (netlink, PREPARE) and its next state (CONFIG) both show
// the violation, and NetworkManager, ending it, may set its scan address
// before the service reads its next state (no active connection any more:
// the same episode). One activation is one violation.
func refusedAlready(sn evalSnapshot) bool {
	ended := sn.activeConn == "/" || sn.activeConn == ""
	return (sn.gate == gateBlocked || sn.refusedAC == refusedAtPrepare) && sn.refusedAC != "" && sn.refusedAC != "/" &&
		(sn.refusedAC == sn.activeConn || sn.refusedAC == refusedAtPrepare || ended) && sn.now.Sub(sn.refusedAt) < refusalRepeat
}

// execute performs a plan's actions on d, in order.
func (s *Service) execute(ctx context.Context, d *devState, p evalPlan, t0 time.Time) {
	dec, cause := p.dec, p.cause
	reaction := time.Duration(0)
	for _, a := range p.actions {
		switch a.kind {
		case actSetGate:
			s.setGate(d, a.gate, a.reason)
		case actRecordVerdict:
			d.verdict = dec.Verdict
		case actGuard:
			s.applyGuard(d, dec)
		case actRestore:
			s.beginRestore(ctx, d, d.network, d.profile, "")
		case actUnblock:
			if !s.unblock(ctx, d) && a.stopOnFail {
				return
			}
		case actAuditWarn:
			s.log.Warn("audit: policy violation (not enforced)", slog.String("device", d.iface), slog.String("reason", a.reason))
		case actSpoof:
			s.spoof(ctx, d, dec, cause, t0, a.reportFailure)
			if a.unblockAfter && (d.gate == gateSpoofed || d.gate == gateAllowed) {
				s.unblock(ctx, d)
			}
		case actLinkDown:
			err := s.cfg.Links.SetDown(d.iface)
			reaction = time.Since(t0)
			if d.fast.done {
				reaction = d.fast.reaction
			}
			if err != nil {
				s.log.Error("link: down failed", slog.String("device", d.iface), slog.String("error", err.Error()))
			}
		case actMarkRefused:
			d.refusedAC, d.refusedAt = d.nm.ActiveConnection, time.Now()
		case actDisconnect:
			s.disconnect(ctx, d)
		case actAutoconnectOff:
			if err := s.nm.SetAutoconnect(ctx, d.nm.Path, false); err != nil {
				if a.warnOnFail {
					s.log.Warn("nm: cannot turn autoconnect off", slog.String("device", d.iface), slog.String("error", err.Error()))
				}
			} else {
				d.autoconnOff = true
			}
		case actViolation:
			s.recordViolation(d, "refused", a.reason, reaction)
		case actRelease:
			s.release(ctx, d)
		case actReconnect:
			s.reconnect(ctx, d)
		}
	}
}
