// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"strings"
	"time"

	fdn "github.com/esiqveland/notify"
	"github.com/godbus/dbus/v5"
)

// The freedesktop notification server.
const (
	notifyName      = "org.freedesktop.Notifications"
	notifyPath      = "/org/freedesktop/Notifications"
	notifyInterface = "org.freedesktop.Notifications"
)

// sessionSide owns the session bus connection: it shows and closes
// notifications for the agent's loop and forwards the server's
// ActionInvoked and NotificationClosed for the agent's own notifications.
// With no session bus or no notification server it logs what it would have
// shown.
type sessionSide struct {
	cfg    Config
	log    *slog.Logger
	reqs   *mailbox[Effect]
	events chan<- event
	bo     *backoff
}

// run connects, serves, and reconnects with backoff until ctx ends.
func (s *sessionSide) run(ctx context.Context) {
	for ctx.Err() == nil {
		conn, err := s.cfg.DialSession(ctx)
		if err != nil {
			wait := s.bo.wait()
			s.log.Warn("agent: cannot reach the session bus; notifications are logged until it is back",
				slog.String("error", err.Error()), slog.Duration("retry_in", wait))
			s.idle(ctx, wait)
			continue
		}
		s.bo.reset()
		err = s.serve(ctx, conn)
		conn.Close()
		if ctx.Err() != nil {
			return
		}
		wait := s.bo.wait()
		s.log.Warn("agent: lost the session bus; reconnecting", slog.Any("error", err), slog.Duration("retry_in", wait))
		s.idle(ctx, wait)
	}
}

// idle waits d, logging the notifications asked for meanwhile.
func (s *sessionSide) idle(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
			return
		case <-s.reqs.ready:
			for _, r := range s.reqs.take() {
				if sh, ok := r.(Show); ok {
					s.unshown(ctx, sh, errors.New("no session bus"))
				}
			}
		}
	}
}

// unshown logs a notification that could not be shown and tells the loop.
func (s *sessionSide) unshown(ctx context.Context, sh Show, why error) {
	s.log.Warn("agent: no notification server; would have shown",
		slog.String("summary", sh.Msg.Summary), slog.String("body", sh.Msg.Body),
		slog.String("actions", actionLabels(sh.Msg.Actions)), slog.String("commands", sh.Msg.NoActions),
		slog.String("why", why.Error()))
	send(ctx, s.events, evShown{key: sh.Key, ok: false})
}

func actionLabels(as []Action) string {
	labels := make([]string, len(as))
	for i, a := range as {
		labels[i] = a.Label
	}
	return strings.Join(labels, " | ")
}

// server is what the session side knows of the notification server.
type server struct {
	owner  string // unique name; "" when there is none
	markup bool   // the server reads markup in bodies
	// actions: the server shows actions ("actions" capability), or its
	// capabilities are unknown (then the commands are shown as well).
	actions bool
	// commands: say in the body how to make the choices from a terminal
	// (no "actions" capability, or capabilities unknown).
	commands bool
	// persistence: the server keeps notifications until the user
	// dismisses them ("persistence"; GNOME Shell): "resident" keeps an
	// open choice there after an action too.
	persistence bool
}

// serverFromCaps is what the capabilities say (known false: the server
// did not say).
func serverFromCaps(owner string, caps []string, known bool) server {
	srv := server{owner: owner, markup: slices.Contains(caps, "body-markup"), persistence: slices.Contains(caps, "persistence")}
	srv.actions = !known || slices.Contains(caps, "actions")
	srv.commands = !known || !slices.Contains(caps, "actions")
	return srv
}

// serve shows notifications on conn until conn breaks or ctx ends.
func (s *sessionSide) serve(ctx context.Context, conn *dbus.Conn) error {
	sigs := make(chan *dbus.Signal, 64)
	conn.Signal(sigs)
	defer conn.RemoveSignal(sigs)
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(busName), dbus.WithMatchInterface(busInterface),
		dbus.WithMatchMember("NameOwnerChanged"), dbus.WithMatchArg(0, notifyName)); err != nil {
		return fmt.Errorf("follow the notification server's name: %w", err)
	}
	if err := conn.AddMatchSignalContext(ctx, dbus.WithMatchSender(notifyName),
		dbus.WithMatchObjectPath(notifyPath), dbus.WithMatchInterface(notifyInterface)); err != nil {
		return fmt.Errorf("subscribe to the notification server's signals: %w", err)
	}
	owner, err := nameOwner(ctx, conn, notifyName)
	if err != nil {
		return err
	}
	srv := serverFromCaps("", nil, false)
	scr := newScreen()
	if owner != "" {
		srv = s.meet(ctx, conn, owner)
		send(ctx, s.events, evServerUp{})
	} else {
		s.log.Info("agent: no notification server on the session bus yet; notifications are logged until one appears")
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
				if !ok || name != notifyName || newOwner == srv.owner {
					continue
				}
				scr.reset() // the old server's notifications are gone
				if newOwner == "" {
					srv = serverFromCaps("", nil, false)
					s.log.Warn("agent: the notification server went away; notifications are logged until one appears")
					continue
				}
				srv = s.meet(ctx, conn, newOwner)
				send(ctx, s.events, evServerUp{})
			case srv.owner != "" && sig.Sender == srv.owner && sig.Path == notifyPath:
				s.serverSignal(ctx, scr, sig)
			}
		case <-s.reqs.ready:
			for _, r := range s.reqs.take() {
				switch r := r.(type) {
				case Show:
					s.show(ctx, conn, scr, &srv, r)
				case Close:
					s.close(ctx, conn, scr, r.Key)
				}
			}
		}
	}
}

// meet logs who the server is and what it can do.
func (s *sessionSide) meet(ctx context.Context, conn *dbus.Conn, owner string) server {
	cctx, cancel := context.WithTimeout(ctx, s.cfg.NotifyTimeout)
	defer cancel()
	obj := conn.Object(notifyName, notifyPath)
	var caps []string
	err := obj.CallWithContext(cctx, notifyInterface+".GetCapabilities", 0).Store(&caps)
	if err != nil {
		s.log.Warn("agent: notification server capabilities unknown", slog.String("error", err.Error()))
	}
	known := err == nil
	var info fdn.ServerInformation
	if err := obj.CallWithContext(cctx, notifyInterface+".GetServerInformation", 0).Store(&info.Name, &info.Vendor, &info.Version, &info.SpecVersion); err != nil {
		s.log.Warn("agent: notification server information unknown", slog.String("error", err.Error()))
	}
	srv := serverFromCaps(owner, caps, known)
	if !srv.actions {
		s.log.Warn("agent: the notification server shows no actions; notifications say which command makes each choice",
			slog.String("server", info.Name))
	}
	s.log.Info("agent: notification server", slog.String("server", info.Name), slog.String("version", info.Version),
		slog.String("spec", info.SpecVersion), slog.String("capabilities", strings.Join(caps, ",")))
	return srv
}

// serverSignal handles ActionInvoked and NotificationClosed from the server.
func (s *sessionSide) serverSignal(ctx context.Context, scr *screen, sig *dbus.Signal) {
	switch sig.Name {
	case notifyInterface + ".ActionInvoked":
		var id uint32
		var key string
		if err := dbus.Store(sig.Body, &id, &key); err != nil {
			s.log.Warn("agent: malformed ActionInvoked", slog.String("error", err.Error()))
			return
		}
		if k, ok := scr.lookup(id); ok {
			send(ctx, s.events, evAction{key: k, action: key})
		}
	case notifyInterface + ".NotificationClosed":
		var id, reason uint32
		if err := dbus.Store(sig.Body, &id, &reason); err != nil {
			s.log.Warn("agent: malformed NotificationClosed", slog.String("error", err.Error()))
			return
		}
		if k, ok := scr.closed(id, uint64(sig.Sequence)); ok {
			s.log.Debug("agent: notification closed", slog.Uint64("id", uint64(id)), slog.String("reason", fdn.Reason(reason).String()))
			send(ctx, s.events, evClosed{key: k})
		}
	}
}

// show puts a message on screen in its slot, replacing the slot's
// notification. It tries even when no server owns the name: the bus may
// start one on demand (D-Bus activation).
func (s *sessionSide) show(ctx context.Context, conn *dbus.Conn, scr *screen, srv *server, sh Show) {
	n := notification(s.cfg.AppName, scr.replaces(sh.Key), sh.Msg, *srv)
	cctx, cancel := context.WithTimeout(ctx, s.cfg.NotifyTimeout)
	defer cancel()
	id, seq, err := sendNotification(cctx, conn, n)
	if err != nil {
		s.unshown(ctx, sh, err)
		return
	}
	if srv.owner == "" { // started on demand: learn who it is, so its NameOwnerChanged is no news
		if owner, err := nameOwner(ctx, conn, notifyName); err == nil && owner != "" {
			*srv = s.meet(ctx, conn, owner)
		}
	}
	scr.shown(sh.Key, id, seq)
	s.log.Info("agent: notification shown", slog.Uint64("id", uint64(id)), slog.String("summary", sh.Msg.Summary))
	send(ctx, s.events, evShown{key: sh.Key, ok: true})
}

// close takes the slot's notification off the screen.
func (s *sessionSide) close(ctx context.Context, conn *dbus.Conn, scr *screen, k Key) {
	id := scr.forget(k)
	if id == 0 {
		return
	}
	cctx, cancel := context.WithTimeout(ctx, s.cfg.NotifyTimeout)
	defer cancel()
	if err := conn.Object(notifyName, notifyPath).CallWithContext(cctx, notifyInterface+".CloseNotification", 0, id).Err; err != nil {
		s.log.Debug("agent: close notification", slog.Uint64("id", uint64(id)), slog.String("error", err.Error()))
	}
}

// notification builds the freedesktop notification for m on srv. Body
// markup is escaped for servers that read it: names come from the network.
// An open choice stays on screen until answered: urgency critical, no
// expiry, and "resident" where the server keeps notifications
// (persistence). A server without actions gets, instead of them, the
// commands that make the choices.
func notification(app string, replaces uint32, m Message, srv server) fdn.Notification {
	body := m.Body
	if srv.commands && m.NoActions != "" {
		body += "\n\n" + m.NoActions
	}
	n := fdn.Notification{
		AppName:       app,
		ReplacesID:    replaces,
		Summary:       m.Summary,
		Body:          body,
		ExpireTimeout: fdn.ExpireTimeoutSetByNotificationServer,
	}
	if srv.markup {
		n.Body = escapeMarkup(body)
	}
	if m.Persistent || m.NeedsAnswer {
		n.ExpireTimeout = fdn.ExpireTimeoutNever
	}
	if srv.actions {
		for _, a := range m.Actions {
			n.Actions = append(n.Actions, fdn.Action{Key: a.Key, Label: a.Label})
		}
	}
	urgency := m.Urgency
	if m.NeedsAnswer {
		urgency = UrgencyCritical
		if srv.persistence {
			n.AddHint(fdn.Hint{ID: "resident", Variant: dbus.MakeVariant(true)})
		}
	}
	n.SetUrgency(fdn.Urgency(urgency))
	if m.Category != "" {
		n.AddHint(fdn.Hint{ID: "category", Variant: dbus.MakeVariant(m.Category)})
	}
	return n
}

// sendNotification is the library's SendNotification with a deadline (a
// hung server must not hang the agent) and the reply's sequence number
// (see screen).
func sendNotification(ctx context.Context, conn *dbus.Conn, n fdn.Notification) (uint32, uint64, error) {
	actions := make([]string, 0, 2*len(n.Actions))
	for _, a := range n.Actions {
		actions = append(actions, a.Key, a.Label)
	}
	hints := n.Hints
	if hints == nil {
		hints = map[string]dbus.Variant{}
	}
	call := conn.Object(notifyName, notifyPath).CallWithContext(ctx, notifyInterface+".Notify", 0,
		n.AppName, n.ReplacesID, n.AppIcon, n.Summary, n.Body, actions, hints, int32(n.ExpireTimeout.Milliseconds()))
	if call.Err != nil {
		return 0, 0, fmt.Errorf("notify: %w", call.Err)
	}
	var id uint32
	if err := call.Store(&id); err != nil {
		return 0, 0, fmt.Errorf("notify reply: %w", err)
	}
	return id, uint64(call.ResponseSequence), nil
}

// escapeMarkup escapes the characters the notification markup reads.
func escapeMarkup(s string) string {
	return strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;").Replace(s)
}
