// SPDX-License-Identifier: GPL-3.0-or-later

package testproc

import (
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
)

// canOwn asks the bus for name and reports whether it was granted.
func canOwn(t *testing.T, addr, name string) bool {
	t.Helper()
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	reply, err := conn.RequestName(name, dbus.NameFlagDoNotQueue)
	var derr dbus.Error
	if errors.As(err, &derr) && derr.Name == "org.freedesktop.DBus.Error.AccessDenied" {
		return false
	}
	if err != nil {
		t.Fatalf("RequestName %s: %v", name, err)
	}
	return reply == dbus.RequestNameReplyPrimaryOwner
}

const ownPolicyFile = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <policy context="default"><allow own="org.example.FromFile"/></policy>
</busconfig>
`

func TestSystemBusPolicies(t *testing.T) {
	needProgs(t, "dbus-daemon")
	dir := t.TempDir()
	extra := filepath.Join(dir, "extra.d")
	if err := os.Mkdir(extra, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(extra, "x.conf"), []byte(strings.ReplaceAll(ownPolicyFile, "FromFile", "FromDir")), 0o644); err != nil {
		t.Fatal(err)
	}
	b := StartTestBus(t, BusConfig{
		Type: SystemBus, Dir: dir,
		Policies:    []string{`<policy context="default"><allow own="org.example.Inline"/></policy>`},
		PolicyFiles: []string{ownPolicyFile},
		IncludeDirs: []string{extra},
	})
	if b.Socket != filepath.Join(dir, "bus") || b.Address != "unix:path="+b.Socket {
		t.Errorf("socket %q, address %q", b.Socket, b.Address)
	}
	for name, want := range map[string]bool{
		"org.example.Inline":   true,
		"org.example.FromFile": true,
		"org.example.FromDir":  true,
		"org.example.Other":    false, // default deny
	} {
		if got := canOwn(t, b.Address, name); got != want {
			t.Errorf("own %s: %t, want %t", name, got, want)
		}
	}
}

func TestSessionBusRestart(t *testing.T) {
	needProgs(t, "dbus-daemon")
	dir := t.TempDir()
	c := BusConfig{Type: SessionBus, Dir: dir, Socket: filepath.Join(dir, "s")}
	b := StartTestBus(t, c)
	if !canOwn(t, b.Address, "org.example.Anything") {
		t.Error("session bus denied a name")
	}
	conn, err := dbus.Connect(b.Address)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	b.Stop(5 * time.Second)
	if !b.Process().Exited() {
		t.Fatal("Stop returned with the daemon running")
	}
	if conn.Connected() {
		// The daemon is gone; the client notices the closed socket.
		deadline := time.Now().Add(5 * time.Second)
		for conn.Connected() && time.Now().Before(deadline) {
			time.Sleep(10 * time.Millisecond)
		}
		if conn.Connected() {
			t.Error("client still connected after the bus stopped")
		}
	}
	b2 := StartTestBus(t, c) // same socket: the stale one is removed
	if b2.Address != b.Address || !canOwn(t, b2.Address, "org.example.Anything") {
		t.Errorf("restarted bus at %s does not work", b2.Address)
	}
	if b2.Process().LogPath() == b.Process().LogPath() {
		t.Error("the restarted daemon overwrote the first one's log")
	}
}

func TestStartBusErrors(t *testing.T) {
	needProgs(t, "dbus-daemon")
	if _, err := StartBus(BusConfig{Type: "user", Dir: t.TempDir()}); err == nil {
		t.Error("StartBus with an unknown type succeeded")
	}
	if _, err := StartBus(BusConfig{Type: SessionBus}); err == nil {
		t.Error("StartBus without a directory succeeded")
	}
	// A policy dbus-daemon cannot parse: it exits, and StartBus says why.
	_, err := StartBus(BusConfig{Type: SessionBus, Dir: t.TempDir(), Policies: []string{"<policy"}})
	if err == nil || !strings.Contains(err.Error(), "dbus-daemon exited") {
		t.Errorf("StartBus with a broken policy: %v", err)
	}
}
