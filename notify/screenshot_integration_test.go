// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/notify/notifytest"
)

// screenshotsEnv names a directory to keep the screenshots in (made if
// needed); unset, they go to the test's temporary directory and are
// removed with it.
const screenshotsEnv = "MAC_NMGUARD_SCREENSHOTS"

// dunstHistory is what dunstctl history says of the notifications dunst
// closed: summary and body as dunst received them.
func dunstHistory(t *testing.T, d *notifytest.Desktop) []struct{ Summary, Body string } {
	t.Helper()
	out := d.Dunstctl(t, "history")
	var h struct {
		Data [][]map[string]struct {
			Data any `json:"data"`
		} `json:"data"`
	}
	if err := json.Unmarshal([]byte(out), &h); err != nil {
		t.Fatalf("dunstctl history: %v: %s", err, out)
	}
	var list []struct{ Summary, Body string }
	for _, group := range h.Data {
		for _, n := range group {
			s, _ := n["summary"].Data.(string)
			b, _ := n["body"].Data.(string)
			list = append(list, struct{ Summary, Body string }{s, b})
		}
	}
	return list
}

// TestIntegrationAgentScreenshots shows each kind of notification on dunst
// under Xvfb (the offer, the outcome of the choice made from dunst's menu,
// a card kept offline), in English and in German, and saves a screenshot
// of each (paths in the log). dunst's own history must hold each text as
// the agent's catalogue words it.
func TestIntegrationAgentScreenshots(t *testing.T) {
	notifytest.Require(t, notifytest.DesktopTools...)
	dir := t.TempDir()
	if d := os.Getenv(screenshotsEnv); d != "" {
		dir = d
	}
	for _, tc := range []struct {
		lang    string
		phrases []string // words that must reach dunst in this language
	}{
		{"en", []string{"may be refusing this computer", "Connected to", "was kept offline", "To see why, run: mac-nmguard check"}},
		{"de", []string{"weist diesen Computer möglicherweise ab", "verbunden, mit der echten Adresse", "bleibt offline",
			"Um den Grund zu sehen, führen Sie aus: mac-nmguard check"}},
	} {
		t.Run(tc.lang, func(t *testing.T) {
			cat, err := LoadCatalog([]string{tc.lang})
			if err != nil || cat.Lang() != tc.lang {
				t.Fatalf("catalogue %s: %v (%s)", tc.lang, err, cat.Lang())
			}
			b := startDesktopBed(t)
			run := runAgentIn(t, cat, b.sys.Address, b.desk.Bus.Address)
			run.logs.waitFor(t, wait, "notification server", "dunst")
			run.logs.waitFor(t, wait, "the mac-nmguard service is running")
			shot := func(name string) {
				path := filepath.Join(dir, tc.lang+"-"+name+".png")
				b.desk.Screenshot(t, path)
				if fi, err := os.Stat(path); err != nil || fi.Size() < 1000 {
					t.Fatalf("screenshot %s: %v", path, err)
				}
				t.Logf("screenshot: %s", path)
			}

			s := susp("wlan0/1700000000/1", "wlan0", cafeUUID, "cafe-wifi", "auth-loop")
			offerMsg := SuspicionMessage(cat, s)
			b.svc.raise(t, s)
			b.mon.Wait(t, 0, wait, summaryIs(offerMsg.Summary))
			waitDisplayed(t, b.desk, 1)
			shot("offer")
			// Closed, the offer goes to dunst's history (checked below);
			// the next episode on the network is offered again and the
			// choice is made on that one, from dunst's menu.
			b.desk.Dunstctl(t, "close-all")
			waitDisplayed(t, b.desk, 0)
			n := len(b.mon.Calls())
			b.svc.raise(t, susp("wlan0/1700003600/2", "wlan0", cafeUUID, "cafe-wifi", "auth-loop"))
			offer := b.mon.Wait(t, n, wait, summaryIs(offerMsg.Summary))
			waitDisplayed(t, b.desk, 1)

			n = len(b.mon.Calls())
			menu := b.desk.InvokeAction(t, offer.ID, ActionRestore)
			for _, a := range offerMsg.Actions {
				if !strings.Contains(menu, a.Label) {
					t.Errorf("dunst's menu lacks %q:\n%s", a.Label, menu)
				}
			}
			if got := b.svc.waitRestore(t, wait); got != (restoreCall{"wlan0", cafeUUID, ScopeOnce}) {
				t.Fatalf("Restore%v", got)
			}
			b.svc.emit(t, api.SignalRestored, "wlan0", cafeUUID, "00:11:22:33:44:55", uint32(100))
			doneMsg := RestoredMessage(cat, "cafe-wifi", "wlan0", cafeUUID, ScopeOnce)
			b.mon.Wait(t, n, wait, summaryIs(doneMsg.Summary))
			waitDisplayed(t, b.desk, 1)
			shot("outcome")

			b.desk.Dunstctl(t, "close-all")
			waitDisplayed(t, b.desk, 0)
			n = len(b.mon.Calls())
			b.svc.emit(t, api.SignalViolation, "eth1", "00:11:22:33:44:55", ViolationKeptDown, "set address: operation not supported")
			keptMsg := ViolationMessage(cat, "eth1", ViolationKeptDown, "set address: operation not supported")
			b.mon.Wait(t, n, wait, summaryIs(keptMsg.Summary))
			waitDisplayed(t, b.desk, 1)
			shot("kept-offline")
			b.desk.Dunstctl(t, "close-all")
			waitDisplayed(t, b.desk, 0)

			// What dunst received, from dunst itself.
			hist := dunstHistory(t, b.desk)
			var all strings.Builder
			for _, want := range []Message{offerMsg, doneMsg, keptMsg} {
				found := false
				for _, h := range hist {
					if h.Summary == want.Summary && strings.Contains(h.Body, strings.SplitN(want.Body, "\n", 2)[0]) {
						found = true
					}
				}
				if !found {
					t.Errorf("dunst's history lacks %q / %q; history: %+v", want.Summary, want.Body, hist)
				}
			}
			for _, h := range hist {
				all.WriteString(h.Summary + "\n" + h.Body + "\n")
			}
			for _, p := range tc.phrases {
				if !strings.Contains(all.String(), p) {
					t.Errorf("dunst never showed %q; it showed:\n%s", p, all.String())
				}
			}
			run.running(t)
		})
	}
}
