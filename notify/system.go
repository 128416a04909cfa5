// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

const (
	busName      = "org.freedesktop.DBus"
	busInterface = "org.freedesktop.DBus"
	nameOwnerSig = busInterface + ".NameOwnerChanged"
)

// maxInflight bounds the calls in flight to the service; godbus blocks its
// reader when a call's done channel is full, so the channel is this big and
// further calls wait their turn.
const maxInflight = 16

// errServiceDown fails a call made while the service is not reachable.
var errServiceDown = errors.New("the mac-nmguard service is not running")

// errServiceLost fails a call in flight when the connection to the service
// breaks.
var errServiceLost = errors.New("lost the connection to the service")

// systemSide owns the system bus connection: it follows the service (its
// name's owner), forwards the service's signals to the agent's loop and
// makes the calls the loop asks for.
type systemSide struct {
	cfg    Config
	log    *slog.Logger
	calls  *mailbox[Call]
	events chan<- event
	bo     *backoff
}

// run connects, serves, and reconnects with backoff until ctx ends.
func (s *systemSide) run(ctx context.Context) {
	for ctx.Err() == nil {
		conn, err := s.cfg.DialSystem(ctx)
		if err != nil {
			wait := s.bo.wait()
			s.log.Warn("agent: cannot reach the system bus; retrying", slog.String("error", err.Error()), slog.Duration("retry_in", wait))
			s.idle(ctx, wait)
			continue
		}
		s.bo.reset()
		err = s.serve(ctx, conn)
		conn.Close()
		if ctx.Err() != nil {
			return
		}
		send(ctx, s.events, evServiceDown{})
		wait := s.bo.wait()
		s.log.Warn("agent: lost the system bus; reconnecting", slog.Any("error", err), slog.Duration("retry_in", wait))
		s.idle(ctx, wait)
	}
}

// idle waits d, failing the calls asked for meanwhile.
func (s *systemSide) idle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-s.calls.ready:
			for _, c := range s.calls.take() {
				send(ctx, s.events, evCallDone{call: c, err: errServiceDown})
			}
		}
	}
}

// inflight is a call the system side is waiting on: a Call of the loop's,
// or the listing of pending suspicions (call == nil).
type inflight struct {
	call   *Call
	cancel context.CancelFunc
}

// serve follows the service on conn until conn breaks or ctx ends.
func (s *systemSide) serve(ctx context.Context, conn *dbus.Conn) error {
	sigs := make(chan *dbus.Signal, 64)
	conn.Signal(sigs)
	defer conn.RemoveSignal(sigs)
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(api.BusName),
		dbus.WithMatchObjectPath(api.Path), dbus.WithMatchInterface(api.Interface)); err != nil {
		return fmt.Errorf("subscribe to the service's signals: %w", err)
	}
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(busName), dbus.WithMatchInterface(busInterface),
		dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, api.BusName)); err != nil {
		return fmt.Errorf("follow the service's name: %w", err)
	}
	owner, err := nameOwner(ctx, conn, api.BusName)
	if err != nil {
		return err
	}

	replies := make(chan *dbus.Call, maxInflight)
	pending := map[*dbus.Call]inflight{}
	var queue []Call
	defer func() {
		for _, p := range pending {
			p.cancel()
			if p.call != nil {
				send(ctx, s.events, evCallDone{call: *p.call, err: errServiceLost})
			}
		}
		for _, c := range queue {
			send(ctx, s.events, evCallDone{call: c, err: errServiceDown})
		}
	}()
	start := func(method string, c *Call, args ...any) {
		cctx, cancel := context.WithTimeout(ctx, s.cfg.CallTimeout)
		obj := conn.Object(api.BusName, api.Path)
		flags := dbus.FlagNoAutoStart
		if method == api.Restore || method == api.KeepPrivate {
			// "Always" asks an administrator: let polkit's agent ask.
			flags |= dbus.FlagAllowInteractiveAuthorization
		}
		dc := obj.GoWithContext(cctx, method, flags, replies, args...)
		pending[dc] = inflight{call: c, cancel: cancel}
	}
	pump := func() {
		for len(queue) > 0 && len(pending) < maxInflight {
			c := queue[0]
			queue = queue[1:]
			if owner == "" {
				send(ctx, s.events, evCallDone{call: c, err: errServiceDown})
				continue
			}
			switch c.Method {
			case MethodRestore:
				start(api.Restore, &c, c.Device, c.UUID, c.Scope)
			case MethodKeepPrivate:
				start(api.KeepPrivate, &c, c.Device, c.UUID)
			case MethodDismiss:
				start(api.Dismiss, &c, c.ID)
			default:
				send(ctx, s.events, evCallDone{call: c, err: fmt.Errorf("unknown method %q", c.Method)})
			}
		}
	}
	up := func() {
		send(ctx, s.events, evServiceUp{owner: owner})
		if len(pending) < maxInflight {
			start(api.ListSuspicions, nil)
		} else {
			s.log.Warn("agent: too many calls in flight; pending suspicions not listed")
		}
	}
	if owner != "" {
		up()
	} else {
		send(ctx, s.events, evServiceDown{})
	}
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-conn.Context().Done():
			return errors.New("connection closed")
		case sig, ok := <-sigs:
			if !ok {
				return errors.New("connection closed")
			}
			switch {
			case sig.Name == nameOwnerSig && sig.Sender == busName:
				name, _, newOwner, ok := nameOwnerChange(sig)
				if !ok || name != api.BusName || newOwner == owner {
					continue
				}
				owner = newOwner
				if owner == "" {
					send(ctx, s.events, evServiceDown{})
				} else {
					up()
				}
			case owner != "" && sig.Sender == owner && sig.Path == api.Path:
				if ev, err := parseServiceSignal(sig); err != nil {
					s.log.Warn("agent: ignored a malformed signal from the service", slog.String("signal", sig.Name), slog.String("error", err.Error()))
				} else if ev != nil {
					send(ctx, s.events, ev)
				}
			default:
				s.log.Debug("agent: ignored a signal not sent by the service", slog.String("signal", sig.Name), slog.String("sender", sig.Sender))
			}
		case <-s.calls.ready:
			queue = append(queue, s.calls.take()...)
			pump()
		case dc := <-replies:
			p, ok := pending[dc]
			if !ok {
				continue
			}
			delete(pending, dc)
			p.cancel()
			if p.call == nil {
				list, err := parseSuspicions(dc)
				if err != nil {
					s.log.Warn("agent: cannot list pending suspicions", slog.String("error", err.Error()))
				} else {
					send(ctx, s.events, evPending{list: list})
				}
			} else {
				send(ctx, s.events, evCallDone{call: *p.call, err: dc.Err})
			}
			pump()
		}
	}
}

// nameOwner is the unique name owning name, "" when none does.
func nameOwner(ctx context.Context, conn *dbus.Conn, name string) (string, error) {
	var owner string
	err := conn.BusObject().CallWithContext(ctx, busInterface+".GetNameOwner", 0, name).Store(&owner)
	if err != nil {
		var de dbus.Error
		if errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner" {
			return "", nil
		}
		return "", fmt.Errorf("ask the bus who owns %s: %w", name, err)
	}
	return owner, nil
}

// nameOwnerChange reads a NameOwnerChanged signal.
func nameOwnerChange(sig *dbus.Signal) (name, oldOwner, newOwner string, ok bool) {
	if len(sig.Body) != 3 {
		return "", "", "", false
	}
	name, ok1 := sig.Body[0].(string)
	oldOwner, ok2 := sig.Body[1].(string)
	newOwner, ok3 := sig.Body[2].(string)
	return name, oldOwner, newOwner, ok1 && ok2 && ok3
}

// parseServiceSignal turns one of the service's signals into an event; nil
// for a signal the agent has no use for.
func parseServiceSignal(sig *dbus.Signal) (event, error) {
	switch sig.Name {
	case api.Interface + "." + api.SignalSuspicion:
		var js string
		if err := dbus.Store(sig.Body, &js); err != nil {
			return nil, err
		}
		var sp api.Suspicion
		if err := json.Unmarshal([]byte(js), &sp); err != nil {
			return nil, fmt.Errorf("suspicion JSON: %w", err)
		}
		if sp.ID == "" || sp.Device == "" {
			return nil, errors.New("suspicion without id or device")
		}
		return evSuspicion{s: sp}, nil
	case api.Interface + "." + api.SignalViolation:
		var ev evViolation
		if err := dbus.Store(sig.Body, &ev.device, &ev.address, &ev.action, &ev.reason); err != nil {
			return nil, err
		}
		return ev, nil
	case api.Interface + "." + api.SignalRestored:
		var ev evRestored
		var state uint32
		if err := dbus.Store(sig.Body, &ev.device, &ev.uuid, &ev.address, &state); err != nil {
			return nil, err
		}
		return ev, nil
	case api.Interface + "." + api.SignalRestoreFailed:
		var ev evRestoreFailed
		if err := dbus.Store(sig.Body, &ev.device, &ev.uuid, &ev.reason); err != nil {
			return nil, err
		}
		return ev, nil
	}
	return nil, nil
}

// parseSuspicions reads ListSuspicions' reply.
func parseSuspicions(dc *dbus.Call) ([]api.Suspicion, error) {
	if dc.Err != nil {
		return nil, dc.Err
	}
	var js string
	if err := dc.Store(&js); err != nil {
		return nil, err
	}
	var list []api.Suspicion
	if err := json.Unmarshal([]byte(js), &list); err != nil {
		return nil, fmt.Errorf("suspicions JSON: %w", err)
	}
	kept := list[:0]
	for _, sp := range list {
		if sp.ID != "" && sp.Device != "" {
			kept = append(kept, sp)
		}
	}
	return kept, nil
}
