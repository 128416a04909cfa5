// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/notify/notifytest"
)

// artifacts is where screenshots go (gitignored).
var artifacts = filepath.Join("..", "test", "artifacts")

const wait = 15 * time.Second

// desktopBed is a system bus with the fake service, and a desktop with dunst
// whose session bus is monitored.
type desktopBed struct {
	sys  *notifytest.Bus
	desk *notifytest.Desktop
	mon  *notifytest.Monitor
	svc  *fakeService
}

func startDesktopBed(t *testing.T, pending ...api.Suspicion) *desktopBed {
	t.Helper()
	notifytest.Require(t, notifytest.DesktopTools...)
	b := &desktopBed{sys: notifytest.SystemBus(t, servicePolicy), desk: notifytest.StartDesktop(t)}
	b.mon = notifytest.StartMonitor(t, b.desk.Bus)
	b.svc = startFakeService(t, b.sys, pending...)
	return b
}

func summaryIs(s string) func(notifytest.NotifyCall) bool {
	return func(c notifytest.NotifyCall) bool { return c.Summary == s }
}

// waitDisplayed waits until dunst shows n notifications.
func waitDisplayed(t *testing.T, d *notifytest.Desktop, n int) {
	t.Helper()
	deadline := time.Now().Add(wait)
	for {
		got := d.Displayed(t)
		if got == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("dunst shows %d notifications, want %d (history: %s)", got, n, d.Dunstctl(t, "history"))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func TestIntegrationAgentSuspicionRestore(t *testing.T) {
	b := startDesktopBed(t)
	run := runAgent(t, b.sys.Address, b.desk.Bus.Address)
	run.logs.waitFor(t, wait, "notification server", "dunst")

	s := susp("wlan0/1700000000/1", "wlan0", cafeUUID, "cafe-wifi", "auth-loop")
	b.svc.raise(t, s)
	offer := b.mon.Wait(t, 0, wait, summaryIs("Network “cafe-wifi” may be refusing this computer"))
	for _, must := range []string{"keeps asking for the password", "a network can also cause this on purpose",
		"every network named “cafe-wifi” will then recognise this computer"} {
		if !strings.Contains(offer.Body, must) {
			t.Errorf("offer body %q lacks %q", offer.Body, must)
		}
	}
	if l, ok := offer.Action("restore"); !ok || l != "Use real address this time" {
		t.Errorf("restore action = %q %v", l, ok)
	}
	if l, ok := offer.Action("restore-always"); !ok || l != "Always use real address on this network" {
		t.Errorf("restore-always action = %q %v", l, ok)
	}
	if l, ok := offer.Action("keep"); !ok || l != "Keep address private" {
		t.Errorf("keep action = %q %v", l, ok)
	}
	if _, ok := offer.Action("default"); ok {
		t.Error("the offer has a default action: a click on its body would unmask")
	}
	waitDisplayed(t, b.desk, 1)
	b.desk.Screenshot(t, filepath.Join(artifacts, "agent-suspicion.png"))

	n := len(b.mon.Calls())
	menu := b.desk.InvokeAction(t, offer.ID, "restore")
	t.Logf("dunst's menu:\n%s", menu)
	got := b.svc.waitRestore(t, wait)
	if got != (restoreCall{"wlan0", cafeUUID, "once"}) {
		t.Fatalf("Restore%v, want (wlan0, %s, once)", got, cafeUUID)
	}
	b.mon.Wait(t, n, wait, summaryIs("Reconnecting to “cafe-wifi” with the real address"))

	n = len(b.mon.Calls())
	b.svc.emit(t, api.SignalRestored, "wlan0", cafeUUID, "00:11:22:33:44:55", uint32(100))
	done := b.mon.Wait(t, n, wait, summaryIs("Connected to “cafe-wifi” with the real address"))
	if done.Error != "" {
		t.Fatalf("dunst refused the outcome: %s", done.Error)
	}
	if !strings.Contains(done.Body, "until it disconnects") || strings.Contains(done.Body, "forget") {
		t.Errorf("outcome of a restore for this time: %q", done.Body)
	}
	waitDisplayed(t, b.desk, 1)
	b.desk.Screenshot(t, filepath.Join(artifacts, "agent-restored.png"))

	// A later episode on the same network: this time the user picks
	// "always" from the menu; the outcome says how to undo it.
	n = len(b.mon.Calls())
	s2 := susp("wlan0/1700003600/2", "wlan0", cafeUUID, "cafe-wifi", "auth-failure")
	b.svc.raise(t, s2)
	offer2 := b.mon.Wait(t, n, wait, summaryIs("Network “cafe-wifi” may be refusing this computer"))
	b.desk.InvokeAction(t, offer2.ID, "restore-always")
	if got := b.svc.waitRestore(t, wait); got != (restoreCall{"wlan0", cafeUUID, "always"}) {
		t.Fatalf("Restore%v, want (wlan0, %s, always)", got, cafeUUID)
	}
	n = len(b.mon.Calls())
	b.svc.emit(t, api.SignalRestored, "wlan0", cafeUUID, "00:11:22:33:44:55", uint32(100))
	done = b.mon.Wait(t, n, wait, summaryIs("Connected to “cafe-wifi” with the real address"))
	if want := "To undo this, run: mac-nmguard exemptions forget " + cafeUUID; !strings.Contains(done.Body, want) {
		t.Errorf("outcome of an \"always\" restore %q lacks %q", done.Body, want)
	}
	waitDisplayed(t, b.desk, 1)
	b.desk.Screenshot(t, filepath.Join(artifacts, "agent-restored-always.png"))
	for _, c := range b.mon.Calls() {
		t.Log(c)
	}
	run.running(t)
}

func TestIntegrationAgentKeep(t *testing.T) {
	b := startDesktopBed(t)
	run := runAgent(t, b.sys.Address, b.desk.Bus.Address)
	run.logs.waitFor(t, wait, "notification server", "dunst")

	s := susp("eth0/1700000000/1", "eth0", cafeUUID, "", "dhcp-failure")
	s.Connection.ID = "Office LAN"
	b.svc.raise(t, s)
	offer := b.mon.Wait(t, 0, wait, summaryIs("Network “Office LAN” may be refusing this computer"))
	if !strings.Contains(offer.Body, "never gave this computer an address") {
		t.Errorf("offer body = %q", offer.Body)
	}
	waitDisplayed(t, b.desk, 1)
	b.desk.InvokeAction(t, offer.ID, "keep")
	if id := b.svc.waitDismiss(t, wait); id != s.ID {
		t.Fatalf("Dismiss(%q), want %q", id, s.ID)
	}
	waitDisplayed(t, b.desk, 0)
	select {
	case c := <-b.svc.restores:
		t.Fatalf("keep led to Restore%v", c)
	default:
	}
	run.running(t)
}

func TestIntegrationAgentReplacesPerDeviceAndNetwork(t *testing.T) {
	b := startDesktopBed(t)
	run := runAgent(t, b.sys.Address, b.desk.Bus.Address)
	run.logs.waitFor(t, wait, "notification server", "dunst")

	first := susp("wlan0/1700000000/1", "wlan0", cafeUUID, "cafe-wifi", "auth-loop")
	b.svc.raise(t, first)
	c1 := b.mon.Wait(t, 0, wait, func(c notifytest.NotifyCall) bool { return strings.Contains(c.Body, "keeps asking for the password") })
	second := susp("wlan0/1700000100/2", "wlan0", cafeUUID, "cafe-wifi", "auth-failure")
	b.svc.raise(t, second)
	c2 := b.mon.Wait(t, 1, wait, func(c notifytest.NotifyCall) bool {
		return strings.Contains(c.Body, "refused to let this computer sign in")
	})
	if c2.ReplacesID != c1.ID || c2.ID != c1.ID {
		t.Errorf("second suspicion: replaces %d -> id %d, want both %d (one notification per device+network)", c2.ReplacesID, c2.ID, c1.ID)
	}
	waitDisplayed(t, b.desk, 1)

	// Another network on the same device is another notification.
	other := susp("wlan0/1700000200/3", "wlan0", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "library", "association-timeout")
	b.svc.raise(t, other)
	c3 := b.mon.Wait(t, 2, wait, summaryIs("Network “library” may be refusing this computer"))
	if c3.ReplacesID != 0 || c3.ID == c1.ID {
		t.Errorf("other network: replaces %d -> id %d, want a new notification", c3.ReplacesID, c3.ID)
	}
	waitDisplayed(t, b.desk, 2)
	b.desk.Screenshot(t, filepath.Join(artifacts, "agent-two-networks.png"))

	// The choice on the replaced notification is about the newest suspicion.
	b.desk.InvokeAction(t, c1.ID, "keep")
	if id := b.svc.waitDismiss(t, wait); id != second.ID {
		t.Fatalf("Dismiss(%q), want the newest suspicion %q", id, second.ID)
	}
	waitDisplayed(t, b.desk, 1)
	run.running(t)
}

func TestIntegrationAgentViolationsAndForgedSignals(t *testing.T) {
	b := startDesktopBed(t)
	run := runAgent(t, b.sys.Address, b.desk.Bus.Address)
	run.logs.waitFor(t, wait, "notification server", "dunst")
	run.logs.waitFor(t, wait, "the mac-nmguard service is running")

	// A Suspicion signal from anyone but the service's name owner is not
	// shown: it would trick the user into unmasking. (The agent's match rule
	// names the service, so the bus does not even deliver it; the agent
	// checks the sender as well.) The forger's GetId call returns after the bus
	// dispatched its signal, so the agent would read it before the
	// violation emitted below.
	forger := b.sys.Dial(t)
	if err := forger.Emit(api.Path, api.Interface+"."+api.SignalSuspicion,
		`{"id":"forged","device":"wlan0","connection":{"ssid":"evil"},"kind":"auth-loop"}`); err != nil {
		t.Fatal(err)
	}
	if err := forger.BusObject().Call("org.freedesktop.DBus.GetId", 0).Err; err != nil {
		t.Fatal(err)
	}

	b.svc.emit(t, api.SignalViolation, "eth1", "00:11:22:33:44:55", "refused", "policy says spoof and the device cannot be changed")
	v := b.mon.Wait(t, 0, wait, summaryIs("Network card eth1 was not connected"))
	if !strings.Contains(v.Body, "Its address could not be hidden") || len(v.Actions) != 0 {
		t.Errorf("violation = %v", v)
	}
	b.svc.emit(t, api.SignalViolation, "eth1", "00:11:22:33:44:55", "kept down: address could not be set", "set address: operation not supported")
	v2 := b.mon.Wait(t, 1, wait, summaryIs("Network card eth1 was kept offline"))
	if v2.ReplacesID != v.ID {
		t.Errorf("second violation on eth1 replaces %d, want %d", v2.ReplacesID, v.ID)
	}
	waitDisplayed(t, b.desk, 1)
	b.desk.Screenshot(t, filepath.Join(artifacts, "agent-violation.png"))
	for _, c := range b.mon.Calls() {
		if strings.Contains(c.Summary, "evil") {
			t.Errorf("forged suspicion shown: %v", c)
		}
	}
	run.running(t)
}

func TestIntegrationAgentWithoutNotificationServer(t *testing.T) {
	b := startDesktopBed(t)
	b.desk.StopServer(t)
	run := runAgent(t, b.sys.Address, b.desk.Bus.Address)
	run.logs.waitFor(t, wait, "no notification server on the session bus yet")

	s := susp("wlan0/1700000000/1", "wlan0", cafeUUID, "cafe-wifi", "auth-loop")
	b.svc.raise(t, s)
	run.logs.waitFor(t, wait, "would have shown", "Network “cafe-wifi” may be refusing this computer", "Use real address this time", "Always use real address on this network")
	b.svc.emit(t, api.SignalViolation, "eth1", "00:11:22:33:44:55", "refused", "r")
	run.logs.waitFor(t, wait, "would have shown", "Network card eth1 was not connected")
	run.running(t)

	// A server appears: what is still relevant is shown there.
	n := len(b.mon.Calls())
	b.desk.StartServer(t)
	offer := b.mon.Wait(t, n, wait, summaryIs("Network “cafe-wifi” may be refusing this computer"))
	b.mon.Wait(t, n, wait, summaryIs("Network card eth1 was not connected"))
	waitDisplayed(t, b.desk, 2)
	b.desk.InvokeAction(t, offer.ID, "restore")
	if got := b.svc.waitRestore(t, wait); got.device != "wlan0" || got.scope != "once" {
		t.Fatalf("Restore%v", got)
	}
	run.running(t)
}

func TestIntegrationAgentWithoutSessionBus(t *testing.T) {
	notifytest.Require(t, "dbus-daemon")
	sys := notifytest.SystemBus(t, servicePolicy)
	svc := startFakeService(t, sys)
	run := runAgent(t, sys.Address, "unix:path=/nonexistent/mac-nmguard-test-bus")
	run.logs.waitFor(t, wait, "cannot reach the session bus")
	run.logs.waitFor(t, wait, "the mac-nmguard service is running")
	svc.raise(t, susp("wlan0/1/1", "wlan0", cafeUUID, "cafe-wifi", "dhcp-failure"))
	run.logs.waitFor(t, wait, "would have shown", "Network “cafe-wifi” may be refusing this computer", "no session bus")
	run.running(t)
}

func TestIntegrationAgentServiceRestart(t *testing.T) {
	b := startDesktopBed(t)
	run := runAgent(t, b.sys.Address, b.desk.Bus.Address)
	run.logs.waitFor(t, wait, "the mac-nmguard service is running")

	// The service goes away and comes back with a pending suspicion raised
	// while the agent could not hear it.
	b.svc.stop()
	run.logs.waitFor(t, wait, "the mac-nmguard service is not running")
	s1 := susp("wlan0/1700000000/1", "wlan0", cafeUUID, "cafe-wifi", "auth-loop")
	svc2 := startFakeService(t, b.sys, s1)
	c1 := b.mon.Wait(t, 0, wait, summaryIs("Network “cafe-wifi” may be refusing this computer"))
	// Still subscribed: a new signal from the new owner is shown.
	other := susp("eth0/1700000100/2", "eth0", "6ba7b810-9dad-11d1-80b4-00c04fd430c8", "", "dhcp-failure")
	other.Connection.ID = "Office LAN"
	svc2.raise(t, other)
	b.mon.Wait(t, 1, wait, summaryIs("Network “Office LAN” may be refusing this computer"))
	waitDisplayed(t, b.desk, 2)

	// The whole system bus restarts; the new service still has s1 pending
	// (same suspicion: the notification on screen stays as it is) and a new
	// one for a third network.
	n := len(b.mon.Calls())
	b.sys.Stop()
	b.sys.Start(t)
	s3 := susp("wlan0/1700000200/3", "wlan0", "0e6a1b5c-3b3c-4d7e-9f00-2a2d2e0c1111", "library", "association-timeout")
	svc3 := startFakeService(t, b.sys, s1, s3)
	b.mon.Wait(t, n, wait, summaryIs("Network “library” may be refusing this computer"))
	// Office LAN's suspicion is gone from the new service: its offer is withdrawn.
	waitDisplayed(t, b.desk, 2)
	for _, c := range b.mon.Calls()[n:] {
		if c.Summary == c1.Summary {
			t.Errorf("the offer for a suspicion already on screen was shown again: %v", c)
		}
	}
	b.desk.InvokeAction(t, c1.ID, "restore-always")
	if got := svc3.waitRestore(t, wait); got != (restoreCall{"wlan0", cafeUUID, "always"}) {
		t.Fatalf("Restore%v after the bus restart", got)
	}
	run.running(t)
}

func TestIntegrationAgentSessionBusRestart(t *testing.T) {
	b := startDesktopBed(t)
	run := runAgent(t, b.sys.Address, b.desk.Bus.Address)
	run.logs.waitFor(t, wait, "notification server", "dunst")
	s := susp("wlan0/1700000000/1", "wlan0", cafeUUID, "cafe-wifi", "auth-loop")
	b.svc.raise(t, s)
	b.mon.Wait(t, 0, wait, summaryIs("Network “cafe-wifi” may be refusing this computer"))

	// The session bus goes (dunst with it); a new one comes up with a new
	// dunst. The agent reconnects and shows the offer that is still open.
	b.desk.StopServer(t)
	b.desk.Bus.Stop()
	run.logs.waitFor(t, wait, "lost the session bus")
	b.desk.Bus.Start(t)
	b.mon = notifytest.StartMonitor(t, b.desk.Bus)
	b.desk.StartServer(t)
	offer := b.mon.Wait(t, 0, wait, summaryIs("Network “cafe-wifi” may be refusing this computer"))
	waitDisplayed(t, b.desk, 1)
	b.desk.InvokeAction(t, offer.ID, "restore")
	if got := b.svc.waitRestore(t, wait); got != (restoreCall{"wlan0", cafeUUID, "once"}) {
		t.Fatalf("Restore%v after the session bus restart", got)
	}
	run.running(t)
}
