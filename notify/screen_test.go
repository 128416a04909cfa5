// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

func TestScreen(t *testing.T) {
	a := Key{Slot: SlotNetwork, Device: "wlan0", Network: "u1"}
	b := Key{Slot: SlotDevice, Device: "eth0"}
	s := newScreen()
	if s.replaces(a) != 0 {
		t.Fatal("a new slot replaces nothing")
	}
	s.shown(a, 5, 10)
	if s.replaces(a) != 5 {
		t.Fatalf("replaces = %d, want 5", s.replaces(a))
	}
	if k, ok := s.lookup(5); !ok || k != a {
		t.Fatalf("lookup(5) = %v %v", k, ok)
	}
	// The slot is replaced in place (server kept the id): a Closed sent
	// before the replacement's reply is stale and must not drop the slot.
	s.shown(a, 5, 20)
	if _, ok := s.closed(5, 15); ok {
		t.Fatal("a NotificationClosed older than the notification now shown under the id was taken")
	}
	if s.replaces(a) != 5 {
		t.Fatal("stale close dropped the slot")
	}
	// A server that gives a new id: the old id is no longer ours.
	s.shown(a, 6, 30)
	if _, ok := s.lookup(5); ok {
		t.Fatal("old id still mapped")
	}
	if k, ok := s.closed(6, 31); !ok || k != a {
		t.Fatalf("closed(6) = %v %v", k, ok)
	}
	if s.replaces(a) != 0 {
		t.Fatal("a closed slot must start a new notification")
	}
	// An id reused by the server for another slot takes it over.
	s.shown(a, 7, 40)
	s.shown(b, 7, 41)
	if s.replaces(a) != 0 || s.replaces(b) != 7 {
		t.Fatalf("reuse: a=%d b=%d", s.replaces(a), s.replaces(b))
	}
	if id := s.forget(b); id != 7 {
		t.Fatalf("forget = %d", id)
	}
	if _, ok := s.closed(7, 50); ok {
		t.Fatal("a forgotten id is not ours")
	}
	s.shown(a, 8, 60)
	s.reset()
	if s.replaces(a) != 0 {
		t.Fatal("reset kept a slot")
	}
	if id := s.forget(a); id != 0 {
		t.Fatal("forget after reset")
	}
}

func TestMailbox(t *testing.T) {
	m := newMailbox[int]()
	for i := range 1000 { // never blocks, however many
		m.put(i)
	}
	select {
	case <-m.ready:
	default:
		t.Fatal("no ready token")
	}
	got := m.take()
	if len(got) != 1000 || got[0] != 0 || got[999] != 999 {
		t.Fatalf("take = %d items", len(got))
	}
	if len(m.take()) != 0 {
		t.Fatal("take twice")
	}
}

func TestBackoff(t *testing.T) {
	b := newBackoff(100*time.Millisecond, 350*time.Millisecond)
	var got []time.Duration
	for range 4 {
		got = append(got, b.wait())
	}
	want := []time.Duration{100 * time.Millisecond, 200 * time.Millisecond, 350 * time.Millisecond, 350 * time.Millisecond}
	for i := range want {
		if got[i] != want[i] {
			t.Fatalf("waits = %v, want %v", got, want)
		}
	}
	b.reset()
	if b.wait() != 100*time.Millisecond {
		t.Fatal("reset")
	}
	if d := newBackoff(0, 0).wait(); d != 500*time.Millisecond {
		t.Fatalf("default min = %v", d)
	}
}

func TestParseServiceSignal(t *testing.T) {
	const iface = "io.github.macnmguard.Guard1."
	tests := []struct {
		name    string
		sig     dbus.Signal
		want    event
		wantErr bool
	}{
		{"suspicion", dbus.Signal{Name: iface + "Suspicion", Body: []any{`{"id":"a","device":"wlan0","connection":{"uuid":"u","id":"s","ssid":"s"},"kind":"auth-loop"}`}},
			evSuspicion{s: susp("a", "wlan0", "u", "s", "auth-loop")}, false},
		{"suspicion: bad JSON", dbus.Signal{Name: iface + "Suspicion", Body: []any{`{`}}, nil, true},
		{"suspicion: no id", dbus.Signal{Name: iface + "Suspicion", Body: []any{`{"device":"wlan0"}`}}, nil, true},
		{"suspicion: wrong type", dbus.Signal{Name: iface + "Suspicion", Body: []any{uint32(1)}}, nil, true},
		{"violation", dbus.Signal{Name: iface + "Violation", Body: []any{"eth0", "02:00:00:00:00:01", "refused", "r"}},
			evViolation{device: "eth0", address: "02:00:00:00:00:01", action: "refused", reason: "r"}, false},
		{"violation: short", dbus.Signal{Name: iface + "Violation", Body: []any{"eth0"}}, nil, true},
		{"restored", dbus.Signal{Name: iface + "Restored", Body: []any{"eth0", "u", "aa", uint32(100)}},
			evRestored{device: "eth0", uuid: "u", address: "aa"}, false},
		{"restore failed", dbus.Signal{Name: iface + "RestoreFailed", Body: []any{"eth0", "u", "why"}},
			evRestoreFailed{device: "eth0", uuid: "u", reason: "why"}, false},
		{"other signal", dbus.Signal{Name: iface + "Something", Body: []any{}}, nil, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := parseServiceSignal(&tc.sig)
			if (err != nil) != tc.wantErr {
				t.Fatalf("err = %v, want error %v", err, tc.wantErr)
			}
			if sp, ok := got.(evSuspicion); ok {
				w := tc.want.(evSuspicion)
				if sp.s.ID != w.s.ID || sp.s.Device != w.s.Device || sp.s.Connection != w.s.Connection || sp.s.Kind != w.s.Kind {
					t.Fatalf("got %+v, want %+v", got, tc.want)
				}
				return
			}
			if got != tc.want {
				t.Fatalf("got %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestCallFailureText(t *testing.T) {
	err := dbus.Error{Name: "org.freedesktop.DBus.Error.InvalidArgs", Body: []any{"the real address of wlan0 is unknown"}}
	if got := callFailureText(en, err); got != "the real address of wlan0 is unknown" {
		t.Errorf("callFailureText = %q", got)
	}
	if got := callFailureText(en, errServiceDown); got != errServiceDown.Error() {
		t.Errorf("callFailureText = %q", got)
	}
}
