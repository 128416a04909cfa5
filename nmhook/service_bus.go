// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"fmt"
	"log/slog"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// connectBus dials the bus, subscribes and resyncs every device.
func (s *Service) connectBus(ctx context.Context) error {
	conn, err := s.cfg.Dial()
	if err != nil {
		return fmt.Errorf("dial system bus: %w", err)
	}
	for _, m := range append(nm.Matches(), nm.SupplicantMatches()...) {
		if err := conn.AddMatchSignalContext(ctx, m...); err != nil {
			conn.Close()
			return fmt.Errorf("subscribe to NetworkManager signals: %w", err)
		}
	}
	sigs := make(chan *dbus.Signal, 256)
	conn.Signal(sigs)
	s.conn, s.nm, s.sigs, s.busDone = conn, nm.Client{Conn: conn}, sigs, conn.Context().Done()
	// Subscribed first, then asked: a NameOwnerChanged after the answer is
	// queued behind it.
	s.trust = nm.Sender{Owner: s.nm.Owner(ctx), SupplicantOwner: s.nm.OwnerOf(ctx, nm.SupplicantBusName)}
	s.log.Info("bus: connected")
	s.exportAPI(conn)
	s.resyncNM(ctx, "bus connected")
	return nil
}

func (s *Service) closeBus() {
	if s.conn == nil {
		return
	}
	s.conn.Close()
	s.conn, s.nm, s.sigs, s.busDone = nil, nil, nil, nil
	s.trust.Owner, s.trust.SupplicantOwner = "", ""
	s.forgetNM()
}

// forgetNM drops what the service knew from NM (NM or the bus went away).
func (s *Service) forgetNM() {
	for _, d := range s.devs {
		d.nmKnown, d.nm = false, nm.Device{}
		d.forgetConnection()
		d.autoconnOff = false
		d.released = false
	}
	s.byPath = map[dbus.ObjectPath]string{}
	s.profiles = nil
}

// resyncNM reads every NM device and decides on each. NetworkManager takes
// its bus name before its objects exist: a resync that finds them missing is
// tried again with a short backoff (resyncRetry, owned by the service loop)
// for as long as NetworkManager owns its name.
func (s *Service) resyncNM(ctx context.Context, why string) {
	s.resyncRetry.Stop()
	if s.nm == nil {
		s.resyncDelay = 0
		return
	}
	if s.trust.Owner = s.nm.Owner(ctx); s.trust.Owner == "" {
		s.resyncDelay = 0
		s.log.Info("nm: NetworkManager is not running; the kernel side keeps guarding")
		return
	}
	devs, err := s.nm.Devices(ctx)
	var profs []nm.Profile
	if err == nil {
		profs, err = s.nm.Profiles(ctx)
	}
	if err != nil {
		s.retryResync(why, err)
		return
	}
	s.resyncDelay, s.resyncWhy = 0, ""
	s.profiles = map[dbus.ObjectPath]nm.Profile{}
	for _, p := range profs {
		s.profiles[dbus.ObjectPath(p.Path)] = p
	}
	s.log.Info("nm: resync", slog.String("why", why), slog.Int("devices", len(devs)), slog.Int("profiles", len(profs)))
	if !s.recovered {
		s.recoverProfiles(ctx)
		s.recovered = true
	}
	for _, nd := range devs {
		s.adoptNMDevice(ctx, nd, time.Now())
	}
	s.syncProfiles(ctx, why)
}

// Backoff of a resync NetworkManager was not ready for.
const (
	resyncFirstDelay = 20 * time.Millisecond
	resyncMaxDelay   = 2 * time.Second
	// resyncQuietFor: NetworkManager (re)starting answers within this;
	// failures past it are worth a warning.
	resyncQuietFor = 10 * time.Second
)

// retryResync schedules the next resync attempt on the service loop's timer.
func (s *Service) retryResync(why string, err error) {
	switch {
	case s.resyncDelay == 0:
		s.resyncDelay, s.resyncSince = resyncFirstDelay, time.Now()
	case s.resyncDelay < resyncMaxDelay:
		s.resyncDelay = min(2*s.resyncDelay, resyncMaxDelay)
	}
	s.resyncWhy = why
	level := slog.LevelDebug
	if time.Since(s.resyncSince) > resyncQuietFor {
		level = slog.LevelWarn
	}
	s.log.Log(context.Background(), level, "nm: NetworkManager not ready for a resync yet; retrying",
		slog.String("why", why), slog.String("error", err.Error()), slog.Duration("retry_in", s.resyncDelay))
	s.resyncRetry.Reset(s.resyncDelay)
}

// adoptNMDevice records an NM device snapshot and decides on it.
func (s *Service) adoptNMDevice(ctx context.Context, nd nm.Device, t0 time.Time) {
	d, ok := s.devs[nd.Interface]
	if !ok {
		// NM knows a device netlink has not reported (yet): read it now.
		l, err := s.cfg.Links.Get(nd.Interface)
		if err != nil || !gate.Guardable(l.Name, l.Addr) {
			return
		}
		s.onLink(ctx, links.Event{Link: l}, t0)
		if d, ok = s.devs[nd.Interface]; !ok {
			return
		}
	}
	d.nmKnown, d.nm = true, nd
	s.byPath[nd.Path] = nd.Interface
	if (d.realSource == gate.RealFromFirstSeen || d.realSource == gate.RealUnknown) && nd.PermHwAddress != "" && d.real.String() != nd.PermHwAddress {
		s.learnReal(d)
	}
	s.refreshConnection(ctx, d)
	s.evaluate(ctx, d, "NetworkManager device "+nm.StateName(nd.State), t0)
}

// refreshConnection reads the active profile of a device in flight.
func (s *Service) refreshConnection(ctx context.Context, d *devState) {
	if gate.Activating(d.nm.State) || d.nm.State == detect.StateDeactivating || d.nm.State == detect.StateFailed {
		if d.nm.ActiveConnection == "" || d.nm.ActiveConnection == "/" {
			// Not readable yet: judge without a network rather than with
			// the previous one (an exemption must not carry over).
			d.forgetConnection()
			return
		}
		p, err := s.nm.ActiveProfile(ctx, d.nm.ActiveConnection)
		if err != nil {
			s.log.Debug("nm: active profile", slog.String("device", d.iface), slog.String("error", err.Error()))
			d.forgetConnection()
			return
		}
		p = withEffectiveCloned(s.nmconf, p, d.confDevice())
		d.network, d.profile, d.cloned, d.profileAC = p.Network(), dbus.ObjectPath(p.Path), p.ClonedMAC, d.nm.ActiveConnection
	}
}

// maxSignalBatch bounds how many queued signals are taken at once.
const maxSignalBatch = 256

// drainSignals returns first and the signals already queued behind it.
func (s *Service) drainSignals(first *dbus.Signal) []*dbus.Signal {
	batch := []*dbus.Signal{first}
	for len(batch) < maxSignalBatch {
		select {
		case sig, ok := <-s.sigs:
			if !ok {
				s.sigs = nil
				return batch
			}
			batch = append(batch, sig)
		default:
			return batch
		}
	}
	return batch
}

// onSignals handles a batch of signals in order. When NetworkManager sends
// faster than the service can ask it back (each decision costs D-Bus round
// trips to it), the signals queue up; a device's activation steps that a
// later state change in the same batch supersedes are then only recorded
// (state, detector, restore), not decided on: the decision is made on the
// latest state, with what NetworkManager and the kernel say now. States at
// rest and the start of an activation are always decided on (a card
// NetworkManager reset to its real address gets a private one before the
// next activation; a profile that sets a violating address is refused
// before NetworkManager applies it). Without this the
// queue grew without bound in a 10,000-cycle soak and decisions came
// seconds late.
func (s *Service) onSignals(ctx context.Context, batch []*dbus.Signal, t0 time.Time) {
	// Only what NetworkManager (or the bus daemon, about NM) sent counts:
	// anyone on the bus can send a signal to the service's unique name.
	batch = s.trust.Filter(s.log, batch, t0)
	last := map[dbus.ObjectPath]int{}
	for i, sig := range batch {
		if sig.Name == nm.DeviceIface+".StateChanged" {
			last[sig.Path] = i
		}
	}
	for i, sig := range batch {
		if sig.Name == nm.DeviceIface+".StateChanged" {
			s.onStateChangedSignal(ctx, sig, t0, last[sig.Path] == i)
			continue
		}
		s.onSignal(ctx, sig, t0)
	}
}

// onStateChangedSignal decodes a StateChanged signal; final says whether it
// is the device's latest in its batch.
func (s *Service) onStateChangedSignal(ctx context.Context, sig *dbus.Signal, t0 time.Time, final bool) {
	var nw, old, reason uint32
	if err := dbus.Store(sig.Body, &nw, &old, &reason); err != nil {
		s.log.Warn("nm: malformed StateChanged", slog.String("path", string(sig.Path)), slog.String("error", err.Error()))
		return
	}
	// Decided on: the latest state, every state at rest, and the start of
	// every activation (the profile is known then: one that sets a
	// violating address is refused before NetworkManager gets further).
	s.onStateChanged(ctx, sig.Path, nw, old, reason, t0, final || !gate.Activating(nw) || nw == detect.StatePrepare)
}

func (s *Service) onSignal(ctx context.Context, sig *dbus.Signal, t0 time.Time) {
	switch sig.Name {
	case nm.DBusName + "." + nm.NameOwnerChanged:
		var name, old, owner string
		if err := dbus.Store(sig.Body, &name, &old, &owner); err != nil || name != nm.BusName {
			return
		}
		if owner == "" {
			s.log.Warn("nm: NetworkManager left the bus; the kernel side keeps guarding")
			s.forgetNM()
			return
		}
		s.log.Info("nm: NetworkManager (re)appeared on the bus", slog.String("owner", owner))
		s.resyncNM(ctx, "NetworkManager restarted")
	case nm.BusName + ".DeviceAdded":
		var path dbus.ObjectPath
		if dbus.Store(sig.Body, &path) != nil {
			return
		}
		if nd, err := s.nm.Device(ctx, path); err == nil {
			s.adoptNMDevice(ctx, nd, t0)
			s.syncProfiles(ctx, "device "+nd.Interface+" added")
		}
	case nm.BusName + ".DeviceRemoved":
		var path dbus.ObjectPath
		if dbus.Store(sig.Body, &path) != nil {
			return
		}
		if iface, ok := s.byPath[path]; ok {
			// A removal is acted on only when NM confirms it.
			if has, err := s.nm.HasDevice(ctx, path); err != nil || has {
				s.log.Debug("nm: device removal not confirmed by NetworkManager; ignored", slog.String("device", iface))
				return
			}
			if d, ok := s.devs[iface]; ok {
				d.nmKnown, d.nm, d.released = false, nm.Device{}, false
			}
			delete(s.byPath, path)
		}
	case nm.BusName + ".Settings.NewConnection", nm.SettingsIface + ".Updated":
		// A profile appeared or changed: re-check what NM could autoconnect.
		path := sig.Path
		if sig.Name == nm.BusName+".Settings.NewConnection" && dbus.Store(sig.Body, &path) != nil {
			return
		}
		p, err := s.nm.Profile(ctx, path)
		if err != nil {
			return
		}
		if s.profiles == nil {
			s.profiles = map[dbus.ObjectPath]nm.Profile{}
		}
		s.profiles[path] = p
		if st := s.memStore(); st != nil && (p.Type == "802-3-ethernet" || p.Type == "802-11-wireless") {
			if wrote, err := s.mem().savedWithOurs(ctx, st, path, p.UUID); err != nil {
				s.log.Warn("nm: cannot give a saved profile its own address back on disk", slog.String("profile", p.ID), slog.String("error", err.Error()))
			} else if wrote {
				if p, err = s.nm.Profile(ctx, path); err != nil {
					return
				}
				s.profiles[path] = p
			}
			d := s.profileDevice(p)
			s.syncIdents(ctx, st, path, p, d)
			s.syncProfile(ctx, st, path, s.profiles[path], d, "profile added or changed")
			s.syncUnavailable(ctx, st, path)
		}
		s.reevaluateAtRest(ctx, "profile \""+p.ID+"\" added or changed", t0)
	case nm.BusName + ".Settings.ConnectionRemoved":
		var path dbus.ObjectPath
		if dbus.Store(sig.Body, &path) != nil {
			return
		}
		if p, ok := s.profiles[path]; ok {
			// Removing a profile can lift a block: only when NM confirms
			// the profile is gone (an unreadable answer keeps it).
			if has, err := s.nm.HasProfile(ctx, path); err != nil || has {
				s.log.Warn("nm: profile removal not confirmed by NetworkManager; the profile is still judged", slog.String("path", string(path)))
				return
			}
			if _, rec := s.mem().find(p.UUID); rec {
				s.mem().drop(p.UUID)
				s.saveState()
			}
			delete(s.profiles, path)
			delete(s.refusedProfiles, p.UUID)
			s.reevaluateAtRest(ctx, "profile removed", t0)
		}
	case nm.DeviceIface + ".StateChanged":
		s.onStateChangedSignal(ctx, sig, t0, true)
	case nm.PropertiesIface + ".PropertiesChanged":
		if strings.HasPrefix(string(sig.Path), nm.SupplicantIfacesPath+"/") {
			s.onSupplicantProperties(ctx, sig, t0)
			return
		}
		s.onPropertiesChanged(ctx, sig, t0)
	}
}

// onStateChanged records a device's new state and, when decide is set,
// decides on it.
func (s *Service) onStateChanged(ctx context.Context, path dbus.ObjectPath, nw, old, reason uint32, t0 time.Time, decide bool) {
	iface, ok := s.byPath[path]
	if !ok {
		nd, err := s.nm.Device(ctx, path)
		if err != nil {
			return
		}
		s.adoptNMDevice(ctx, nd, t0)
		return
	}
	d := s.devs[iface]
	if d == nil {
		return
	}
	d.nm.State = nw
	if nw == detect.StatePrepare {
		d.startedInRun = true
	}
	if nw == detect.StatePrepare && decide && s.refuseAtPrepare(ctx, d, t0) {
		decide = false // refused before any D-Bus read (prepare.go)
	}
	// In flight, the active connection may have changed with the state (a
	// new activation): read it when the profile matters, at the start of
	// an activation and when deciding. At rest it stays the one the last
	// activation had, which the detector attributes a failure to.
	if gate.Activating(nw) && (decide || nw == detect.StatePrepare) {
		if ac, err := s.nm.ActiveConnectionOf(ctx, path); err == nil {
			d.nm.ActiveConnection = ac
		}
	}
	// A new activation, or another connection than the one the profile was
	// read for (NM can start the next activation before the service has
	// seen the last one end): read the profile being activated.
	newAC := d.nm.ActiveConnection != d.profileAC
	if nw == detect.StatePrepare || newAC {
		d.forgetConnection()
	}
	if nw == detect.StatePrepare || newAC || d.network.UUID == "" || !gate.Activating(nw) {
		s.refreshConnection(ctx, d)
	}
	s.log.Debug("nm: state "+nm.StateName(old)+" -> "+nm.StateName(nw), slog.String("device", iface), slog.Uint64("reason", uint64(reason)))
	if decide {
		s.evaluate(ctx, d, "NetworkManager state "+nm.StateName(nw), t0)
	}
	s.feedDetector(d, nw, old, reason, t0)
	s.restoreProgress(ctx, d, nw, reason)
	if nw == detect.StateDisconnected || nw == detect.StateUnavailable {
		d.forgetConnection()
	}
}

func (s *Service) onPropertiesChanged(ctx context.Context, sig *dbus.Signal, t0 time.Time) {
	var iface string
	var changed map[string]dbus.Variant
	var invalidated []string
	if err := dbus.Store(sig.Body, &iface, &changed, &invalidated); err != nil {
		return
	}
	if c, ok := changed["Ip4Connectivity"]; ok {
		s.onConnectivity(sig.Path, c, t0)
	}
	hw, ok := changed["HwAddress"]
	if !ok {
		return
	}
	name, ok := s.byPath[sig.Path]
	if !ok {
		return
	}
	d := s.devs[name]
	addr, _ := hw.Value().(string)
	if d == nil {
		return
	}
	d.nm.HwAddress = addr
	// NM emits property changes late (batched on idle): the value may be
	// stale by now. The kernel says what the address is.
	cur, err := s.cfg.Links.Get(d.iface)
	if err != nil || cur.Index != d.link.Index || strings.EqualFold(cur.Addr.String(), d.link.Addr.String()) {
		return
	}
	d.link = cur
	s.evaluate(ctx, d, "NetworkManager set address "+cur.Addr.String(), t0)
}

// reevaluateAtRest decides again on every device NM is not activating.
func (s *Service) reevaluateAtRest(ctx context.Context, why string, t0 time.Time) {
	for _, d := range s.devs {
		if d.nmKnown && !gate.Activating(d.nm.State) {
			s.evaluate(ctx, d, why, t0)
		}
	}
}

// feedDetector hands the state change to the detector and keeps what it
// suspects.
func (s *Service) feedDetector(d *devState, nw, old, reason uint32, t0 time.Time) {
	ev := s.detectEvent(d, nw, old, reason, t0)
	spoofed := ev.Spoofed
	s.feedEvent(d, ev, t0)
	if nw == detect.StateActivated && !spoofed && d.network.UUID != "" {
		s.det.RecordRealSuccess(d.network.UUID)
		for _, u := range s.state.RealSuccess {
			if u == d.network.UUID {
				return
			}
		}
		s.state.RealSuccess = append(s.state.RealSuccess, d.network.UUID)
		s.saveState()
	}
}

// feedEvent hands ev (of device d) to the detector, signals what it
// suspects and may offer, and keeps the pending list.
func (s *Service) feedEvent(d *devState, ev detect.Event, t0 time.Time) {
	for _, sp := range s.det.Feed(ev) {
		s.log.Warn("detect: the network may be rejecting the private address",
			slog.String("device", sp.Device), slog.String("connection", sp.Connection.ID),
			slog.String("kind", string(sp.Kind)), slog.String("confidence", fmt.Sprint(sp.Confidence)),
			slog.String("reason", sp.Reason), slog.Duration("latency", time.Since(t0)))
		if !s.offerSuspicion(d, sp) {
			continue
		}
		if js, err := jsonReply(apiSuspicion(sp)); err == nil {
			s.emit(api.SignalSuspicion, js)
		}
	}
	// The detector owns what is pending (bounded; an episode ends when the
	// network works or the user acts): the service keeps no list of its own.
	s.suspicions = s.offers.visible(s.det.Pending())
}
