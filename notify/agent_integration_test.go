package notify

import (
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook"
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

func startDesktopBed(t *testing.T, pending ...nmhook.APISuspicion) *desktopBed {
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
	if !strings.Contains(offer.Body, "keeps asking for the password") || !strings.Contains(offer.Body, "Using the real address lets this network recognise this computer") {
		t.Errorf("offer body = %q", offer.Body)
	}
	if l, ok := offer.Action("restore"); !ok || l != "Use real address for this network" {
		t.Errorf("restore action = %q %v", l, ok)
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
	if got != (restoreCall{"wlan0", cafeUUID, "always"}) {
		t.Fatalf("Restore%v, want (wlan0, %s, always)", got, cafeUUID)
	}
	b.mon.Wait(t, n, wait, summaryIs("Reconnecting to “cafe-wifi” with the real address"))

	n = len(b.mon.Calls())
	b.svc.emit(t, nmhook.APISignalRestored, "wlan0", cafeUUID, "00:11:22:33:44:55", uint32(100))
	done := b.mon.Wait(t, n, wait, summaryIs("Connected to “cafe-wifi” with the real address"))
	if done.Error != "" {
		t.Fatalf("dunst refused the outcome: %s", done.Error)
	}
	waitDisplayed(t, b.desk, 1)
	b.desk.Screenshot(t, filepath.Join(artifacts, "agent-restored.png"))
	for _, c := range b.mon.Calls() {
		t.Log(c)
	}
	run.running(t)
}
