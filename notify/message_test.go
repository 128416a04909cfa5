// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"os"
	"regexp"
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

// en is the English catalogue, for the tests.
var en = English()

func cafe(kind string) api.Suspicion {
	return api.Suspicion{
		ID: "wlan0/1111/1", Device: "wlan0", Kind: kind,
		Connection: detect.Connection{UUID: "3f2504e0-4f89-11d3-9a0c-0305e82c3301", ID: "cafe-wifi profile", SSID: "cafe-wifi"},
	}
}

func TestSuspicionMessageWording(t *testing.T) {
	tests := []struct {
		name        string
		s           api.Suspicion
		summary     string
		bodyHas     []string
		bodyHasNot  []string
		summaryNots []string
	}{
		{
			name:    "auth loop names the SSID and the password prompts",
			s:       cafe("auth-loop"),
			summary: "Network “cafe-wifi” may be refusing this computer",
			bodyHas: []string{"keeps asking for the password", "every network named “cafe-wifi” will then recognise this computer, including one that only pretends to be it", "(Network card wlan0)"},
		},
		{
			name:    "dhcp failure says no address came from the network",
			s:       cafe("dhcp-failure"),
			summary: "Network “cafe-wifi” may be refusing this computer",
			bodyHas: []string{"never gave this computer an address", "Keeping the address private"},
		},
		{
			name:    "auth failure",
			s:       cafe("auth-failure"),
			summary: "Network “cafe-wifi” may be refusing this computer",
			bodyHas: []string{"refused to let this computer sign in", "the password may be wrong"},
		},
		{
			name:    "auth rejected",
			s:       cafe("auth-rejected"),
			summary: "Network “cafe-wifi” may be refusing this computer",
			bodyHas: []string{"access point refused to let this computer in"},
		},
		{
			name:    "association timeout",
			s:       cafe("association-timeout"),
			summary: "Network “cafe-wifi” may be refusing this computer",
			bodyHas: []string{"timing out"},
		},
		{
			name:    "unknown kind still explains",
			s:       cafe("something-new"),
			summary: "Network “cafe-wifi” may be refusing this computer",
			bodyHas: []string{"keeps failing"},
		},
		{
			name: "wired profile: the profile name",
			s: api.Suspicion{ID: "x", Device: "eth0", Kind: "auth-failure",
				Connection: detect.Connection{UUID: "3f2504e0-4f89-11d3-9a0c-0305e82c3301", ID: "Office LAN"}},
			summary: "Network “Office LAN” may be refusing this computer",
			bodyHas: []string{"(Network card eth0)", "every network this computer joins with the connection “Office LAN” (with a cable: any wired network) will then recognise this computer"},
		},
		{
			name:    "no name at all",
			s:       api.Suspicion{ID: "x", Device: "eth0", Kind: "dhcp-failure"},
			summary: "A network may be refusing this computer",
			bodyHas: []string{"every network with the same name will then recognise this computer"},
		},
		{
			name: "hostile SSID: control characters and bidi overrides dropped, long name cut",
			s: api.Suspicion{ID: "x", Device: "wlan0", Kind: "auth-loop",
				Connection: detect.Connection{SSID: "evil\n\u202enet\x00" + strings.Repeat("x", 80)}},
			summary:    "Network “evil net " + strings.Repeat("x", 38) + "…” may be refusing this computer",
			bodyHasNot: []string{"\u202e", "\x00"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := SuspicionMessage(en, tc.s)
			if m.Summary != tc.summary {
				t.Errorf("summary = %q, want %q", m.Summary, tc.summary)
			}
			for _, jargon := range []string{"MAC", "DHCP", "spoof", "802.1X"} {
				if strings.Contains(m.Summary, jargon) || strings.Contains(m.Body, jargon) {
					t.Errorf("message uses jargon %q: %q / %q", jargon, m.Summary, m.Body)
				}
			}
			for _, want := range tc.bodyHas {
				if !strings.Contains(m.Body, want) {
					t.Errorf("body %q lacks %q", m.Body, want)
				}
			}
			for _, bad := range tc.bodyHasNot {
				if strings.Contains(m.Body+m.Summary, bad) {
					t.Errorf("message has %q", bad)
				}
			}
			if !m.Persistent {
				t.Error("an offer must not expire")
			}
			want := []Action{
				{Key: "restore", Label: "Use real address this time"},
				{Key: "keep", Label: "Keep address private"},
				{Key: "restore-always", Label: "Always use real address on this network"},
			}
			if len(m.Actions) != len(want) {
				t.Fatalf("actions = %v, want %v", m.Actions, want)
			}
			for i := range want {
				if m.Actions[i] != want[i] {
					t.Errorf("action %d = %v, want %v", i, m.Actions[i], want[i])
				}
			}
			// The user is told that a network can do this on purpose, and
			// what each choice to use the real address means.
			for _, must := range []string{
				"a network can also cause this on purpose, to make this computer show its real address",
				"“Use real address this time”: this network recognises this computer until it disconnects.",
				"“Always use real address on this network”: every time, and every network ",
				" will then recognise this computer",
			} {
				if !strings.Contains(m.Body, must) {
					t.Errorf("body %q lacks %q", m.Body, must)
				}
			}
			for _, a := range m.Actions {
				if a.Key == "default" {
					t.Error("an offer must not have a default action: a click on the body would unmask")
				}
			}
		})
	}
}

func TestViolationMessage(t *testing.T) {
	tests := []struct {
		name, action, reason string
		summary              string
		has, hasNot          []string
		urgency              Urgency
	}{
		{"refused by policy", "refused", "address equals the real address but policy says random",
			"Network card eth0 was not connected",
			[]string{"Its address could not be hidden, so it was kept off the network", "To see why, run: mac-nmguard check"},
			[]string{"policy says", "random"}, UrgencyCritical},
		{"refused: the profile asks for the real address", "refused",
			`the profile being activated is refused: profile "Office LAN" would set cloned-mac-address=permanent: address equals the real address but policy says random; autoconnect is blocked until the profile is fixed (cloned-mac-address=preserve) or the user allows the real address`,
			"Network card eth0 was not connected",
			[]string{"The settings of the connection “Office LAN” ask for an address that would reveal this computer",
				"on its Identity tab, set “Cloned Address” to “Preserve” or leave it empty",
				"To use the real address on this network instead, run: mac-nmguard restore eth0 --always"},
			[]string{"cloned-mac-address", "permanent", "autoconnect"}, UrgencyCritical},
		{"refused: the active profile sets an address, no name", "refused",
			"address 00:11:22:33:44:55 is not locally administered but policy says random; the profile sets cloned-mac-address=00:11:22:33:44:55, so it cannot be remediated: refused",
			"Network card eth0 was not connected",
			[]string{"The settings of this connection ask for an address", "mac-nmguard restore eth0 --always"},
			[]string{"cloned-mac-address", "00:11:22", "remediated"}, UrgencyCritical},
		{"refused: real address unknown", "refused", "the real address could not be determined, so the device is kept down",
			"Network card eth0 was not connected", []string{"Its real address is unknown", "mac-nmguard check"}, nil, UrgencyCritical},
		{"refused: boot-time hold", "refused", "held until the user decides whether to hide the address",
			"Network card eth0 was not connected", []string{"until you choose", "mac-nmguard decide --spoof"}, nil, UrgencyCritical},
		{"remediated: says it was reconnected with a private address", "remediated",
			"address equals the real address but policy says random", "Network card eth0 was reconnected with a private address",
			[]string{"disconnected, given a private address and connected again"}, []string{"stopped", "policy says"}, UrgencyNormal},
		{"kept down", "kept down: address could not be set", "set address: operation not supported.",
			"Network card eth0 was kept offline",
			[]string{"could not be changed to a private one", "This card does not let its address be changed.", "mac-nmguard check"},
			[]string{"set address:"}, UrgencyCritical},
		{"an action this agent does not know", "quarantined", "x", "Network card eth0 was stopped to keep its address private",
			[]string{"mac-nmguard check"}, nil, UrgencyCritical},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := ViolationMessage(en, "eth0", tc.action, tc.reason)
			if m.Summary != tc.summary {
				t.Errorf("summary = %q, want %q", m.Summary, tc.summary)
			}
			for _, w := range tc.has {
				if !strings.Contains(m.Body, w) {
					t.Errorf("body %q lacks %q", m.Body, w)
				}
			}
			for _, w := range tc.hasNot {
				if strings.Contains(m.Summary+m.Body, w) {
					t.Errorf("message %q / %q has %q", m.Summary, m.Body, w)
				}
			}
			if m.Urgency != tc.urgency {
				t.Errorf("urgency %d, want %d", m.Urgency, tc.urgency)
			}
			if len(m.Actions) != 0 {
				t.Errorf("a violation offers no choice, got %v", m.Actions)
			}
		})
	}
}

// TestViolationActionsKnown: every action the service's Violation signal
// can carry has its own message here (a new one would get the general
// message, and this test asks for words of its own).
func TestViolationActionsKnown(t *testing.T) {
	src, err := os.ReadFile("../nmhook/service.go")
	if err != nil {
		t.Fatal(err)
	}
	re := regexp.MustCompile(`recordViolation\(d, "([^"]+)"`)
	found := re.FindAllStringSubmatch(string(src), -1)
	if len(found) == 0 {
		t.Fatal("no recordViolation call found in nmhook/service.go")
	}
	general := ViolationMessage(en, "eth0", "an action nobody sends", "").Summary
	for _, f := range found {
		if ViolationMessage(en, "eth0", f[1], "").Summary == general {
			t.Errorf("the service's violation action %q gets only the general message", f[1])
		}
	}
}

func TestOutcomeMessages(t *testing.T) {
	const uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
	for _, scope := range []string{"once", "always"} {
		if m := RestoringMessage(en, cafe("auth-loop"), scope); m.Summary != "Reconnecting to “cafe-wifi” with the real address" || !m.Persistent || len(m.Actions) != 0 {
			t.Errorf("restoring (%s) = %+v", scope, m)
		}
	}
	if m := RestoringMessage(en, cafe("auth-loop"), "once"); !strings.Contains(m.Body, "until it disconnects") {
		t.Errorf("restoring once = %q", m.Body)
	}
	if m := RestoringMessage(en, cafe("auth-loop"), "always"); !strings.Contains(m.Body, "every time it connects") {
		t.Errorf("restoring always = %q", m.Body)
	}
	undo := "To undo this, run: mac-nmguard exemptions forget " + uuid
	tests := []struct {
		name, net, scope string
		summary          string
		has, hasNot      []string
	}{
		{"always says how to undo", "cafe-wifi", "always", "Connected to “cafe-wifi” with the real address",
			[]string{"will whenever it connects to it", "Other networks still see a private address", undo, "(Network card wlan0)"}, nil},
		{"once needs no undo", "cafe-wifi", "once", "Connected to “cafe-wifi” with the real address",
			[]string{"until it disconnects", "Other networks still see a private address"}, []string{"forget", "whenever"}},
		{"a restore the agent did not start: scope unknown", "", "", "Connected with the real address",
			[]string{"Other networks still see a private address"}, []string{"forget", "whenever", "until it disconnects"}},
	}
	for _, tc := range tests {
		m := RestoredMessage(en, tc.net, "wlan0", uuid, tc.scope)
		if m.Summary != tc.summary {
			t.Errorf("%s: summary = %q, want %q", tc.name, m.Summary, tc.summary)
		}
		for _, w := range tc.has {
			if !strings.Contains(m.Body, w) {
				t.Errorf("%s: body %q lacks %q", tc.name, m.Body, w)
			}
		}
		for _, w := range tc.hasNot {
			if strings.Contains(m.Body, w) {
				t.Errorf("%s: body %q has %q", tc.name, m.Body, w)
			}
		}
	}
	// A hostile uuid cannot break the command line shown.
	if m := RestoredMessage(en, "x", "wlan0", "a\nb\u202ec", "always"); !strings.Contains(m.Body, "forget a b c\n") {
		t.Errorf("uuid not cleaned: %q", m.Body)
	}
	m := RestoreFailedMessage(en, "cafe-wifi", "wlan0", "NetworkManager failed the connection (reason 7).\n")
	if m.Summary != "Could not reconnect to “cafe-wifi”" || !strings.Contains(m.Body, "did not work. This computer still hides its real address.\nDetails: NetworkManager failed the connection (reason 7)\n") {
		t.Errorf("failed = %+v", m)
	}
}

func TestEscapeMarkup(t *testing.T) {
	if got := escapeMarkup(`<b>a & b</b>`); got != "&lt;b&gt;a &amp; b&lt;/b&gt;" {
		t.Errorf("escapeMarkup = %q", got)
	}
}

func TestNotificationBuild(t *testing.T) {
	dunst := serverFromCaps(":1.5", []string{"actions", "body", "body-markup"}, true)
	m := SuspicionMessage(en, api.Suspicion{ID: "x", Device: "wlan0", Kind: "auth-loop", Connection: detect.Connection{SSID: "<i>&"}})
	n := notification("app", 7, m, dunst)
	if n.ReplacesID != 7 || n.ExpireTimeout != 0 || n.Summary != "Network “<i>&” may be refusing this computer" || len(n.Actions) != 3 {
		t.Errorf("notification = %+v", n)
	}
	if strings.Contains(n.Body, "mac-nmguard restore") {
		t.Errorf("a server with actions got the commands too: %q", n.Body)
	}
	m = ViolationMessage(en, "eth0", "refused", "r")
	m.Body += " <i>&"
	if n := notification("app", 0, m, dunst); !strings.Contains(n.Body, "&lt;i&gt;&amp;") {
		t.Errorf("body not escaped for a server with markup: %q", n.Body)
	}
	if plain := notification("app", 0, m, serverFromCaps(":1.5", []string{"actions"}, true)); !strings.Contains(plain.Body, "<i>&") {
		t.Errorf("body escaped for a server without markup: %q", plain.Body)
	}
	if n := notification("app", 0, RestoredMessage(en, "x", "y", "", "once"), dunst); n.ExpireTimeout >= 0 {
		t.Errorf("an outcome should expire as the server decides, timeout %v", n.ExpireTimeout)
	}
}

// TestNotificationHints: an open choice stays until answered (urgency
// critical, never expires, "resident" where the server keeps
// notifications); other messages keep their urgency and are not resident.
func TestNotificationHints(t *testing.T) {
	gnome := serverFromCaps(":1.9", []string{"actions", "body", "body-markup", "icon-static", "persistence", "sound"}, true)
	dunst := serverFromCaps(":1.5", []string{"actions", "body", "body-markup"}, true)
	offer := SuspicionMessage(en, cafe("auth-loop"))
	tests := []struct {
		name     string
		m        Message
		srv      server
		urgency  byte
		resident bool
		expire   bool
	}{
		{"offer on GNOME Shell", offer, gnome, 2, true, false},
		{"offer on dunst", offer, dunst, 2, false, false},
		{"progress", RestoringMessage(en, cafe("auth-loop"), "once"), gnome, 1, false, false},
		{"outcome", RestoredMessage(en, "cafe", "wlan0", "", "once"), gnome, 1, false, true},
		{"kept offline", ViolationMessage(en, "eth0", "refused", ""), gnome, 2, false, true},
	}
	for _, tc := range tests {
		n := notification("app", 0, tc.m, tc.srv)
		if v, ok := n.Hints["urgency"]; !ok || v.Value() != tc.urgency {
			t.Errorf("%s: urgency hint %v, want %d", tc.name, v, tc.urgency)
		}
		v, ok := n.Hints["resident"]
		if tc.resident && (!ok || v.Value() != true) {
			t.Errorf("%s: resident hint %v %v, want true", tc.name, v, ok)
		}
		if !tc.resident && ok {
			t.Errorf("%s: resident hint %v, want none", tc.name, v)
		}
		if expires := n.ExpireTimeout != 0; expires != tc.expire {
			t.Errorf("%s: expire timeout %v", tc.name, n.ExpireTimeout)
		}
	}
}

// TestNotificationWithoutActions: a server without actions (or that did
// not say) gets the commands that make each choice in the body.
func TestNotificationWithoutActions(t *testing.T) {
	offer := SuspicionMessage(en, cafe("auth-loop"))
	for name, srv := range map[string]server{
		"no actions capability":  serverFromCaps(":1.7", []string{"body"}, true),
		"no capabilities at all": serverFromCaps(":1.7", nil, true),
		"capabilities unknown":   serverFromCaps(":1.7", nil, false),
	} {
		n := notification("app", 0, offer, srv)
		for _, want := range []string{
			"This notification cannot show buttons here. Choose in a terminal:",
			"“Use real address this time”: run mac-nmguard restore wlan0\n",
			"“Always use real address on this network”: run mac-nmguard restore wlan0 --always",
			"“Keep address private”: do nothing.",
		} {
			if !strings.Contains(n.Body, want) {
				t.Errorf("%s: body %q lacks %q", name, n.Body, want)
			}
		}
		if !strings.HasPrefix(n.Body, offer.Body) {
			t.Errorf("%s: the offer's own text is gone: %q", name, n.Body)
		}
	}
	if n := notification("app", 0, offer, serverFromCaps(":1.7", []string{"body"}, true)); len(n.Actions) != 0 {
		t.Errorf("actions sent to a server without actions: %v", n.Actions)
	}
	if n := notification("app", 0, offer, serverFromCaps(":1.7", nil, false)); len(n.Actions) != 3 {
		t.Errorf("capabilities unknown: actions %v, want all three as well", n.Actions)
	}
	// A device name that is not a plain word is quoted for the shell.
	s := cafe("auth-loop")
	s.Device = "wl an'0"
	if m := SuspicionMessage(en, s); !strings.Contains(m.NoActions, `mac-nmguard restore 'wl an'\''0' --always`) {
		t.Errorf("device not quoted for the shell: %q", m.NoActions)
	}
}
