// SPDX-License-Identifier: GPL-3.0-or-later

package testproc

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

// BusType is the <type> of a private bus.
type BusType string

// The two kinds of bus StartBus makes.
const (
	// SessionBus: anyone may own any name and call anything, and nothing
	// is activated on demand (the stock session.conf would start services
	// of its own, e.g. a notification server racing with the test's).
	SessionBus BusType = "session"
	// SystemBus: the default-deny policy of /usr/share/dbus-1/system.conf
	// (methods may only be called, and names only owned, where a policy
	// allows it); root may monitor it. No servicehelper: nothing is
	// activated on demand, except from BusConfig.ServiceDirs (started by
	// the daemon itself).
	SystemBus BusType = "system"
)

// BusConfig says what bus StartBus starts.
type BusConfig struct {
	Type BusType // SessionBus or SystemBus
	// Dir holds the config (bus.conf), the policy files and the daemon's
	// log; it must exist.
	Dir string
	// Socket is the path socket ("" = Dir/bus). A path socket, unlike an
	// abstract one, is reachable from every network namespace.
	Socket string
	// Policies are <policy> elements added to the config itself, e.g. one
	// that lets root own a service's name and anyone call it.
	Policies []string
	// PolicyFiles are complete <busconfig> documents, written to
	// Dir/dbus-policy.d/NN-test.conf, a directory the config includes.
	PolicyFiles []string
	// IncludeDirs are more directories of policy files the config
	// includes, e.g. /usr/share/dbus-1/system.d.
	IncludeDirs []string
	// ServiceDirs are directories of .service files: names the bus starts
	// a program for when first called (D-Bus activation, run directly by
	// the daemon as its own user: no servicehelper). The bus rereads them
	// when a name it does not know is called. None by default.
	ServiceDirs []string
}

// Bus is a private dbus-daemon.
type Bus struct {
	Address string // D-Bus address, "unix:path=" + Socket
	Socket  string // the socket's path
	Config  string // the config file's path
	proc    *Process
}

const busHeader = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>%s</type>
  <listen>unix:path=%s</listen>
  <auth>EXTERNAL</auth>
`

const sessionPolicy = `  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
`

const systemPolicy = `  <policy context="default">
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
`

// text is the bus config for socket sock and policy dir policyDir.
func (c BusConfig) text(sock, policyDir string) (string, error) {
	var b strings.Builder
	fmt.Fprintf(&b, busHeader, c.Type, sock)
	switch c.Type {
	case SessionBus:
		b.WriteString(sessionPolicy)
	case SystemBus:
		b.WriteString(systemPolicy)
	default:
		return "", fmt.Errorf("bus type %q, want %q or %q", c.Type, SessionBus, SystemBus)
	}
	for _, p := range c.Policies {
		b.WriteString(p)
		b.WriteString("\n")
	}
	dirs := c.IncludeDirs
	if len(c.PolicyFiles) > 0 {
		dirs = append(dirs[:len(dirs):len(dirs)], policyDir)
	}
	for _, d := range dirs {
		fmt.Fprintf(&b, "  <includedir>%s</includedir>\n", d)
	}
	for _, d := range c.ServiceDirs {
		fmt.Fprintf(&b, "  <servicedir>%s</servicedir>\n", d)
	}
	b.WriteString("</busconfig>\n")
	return b.String(), nil
}

// StartBus writes the config and policy files and starts dbus-daemon,
// returning when its socket accepts connections (within 10s). A stale
// socket is removed first, so StartBus with the same config starts a bus
// again after the last one was stopped. The caller ends it with Stop.
func StartBus(c BusConfig) (*Bus, error) {
	if c.Dir == "" {
		return nil, errors.New("start bus: no directory given")
	}
	b := &Bus{Socket: c.Socket, Config: filepath.Join(c.Dir, "bus.conf")}
	if b.Socket == "" {
		b.Socket = filepath.Join(c.Dir, "bus")
	}
	b.Address = "unix:path=" + b.Socket
	policyDir := filepath.Join(c.Dir, "dbus-policy.d")
	text, err := c.text(b.Socket, policyDir)
	if err != nil {
		return nil, fmt.Errorf("start bus: %w", err)
	}
	if err := os.WriteFile(b.Config, []byte(text), 0o644); err != nil {
		return nil, fmt.Errorf("write bus config: %w", err)
	}
	if len(c.PolicyFiles) > 0 {
		if err := os.MkdirAll(policyDir, 0o755); err != nil {
			return nil, fmt.Errorf("write bus policy: %w", err)
		}
	}
	for i, p := range c.PolicyFiles {
		name := filepath.Join(policyDir, fmt.Sprintf("%02d-test.conf", i))
		if err := os.WriteFile(name, []byte(p), 0o644); err != nil {
			return nil, fmt.Errorf("write bus policy: %w", err)
		}
	}
	if err := os.Remove(b.Socket); err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("remove stale bus socket: %w", err)
	}
	b.proc, err = Start(Spec{Dir: c.Dir, Name: "dbus-daemon", Args: []string{
		"dbus-daemon", "--config-file=" + b.Config, "--nofork", "--nopidfile", "--nosyslog",
	}})
	if err != nil {
		return nil, err
	}
	if err := b.waitReady(10 * time.Second); err != nil {
		b.proc.Stop(5 * time.Second)
		return nil, err
	}
	return b, nil
}

// waitReady waits until the socket accepts connections (the daemon has
// read its config and listens), or the daemon exits.
func (b *Bus) waitReady(timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		conn, err := dbus.Connect(b.Address)
		if err == nil {
			conn.Close()
			return nil
		}
		if b.proc.Exited() {
			return fmt.Errorf("dbus-daemon exited (%v): %s", b.proc.Wait(0), strings.TrimSpace(b.proc.Log()))
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("bus %s not ready after %v: %w", b.Address, timeout, err)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// StartTestBus starts a bus for t: t fails when it cannot start, and the
// daemon is stopped (by PID) in t.Cleanup, where its log is shown when t
// has failed.
func StartTestBus(t testing.TB, c BusConfig) *Bus {
	t.Helper()
	b, err := StartBus(c)
	if err != nil {
		t.Fatalf("testproc: %v", err)
	}
	t.Cleanup(func() {
		b.Stop(5 * time.Second)
		if t.Failed() {
			b.proc.Dump(t, 64<<10)
		}
	})
	return b
}

// Process is the dbus-daemon.
func (b *Bus) Process() *Process { return b.proc }

// Stop ends the daemon by PID (SIGTERM, then SIGKILL after grace); every
// client loses its connection.
func (b *Bus) Stop(grace time.Duration) { b.proc.Stop(grace) }
