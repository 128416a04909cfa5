// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/notify/notifytest"
)

// stubBed is a system bus with the fake service and a session bus with a
// stub notification server of the given capabilities.
type stubBed struct {
	sys, ses *notifytest.Bus
	svc      *fakeService
	srv      *notifytest.Stub
}

func startStubBed(t *testing.T, name string, caps ...string) *stubBed {
	t.Helper()
	notifytest.Require(t, "dbus-daemon")
	b := &stubBed{sys: notifytest.SystemBus(t, servicePolicy), ses: notifytest.SessionBus(t)}
	b.svc = startFakeService(t, b.sys)
	b.srv = notifytest.StartStub(t, b.ses, name, caps...)
	return b
}

func hint(c notifytest.NotifyCall, name string) (any, bool) {
	v, ok := c.Hints[name]
	if !ok {
		return nil, false
	}
	return v.Value(), true
}

// TestIntegrationAgentServerWithoutActions: a server without action buttons
// (no "actions" capability) still gets the choice: the offer says which
// command makes each one, in the session's language; the user runs it and
// the outcome is shown.
func TestIntegrationAgentServerWithoutActions(t *testing.T) {
	for _, tc := range []struct {
		lang  string
		cat   func(t *testing.T) *Catalog
		wants []string
	}{
		{"en", func(*testing.T) *Catalog { return English() }, []string{
			"This notification cannot show buttons here. Choose in a terminal:",
			"“Use real address this time”: run mac-nmguard restore wlan0\n",
			"“Always use real address on this network”: run mac-nmguard restore wlan0 --always\n",
			"“Keep address private”: do nothing."}},
		{"de", func(t *testing.T) *Catalog {
			c, err := LoadCatalog([]string{"de"})
			if err != nil {
				t.Fatal(err)
			}
			return c
		}, []string{
			"Diese Benachrichtigung kann hier keine Knöpfe anzeigen.",
			"„Diesmal echte Adresse verwenden“: Führen Sie mac-nmguard restore wlan0 aus\n",
			"„In diesem Netzwerk immer echte Adresse verwenden“: Führen Sie mac-nmguard restore wlan0 --always aus\n",
			"„Adresse verborgen halten“: Nichts tun."}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			b := startStubBed(t, "plain-server", "body")
			run := runAgentIn(t, tc.cat(t), b.sys.Address, b.ses.Address)
			run.logs.waitFor(t, wait, "the notification server shows no actions")
			run.logs.waitFor(t, wait, "the mac-nmguard service is running")
			b.svc.raise(t, susp("wlan0/1/1", "wlan0", cafeUUID, "cafe-wifi", "auth-loop"))
			offer := b.srv.Wait(t, 0, wait, func(c notifytest.NotifyCall) bool { return strings.Contains(c.Summary, "cafe-wifi") })
			for _, w := range tc.wants {
				if !strings.Contains(offer.Body, w) {
					t.Errorf("offer body %q lacks %q", offer.Body, w)
				}
			}
			if len(offer.Actions) != 0 {
				t.Errorf("actions sent to a server without actions: %q", offer.Actions)
			}
			if u, _ := hint(offer, "urgency"); u != byte(2) {
				t.Errorf("offer urgency %v, want critical", u)
			}
			if _, ok := hint(offer, "resident"); ok {
				t.Error("resident hint sent to a server without persistence")
			}
			// The user runs the command: the service restores and says so.
			n := len(b.srv.Calls())
			b.svc.emit(t, api.SignalRestored, "wlan0", cafeUUID, "00:11:22:33:44:55", uint32(100))
			done := b.srv.Wait(t, n, wait, func(c notifytest.NotifyCall) bool { return strings.Contains(c.Summary, "cafe-wifi") })
			if done.ReplacesID != offer.ID {
				t.Errorf("the outcome replaces %d, want the offer %d", done.ReplacesID, offer.ID)
			}
			t.Logf("offer: %s\noutcome: %s", offer, done)
			run.running(t)
		})
	}
}

// TestIntegrationAgentPersistentServer: on a server like GNOME Shell's
// (persistence) the offer is sent resident, critical and never expiring,
// so that it is not put away in the list before it is seen; the outcome
// and the progress are not resident. The choice made on it arrives.
func TestIntegrationAgentPersistentServer(t *testing.T) {
	b := startStubBed(t, "gnome-shell", "actions", "body", "body-markup", "icon-static", "persistence", "sound")
	run := runAgent(t, b.sys.Address, b.ses.Address)
	run.logs.waitFor(t, wait, "notification server", "gnome-shell", "persistence")
	run.logs.waitFor(t, wait, "the mac-nmguard service is running")
	b.svc.raise(t, susp("wlan0/1/1", "wlan0", cafeUUID, "cafe-wifi", "dhcp-failure"))
	offer := b.srv.Wait(t, 0, wait, summaryIs("Network “cafe-wifi” may be refusing this computer"))
	if r, ok := hint(offer, "resident"); !ok || r != true {
		t.Errorf("offer resident hint = %v %v, want true", r, ok)
	}
	if u, _ := hint(offer, "urgency"); u != byte(2) {
		t.Errorf("offer urgency %v, want 2 (critical)", u)
	}
	if offer.Timeout != 0 {
		t.Errorf("offer expire timeout %d, want 0 (never)", offer.Timeout)
	}
	if strings.Contains(offer.Body, "mac-nmguard restore") {
		t.Errorf("a server with actions got the commands: %q", offer.Body)
	}
	if _, ok := offer.Action("restore"); !ok {
		t.Errorf("offer actions %q", offer.Actions)
	}
	n := len(b.srv.Calls())
	b.srv.Invoke(t, offer.ID, "restore")
	if got := b.svc.waitRestore(t, wait); got != (restoreCall{"wlan0", cafeUUID, "once"}) {
		t.Fatalf("Restore%v", got)
	}
	progress := b.srv.Wait(t, n, wait, summaryIs("Reconnecting to “cafe-wifi” with the real address"))
	b.svc.emit(t, api.SignalRestored, "wlan0", cafeUUID, "00:11:22:33:44:55", uint32(100))
	done := b.srv.Wait(t, n, wait, summaryIs("Connected to “cafe-wifi” with the real address"))
	for _, c := range []notifytest.NotifyCall{progress, done} {
		if _, ok := hint(c, "resident"); ok {
			t.Errorf("%q is resident: it needs no answer", c.Summary)
		}
		if u, _ := hint(c, "urgency"); u != byte(1) {
			t.Errorf("%q urgency %v, want normal", c.Summary, u)
		}
	}
	run.running(t)
}
