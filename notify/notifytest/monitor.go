// SPDX-License-Identifier: GPL-3.0-or-later

package notifytest

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// NotifyCall is one org.freedesktop.Notifications.Notify call seen on a bus,
// with the id the server answered (0 until the reply is seen).
type NotifyCall struct {
	Sender     string
	AppName    string
	ReplacesID uint32
	Summary    string
	Body       string
	Actions    []string // key, label, key, label, ...
	Hints      map[string]dbus.Variant
	Timeout    int32
	ID         uint32
	Error      string // the server's error reply, if any
}

// Action returns the label of the action keyed key, and whether there is one.
func (c NotifyCall) Action(key string) (string, bool) {
	for i := 0; i+1 < len(c.Actions); i += 2 {
		if c.Actions[i] == key {
			return c.Actions[i+1], true
		}
	}
	return "", false
}

func (c NotifyCall) String() string {
	return fmt.Sprintf("Notify(replaces %d, %q, %q, actions %q) -> id %d %s", c.ReplacesID, c.Summary, c.Body, c.Actions, c.ID, c.Error)
}

// Monitor records the Notify calls made on a bus (and the server's replies),
// as a bus monitor (org.freedesktop.DBus.Monitoring.BecomeMonitor; root).
type Monitor struct {
	mu    sync.Mutex
	calls []*NotifyCall
	byKey map[string]*NotifyCall // sender/serial -> call
	wake  chan struct{}
}

// StartMonitor starts recording on b; it stops in t.Cleanup.
func StartMonitor(t testing.TB, b *Bus) *Monitor {
	t.Helper()
	conn, err := dbus.Connect(b.Address)
	if err != nil {
		t.Fatalf("notifytest: monitor: %v", err)
	}
	msgs := make(chan *dbus.Message, 4096)
	conn.Eavesdrop(msgs) // from now on godbus hands every message to msgs and answers none
	t.Cleanup(func() {
		// godbus's Close closes the eavesdrop channel but leaves it set, and
		// its reader may still send a message to it (panic: send on closed
		// channel): unset it first (under godbus's lock), then close. The
		// channel is left open (godbus may have closed it already, when
		// the bus went away); the reader stops with the connection.
		conn.Eavesdrop(nil)
		conn.Close()
	})
	rules := []string{
		"type='method_call',interface='org.freedesktop.Notifications',member='Notify'",
		"type='method_return'",
		"type='error'",
	}
	conn.BusObject().Go("org.freedesktop.DBus.Monitoring.BecomeMonitor", 0, nil, rules, uint32(0))
	select {
	case m, ok := <-msgs:
		if !ok {
			t.Fatal("notifytest: monitor connection closed")
		}
		if m.Type == dbus.TypeError {
			t.Fatalf("notifytest: BecomeMonitor: %v", m.Body)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("notifytest: BecomeMonitor: no reply")
	}
	mon := &Monitor{byKey: map[string]*NotifyCall{}, wake: make(chan struct{})}
	go mon.read(conn.Context().Done(), msgs)
	return mon
}

func header[T any](m *dbus.Message, f dbus.HeaderField) T {
	var zero T
	v, ok := m.Headers[f]
	if !ok {
		return zero
	}
	x, _ := v.Value().(T)
	return x
}

func (mon *Monitor) read(closed <-chan struct{}, msgs <-chan *dbus.Message) {
	for {
		var m *dbus.Message
		select {
		case <-closed:
			return
		case msg, ok := <-msgs:
			if !ok {
				return
			}
			m = msg
		}
		switch m.Type {
		case dbus.TypeMethodCall:
			if header[string](m, dbus.FieldMember) != "Notify" {
				continue
			}
			c := &NotifyCall{Sender: header[string](m, dbus.FieldSender)}
			if err := dbus.Store(m.Body, &c.AppName, &c.ReplacesID, new(string), &c.Summary, &c.Body, &c.Actions, &c.Hints, &c.Timeout); err != nil {
				c.Error = "unreadable call: " + err.Error()
			}
			mon.mu.Lock()
			mon.calls = append(mon.calls, c)
			mon.byKey[fmt.Sprintf("%s/%d", c.Sender, m.Serial())] = c
			mon.mu.Unlock()
		case dbus.TypeMethodReply, dbus.TypeError:
			key := fmt.Sprintf("%s/%d", header[string](m, dbus.FieldDestination), header[uint32](m, dbus.FieldReplySerial))
			mon.mu.Lock()
			c, ok := mon.byKey[key]
			if ok {
				delete(mon.byKey, key)
				if m.Type == dbus.TypeError {
					c.Error = fmt.Sprintf("%s %v", header[string](m, dbus.FieldErrorName), m.Body)
				} else if len(m.Body) == 1 {
					c.ID, _ = m.Body[0].(uint32)
				}
			}
			mon.mu.Unlock()
			if !ok {
				continue
			}
		default:
			continue
		}
		mon.mu.Lock()
		close(mon.wake)
		mon.wake = make(chan struct{})
		mon.mu.Unlock()
	}
}

// Calls returns the Notify calls seen so far, oldest first.
func (mon *Monitor) Calls() []NotifyCall {
	mon.mu.Lock()
	defer mon.mu.Unlock()
	out := make([]NotifyCall, len(mon.calls))
	for i, c := range mon.calls {
		out[i] = *c
	}
	return out
}

// Wait waits until a Notify call answered by the server satisfies match and
// returns it; after is how many calls to skip (e.g. len(Calls()) before the
// action that should cause it).
func (mon *Monitor) Wait(t testing.TB, after int, timeout time.Duration, match func(NotifyCall) bool) NotifyCall {
	t.Helper()
	deadline := time.After(timeout)
	for {
		mon.mu.Lock()
		wake := mon.wake
		mon.mu.Unlock()
		calls := mon.Calls()
		for _, c := range calls[min(after, len(calls)):] {
			if (c.ID != 0 || c.Error != "") && match(c) {
				return c
			}
		}
		select {
		case <-wake:
		case <-deadline:
			var b strings.Builder
			for _, c := range calls {
				b.WriteString("\n  " + c.String())
			}
			t.Fatalf("notifytest: no matching Notify call after %v; seen:%s", timeout, b.String())
		}
	}
}
