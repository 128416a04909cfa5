// SPDX-License-Identifier: GPL-3.0-or-later

package notifytest

import (
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// Stub is a scriptable notification server on a test's session bus: it
// owns org.freedesktop.Notifications, answers GetCapabilities with the
// capabilities it was given (so a test can be a server without action
// buttons, or one like GNOME Shell's), records every Notify call with its
// hints, and emits ActionInvoked when the test plays the user.
type Stub struct {
	conn  *dbus.Conn
	caps  []string
	name  string
	mu    sync.Mutex
	calls []NotifyCall
	next  uint32
	wake  chan struct{}
}

const (
	stubPath  = dbus.ObjectPath("/org/freedesktop/Notifications")
	stubIface = "org.freedesktop.Notifications"
)

// stubAPI is the exported object (only the spec's methods are exported).
type stubAPI struct{ s *Stub }

func (a stubAPI) GetCapabilities() ([]string, *dbus.Error) { return a.s.caps, nil }

func (a stubAPI) GetServerInformation() (string, string, string, string, *dbus.Error) {
	return a.s.name, "mac-nmguard tests", "1.0", "1.2", nil
}

func (a stubAPI) Notify(app string, replaces uint32, icon, summary, body string, actions []string,
	hints map[string]dbus.Variant, timeout int32) (uint32, *dbus.Error) {
	s := a.s
	s.mu.Lock()
	defer s.mu.Unlock()
	id := replaces
	if id == 0 {
		s.next++
		id = s.next
	}
	s.calls = append(s.calls, NotifyCall{AppName: app, ReplacesID: replaces, Summary: summary, Body: body,
		Actions: actions, Hints: hints, Timeout: timeout, ID: id})
	close(s.wake)
	s.wake = make(chan struct{})
	return id, nil
}

func (a stubAPI) CloseNotification(id uint32) *dbus.Error {
	if err := a.s.conn.Emit(stubPath, stubIface+".NotificationClosed", id, uint32(3)); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

// StartStub starts a stub server named name with caps on b; it goes away in
// t.Cleanup.
func StartStub(t testing.TB, b *Bus, name string, caps ...string) *Stub {
	t.Helper()
	conn, err := dbus.Connect(b.Address)
	if err != nil {
		t.Fatalf("notifytest: stub: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	s := &Stub{conn: conn, caps: caps, name: name, next: 1, wake: make(chan struct{})}
	if s.caps == nil {
		s.caps = []string{}
	}
	if err := conn.Export(stubAPI{s}, stubPath, stubIface); err != nil {
		t.Fatalf("notifytest: stub: export: %v", err)
	}
	reply, err := conn.RequestName(stubIface, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("notifytest: stub: own %s: reply %v, %v", stubIface, reply, err)
	}
	return s
}

// Invoke plays a user choosing the action keyed key on notification id.
func (s *Stub) Invoke(t testing.TB, id uint32, key string) {
	t.Helper()
	if err := s.conn.Emit(stubPath, stubIface+".ActionInvoked", id, key); err != nil {
		t.Fatalf("notifytest: stub: ActionInvoked: %v", err)
	}
}

// Calls returns the Notify calls received so far, oldest first.
func (s *Stub) Calls() []NotifyCall {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]NotifyCall(nil), s.calls...)
}

// Wait waits until a Notify call after the first after satisfies match and
// returns it.
func (s *Stub) Wait(t testing.TB, after int, timeout time.Duration, match func(NotifyCall) bool) NotifyCall {
	t.Helper()
	deadline := time.After(timeout)
	for {
		s.mu.Lock()
		calls, wake := s.calls, s.wake
		s.mu.Unlock()
		for i := after; i < len(calls); i++ {
			if match(calls[i]) {
				return calls[i]
			}
		}
		select {
		case <-wake:
		case <-deadline:
			var b strings.Builder
			for _, c := range calls {
				b.WriteString("\n  " + c.String())
			}
			t.Fatalf("notifytest: stub: no matching Notify call after %v; seen:%s", timeout, b.String())
		}
	}
}
