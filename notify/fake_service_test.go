// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/notify/notifytest"
)

// servicePolicy lets root own the service's name and anyone call it (what
// the service's own bus policy file grants), on the test's system bus.
const servicePolicy = `<policy user="root"><allow own="` + api.BusName + `"/></policy>
<policy context="default"><allow send_destination="` + api.BusName + `" send_interface="` + api.Interface + `"/></policy>`

// restoreCall is one Restore call the fake service received.
type restoreCall struct{ device, uuid, scope string }

// fakeService is a scriptable stand-in for the mac-nmguard service on a
// private system bus: it owns the API name, answers ListSuspicions with its
// pending list, records Restore and Dismiss, and emits signals on demand.
type fakeService struct {
	conn      *dbus.Conn
	mu        sync.Mutex
	pending   []api.Suspicion
	restores  chan restoreCall
	dismisses chan string
}

// fakeAPI is the exported object (kept apart so that only the API's methods
// are exported on the bus).
type fakeAPI struct{ f *fakeService }

func (a fakeAPI) ListSuspicions() (string, *dbus.Error) {
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	b, err := json.Marshal(a.f.pending)
	if err != nil {
		return "", dbus.MakeFailedError(err)
	}
	return string(b), nil
}

func (a fakeAPI) Restore(device, uuid, scope string) *dbus.Error {
	a.f.restores <- restoreCall{device, uuid, scope}
	return nil
}

func (a fakeAPI) Dismiss(id string) *dbus.Error {
	a.f.mu.Lock()
	defer a.f.mu.Unlock()
	for i, s := range a.f.pending {
		if s.ID == id {
			a.f.pending = append(a.f.pending[:i], a.f.pending[i+1:]...)
			a.f.dismisses <- id
			return nil
		}
	}
	return dbus.NewError("org.freedesktop.DBus.Error.InvalidArgs", []any{"no pending suspicion " + id})
}

// startFakeService connects to bus, exports the API and owns its name, with
// pending as the pending suspicions. It is stopped (connection closed, so
// the name goes) in t.Cleanup or by stop.
func startFakeService(t *testing.T, bus *notifytest.Bus, pending ...api.Suspicion) *fakeService {
	t.Helper()
	conn, err := dbus.Connect(bus.Address)
	if err != nil {
		t.Fatalf("fake service: %v", err)
	}
	t.Cleanup(func() { conn.Close() })
	f := &fakeService{conn: conn, pending: pending, restores: make(chan restoreCall, 8), dismisses: make(chan string, 8)}
	if err := conn.Export(fakeAPI{f}, api.Path, api.Interface); err != nil {
		t.Fatalf("fake service: export: %v", err)
	}
	reply, err := conn.RequestName(api.BusName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		t.Fatalf("fake service: own %s: reply %v, %v", api.BusName, reply, err)
	}
	return f
}

// stop drops the fake's connection: the service goes away.
func (f *fakeService) stop() { f.conn.Close() }

// raise adds s to the pending list and emits the Suspicion signal.
func (f *fakeService) raise(t *testing.T, s api.Suspicion) {
	t.Helper()
	f.mu.Lock()
	f.pending = append(f.pending, s)
	f.mu.Unlock()
	b, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	f.emit(t, api.SignalSuspicion, string(b))
}

func (f *fakeService) emit(t *testing.T, name string, args ...any) {
	t.Helper()
	if err := f.conn.Emit(api.Path, api.Interface+"."+name, args...); err != nil {
		t.Fatalf("fake service: emit %s: %v", name, err)
	}
}

func (f *fakeService) waitRestore(t *testing.T, timeout time.Duration) restoreCall {
	t.Helper()
	select {
	case c := <-f.restores:
		return c
	case <-time.After(timeout):
		t.Fatalf("fake service: no Restore call within %v", timeout)
	}
	return restoreCall{}
}

func (f *fakeService) waitDismiss(t *testing.T, timeout time.Duration) string {
	t.Helper()
	select {
	case id := <-f.dismisses:
		return id
	case <-time.After(timeout):
		t.Fatalf("fake service: no Dismiss call within %v", timeout)
	}
	return ""
}

// logBuffer collects an agent's log for a test.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *logBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *logBuffer) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor waits until every one of subs is in one log line.
func (l *logBuffer) waitFor(t *testing.T, timeout time.Duration, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(l.String(), "\n") {
			ok := true
			for _, s := range subs {
				ok = ok && strings.Contains(line, s)
			}
			if ok {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %v; log:\n%s", subs, timeout, l.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// agentRun is an agent running for a test.
type agentRun struct {
	logs *logBuffer
	done chan error
}

// running fails the test when the agent's Run has returned.
func (r *agentRun) running(t *testing.T) {
	t.Helper()
	select {
	case err := <-r.done:
		t.Fatalf("the agent stopped by itself (Run returned %v)", err)
	default:
	}
}

// runAgent runs an agent in English on the given bus addresses until the
// test ends.
func runAgent(t *testing.T, systemAddr, sessionAddr string) *agentRun {
	t.Helper()
	return runAgentIn(t, English(), systemAddr, sessionAddr)
}

// runAgentIn runs an agent whose notifications are in cat's language.
func runAgentIn(t *testing.T, cat *Catalog, systemAddr, sessionAddr string) *agentRun {
	t.Helper()
	logs := &logBuffer{}
	dial := func(addr string) Dialer {
		return func(ctx context.Context) (*dbus.Conn, error) {
			return dbus.Connect(addr, dbus.WithContext(ctx), dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
		}
	}
	a := New(Config{
		DialSystem:  dial(systemAddr),
		DialSession: dial(sessionAddr),
		Log:         slog.New(slog.NewTextHandler(logs, &slog.HandlerOptions{Level: slog.LevelDebug})),
		MinBackoff:  50 * time.Millisecond,
		MaxBackoff:  500 * time.Millisecond,
		Catalog:     cat,
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case <-done:
		case <-time.After(10 * time.Second):
			t.Error("agent did not stop within 10s of its context ending")
		}
		if t.Failed() {
			t.Logf("agent log:\n%s", logs.String())
		}
	})
	return &agentRun{logs: logs, done: done}
}
