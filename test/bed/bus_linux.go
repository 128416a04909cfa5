package bed

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

// busConfig is a system-type bus config: the default-deny policy of
// /usr/share/dbus-1/system.conf, a path socket in the bed's dir (NM runs in
// another netns and still reaches it; an abstract socket is per-netns), the
// stock policy dirs (NM, wpa_supplicant, polkit) and the bed's own policy dir.
// No servicehelper: nothing is activated on demand.
const busConfig = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
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
    <deny send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus" send_member="UpdateActivationEnvironment"/>
  </policy>
  <policy user="root">
    <allow send_destination="org.freedesktop.DBus" send_interface="org.freedesktop.DBus.Monitoring"/>
  </policy>
  <includedir>/usr/share/dbus-1/system.d</includedir>
  <includedir>/etc/dbus-1/system.d</includedir>
  <includedir>%s</includedir>
</busconfig>
`

// startBus writes the bus config and policy files and starts dbus-daemon,
// returning when the socket accepts connections.
func (b *Bed) startBus() error {
	policyDir := filepath.Join(b.Dir, "dbus-policy.d")
	conf := filepath.Join(b.Dir, "bus.conf")
	if err := os.WriteFile(conf, fmt.Appendf(nil, busConfig, b.busSocket, policyDir), 0o644); err != nil {
		return fmt.Errorf("write bus config: %w", err)
	}
	for i, p := range b.opts.BusPolicy {
		name := filepath.Join(policyDir, fmt.Sprintf("%02d-test.conf", i))
		if err := os.WriteFile(name, []byte(p), 0o644); err != nil {
			return fmt.Errorf("write bus policy: %w", err)
		}
	}
	if err := os.Remove(b.busSocket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("remove stale bus socket: %w", err)
	}
	p, err := b.start("dbus-daemon", "", nil, nil, "dbus-daemon", "--config-file="+conf, "--nofork", "--nopidfile", "--nosyslog")
	if err != nil {
		return err
	}
	b.mu.Lock()
	b.bus = p
	b.mu.Unlock()
	deadline := time.Now().Add(10 * time.Second)
	for {
		conn, err := b.dial()
		if err == nil {
			conn.Close()
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("dbus-daemon exited: %v: %s", p.Wait(0), strings.TrimSpace(p.Log()))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bus not ready after 10s: %w", err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

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
