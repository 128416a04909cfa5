// SPDX-License-Identifier: GPL-3.0-or-later

//go:build linux

package test

import (
	"path/filepath"
	"testing"
	"time"

	"github.com/esiqveland/notify"
	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/notify/notifytest"
)

// desktop is a user's desktop session for an end-to-end test: Xvfb, a
// private session bus and a real notification server (dunst), with the Notify
// calls made on the bus recorded. Everything is removed in t.Cleanup, by PID.
type desktop struct {
	// SessionBus is the session bus address, for the agent's
	// DBUS_SESSION_BUS_ADDRESS.
	SessionBus string
	// Notifications records every Notify call on the session bus and the id
	// dunst answered.
	Notifications *notifytest.Monitor
	d             *notifytest.Desktop
}

// startDesktop starts a desktop session for t; it skips t (fails it under
// MAC_NMGUARD_REQUIRE_INTEGRATION=1) when not root or a program is missing.
func startDesktop(t *testing.T) *desktop {
	t.Helper()
	notifytest.Require(t, notifytest.DesktopTools...)
	d := notifytest.StartDesktop(t)
	return &desktop{SessionBus: d.Bus.Address, Notifications: notifytest.StartMonitor(t, d.Bus), d: d}
}

// invokeAction picks the action keyed key of notification id (0: of the
// notification shown) the way a user does: through dunst's context menu
// (never the body click, which would invoke "default").
func (d *desktop) invokeAction(t *testing.T, id uint32, key string) {
	t.Helper()
	d.d.InvokeAction(t, id, key)
}

// screenshot saves the screen as test/artifacts/NAME.png (gitignored) and
// returns the path.
func (d *desktop) screenshot(t *testing.T, name string) string {
	t.Helper()
	path := filepath.Join("artifacts", name+".png")
	d.d.Screenshot(t, path)
	return path
}

// displayed is how many notifications dunst shows now.
func (d *desktop) displayed(t *testing.T) int {
	t.Helper()
	return d.d.Displayed(t)
}

// TestIntegrationDesktopHelpers checks the helpers themselves with a plain
// client of the notification server: a notification with two actions shows
// on dunst, the menu route invokes the chosen key (and not "default"), and
// the screenshot is written.
func TestIntegrationDesktopHelpers(t *testing.T) {
	d := startDesktop(t)
	conn, err := dbus.Connect(d.SessionBus)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	actions := make(chan *notify.ActionInvokedSignal, 4)
	n, err := notify.New(conn, notify.WithOnAction(func(s *notify.ActionInvokedSignal) { actions <- s }))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { n.Close() })
	id, err := n.SendNotification(notify.Notification{
		AppName: "helper-test", Summary: "Helper test", Body: "Two choices",
		Actions: []notify.Action{{Key: "one", Label: "First"}, {Key: "two", Label: "Second"}},
	})
	if err != nil {
		t.Fatal(err)
	}
	call := d.Notifications.Wait(t, 0, 10*time.Second, func(c notifytest.NotifyCall) bool { return c.Summary == "Helper test" })
	if call.ID != id {
		t.Errorf("monitor saw id %d, the server answered %d", call.ID, id)
	}
	if got := d.displayed(t); got != 1 {
		t.Errorf("dunst shows %d notifications, want 1", got)
	}
	d.screenshot(t, "desktop-helpers")
	d.invokeAction(t, id, "two")
	select {
	case s := <-actions:
		if s.ID != id || s.ActionKey != "two" {
			t.Errorf("ActionInvoked(%d, %q), want (%d, two)", s.ID, s.ActionKey, id)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no ActionInvoked after picking the action from the menu")
	}
}
