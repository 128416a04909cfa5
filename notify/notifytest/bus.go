package notifytest

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// sessionConfig is a session-type bus: a path socket, EXTERNAL auth, every
// connection may own and send anything, and no service directories (the
// stock session.conf would start a notification server of its own on the
// first Notify call, racing with the test's).
const sessionConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// systemConfig is a system-type bus with the default-deny policy of
// /usr/share/dbus-1/system.conf (methods may only be called where a policy
// allows it, names only owned where one allows it) plus the test's policy
// fragments; root may monitor it. Nothing is activated on demand.
const systemConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow user="*"/>
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_type="signal"/>
    <allow send_requested_reply="true" send_type="method_return"/>
    <allow send_requested_reply="true" send_type="error"/>
    <allow receive_type="method_call"/>
    <allow receive_type="method_return"/>
    <allow receive_type="error"/>
    <allow receive_type="signal"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Introspectable"/>
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Properties"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
%s
</busconfig>
`

// Bus is a private dbus-daemon owned by a test.
type Bus struct {
	Address string // D-Bus address of the bus (unix:path=...)
	Dir     string
	config  string
	socket  string
	proc    *Process
	t       testing.TB
}

// SessionBus starts a private session-type bus for t.
func SessionBus(t testing.TB) *Bus {
	t.Helper()
	return startBus(t, "session", func(sock string) string { return fmt.Sprintf(sessionConfig, sock) })
}

// SystemBus starts a private system-type bus for t with the given policy
// fragments (<policy> elements) added, e.g. one that lets root own the
// service's name and anyone call it.
func SystemBus(t testing.TB, policies ...string) *Bus {
	t.Helper()
	return startBus(t, "system", func(sock string) string {
		return fmt.Sprintf(systemConfig, sock, strings.Join(policies, "\n"))
	})
}

func startBus(t testing.TB, kind string, config func(sock string) string) *Bus {
	t.Helper()
	dir, err := os.MkdirTemp("", "nmguard-"+kind+"-bus-")
	if err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	b := &Bus{Dir: dir, socket: filepath.Join(dir, "bus"), t: t}
	b.Address = "unix:path=" + b.socket
	b.config = filepath.Join(dir, "bus.conf")
	if err := os.WriteFile(b.config, []byte(config(b.socket)), 0o644); err != nil {
		t.Fatalf("notifytest: write bus config: %v", err)
	}
	b.Start(t)
	return b
}

// Start starts the bus daemon (again, after Stop) on the same socket and
// returns when it accepts connections.
func (b *Bus) Start(t testing.TB) {
	t.Helper()
	if err := os.Remove(b.socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("notifytest: remove stale socket: %v", err)
	}
	b.proc = Start(t, b.Dir, "dbus-daemon", nil, nil, "dbus-daemon", "--config-file="+b.config, "--nofork", "--nopidfile", "--nosyslog")
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := dbus.Connect(b.Address)
		if err == nil {
			conn.Close()
			return
		}
		if b.proc.Exited() {
			t.Fatalf("notifytest: dbus-daemon exited (%s): %s", b.proc.waitErrText(), b.proc.Log())
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifytest: bus not ready after 10s: %v", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// Stop ends the bus daemon (by PID); every client loses its connection.
func (b *Bus) Stop() { b.proc.Stop(5 * time.Second) }

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
