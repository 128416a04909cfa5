// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// startRestore puts the real address on device for one network and
// reconnects: the exemption is recorded first (once: in memory until the
// connection ends; always: in the state file), then the device is
// disconnected, given its real address while down, and the same connection
// is activated. The outcome is signalled (Restored / RestoreFailed) when NM
// reports it. uuid "" means the network of the device's pending suspicion,
// else its active connection.
func (s *Service) startRestore(ctx context.Context, device, uuid string, scope policy.Scope) error {
	return s.startChoice(ctx, device, uuid, scope, "")
}

// startKeepPrivate gives device's network uuid ("" = the network of its
// pending suspicion) the same private address at every connection from now
// on (a lasting choice with mode stable, in the state file, listed and
// forgotten as exemptions are) and reconnects it with that address, as a
// restore does with the real one.
func (s *Service) startKeepPrivate(ctx context.Context, device, uuid string) error {
	return s.startChoice(ctx, device, uuid, policy.ScopeAlways, policy.ModeStable)
}

// startChoice is startRestore (mode "": the real address) and
// startKeepPrivate (policy.ModeStable).
func (s *Service) startChoice(ctx context.Context, device, uuid string, scope policy.Scope, mode policy.Mode) error {
	d, ok := s.devs[device]
	if !ok {
		return fmt.Errorf("no device %q", device)
	}
	if !d.nmKnown || s.nm == nil {
		return fmt.Errorf("device %s is not managed by NetworkManager (or NetworkManager is not running)", device)
	}
	if len(d.real) != 6 {
		return fmt.Errorf("the real address of %s is unknown", device)
	}
	if uuid == "" {
		uuid = s.suspectedUUID(device)
	}
	if uuid == "" {
		uuid = d.network.UUID
	}
	if uuid == "" {
		return fmt.Errorf("no connection given and none pending or active on %s", device)
	}
	path, err := s.nm.ProfileByUUID(ctx, uuid)
	if err != nil {
		return err
	}
	prof, err := s.nm.Profile(ctx, path)
	if err != nil {
		return err
	}
	conn := prof.Network()
	ex := policy.Exemption{UUID: conn.UUID, SSID: conn.SSID, Scope: scope, Mode: mode}
	if scope == policy.ScopeOnce {
		ex.Interface = device
		s.onceEx = append(s.onceEx, ex)
	} else if !hasExemption(s.state.Exemptions, ex) {
		s.state.Exemptions = append(s.state.Exemptions, ex)
		if err := s.state.Save(s.cfg.StatePath); err != nil {
			s.state.Exemptions = s.state.Exemptions[:len(s.state.Exemptions)-1]
			return fmt.Errorf("record the exemption: %w", err)
		}
	}
	what := "the real address"
	if mode == policy.ModeStable {
		what = "the same private address"
		// One address in every run now: the earlier sightings behind
		// its portal are no evidence any more.
		if scope != policy.ScopeOnce && s.state.DropPortal(conn.UUID) {
			s.saveState()
		}
	}
	s.log.Info("restore: using "+what+" for this network", slog.String("device", device),
		slog.String("connection", conn.ID), slog.String("uuid", conn.UUID), slog.String("scope", string(scope)))
	s.det.Resolve(device, conn.UUID)
	s.dropSuspicions(device, conn.UUID)
	// NetworkManager applies the address itself at the activation.
	s.syncProfiles(ctx, "restore")

	s.beginChoice(ctx, d, conn, path, scope, mode == policy.ModeStable)
	return nil
}

// beginRestore starts the phases of a restore (see restorePhase).
func (s *Service) beginRestore(ctx context.Context, d *devState, conn detect.Connection, profile dbus.ObjectPath, scope policy.Scope) {
	s.beginChoice(ctx, d, conn, profile, scope, false)
}

// beginChoice is beginRestore, or with keep the same phases for the same
// private address (startKeepPrivate).
func (s *Service) beginChoice(ctx context.Context, d *devState, conn detect.Connection, profile dbus.ObjectPath, scope policy.Scope, keep bool) {
	d.restoring = &restore{conn: conn, profile: profile, scope: scope, started: time.Now(), phase: restoreDisconnecting, keep: keep}
	if gate.Activating(d.nm.State) || d.nm.State == detect.StateDeactivating {
		if gate.Activating(d.nm.State) {
			s.disconnect(ctx, d)
		}
		return // restoreProgress goes on when NM reports the card at rest
	}
	s.restoreSetAddress(ctx, d)
}

// restoreSetAddress puts the real address on the card at rest and waits for
// NM to see it ready (or activates at once when NM has nothing to report).
func (s *Service) restoreSetAddress(ctx context.Context, d *devState) {
	if d.autoconnOff {
		s.unblock(ctx, d)
	}
	before := d.link.Addr.String()
	what := "restore: real address for "
	if d.restoring.keep {
		what = "restore: the same private address for "
	}
	s.evaluate(ctx, d, what+d.restoring.conn.ID, time.Now())
	if d.restoring == nil {
		return
	}
	switch {
	case d.restoring.keep && (d.link.Addr.String() == d.real.String() || !d.verdict.Allowed):
		s.failRestore(d, fmt.Sprintf("could not give %s the same private address for this network (gate %s)", d.iface, d.gate))
		return
	case !d.restoring.keep && d.link.Addr.String() != d.real.String():
		s.failRestore(d, fmt.Sprintf("could not put the real address on %s (gate %s)", d.iface, d.gate))
		return
	}
	d.restoring.phase = restoreSettling
	if before == d.link.Addr.String() && d.nm.State == detect.StateDisconnected {
		// Nothing changed on the link: NM has nothing more to report.
		s.restoreActivate(ctx, d)
		return
	}
	// The address change took the link down and up: NM reports the carrier
	// loss and return (UNAVAILABLE, then DISCONNECTED); activating before
	// that gets the activation cancelled.
	s.restoreSettle(d)
}

// restoreSettle waits for NM to see the card DISCONNECTED (ready) before
// the activation; a timer makes sure nothing waits for ever if NM does not
// report it.
func (s *Service) restoreSettle(d *devState) {
	iface, r := d.iface, d.restoring
	r.phase = restoreSettling
	time.AfterFunc(3*time.Second, func() {
		s.post(func() {
			if d2, ok := s.devs[iface]; ok && d2.restoring == r && r.phase == restoreSettling {
				s.restoreActivate(context.Background(), d2)
			}
		})
	})
}

// restoreActivate asks NM for the connection. NM refuses or cancels an
// activation asked for while the card's carrier is still coming back
// ("Authorization request cancelled": seen in the agent's end-to-end test
// under load, when the address change's carrier loss was reported after
// the request); the first such failure waits for the card to be ready and
// asks once more, a second one fails the restore.
func (s *Service) restoreActivate(ctx context.Context, d *devState) {
	r := d.restoring
	r.phase = restoreActivating
	err := s.activate(ctx, d, r.profile)
	if err == nil {
		return
	}
	if !r.retried {
		r.retried = true
		s.log.Info("restore: NetworkManager did not take the activation; asking again once the card is ready",
			slog.String("device", d.iface), slog.String("connection", r.conn.ID), slog.String("error", err.Error()))
		s.restoreSettle(d)
		return
	}
	s.failRestore(d, err.Error())
}

func hasExemption(list []policy.Exemption, ex policy.Exemption) bool {
	for _, e := range list {
		if e == ex {
			return true
		}
	}
	return false
}

// restoreProgress follows a restore through NM's states.
func (s *Service) restoreProgress(ctx context.Context, d *devState, nw, reason uint32) {
	r := d.restoring
	if r == nil {
		if nw == detect.StateDisconnected || nw == detect.StateFailed {
			s.endOnce(d)
		}
		return
	}
	switch r.phase {
	case restoreDisconnecting:
		if nw == detect.StateDisconnected || nw == detect.StateUnavailable {
			s.restoreSetAddress(ctx, d)
		}
	case restoreSettling:
		if nw == detect.StateDisconnected {
			s.restoreActivate(ctx, d)
		}
	case restoreActivating:
		switch nw {
		case detect.StateActivated:
			what := "the real address"
			if r.keep {
				what = "the same private address"
			}
			s.log.Info("restore: connected with "+what, slog.String("device", d.iface),
				slog.String("connection", r.conn.ID), slog.String("address", d.link.Addr.String()),
				slog.Duration("took", time.Since(r.started)))
			if r.scope != "" {
				s.emit(api.SignalRestored, d.iface, r.conn.UUID, d.link.Addr.String(), nw)
			}
			d.restoring = nil
		case detect.StateFailed:
			s.failRestore(d, fmt.Sprintf("NetworkManager failed the connection (reason %d)", reason))
		}
	}
}

func (s *Service) failRestore(d *devState, why string) {
	r := d.restoring
	if r == nil {
		return
	}
	s.log.Warn("restore: failed", slog.String("device", d.iface), slog.String("connection", r.conn.ID), slog.String("reason", why))
	if r.scope != "" {
		s.emit(api.SignalRestoreFailed, d.iface, r.conn.UUID, why)
	}
	d.restoring = nil
	s.endOnce(d)
}

// endOnce removes the device's "once" exemptions: the connection they were
// for has ended.
func (s *Service) endOnce(d *devState) {
	kept := s.onceEx[:0]
	ended := false
	for _, e := range s.onceEx {
		if e.Interface == d.iface && (d.restoring == nil || e.UUID != d.restoring.conn.UUID) {
			s.log.Info("restore: once-only exemption ended", slog.String("device", d.iface), slog.String("uuid", e.UUID))
			ended = true
			continue
		}
		kept = append(kept, e)
	}
	s.onceEx = kept
	if ended {
		// The next activation of that network is private again.
		ctx, cancel := context.WithTimeout(context.Background(), 2*nm.CallTimeout)
		defer cancel()
		s.syncProfiles(ctx, "once-only exemption ended")
	}
}

func (s *Service) suspectedUUID(device string) string {
	for i := len(s.suspicions) - 1; i >= 0; i-- {
		if s.suspicions[i].Device == device {
			return s.suspicions[i].Connection.UUID
		}
	}
	return ""
}

func (s *Service) dropSuspicions(device, uuid string) {
	kept := s.suspicions[:0]
	for _, sp := range s.suspicions {
		if sp.Device == device && sp.Connection.UUID == uuid {
			continue
		}
		kept = append(kept, sp)
	}
	s.suspicions = kept
}

// dismiss drops one pending suspicion; false when there is none by that id.
func (s *Service) dismiss(id string) bool {
	for _, sp := range s.suspicions {
		if sp.ID == id {
			s.det.Resolve(sp.Device, sp.Connection.UUID)
			s.dropSuspicions(sp.Device, sp.Connection.UUID)
			s.log.Info("detect: suspicion dismissed; keeping the private address", slog.String("id", id))
			return true
		}
	}
	return false
}

// setSpoofing records the global switch (ending a hold) and re-decides
// every device.
func (s *Service) setSpoofing(ctx context.Context, spoof bool, why string) {
	s.endHold(ctx, spoof, why)
	s.syncProfiles(ctx, why)
}

// apiDevices is the API's view of every device.
func (s *Service) apiDevices() []api.Device {
	dropped := map[string]uint64{}
	if rules, err := s.cfg.Backstop.List(); err == nil {
		for _, r := range rules {
			dropped[r.Interface] = r.Dropped
		}
	}
	out := make([]api.Device, 0, len(s.devs))
	for _, d := range s.devs {
		v := d.verdict
		a := api.Device{
			Interface: d.iface, Type: d.nm.Type, Address: d.link.Addr.String(),
			Real: d.real.String(), RealSource: d.realSource,
			Connection: d.network.ID, UUID: d.network.UUID, SSID: d.network.SSID,
			Gate: string(d.gate), Allowed: v.Allowed, Mode: string(v.Mode), Enforcement: string(v.Enforcement),
			Rule: v.Rule, Reason: v.Reason, Exempt: v.Exempt, Backstop: "none", Dropped: dropped[d.iface],
		}
		if d.nmKnown {
			a.NMState = nm.StateName(d.nm.State)
		}
		if s.held && d.gate == gateHeld {
			t := s.heldSince.UTC()
			a.HeldSince = &t
		}
		switch {
		case d.held:
			a.Backstop = "hold"
		case d.guarded != nil:
			a.Backstop = "guarding " + d.guarded.String()
		}
		out = append(out, a)
	}
	sortDevices(out)
	return out
}

func (s *Service) apiSuspicions() []api.Suspicion {
	out := make([]api.Suspicion, 0, len(s.suspicions))
	for _, sp := range s.suspicions {
		out = append(out, apiSuspicion(sp))
	}
	return out
}

func apiSuspicion(sp detect.Suspicion) api.Suspicion {
	return api.Suspicion{
		ID: sp.ID, Device: sp.Device, Connection: sp.Connection, Kind: string(sp.Kind),
		Confidence: fmt.Sprint(sp.Confidence), Reason: sp.Reason, FirstSeen: sp.FirstSeen, LastSeen: sp.LastSeen,
	}
}

func (s *Service) apiStatus() api.Status {
	st := api.Status{
		Version:    s.cfg.Version,
		Spoof:      s.effectivePolicy().Spoof,
		Policy:     s.pol.Sources,
		Exemptions: append(append([]policy.Exemption{}, s.state.Exemptions...), s.onceEx...),
		Violations: append([]api.Violation{}, s.violations...),
		Held:       s.held,
		NMRunning:  s.nm != nil && len(s.byPath) > 0,
	}
	if s.held {
		t := s.heldSince.UTC()
		st.HeldSince = &t
	}
	return st
}

func sortDevices(ds []api.Device) {
	slices.SortFunc(ds, func(a, b api.Device) int { return strings.Compare(a.Interface, b.Interface) })
}
