// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"context"
	"os"
	"strings"
	"testing"
	"time"
)

// TestAgentCmdKeepsRunningWithoutBuses: with neither bus reachable the agent
// logs why and keeps retrying until its context ends, then returns nil.
func TestAgentCmdKeepsRunningWithoutBuses(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+dir+"/no-system-bus")
	t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+dir+"/no-session-bus")
	var stderr bytes.Buffer
	root := newRootCmd()
	root.SetArgs([]string{"agent", "--log-level", "debug"})
	root.SetErr(&stderr)
	root.SetOut(&stderr)
	ctx, cancel := context.WithTimeout(context.Background(), 700*time.Millisecond)
	defer cancel()
	if err := root.ExecuteContext(ctx); err != nil {
		t.Fatalf("agent returned %v; log:\n%s", err, stderr.String())
	}
	if ctx.Err() == nil {
		t.Error("agent returned before its context ended")
	}
	log := stderr.String()
	for _, want := range []string{"agent: started", "cannot reach the system bus", "no-system-bus", "cannot reach the session bus", "agent: stopped"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, log)
		}
	}
}

func TestAgentCmdRejectsBadLogLevel(t *testing.T) {
	root := newRootCmd()
	root.SetArgs([]string{"agent", "--log-level", "loud"})
	var out bytes.Buffer
	root.SetErr(&out)
	root.SetOut(&out)
	err := root.Execute()
	if err == nil || !strings.Contains(err.Error(), `log level "loud"`) {
		t.Fatalf("err = %v", err)
	}
}

// TestAgentCmdLanguageFromSession: the agent takes its language from the
// session's locale variables, as gettext does.
func TestAgentCmdLanguageFromSession(t *testing.T) {
	for _, tc := range []struct{ lang, language, want string }{
		{"de_DE.UTF-8", "", "language=de"},
		{"C.UTF-8", "de", "language=en"},
		{"sv_SE.UTF-8", "", "language=en"},
	} {
		dir := t.TempDir()
		t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+dir+"/no-system-bus")
		t.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+dir+"/no-session-bus")
		t.Setenv("LC_ALL", "")
		t.Setenv("LC_MESSAGES", "")
		t.Setenv("LANG", tc.lang)
		t.Setenv("LANGUAGE", tc.language)
		var stderr bytes.Buffer
		root := newRootCmd()
		root.SetArgs([]string{"agent"})
		root.SetErr(&stderr)
		root.SetOut(&stderr)
		ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
		if err := root.ExecuteContext(ctx); err != nil {
			t.Fatalf("agent returned %v", err)
		}
		cancel()
		if !strings.Contains(stderr.String(), tc.want) {
			t.Errorf("LANG=%s LANGUAGE=%s: log lacks %q:\n%s", tc.lang, tc.language, tc.want, stderr.String())
		}
	}
}

// TestAgentAutostartFile: the autostart file declares that the agent uses
// notifications (GNOME Shell lists it in its notification settings and
// lets the user keep its banners).
func TestAgentAutostartFile(t *testing.T) {
	data, err := os.ReadFile("dist/mac-nmguard-agent.desktop.in")
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains("\n"+string(data), "\nX-GNOME-UsesNotifications=true\n") {
		t.Errorf("the autostart file lacks X-GNOME-UsesNotifications=true:\n%s", data)
	}
}
