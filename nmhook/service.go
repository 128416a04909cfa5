// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"slices"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/backstop"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// Config is what the service needs; everything that touches the system is
// injected so tests can replace it.
type Config struct {
	PolicyFile string
	PolicyDir  string
	StatePath  string
	// BootStatePath is the per-boot file (BootState), in a directory
	// emptied at every boot (/run/mac-nmguard/boot.json); "" keeps it in
	// memory only.
	BootStatePath string
	// Dial connects to the system bus. The default honours
	// DBUS_SYSTEM_BUS_ADDRESS and keeps signals in order.
	Dial     func() (*dbus.Conn, error)
	Links    links.Links
	Backstop backstop.Backstop
	Log      *slog.Logger
	// CmdlinePath is the kernel command line read for mac-nmguard.hold and
	// mac-nmguard.spoof ("" none; the service uses /proc/cmdline).
	CmdlinePath string
	// BootIDPath identifies the boot (/proc/sys/kernel/random/boot_id).
	BootIDPath string
	// NMConfFile and NMConfDirs are NetworkManager's configuration (the
	// main file; the conf.d directories, lowest precedence first), read at
	// start and on Reload for the cloned-mac-address defaults. Empty: none
	// (mac-nmguard run passes NetworkManager's own defaults,
	// DefaultNMConfFile and DefaultNMConfDirs).
	NMConfFile string
	NMConfDirs []string
	// Rfkill opens /dev/rfkill for the hold (nil: OpenRfkill).
	Rfkill func() (RfkillConn, error)
	// Version is reported by the API's Status.
	Version string
	// Ready is called once, when every present device is guarded in the
	// kernel (sd_notify READY=1).
	Ready func()

	// profiles replaces NetworkManager's profile settings (tests).
	profiles nm.ProfileStore
}

// DialSystemBus connects to the system bus with an in-order signal handler.
func DialSystemBus() (*dbus.Conn, error) {
	return dbus.ConnectSystemBus(dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
}

// causeAddressChanged starts the cause of an evaluation that a kernel
// address change triggered (evaluate checks NM's state first then).
const causeAddressChanged = "address changed to "

// maxViolations bounds the violations kept in memory.
const maxViolations = 100

// Service is the gate: it owns the bus connection, the devices and the
// policy, all from one goroutine (Run).
type Service struct {
	cfg      Config
	sentinel *sentinel // nil: no real-time link watch (sentinel.go)
	log      *slog.Logger
	pol      *policy.Policy
	state    *state.State
	det      *detect.Detector
	// generation is this run's address generation (random, in memory
	// only): the private addresses of modes keep-vendor and vendor are
	// drawn once per profile and run (see portal.go).
	generation string

	bootID string           // this boot's id ("" unknown)
	boot   *state.BootState // what holds for this boot only
	// bootLost: the per-boot file existed but could not be used, so cards
	// present at start with no permanent address may carry an address
	// the service set: their real address is unknown for this boot.
	bootLost bool
	cmdSpoof *bool // the kernel command line's decision (never saved)

	devs      map[string]*devState
	byPath    map[dbus.ObjectPath]string
	supIfaces map[dbus.ObjectPath]string // wpa_supplicant interface paths -> interface names

	conn    *dbus.Conn
	nm      NetworkManager // nil while not connected to the bus
	sigs    chan *dbus.Signal
	busDone <-chan struct{}
	trust   nm.Sender // NetworkManager's unique name: whose signals count

	violations []api.Violation
	suspicions []detect.Suspicion // pending and offered (see offerGate)
	offers     *offerGate
	onceEx     []policy.Exemption // "use the real address this time" choices
	profiles   map[dbus.ObjectPath]nm.Profile
	// refusedProfiles holds, by profile UUID, the reason of every profile
	// made unavailable whose violation was reported: one episode per
	// profile, however often NetworkManager forgets the in-memory mark
	// (each NM restart re-reads the profiles from disk).
	refusedProfiles map[string]string
	nmconf          inspect.NMConf // NetworkManager.conf: profile defaults
	held            bool           // boot-time hold in force
	radios          *radioHold     // the hold's soft-block of wireless radios
	heldSince       time.Time
	reload          chan chan error
	calls           chan func()
	stopped         chan struct{} // closed when Run returns
	ready           bool
	lastBackoff     time.Duration

	// resyncRetry fires the next attempt of a resync NetworkManager was
	// not ready for (stopped when none is due); only the loop touches it.
	resyncRetry *time.Timer
	resyncDelay time.Duration // last backoff, 0 when no retry is due
	resyncSince time.Time     // first failure of the current run
	resyncWhy   string

	// nmBlocked are the profiles NM blocks from autoconnecting because the
	// service disconnected them (reconnect.go).
	nmBlocked map[dbus.ObjectPath]bool
	// recovered: what a previous run left in NetworkManager's memory has
	// been undone (once, at the first resync).
	recovered bool
}

// New loads the policy (failing closed to the built-in default when it
// cannot) and the state, and returns a service ready to Run.
func New(cfg Config) (*Service, error) {
	if cfg.Links == nil || cfg.Backstop == nil {
		return nil, errors.New("service needs Links and Backstop")
	}
	if cfg.Log == nil {
		cfg.Log = slog.Default()
	}
	cfg.Log = slog.New(redactAddresses(cfg.Log.Handler()))
	if cfg.Dial == nil {
		cfg.Dial = DialSystemBus
	}
	s := &Service{
		cfg:       cfg,
		log:       cfg.Log,
		devs:      map[string]*devState{},
		byPath:    map[dbus.ObjectPath]string{},
		supIfaces: map[dbus.ObjectPath]string{},
		reload:    make(chan chan error),
		calls:     make(chan func()),
		stopped:   make(chan struct{}),
		offers:    newOfferGate(nil),
	}
	s.resyncRetry = time.NewTimer(time.Hour)
	s.resyncRetry.Stop()
	pol, err := policy.Load(cfg.PolicyFile, cfg.PolicyDir)
	if err != nil {
		s.log.Error("policy: cannot load, using the built-in default, guarding every device", slog.String("error", err.Error()))
		pol = policy.FailClosed()
	}
	s.pol = pol
	s.loadNMConf()
	st, warn, err := state.Load(cfg.StatePath)
	if err != nil {
		return nil, err
	}
	if warn != nil {
		s.log.Warn("state: "+warn.Error(), slog.String("path", cfg.StatePath))
	}
	s.state = st
	if s.generation, err = newGeneration(); err != nil {
		return nil, err
	}
	if _, err := os.Stat(cfg.StatePath); err != nil {
		// A fresh state (none yet, or the corrupt one moved aside): save
		// it now, so that its stable-mode secret outlives this run.
		s.saveState()
	}
	s.loadBootState()
	if err := s.newDetector(); err != nil {
		return nil, err
	}
	s.setupHold()
	return s, nil
}

func (s *Service) newDetector() error {
	ds := s.pol.Detect
	cfg := detect.Config{
		Window:              ds.Window.Duration,
		AuthLoopRounds:      ds.AuthLoopRounds,
		AuthFailures:        ds.AuthFailures,
		DHCPFailures:        ds.DHCPFailures,
		AssociationTimeouts: ds.AssociationTimeouts,
	}
	det, err := detect.New(cfg, s.log.With(slog.String("part", "detect")))
	if err != nil {
		return fmt.Errorf("detector settings: %w", err)
	}
	for _, uuid := range s.state.RealSuccess {
		det.RecordRealSuccess(uuid)
	}
	for _, p := range s.state.Portals {
		det.RememberPortal(p.UUID, p.Generation)
	}
	s.det = det
	return nil
}

// Reload re-reads the policy. An invalid policy is reported (file:line) and
// the last good one stays in force.
func (s *Service) Reload(ctx context.Context) error {
	ch := make(chan error, 1)
	select {
	case s.reload <- ch:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case err := <-ch:
		return err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// post hands fn to the service loop without waiting (timers); it is
// dropped when the service has stopped.
func (s *Service) post(fn func()) {
	go func() {
		select {
		case s.calls <- fn:
		case <-s.stopped:
		}
	}()
}

// do runs fn in the service loop and waits for it.
func (s *Service) do(ctx context.Context, fn func()) error {
	done := make(chan struct{})
	select {
	case s.calls <- func() { fn(); close(done) }:
	case <-ctx.Done():
		return ctx.Err()
	}
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// Run guards every device until ctx is done. The kernel side comes first
// (adopt the backstop, list links, subscribe), so protection does not wait
// for the bus or NetworkManager; the bus is (re)connected with backoff.
func (s *Service) Run(ctx context.Context) error {
	defer close(s.stopped)
	s.adoptBackstop()
	linkCtx, stopLinks := context.WithCancel(ctx)
	defer stopLinks()
	linkEvents, err := s.cfg.Links.Subscribe(linkCtx)
	if err != nil {
		return fmt.Errorf("subscribe to link changes: %w", err)
	}
	if err := s.relist(); err != nil {
		return err
	}
	s.startSentinel(linkCtx)
	s.markReady()
	defer s.closeBus()
	// On the way out, with the bus still open: give the profiles their own
	// cloned-mac-address back.
	defer s.undoProfiles()
	defer s.undoUnavailable()
	defer s.resyncRetry.Stop()

	reconnect := time.NewTimer(0)
	defer reconnect.Stop()
	holdC, stopHold := s.holdTimer()
	defer stopHold()
	for {
		// After every step: the cards that must not be up with their
		// real address now.
		s.rearm()
		select {
		case <-holdC:
			holdC = nil
			if s.held {
				s.log.Warn("hold: no decision in time; resolving to the safe choice: hide the addresses",
					slog.Duration("timeout", s.pol.HoldTimeout.Duration))
				s.endHold(ctx, true, "hold timeout")
				s.syncProfiles(ctx, "hold timeout")
			}
		case <-ctx.Done():
			if s.radios != nil {
				s.radios.stop()
				s.radios = nil
			}
			s.log.Info("service: stopping; the kernel backstop stays in place")
			return nil
		case ev, ok := <-linkEvents:
			if !ok {
				if ctx.Err() != nil {
					return nil
				}
				s.log.Warn("netlink: link subscription ended; re-subscribing")
				linkEvents, err = s.cfg.Links.Subscribe(linkCtx)
				if err != nil {
					return fmt.Errorf("re-subscribe to link changes: %w", err)
				}
				if err := s.relist(); err != nil {
					s.log.Error("netlink: relist failed", slog.String("error", err.Error()))
				}
				continue
			}
			s.onLink(ctx, ev, time.Now())
		case sig, ok := <-s.sigs:
			if !ok {
				s.sigs = nil
				continue
			}
			s.onSignals(ctx, s.drainSignals(sig), time.Now())
		case <-s.busDone:
			s.log.Warn("bus: connection lost; reconnecting")
			s.closeBus()
			reconnect.Reset(s.backoff())
		case <-reconnect.C:
			if err := s.connectBus(ctx); err != nil {
				d := s.backoff()
				s.log.Warn("bus: connect failed", slog.String("error", err.Error()), slog.Duration("retry_in", d))
				reconnect.Reset(d)
				continue
			}
			s.lastBackoff = 0
		case <-s.resyncRetry.C:
			s.resyncNM(ctx, s.resyncWhy)
		case ch := <-s.reload:
			ch <- s.doReload(ctx)
		case fn := <-s.calls:
			fn()
		}
	}
}

func (s *Service) markReady() {
	if s.ready {
		return
	}
	s.ready = true
	if s.cfg.Ready != nil {
		s.cfg.Ready()
	}
	s.log.Info("service: ready; every present device is guarded", slog.Int("devices", len(s.devs)))
}

func (s *Service) backoff() time.Duration {
	switch {
	case s.lastBackoff == 0:
		s.lastBackoff = 100 * time.Millisecond
	case s.lastBackoff < 5*time.Second:
		s.lastBackoff *= 2
	}
	return s.lastBackoff
}

func (s *Service) doReload(ctx context.Context) error {
	s.loadNMConf()
	pol, err := policy.Load(s.cfg.PolicyFile, s.cfg.PolicyDir)
	if err != nil {
		s.log.Error("policy: reload failed; keeping the last good policy", slog.String("error", err.Error()))
		for _, d := range s.devs {
			s.evaluate(ctx, d, "NetworkManager configuration reloaded", time.Now())
		}
		return err
	}
	s.pol = pol
	if err := s.newDetector(); err != nil {
		s.log.Error("policy: detector settings rejected; keeping the previous detector", slog.String("error", err.Error()))
	}
	s.log.Info("policy: reloaded", slog.Any("sources", pol.Sources))
	s.withdrawOffers()
	s.syncProfiles(ctx, "policy reloaded")
	for _, d := range s.devs {
		s.evaluate(ctx, d, "policy reloaded", time.Now())
	}
	return nil
}

// adoptBackstop takes over the rules a previous run left in the kernel.
func (s *Service) adoptBackstop() {
	rules, err := s.cfg.Backstop.List()
	if err != nil {
		s.log.Warn("backstop: cannot list existing rules", slog.String("error", err.Error()))
		return
	}
	for _, r := range rules {
		s.log.Info("backstop: adopted rule from a previous run", slog.String("device", r.Interface),
			slog.String("real", r.Real.String()), slog.Bool("hold", r.Hold), slog.Uint64("dropped", r.Dropped))
		d := s.device(r.Interface)
		d.guarded = r.Real
		d.held = r.Hold
	}
}

// device returns the record of iface, creating it.
func (s *Service) device(iface string) *devState {
	d, ok := s.devs[iface]
	if !ok {
		d = &devState{iface: iface, gate: gateNew}
		s.devs[iface] = d
	}
	return d
}

// relist reads every link and handles each as a hotplug or a change.
func (s *Service) relist() error {
	all, err := s.cfg.Links.List()
	if err != nil {
		return fmt.Errorf("list links: %w", err)
	}
	now := time.Now()
	seen := map[string]bool{}
	for _, l := range all {
		seen[l.Name] = true
		s.onLink(context.Background(), links.Event{Link: l}, now)
	}
	for name, d := range s.devs {
		if !seen[name] && d.link.Index != 0 {
			s.onLink(context.Background(), links.Event{Link: d.link, Deleted: true}, now)
		}
	}
	return nil
}

func (s *Service) onLink(ctx context.Context, ev links.Event, t0 time.Time) {
	l := ev.Link
	if !gate.Guardable(l.Name, l.Addr) {
		return
	}
	if ev.Deleted {
		d, ok := s.devs[l.Name]
		if !ok || (d.link.Index != 0 && d.link.Index != l.Index) {
			return
		}
		s.log.Info("netlink: device removed", slog.String("device", l.Name))
		if d.guarded != nil || d.held {
			if err := s.cfg.Backstop.Unguard(l.Name); err != nil {
				s.log.Debug("backstop: unguard of removed device", slog.String("device", l.Name), slog.String("error", err.Error()))
			}
		}
		delete(s.devs, l.Name)
		if d.nm.Path != "" {
			delete(s.byPath, d.nm.Path)
		}
		return
	}
	// Events describe the past: one queued before the service's own change
	// would undo it. Act on the link as it is now.
	if cur, err := s.cfg.Links.Get(l.Name); err == nil && cur.Index == l.Index {
		l = cur
	}
	d := s.device(l.Name)
	isNew := d.link.Index != l.Index
	prev := d.link
	d.link = l
	if isNew {
		d.released = false
		d.hw, d.carries = s.cfg.Links.Classify(l), ""
		s.learnReal(d)
		s.log.Info("netlink: device appeared", slog.String("device", l.Name), slog.String("address", l.Addr.String()),
			slog.String("real", d.real.String()), slog.String("real_source", d.realSource))
		s.evaluate(ctx, d, "device appeared", t0)
		s.evaluateCarriers(ctx, d, t0)
		return
	}
	if prev.Addr.String() != l.Addr.String() {
		s.evaluate(ctx, d, causeAddressChanged+l.Addr.String(), t0)
		return
	}
	if !s.keptDown(d) {
		return
	}
	if l.Up {
		s.takeDownAgain(d, t0)
	} else if ev.Link.Up {
		// Reported up, down by now: the sentinel took it down (one trip
		// per raise it reported).
		fd, ok := s.tripOf(d)
		if !ok {
			return
		}
		// Raised, and taken down by the sentinel before this event.
		s.logDownAgain(d, fd.reaction)
	}
}

// keptDown reports whether a device must stay down whoever raises it: its
// address could not be set, it is held until the decision, or it was
// refused and still has the real address it must not use (NetworkManager,
// setting a profile's cloned-mac-address, takes the link down, sets the
// address and raises it: the refusal, reacting to the address, can come
// between the last two, and the raise would let the card authenticate with
// the real address before NetworkManager ends the activation).
func (s *Service) keptDown(d *devState) bool {
	return d.gate == gateFailed || (d.gate == gateHeld && s.held) ||
		(d.gate == gateBlocked && d.guarded != nil && bytes.Equal(d.link.Addr, d.guarded))
}

// takeDownAgain takes down a kept-down device that came up (root, or
// NetworkManager, raised it). It stays the same episode: no new violation.
func (s *Service) takeDownAgain(d *devState, t0 time.Time) {
	if err := s.cfg.Links.SetDown(d.iface); err != nil {
		s.log.Error("link: down failed", slog.String("device", d.iface), slog.String("error", err.Error()))
		return
	}
	d.link.Up = false
	s.logDownAgain(d, time.Since(t0))
}

// logDownAgain logs that a kept-down device was taken down again.
func (s *Service) logDownAgain(d *devState, reaction time.Duration) {
	if d.gate == gateBlocked {
		// Part of the refusal already logged at warning.
		s.log.Info("link: raised with the real address after a refusal; taken down again", slog.String("device", d.iface),
			slog.Duration("reaction", reaction))
		return
	}
	s.log.Warn("link: raised while kept down; taken down again", slog.String("device", d.iface),
		slog.String("gate", string(d.gate)), slog.Duration("reaction", reaction))
}

// learnReal determines the real address by the real-address rule
// (realaddr.go): the kernel's permanent address,
// else NM's PermHwAddress, else the first address the service saw on this
// card in this boot (kept in the per-boot file so it survives restarts, not
// boots). A card present at start when the per-boot file was lost, or
// recorded so, has no known real address in this boot: it fails closed.
func (s *Service) learnReal(d *devState) {
	nmPerm := ""
	if d.nmKnown {
		nmPerm = d.nm.PermHwAddress
	}
	if hw, src := gate.PermanentAddress(d.link.PermAddr, nmPerm); hw != nil {
		d.real, d.realSource = hw, src
		return
	}
	key := state.Key(d.iface)
	fs, ok := s.boot.FirstSeen[key]
	if ok && fs.Index == d.link.Index {
		if hw, ok := gate.ParseKnownAddress(fs.Addr); ok {
			d.real, d.realSource = hw, gate.RealFromFirstSeen
			return
		}
		d.real, d.realSource = nil, gate.RealUnknown
		return
	}
	if !s.effectivePolicy().GuardedAlone(d.policyDevice()) {
		// A device left alone: nothing to remember, nothing to keep down.
		d.real, d.realSource = append(net.HardwareAddr(nil), d.link.Addr...), gate.RealFromFirstSeen
		return
	}
	if s.bootLost && !s.ready {
		d.real, d.realSource = nil, gate.RealUnknown
		s.boot.FirstSeen[key] = state.FirstSeen{Index: d.link.Index, Time: time.Now().UTC()}
		s.saveBootState()
		s.log.Error("state: the real address of this card cannot be known in this boot (no permanent address, and the per-boot record was lost): it is kept down until it is plugged in again or the next boot",
			slog.String("device", d.iface))
		return
	}
	d.real, d.realSource = append(net.HardwareAddr(nil), d.link.Addr...), gate.RealFromFirstSeen
	s.boot.FirstSeen[key] = state.FirstSeen{Index: d.link.Index, Addr: d.link.Addr.String(), Time: time.Now().UTC()}
	s.saveBootState()
}

func (s *Service) saveBootState() {
	if err := s.boot.Save(s.cfg.BootStatePath); err != nil {
		s.log.Error("state: per-boot save failed", slog.String("error", err.Error()))
	}
}

func (s *Service) saveState() {
	if err := s.state.Save(s.cfg.StatePath); err != nil {
		s.log.Error("state: save failed", slog.String("error", err.Error()))
	}
}

// exemptions are the user's choices: "always" from the state file plus the
// "once" ones held in memory.
func (s *Service) exemptions() []policy.Exemption {
	if len(s.onceEx) == 0 {
		return s.state.Exemptions
	}
	return append(append([]policy.Exemption{}, s.state.Exemptions...), s.onceEx...)
}

// runtimeSpoof is the spoof switch decided in this boot, nil when none: a
// decision taken since the boot (SetSpoofing, decide, a hold's timeout)
// over the kernel command line's.
func (s *Service) runtimeSpoof() *bool {
	if s.boot.Spoof != nil {
		return s.boot.Spoof
	}
	return s.cmdSpoof
}

// effectivePolicy applies the runtime spoof switch.
func (s *Service) effectivePolicy() *policy.Policy {
	sw := s.runtimeSpoof()
	if sw == nil || *sw == s.pol.Spoof {
		return s.pol
	}
	p := *s.pol
	p.Spoof = *sw
	return &p
}

// viewOf is the snapshot the gate decides on for d.
func (s *Service) viewOf(d *devState) gate.View {
	return gate.View{
		Device:          d.policyDevice(),
		State:           d.nm.State,
		Network:         s.viewNetwork(d),
		ActiveClonedMAC: d.cloned,
		Profiles:        s.profilesFor(d),
		Hold:            s.held,
	}
}

// viewNetwork is the network a device is judged for: the active connection
// in flight, the connection being restored for it at rest, else none.
func (s *Service) viewNetwork(d *devState) policy.Network {
	c := d.network
	if !gate.Activating(d.nm.State) {
		c = detect.Connection{}
		if d.restoring != nil {
			c = d.restoring.conn
		}
	}
	return policy.Network{UUID: c.UUID, ID: c.ID, SSID: c.SSID}
}

// profilesFor lists the profiles NM could autoconnect on d, each with the
// cloned-mac-address NM would apply (NetworkManager.conf's default when the
// profile has none).
func (s *Service) profilesFor(d *devState) []nm.Profile {
	var out []nm.Profile
	var cd *inspect.ConfDevice
	for _, p := range s.profiles {
		if p.Autoconnect && p.AppliesTo(d.iface, d.nm.Type) {
			if cd == nil {
				cd = d.confDevice()
			}
			out = append(out, withEffectiveCloned(s.nmconf, p, cd))
		}
	}
	slices.SortFunc(out, func(a, b nm.Profile) int { return strings.Compare(string(a.Path), string(b.Path)) })
	return out
}

// release hands a device that NM keeps unmanaged (the hotplug gate of the
// installed NM snippet) to NM, once the gate is satisfied with it. A device
// blocked, failed or held stays unmanaged: NM never brings it up.
func (s *Service) release(ctx context.Context, d *devState) {
	if !d.nmKnown || s.nm == nil || d.released || d.nm.State != detect.StateUnmanaged {
		return
	}
	switch d.gate {
	case gateAllowed, gateSpoofed, gateIgnored, gateAudit:
	default:
		return
	}
	if s.leftAlone(d) && d.nm.Type != "ethernet" && d.nm.Type != "wifi" {
		return // not the hotplug gate's (ethernet, wifi): NetworkManager's own choice
	}
	if d.gate != gateIgnored && gate.Spoofs(d.verdict) && d.guarded == nil {
		return
	}
	// NM takes over an unmanaged device as it finds it ("assume"): a link
	// left down stays down. Bring it up first; its address is compliant and
	// the backstop is in place.
	if !d.link.Up {
		if err := s.cfg.Links.SetUp(d.iface); err != nil {
			s.log.Warn("link: up failed", slog.String("device", d.iface), slog.String("error", err.Error()))
		}
	}
	if err := s.nm.SetManaged(ctx, d.nm.Path, true); err != nil {
		s.log.Warn("nm: cannot hand the device to NetworkManager", slog.String("device", d.iface), slog.String("error", err.Error()))
		return
	}
	d.released = true
	s.log.Info("nm: device handed to NetworkManager", slog.String("device", d.iface), slog.String("address", d.link.Addr.String()))
}

// applyGuard puts the backstop rule in the state the decision asks for.
func (s *Service) applyGuard(d *devState, dec gate.Decision) {
	if s.held && dec.Verdict.Guarded {
		if !d.held {
			if err := s.cfg.Backstop.Hold(d.iface); err != nil {
				s.log.Error("backstop: hold failed", slog.String("device", d.iface), slog.String("error", err.Error()))
				return
			}
			d.held, d.guarded = true, nil
			s.log.Info("backstop: holding (every frame dropped)", slog.String("device", d.iface))
		}
		return
	}
	want := dec.Guard && len(d.real) == 6
	if d.held && want {
		d.guarded = nil // the hold rule is replaced by the guard below
	}
	switch {
	case want && d.guarded.String() != d.real.String():
		if err := s.cfg.Backstop.Guard(d.iface, d.real); err != nil {
			s.log.Error("backstop: guard failed; keeping the device down", slog.String("device", d.iface), slog.String("error", err.Error()))
			if err := s.cfg.Links.SetDown(d.iface); err != nil {
				s.log.Error("link: down failed", slog.String("device", d.iface), slog.String("error", err.Error()))
			}
			return
		}
		d.guarded, d.held = append(net.HardwareAddr(nil), d.real...), false
		s.log.Info("backstop: guarding", slog.String("device", d.iface), slog.String("real", d.real.String()))
	case !want && (d.guarded != nil || d.held):
		if err := s.cfg.Backstop.Unguard(d.iface); err != nil {
			s.log.Error("backstop: unguard failed", slog.String("device", d.iface), slog.String("error", err.Error()))
			return
		}
		d.guarded, d.held = nil, false
		s.log.Info("backstop: released", slog.String("device", d.iface), slog.String("reason", dec.Reason))
	}
}

// unblock gives a device back to NM after the service blocked it; false
// when the block stays (NM's own answer still blocks, or NM could not be
// asked).
func (s *Service) unblock(ctx context.Context, d *devState) bool {
	if !s.unblockConfirmed(ctx, d) {
		return false
	}
	// With a profile NM blocks because of the service, autoconnect stays
	// off until reconnect has activated it (NM would start another first).
	if d.autoconnOff && d.nmKnown && s.nm != nil && !s.blockedCandidate(d) {
		if err := s.nm.SetAutoconnect(ctx, d.nm.Path, true); err != nil {
			s.log.Warn("nm: cannot turn autoconnect back on", slog.String("device", d.iface), slog.String("error", err.Error()))
			return false
		}
		d.autoconnOff = false
	}
	up := d.link.Up
	if cur, err := s.cfg.Links.Get(d.iface); err == nil {
		up = cur.Up
	}
	if !up {
		if err := s.cfg.Links.SetUp(d.iface); err != nil {
			s.log.Warn("link: up failed", slog.String("device", d.iface), slog.String("error", err.Error()))
		}
	}
	return true
}

// unblockConfirmed re-reads from NetworkManager what lifting a block rests
// on (every profile it could autoconnect on the device) and decides again:
// autoconnect is switched back on and the link brought up on NM's word,
// never on a signal's alone. Without an answer from NM the block stays.
func (s *Service) unblockConfirmed(ctx context.Context, d *devState) bool {
	if !d.nmKnown || s.nm == nil {
		return true // nothing of NM's to confirm: the decision was the kernel's
	}
	profs, err := s.nm.Profiles(ctx)
	if err != nil {
		s.log.Warn("nm: cannot re-read the profiles; the device stays blocked", slog.String("device", d.iface), slog.String("error", err.Error()))
		return false
	}
	s.profiles = make(map[dbus.ObjectPath]nm.Profile, len(profs))
	for _, p := range profs {
		s.profiles[dbus.ObjectPath(p.Path)] = p
	}
	if dec := gate.Decide(s.effectivePolicy(), s.viewOf(d), s.exemptions(), s.state.SecretBytes()); dec.Block {
		s.log.Info("gate: NetworkManager's profiles still block the device", slog.String("device", d.iface), slog.String("reason", dec.Reason))
		return false
	}
	return true
}

// spoof sets a compliant address. If that fails the device is kept down
// (panic mode, per device), a new violation when reportFailure.
func (s *Service) spoof(ctx context.Context, d *devState, dec gate.Decision, cause string, t0 time.Time, reportFailure bool) {
	// NM (or the user) may have brought the link up since the last event:
	// whoever did expects it up, so it comes back up after the change.
	wasUp := d.link.Up
	if cur, err := s.cfg.Links.Get(d.iface); err == nil {
		wasUp = cur.Up
	}
	if d.fast.done {
		wasUp = d.fast.wasUp
	}
	if dec.Disconnect {
		if err := s.cfg.Links.SetDown(d.iface); err != nil {
			s.log.Error("link: down failed", slog.String("device", d.iface), slog.String("error", err.Error()))
		}
		if dec.Verdict.Mode != policy.ModePermanent {
			reaction := time.Since(t0)
			if d.fast.done {
				reaction = d.fast.reaction
			}
			s.recordViolation(d, "remediated", dec.Reason, reaction)
		}
		s.disconnect(ctx, d)
	}
	mac, err := s.effectivePolicy().GenerateWith(d.policyDevice(), s.viewNetwork(d), s.exemptions(), s.state.SecretBytes())
	if err == nil {
		s.rearm() // the address may be the real one the policy allows
		err = s.cfg.Links.SetAddress(d.iface, mac.HardwareAddr())
	}
	if err != nil {
		if derr := s.cfg.Links.SetDown(d.iface); derr != nil {
			s.log.Error("link: down failed", slog.String("device", d.iface), slog.String("error", derr.Error()))
		}
		// One violation per episode (reportFailure: the card was not kept
		// down for it already): NetworkManager's state changes and the link
		// being raised again decide again on the same card.
		if reportFailure {
			s.recordViolation(d, "kept down: address could not be set", err.Error(), time.Since(t0))
		}
		d.link.Up = false
		s.setGate(d, gateFailed, "could not set a compliant address: "+err.Error())
		return
	}
	d.link.Addr = mac.HardwareAddr()
	d.link.Up = false
	if dec.Reactivate && d.nmKnown && d.profile != "" {
		// NetworkManager applies the profile's address at the activation:
		// give it the one wanted on this card first.
		if st := s.memStore(); st != nil {
			if p, ok := s.profiles[d.profile]; ok {
				s.syncProfile(ctx, st, d.profile, p, d, "remediate")
			}
		}
		s.setGate(d, gateRemediating, cause+": "+dec.Reason+"; set "+mac.String()+" and reactivating")
		if err := s.activate(ctx, d, d.profile); err != nil {
			s.log.Error("nm: reactivate after remediation failed", slog.String("device", d.iface), slog.String("error", err.Error()))
		}
		return
	}
	if wasUp {
		if err := s.cfg.Links.SetUp(d.iface); err != nil {
			s.log.Warn("link: up failed", slog.String("device", d.iface), slog.String("error", err.Error()))
		}
	}
	s.log.Info("gate: address set", slog.String("device", d.iface), slog.String("address", mac.String()),
		slog.String("mode", string(dec.Verdict.Mode)), slog.String("cause", cause))
	if dec.Verdict.Mode == policy.ModePermanent {
		s.setGate(d, gateAllowed, cause+": real address "+mac.String()+" set ("+dec.Verdict.Rule+")")
		return
	}
	s.setGate(d, gateSpoofed, cause+": set "+mac.String()+" ("+string(dec.Verdict.Mode)+")")
}

func (s *Service) recordViolation(d *devState, action, reason string, reaction time.Duration) {
	v := api.Violation{Time: time.Now().UTC(), Device: d.iface, Address: d.link.Addr.String(), Action: action, Reason: reason, Reaction: reaction}
	s.log.Warn("violation: "+action, slog.String("device", d.iface), slog.String("address", v.Address),
		slog.String("reason", reason), slog.Duration("reaction", reaction))
	s.emit(api.SignalViolation, v.Device, v.Address, v.Action, v.Reason)
	s.violations = append(s.violations, v)
	if len(s.violations) > maxViolations {
		s.violations = s.violations[len(s.violations)-maxViolations:]
	}
}
