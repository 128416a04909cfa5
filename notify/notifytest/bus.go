// SPDX-License-Identifier: GPL-3.0-or-later

package notifytest

import (
	"os"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// Bus is a private dbus-daemon owned by a test.
type Bus struct {
	Address string // D-Bus address of the bus (unix:path=...)
	Dir     string
	config  testproc.BusConfig
	bus     *testproc.Bus
}

// SessionBus starts a private session-type bus for t: a path socket,
// EXTERNAL auth, every connection may own and send anything, and no service
// directories (the stock session.conf would start a notification server of
// its own on the first Notify call, racing with the test's).
func SessionBus(t testing.TB) *Bus {
	t.Helper()
	return startBus(t, testproc.BusConfig{Type: testproc.SessionBus})
}

// SystemBus starts a private system-type bus for t, with the default-deny
// policy of /usr/share/dbus-1/system.conf plus the given policy fragments
// (<policy> elements), e.g. one that lets root own the service's name and
// anyone call it; root may monitor it. Nothing is activated on demand.
func SystemBus(t testing.TB, policies ...string) *Bus {
	t.Helper()
	return startBus(t, testproc.BusConfig{Type: testproc.SystemBus, Policies: policies})
}

func startBus(t testing.TB, c testproc.BusConfig) *Bus {
	t.Helper()
	// Not t.TempDir: its long path would not fit a socket address.
	dir, err := os.MkdirTemp("", "nmguard-"+string(c.Type)+"-bus-")
	if err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	c.Dir = dir
	b := &Bus{Dir: dir, config: c}
	b.Start(t)
	b.Address = b.bus.Address
	return b
}

// Start starts the bus daemon (again, after Stop) on the same socket and
// returns when it accepts connections; it is stopped in t.Cleanup.
func (b *Bus) Start(t testing.TB) {
	t.Helper()
	b.bus = testproc.StartTestBus(t, b.config)
}

// Stop ends the bus daemon (by PID); every client loses its connection.
func (b *Bus) Stop() { b.bus.Stop(5 * time.Second) }

// Dial opens a connection to the bus with in-order signal delivery; it is
// closed in t.Cleanup.
func (b *Bus) Dial(t testing.TB) *dbus.Conn {
	t.Helper()
	conn, err := dbus.Connect(b.Address, dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
	if err != nil {
		t.Fatalf("notifytest: connect to %s: %v", b.Address, err)
	}
	t.Cleanup(func() { conn.Close() })
	return conn
}

// WaitOwner waits until name has an owner on the bus (want true) or none
// (want false).
func (b *Bus) WaitOwner(t testing.TB, name string, want bool, timeout time.Duration) {
	t.Helper()
	conn, err := dbus.Connect(b.Address)
	if err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	defer conn.Close()
	deadline := time.Now().Add(timeout)
	for {
		var has bool
		if err := conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has); err != nil {
			t.Fatalf("notifytest: NameHasOwner: %v", err)
		}
		if has == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifytest: %s owned=%v after %v, want %v", name, has, timeout, want)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
