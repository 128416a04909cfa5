// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// startBus starts a system-type bus (testproc.SystemBus: default-deny, no
// servicehelper) on a path socket in the bed's dir (NM runs in another netns
// and still reaches it; an abstract socket is per-netns), with the stock
// policy dirs and the bed's own policy files (Options.BusPolicy), returning
// when the socket accepts connections.
func (b *Bed) startBus() error {
	if err := os.MkdirAll(b.BusServiceDir(), 0o755); err != nil {
		return fmt.Errorf("bus service dir: %w", err)
	}
	bus, err := testproc.StartBus(testproc.BusConfig{
		Type: testproc.SystemBus, Dir: b.Dir, Socket: b.busSocket,
		PolicyFiles: b.opts.BusPolicy,
		// The stock policy dirs: NM, wpa_supplicant, polkit.
		IncludeDirs: []string{"/usr/share/dbus-1/system.d", "/etc/dbus-1/system.d"},
		ServiceDirs: []string{b.BusServiceDir()},
	})
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.bus = &Process{Process: bus.Process(), name: "dbus-daemon"}
	b.mu.Unlock()
	return nil
}

// BusServiceDir is the bus's one directory of D-Bus .service files, empty
// unless a test writes one there: then the bus starts that program when its
// name is first called (as root, with DBUS_STARTER_ADDRESS set), as a
// desktop's system bus starts polkitd. The stock system-services
// directories are not read: nothing else is started on demand.
func (b *Bed) BusServiceDir() string { return filepath.Join(b.Dir, "dbus-services") }

// RestartBus stops the bus (SIGTERM, by PID) and starts a new one on the same
// socket. Clients lose their connections: NetworkManager 1.42 keeps running
// but does not come back on the new bus (call RestartNM after it), and
// connections made with Dial, or a Recorder, must be made again.
func (b *Bed) RestartBus(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	old := b.bus
	b.mu.Unlock()
	if old != nil {
		old.stop(5 * time.Second)
	}
	if err := b.startBus(); err != nil {
		t.Fatalf("bed: restart bus: %v", err)
	}
}

// Dial opens a new connection to the bed's bus (authenticated, Hello sent),
// with a sequential signal handler (signals are delivered in order, none
// dropped). The caller closes it.
func (b *Bed) Dial(t testing.TB) *dbus.Conn {
	t.Helper()
	conn, err := b.dial()
	if err != nil {
		t.Fatalf("bed: %v", err)
	}
	return conn
}

func (b *Bed) dial() (*dbus.Conn, error) {
	conn, err := dbus.Connect(b.BusAddress, dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
	if err != nil {
		return nil, fmt.Errorf("connect to bed bus %s: %w", b.BusAddress, err)
	}
	return conn, nil
}
