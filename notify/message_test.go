package notify

import (
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook"
)

func cafe(kind string) nmhook.APISuspicion {
	return nmhook.APISuspicion{
		ID: "wlan0/1111/1", Device: "wlan0", Kind: kind,
		Connection: detect.Connection{UUID: "3f2504e0-4f89-11d3-9a0c-0305e82c3301", ID: "cafe-wifi profile", SSID: "cafe-wifi"},
	}
}

func TestSuspicionMessageWording(t *testing.T) {
	tests := []struct {
		name        string
		s           nmhook.APISuspicion
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
			s: nmhook.APISuspicion{ID: "x", Device: "eth0", Kind: "auth-failure",
				Connection: detect.Connection{UUID: "3f2504e0-4f89-11d3-9a0c-0305e82c3301", ID: "Office LAN"}},
			summary: "Network “Office LAN” may be refusing this computer",
			bodyHas: []string{"(Network card eth0)", "every network this computer joins with the connection “Office LAN” (with a cable: any wired network) will then recognise this computer"},
		},
		{
			name:    "no name at all",
			s:       nmhook.APISuspicion{ID: "x", Device: "eth0", Kind: "dhcp-failure"},
			summary: "A network may be refusing this computer",
			bodyHas: []string{"every network with the same name will then recognise this computer"},
		},
		{
			name: "hostile SSID: control characters and bidi overrides dropped, long name cut",
			s: nmhook.APISuspicion{ID: "x", Device: "wlan0", Kind: "auth-loop",
				Connection: detect.Connection{SSID: "evil\n\u202enet\x00" + strings.Repeat("x", 80)}},
			summary:    "Network “evil net " + strings.Repeat("x", 38) + "…” may be refusing this computer",
			bodyHasNot: []string{"\u202e", "\x00"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			m := SuspicionMessage(tc.s)
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
		action, reason      string
		summary, body, nots string
	}{
		{"refused", "policy says spoof, enforcement refuse", "Network card eth0 was not connected",
			"Its address could not be hidden, so it was kept off the network", ""},
		{"kept down: address could not be set", "set address: operation not supported.", "Network card eth0 was kept offline",
			"Details: set address: operation not supported", "supported."},
		{"remediated?", "", "Network card eth0 was stopped", "(remediated?)", "Details"},
	}
	for _, tc := range tests {
		t.Run(tc.action, func(t *testing.T) {
			m := ViolationMessage("eth0", tc.action, tc.reason)
			if m.Summary != tc.summary {
				t.Errorf("summary = %q, want %q", m.Summary, tc.summary)
			}
			if !strings.Contains(m.Body, tc.body) {
				t.Errorf("body %q lacks %q", m.Body, tc.body)
			}
			if tc.nots != "" && strings.Contains(m.Body, tc.nots) {
				t.Errorf("body %q has %q", m.Body, tc.nots)
			}
			if len(m.Actions) != 0 {
				t.Errorf("a violation offers no choice, got %v", m.Actions)
			}
		})
	}
}

func TestOutcomeMessages(t *testing.T) {
	const uuid = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"
	for _, scope := range []string{"once", "always"} {
		if m := RestoringMessage(cafe("auth-loop"), scope); m.Summary != "Reconnecting to “cafe-wifi” with the real address" || !m.Persistent || len(m.Actions) != 0 {
			t.Errorf("restoring (%s) = %+v", scope, m)
		}
	}
	if m := RestoringMessage(cafe("auth-loop"), "once"); !strings.Contains(m.Body, "until it disconnects") {
		t.Errorf("restoring once = %q", m.Body)
	}
	if m := RestoringMessage(cafe("auth-loop"), "always"); !strings.Contains(m.Body, "every time it connects") {
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
		m := RestoredMessage(tc.net, "wlan0", uuid, tc.scope)
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
	if m := RestoredMessage("x", "wlan0", "a\nb\u202ec", "always"); !strings.Contains(m.Body, "forget a b c\n") {
		t.Errorf("uuid not cleaned: %q", m.Body)
	}
	m := RestoreFailedMessage("cafe-wifi", "wlan0", "NetworkManager failed the connection (reason 7).\n")
	if m.Summary != "Could not reconnect to “cafe-wifi”" || !strings.Contains(m.Body, "did not work: NetworkManager failed the connection (reason 7).") {
		t.Errorf("failed = %+v", m)
	}
}

func TestEscapeMarkup(t *testing.T) {
	if got := escapeMarkup(`<b>a & b</b>`); got != "&lt;b&gt;a &amp; b&lt;/b&gt;" {
		t.Errorf("escapeMarkup = %q", got)
	}
}

func TestNotificationBuild(t *testing.T) {
	m := SuspicionMessage(nmhook.APISuspicion{ID: "x", Device: "wlan0", Kind: "auth-loop", Connection: detect.Connection{SSID: "<i>&"}})
	n := notification("app", 7, m, true)
	if n.ReplacesID != 7 || n.ExpireTimeout != 0 || n.Summary != "Network “<i>&” may be refusing this computer" || len(n.Actions) != 3 {
		t.Errorf("notification = %+v", n)
	}
	if v := n.Hints["urgency"].Value(); v != byte(1) {
		t.Errorf("urgency hint = %v", v)
	}
	m = ViolationMessage("eth0", "refused", "<i>&")
	if n := notification("app", 0, m, true); !strings.Contains(n.Body, "Details: &lt;i&gt;&amp;") {
		t.Errorf("body not escaped for a server with markup: %q", n.Body)
	}
	if plain := notification("app", 0, m, false); !strings.Contains(plain.Body, "Details: <i>&") {
		t.Errorf("body escaped for a server without markup: %q", plain.Body)
	}
	if n := notification("app", 0, RestoredMessage("x", "y", "", "once"), false); n.ExpireTimeout >= 0 {
		t.Errorf("an outcome should expire as the server decides, timeout %v", n.ExpireTimeout)
	}
}
