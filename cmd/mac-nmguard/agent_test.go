package main

import (
	"bytes"
	"context"
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
