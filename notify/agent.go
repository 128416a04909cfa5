// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

// Dialer opens a new private bus connection, authenticated and registered
// (Hello sent). The agent closes it.
type Dialer func(ctx context.Context) (*dbus.Conn, error)

// Config is the agent's set-up. The zero value is the desktop agent: the
// buses from the environment, logs to slog's default logger.
type Config struct {
	// DialSystem reaches the service's bus; nil: the system bus
	// (DBUS_SYSTEM_BUS_ADDRESS, else the standard socket).
	DialSystem Dialer
	// DialSession reaches the notification server's bus; nil: the session
	// bus (DBUS_SESSION_BUS_ADDRESS, else $XDG_RUNTIME_DIR/bus; never
	// launches one).
	DialSession Dialer
	// Log gets what the agent does, and every notification it could not
	// show. nil: slog.Default().
	Log *slog.Logger
	// MinBackoff and MaxBackoff bound the wait between reconnections
	// (defaults 500ms and 30s).
	MinBackoff, MaxBackoff time.Duration
	// CallTimeout bounds a call to the service (default 60s; the service
	// itself gives up after 30s).
	CallTimeout time.Duration
	// NotifyTimeout bounds a call to the notification server (default 10s,
	// room for D-Bus activation of the server).
	NotifyTimeout time.Duration
	// AppName is the application name given to the notification server
	// (default "mac-nmguard").
	AppName string
	// Catalog is the language of the notifications; nil: the session's
	// (LANGUAGE, LC_ALL, LC_MESSAGES, LANG as gettext reads them), else
	// English.
	Catalog *Catalog
}

func (c Config) withDefaults() Config {
	if c.DialSystem == nil {
		c.DialSystem = DialSystemBus
	}
	if c.DialSession == nil {
		c.DialSession = DialSessionBus
	}
	if c.Log == nil {
		c.Log = slog.Default()
	}
	if c.MinBackoff <= 0 {
		c.MinBackoff = 500 * time.Millisecond
	}
	if c.MaxBackoff <= 0 {
		c.MaxBackoff = 30 * time.Second
	}
	if c.CallTimeout <= 0 {
		c.CallTimeout = time.Minute
	}
	if c.NotifyTimeout <= 0 {
		c.NotifyTimeout = 10 * time.Second
	}
	if c.AppName == "" {
		c.AppName = "mac-nmguard"
	}
	if c.Catalog == nil {
		cat, err := LoadCatalog(SessionLanguages(os.Getenv))
		if err != nil {
			c.Log.Error("agent: cannot read the translation; notifications are in English", slog.String("error", err.Error()))
		}
		c.Catalog = cat
	}
	return c
}

// DialSystemBus connects to the system bus (DBUS_SYSTEM_BUS_ADDRESS, else
// the standard socket), with signals delivered in order and none dropped.
func DialSystemBus(ctx context.Context) (*dbus.Conn, error) {
	conn, err := dbus.ConnectSystemBus(dbus.WithContext(ctx), dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
	if err != nil {
		return nil, fmt.Errorf("connect to the system bus: %w", err)
	}
	return conn, nil
}

// DialSessionBus connects to the session bus (DBUS_SESSION_BUS_ADDRESS,
// else $XDG_RUNTIME_DIR/bus). Unlike godbus's ConnectSessionBus it never
// launches a bus of its own.
func DialSessionBus(ctx context.Context) (*dbus.Conn, error) {
	conn, err := dbus.SessionBusPrivateNoAutoStartup(dbus.WithContext(ctx), dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
	if err != nil {
		return nil, fmt.Errorf("connect to the session bus: %w", err)
	}
	if err := conn.Auth(nil); err != nil {
		conn.Close()
		return nil, fmt.Errorf("authenticate to the session bus: %w", err)
	}
	if err := conn.Hello(); err != nil {
		conn.Close()
		return nil, fmt.Errorf("register on the session bus: %w", err)
	}
	return conn, nil
}

// Agent is the desktop agent: it shows the service's suspicions and
// violations as notifications and carries the user's choice back to the
// service. Three goroutines: one owns the system bus connection, one the
// session bus connection, and the agent's loop owns the Book; they talk
// through channels (events to the loop) and mailboxes (requests from it).
type Agent struct {
	cfg    Config
	log    *slog.Logger
	book   *Book
	events chan event
	calls  *mailbox[Call]   // to the system side
	shows  *mailbox[Effect] // Show and Close, to the session side
}

// New returns an agent; Run starts it.
func New(cfg Config) *Agent {
	cfg = cfg.withDefaults()
	return &Agent{
		cfg:    cfg,
		log:    cfg.Log,
		book:   NewBook(cfg.Catalog),
		events: make(chan event, 64),
		calls:  newMailbox[Call](),
		shows:  newMailbox[Effect](),
	}
}

// Run runs the agent until ctx ends; it keeps running (reconnecting with
// backoff) whatever happens to either bus, the service or the notification
// server, and returns nil when ctx ends.
func (a *Agent) Run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	sys := &systemSide{cfg: a.cfg, log: a.log, calls: a.calls, events: a.events, bo: newBackoff(a.cfg.MinBackoff, a.cfg.MaxBackoff)}
	ses := &sessionSide{cfg: a.cfg, log: a.log, reqs: a.shows, events: a.events, bo: newBackoff(a.cfg.MinBackoff, a.cfg.MaxBackoff)}
	done := make(chan struct{}, 2)
	go func() { sys.run(ctx); done <- struct{}{} }()
	go func() { ses.run(ctx); done <- struct{}{} }()
	a.log.Info("agent: started", slog.String("language", a.cfg.Catalog.Lang()))
	for {
		select {
		case <-ctx.Done():
			<-done
			<-done
			a.log.Info("agent: stopped")
			return nil
		case ev := <-a.events:
			a.apply(a.handle(ev))
		}
	}
}

// handle decides what an event means, through the Book.
func (a *Agent) handle(ev event) []Effect {
	switch ev := ev.(type) {
	case evServiceUp:
		a.log.Info("agent: the mac-nmguard service is running", slog.String("owner", ev.owner))
	case evServiceDown:
		a.log.Info("agent: the mac-nmguard service is not running; waiting for it")
	case evPending:
		a.log.Info("agent: pending suspicions", slog.Int("count", len(ev.list)))
		return a.book.Pending(ev.list)
	case evSuspicion:
		a.log.Info("agent: suspicion", slog.String("id", ev.s.ID), slog.String("device", ev.s.Device),
			slog.String("connection", ev.s.Connection.ID), slog.String("kind", ev.s.Kind), slog.String("reason", ev.s.Reason))
		return a.book.Suspicion(ev.s)
	case evViolation:
		a.log.Warn("agent: violation", slog.String("device", ev.device), slog.String("action", ev.action), slog.String("reason", ev.reason))
		return a.book.Violation(ev.device, ev.action, ev.reason)
	case evRestored:
		a.log.Info("agent: restored", slog.String("device", ev.device), slog.String("uuid", ev.uuid))
		return a.book.Restored(ev.device, ev.uuid)
	case evRestoreFailed:
		a.log.Warn("agent: restore failed", slog.String("device", ev.device), slog.String("uuid", ev.uuid), slog.String("reason", ev.reason))
		return a.book.RestoreFailed(ev.device, ev.uuid, ev.reason)
	case evCallDone:
		if ev.err != nil {
			a.log.Warn("agent: call to the service failed", slog.String("method", string(ev.call.Method)),
				slog.String("device", ev.call.Device), slog.String("error", ev.err.Error()))
			return a.book.CallFailed(ev.call, callFailureText(a.cfg.Catalog, ev.err))
		}
		a.log.Info("agent: call to the service done", slog.String("method", string(ev.call.Method)), slog.String("device", ev.call.Device))
	case evServerUp:
		return a.book.ServerUp()
	case evShown:
		a.book.Shown(ev.key, ev.ok)
	case evAction:
		a.log.Info("agent: user chose", slog.String("action", ev.action), slog.String("device", ev.key.Device), slog.String("network", ev.key.Network))
		return a.book.Action(ev.key, ev.action)
	case evClosed:
		a.book.Closed(ev.key)
	}
	return nil
}

// apply hands effects to the bus goroutines (never blocks).
func (a *Agent) apply(effects []Effect) {
	for _, e := range effects {
		switch e := e.(type) {
		case Call:
			a.calls.put(e)
		case Show, Close:
			a.shows.put(e)
		}
	}
}

// callFailureText is the part of a failed call's error a person can use:
// the agent's own words when the service is not there, the service's own
// message for a D-Bus error.
func callFailureText(c *Catalog, err error) string {
	switch {
	case errors.Is(err, errServiceDown):
		return c.T("the mac-nmguard service is not running")
	case errors.Is(err, errServiceLost):
		return c.T("the connection to the mac-nmguard service was lost")
	}
	var de dbus.Error
	if errors.As(err, &de) && len(de.Body) > 0 {
		if s, ok := de.Body[0].(string); ok && s != "" {
			return s
		}
	}
	return err.Error()
}

// event is what the bus goroutines tell the agent's loop.
type event interface{ isEvent() }

type (
	evServiceUp     struct{ owner string }
	evServiceDown   struct{}
	evPending       struct{ list []api.Suspicion }
	evSuspicion     struct{ s api.Suspicion }
	evViolation     struct{ device, address, action, reason string }
	evRestored      struct{ device, uuid, address string }
	evRestoreFailed struct{ device, uuid, reason string }
	evCallDone      struct {
		call Call
		err  error
	}
	evServerUp struct{}
	evShown    struct {
		key Key
		ok  bool
	}
	evAction struct {
		key    Key
		action string
	}
	evClosed struct{ key Key }
)

func (evServiceUp) isEvent()     {}
func (evServiceDown) isEvent()   {}
func (evPending) isEvent()       {}
func (evSuspicion) isEvent()     {}
func (evViolation) isEvent()     {}
func (evRestored) isEvent()      {}
func (evRestoreFailed) isEvent() {}
func (evCallDone) isEvent()      {}
func (evServerUp) isEvent()      {}
func (evShown) isEvent()         {}
func (evAction) isEvent()        {}
func (evClosed) isEvent()        {}

// send hands ev to the loop, unless ctx ends first.
func send(ctx context.Context, events chan<- event, ev event) {
	select {
	case events <- ev:
	case <-ctx.Done():
	}
}
