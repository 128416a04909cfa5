// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"bytes"
	"log/slog"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
)

func wired() Connection { return Connection{UUID: "6c1e0b2a-wired", ID: "Wired 1"} }
func wifi() Connection {
	return Connection{UUID: "9f0d7c55-wifi", ID: "CafeNet", SSID: "CafeNet"}
}

func TestFeedTable(t *testing.T) {
	tests := []struct {
		name    string
		events  func() []Event
		history []string // RecordRealSuccess before feeding
		want    []Kind
		conf    []Confidence // checked when set
	}{
		// Kinds.
		{
			name:   "dhcp refused twice with the private address",
			events: func() []Event { return newScenario("eth0", wired()).dhcpFail().wait(time.Second).dhcpFail().evs },
			want:   []Kind{KindDHCPFailure},
			conf:   []Confidence{ConfidenceMedium},
		},
		{
			name: "dhcp refused twice, network worked before with the real address",
			events: func() []Event {
				return newScenario("eth0", wired()).dhcpFail().wait(time.Second).dhcpFail().evs
			},
			history: []string{wired().UUID},
			want:    []Kind{KindDHCPFailure},
			conf:    []Confidence{ConfidenceHigh},
		},
		{
			name: "wifi 4-way handshake fails again and again: auth-loop",
			events: func() []Event {
				s := newScenario("wlan0", wifi()).link(false)
				s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(3*ms, StateNeedAuth, 0) // secrets check, agent asked
				for range 3 {
					s.to(2*time.Second, StatePrepare, 0).to(5*ms, StateConfig, 0).
						to(1500*ms, StateNeedAuth, ReasonSupplicantDisconnect)
				}
				return s.to(10*time.Second, StateFailed, ReasonNoSecrets).to(5*ms, StateDisconnected, 0).evs
			},
			want: []Kind{KindAuthLoop},
			conf: []Confidence{ConfidenceMedium},
		},
		{
			name: "wired 802.1X wrong password: auth timeouts",
			events: func() []Event {
				return newScenario("eth0", wired()).dot1xStart().dot1xTimeout().dot1xTimeout().
					to(5*time.Second, StateFailed, ReasonNoSecrets).to(5*ms, StateDisconnected, 0).evs
			},
			want: []Kind{KindAssociationTimeout},
		},
		{
			name: "wifi association timeout with stored secrets (no secrets check round)",
			events: func() []Event {
				s := newScenario("wlan0", wifi()).link(false)
				s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0)
				for range 3 {
					s.to(25*time.Second, StateNeedAuth, 0).to(5*ms, StatePrepare, 0).to(5*ms, StateConfig, 0)
				}
				return s.to(25*time.Second, StateFailed, ReasonNoSecrets).evs
			},
			want: []Kind{KindAssociationTimeout},
		},
		{
			name: "supplicant fails once after a real try: auth-failure",
			events: func() []Event {
				return newScenario("eth0", wired()).dot1xStart().
					to(2*time.Second, StateFailed, ReasonSupplicantFailed).to(5*ms, StateDisconnected, 0).evs
			},
			want: []Kind{KindAuthFailure},
			conf: []Confidence{ConfidenceLow},
		},
		{
			name: "open wifi association timeout: FAILED/SUPPLICANT_TIMEOUT from CONFIG",
			events: func() []Event {
				return newScenario("wlan0", wifi()).link(false).to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).
					to(25*time.Second, StateFailed, ReasonSupplicantTimeout).to(5*ms, StateDisconnected, 0).evs
			},
			history: []string{wifi().UUID},
			want:    []Kind{KindAuthFailure},
			conf:    []Confidence{ConfidenceMedium},
		},
		{
			name: "at most once per episode",
			events: func() []Event {
				s := newScenario("eth0", wired())
				for range 6 {
					s.dhcpFail().wait(time.Second)
				}
				return s.evs
			},
			want: []Kind{KindDHCPFailure},
		},
		{
			name: "a new episode after ACTIVATED raises again",
			events: func() []Event {
				return newScenario("eth0", wired()).dhcpFail().dhcpFail().dhcpSuccess().userDown().
					dhcpFail().dhcpFail().evs
			},
			want: []Kind{KindDHCPFailure, KindDHCPFailure},
		},
		{
			name: "the real address activating records history",
			events: func() []Event {
				return newScenario("eth0", wired()).real().dhcpSuccess().userDown().
					spoof().dhcpFail().dhcpFail().evs
			},
			want: []Kind{KindDHCPFailure},
			conf: []Confidence{ConfidenceHigh},
		},
		{
			name: "failures within the window count",
			events: func() []Event {
				return newScenario("eth0", wired()).dhcpFail().wait(4 * time.Minute).dhcpFail().evs
			},
			want: []Kind{KindDHCPFailure},
		},

		// Benign cases.
		{
			name:   "one dhcp failure",
			events: func() []Event { return newScenario("eth0", wired()).dhcpFail().evs },
		},
		{
			name: "dhcp server down with the real address",
			events: func() []Event {
				return newScenario("eth0", wired()).real().dhcpFail().dhcpFail().dhcpFail().dhcpFail().evs
			},
		},
		{
			name: "address in use equals the real one despite the flag",
			events: func() []Event {
				s := newScenario("eth0", wired()).dhcpFail().dhcpFail().dhcpFail()
				for i := range s.evs {
					s.evs[i].Address = strings.ToUpper(realMAC)
				}
				return s.evs
			},
		},
		{
			name: "dhcp failures without carrier",
			events: func() []Event {
				return newScenario("eth0", wired()).link(false).dhcpFail().dhcpFail().dhcpFail().evs
			},
		},
		{
			name: "failures spread beyond the window",
			events: func() []Event {
				return newScenario("eth0", wired()).dhcpFail().wait(6 * time.Minute).dhcpFail().
					wait(6 * time.Minute).dhcpFail().evs
			},
		},
		{
			name: "exempt network",
			events: func() []Event {
				s := newScenario("eth0", wired()).exemptNet().dhcpFail().dhcpFail().dhcpFail()
				return s.dot1xStart().dot1xTimeout().dot1xTimeout().to(5*time.Second, StateFailed, ReasonNoSecrets).evs
			},
		},
		{
			name: "plain successful 802.1X, several times",
			events: func() []Event {
				return newScenario("eth0", wired()).dot1xStart().toIP().userDown().
					dot1xStart().toIP().userDown().dot1xStart().toIP().evs
			},
		},
		{
			name: "wired wrong password once then right",
			events: func() []Event {
				return newScenario("eth0", wired()).dot1xStart().dot1xTimeout().toIP().evs
			},
		},
		{
			name: "wifi wrong passphrase once then right",
			events: func() []Event {
				s := newScenario("wlan0", wifi()).link(false)
				s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(3*ms, StateNeedAuth, 0).
					to(2*time.Second, StatePrepare, 0).to(5*ms, StateConfig, 0).
					to(1500*ms, StateNeedAuth, ReasonSupplicantDisconnect).
					to(8*time.Second, StatePrepare, 0).to(5*ms, StateConfig, 0)
				return s.link(true).toIP().evs
			},
		},
		{
			name: "user disconnects (39) while authenticating, again and again",
			events: func() []Event {
				s := newScenario("eth0", wired())
				for range 4 {
					s.dot1xStart().to(2*time.Second, StateDeactivating, ReasonUserRequested).
						to(5*ms, StateDisconnected, ReasonUserRequested)
				}
				return s.evs
			},
		},
		{
			name: "cable unplugged (40) in IP_CONFIG, again and again",
			events: func() []Event {
				s := newScenario("eth0", wired())
				for range 4 {
					s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(5*ms, StateIPConfig, 0).
						to(time.Second, StateFailed, ReasonCarrier).to(5*ms, StateUnavailable, ReasonCarrier).
						to(time.Second, StateDisconnected, 0)
				}
				return s.evs
			},
		},
		{
			name: "cable unplugged in NEED_AUTH rounds",
			events: func() []Event {
				s := newScenario("eth0", wired())
				for range 4 {
					s.dot1xStart().to(time.Second, StateUnavailable, ReasonCarrier).to(time.Second, StateDisconnected, 0)
				}
				return s.evs
			},
		},
		{
			name: "agent-owned secret and no agent",
			events: func() []Event {
				s := newScenario("eth0", wired())
				for range 3 {
					s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(3*ms, StateNeedAuth, 0).
						to(3*ms, StateFailed, ReasonNoSecrets).to(5*ms, StateDisconnected, 0)
				}
				return s.evs
			},
		},
		{
			name: "unknown states are ignored",
			events: func() []Event {
				s := newScenario("eth0", wired()).to(0, 77, 0).to(0, 999, 5)
				return s.dhcpFail().evs
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			d, err := New(DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			for _, u := range tt.history {
				d.RecordRealSuccess(u)
			}
			got := feedAll(d, tt.events())
			if diff := cmp.Diff(tt.want, kindsOf(got)); diff != "" {
				t.Fatalf("kinds (-want +got):\n%s", diff)
			}
			for i, c := range tt.conf {
				if got[i].Confidence != c {
					t.Errorf("suspicion %d confidence = %s, want %s (reason %q)", i, got[i].Confidence, c, got[i].Reason)
				}
			}
			for _, sp := range got {
				if len(sp.Evidence) == 0 || sp.Reason == "" || sp.ID == "" || sp.FirstSeen.After(sp.LastSeen) {
					t.Errorf("incomplete suspicion %+v", sp)
				}
				last := sp.Evidence[len(sp.Evidence)-1]
				if !last.Time.Equal(sp.LastSeen) {
					t.Errorf("decisive event at %v, LastSeen %v", last.Time, sp.LastSeen)
				}
				for _, ev := range sp.Evidence {
					if !ev.Spoofed || ev.Exempt {
						t.Errorf("evidence from a real-address or exempt event: %+v", ev)
					}
				}
			}
		})
	}
}

func TestSuspicionContents(t *testing.T) {
	d, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newScenario("eth0", wired()).dhcpFail().wait(time.Second).dhcpFail()
	got := feedAll(d, s.evs)
	if len(got) != 1 {
		t.Fatalf("got %d suspicions, want 1", len(got))
	}
	sp := got[0]
	if want := "the network refused 2 DHCP requests from the private address"; sp.Reason != want {
		t.Errorf("Reason = %q, want %q", sp.Reason, want)
	}
	if sp.Device != "eth0" || sp.Connection != wired() {
		t.Errorf("device/connection = %q/%+v", sp.Device, sp.Connection)
	}
	// The two FAILED events are the evidence.
	if len(sp.Evidence) != 2 || sp.Evidence[0].State != StateFailed || sp.Evidence[1].State != StateFailed {
		t.Errorf("evidence = %+v", sp.Evidence)
	}
	if !sp.FirstSeen.Equal(sp.Evidence[0].Time) {
		t.Errorf("FirstSeen %v, want %v", sp.FirstSeen, sp.Evidence[0].Time)
	}
	if !strings.HasPrefix(sp.ID, "eth0/"+wired().UUID+"/") {
		t.Errorf("ID %q", sp.ID)
	}
	// Pending holds a copy: changing what Feed returned changes nothing.
	sp.Evidence[0].Device = "changed"
	p := d.Pending()
	if len(p) != 1 || p[0].ID != got[0].ID || p[0].Evidence[0].Device != "eth0" {
		t.Fatalf("Pending = %+v", p)
	}
}

func TestResolveEndsEpisode(t *testing.T) {
	d, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newScenario("eth0", wired()).dhcpFail().dhcpFail()
	first := feedAll(d, s.evs)
	if len(first) != 1 || len(d.Pending()) != 1 {
		t.Fatalf("raised %d, pending %d; want 1, 1", len(first), len(d.Pending()))
	}
	d.Resolve("eth0", wired().UUID)
	if p := d.Pending(); len(p) != 0 {
		t.Fatalf("pending after Resolve: %+v", p)
	}
	// More failures within the window: nothing new for this episode.
	n := len(s.evs)
	s.dhcpFail().dhcpFail().dhcpFail()
	if got := feedAll(d, s.evs[n:]); len(got) != 0 {
		t.Fatalf("raised after Resolve: %+v", got)
	}
	// After a quiet window a new episode starts and may raise again.
	n = len(s.evs)
	s.wait(6 * time.Minute).dhcpFail().dhcpFail()
	again := feedAll(d, s.evs[n:])
	if len(again) != 1 || again[0].ID == first[0].ID {
		t.Fatalf("new episode: got %+v (first ID %s)", again, first[0].ID)
	}
	// Resolve of something unknown is harmless.
	d.Resolve("nope", "nope")
}

func TestResolveThenActivatedStartsNewEpisode(t *testing.T) {
	d, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newScenario("eth0", wired()).dhcpFail().dhcpFail()
	feedAll(d, s.evs)
	d.Resolve("eth0", wired().UUID)
	// The user restored the real address: it activates; later the spoofed
	// address fails again (new episode) and is raised with history.
	n := len(s.evs)
	s.real().dhcpSuccess().userDown().spoof().dhcpFail().dhcpFail()
	got := feedAll(d, s.evs[n:])
	if len(got) != 1 || got[0].Confidence != ConfidenceHigh {
		t.Fatalf("got %+v, want one high-confidence suspicion", got)
	}
}

func TestActivatedClearsPending(t *testing.T) {
	d, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	feedAll(d, newScenario("eth0", wired()).dhcpFail().dhcpFail().dhcpSuccess().evs)
	if p := d.Pending(); len(p) != 0 {
		t.Fatalf("pending after ACTIVATED: %+v", p)
	}
}

func TestDevicesAndConnectionsAreSeparate(t *testing.T) {
	d, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// One failure each on two devices and on two connections: nothing.
	a := newScenario("eth0", wired()).dhcpFail()
	b := newScenario("eth1", wired()).dhcpFail()
	c := newScenario("eth0", Connection{UUID: "other"}).wait(time.Minute).dhcpFail()
	for _, evs := range [][]Event{a.evs, b.evs, c.evs} {
		if got := feedAll(d, evs); len(got) != 0 {
			t.Fatalf("raised %+v", got)
		}
	}
}

func TestEventWithoutConnectionGoesToCurrentEpisode(t *testing.T) {
	d, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// The second activation's FAILED names no connection (as if NM had
	// already dropped it): it still belongs to the device's episode.
	s := newScenario("eth0", wired()).dhcpFail()
	s.to(0, StatePrepare, 0).to(5*ms, StateConfig, 0).to(5*ms, StateIPConfig, 0).
		to(8*time.Second, StateFailed, ReasonIPConfigUnavailable)
	s.evs[len(s.evs)-1].Connection = Connection{}
	got := feedAll(d, s.evs)
	if len(got) != 1 || got[0].Connection != wired() {
		t.Fatalf("got %+v", got)
	}
	// With no current episode an anonymous event is ignored.
	d2, _ := New(DefaultConfig(), nil)
	if got := d2.Feed(Event{Device: "eth9", State: StateFailed, Old: StateIPConfig, Reason: 5, Spoofed: true, Carrier: true}); got != nil {
		t.Fatalf("got %+v", got)
	}
}

func TestThresholdsFromConfig(t *testing.T) {
	cfg := DefaultConfig()
	cfg.DHCPFailures = 3
	d, err := New(cfg, nil)
	if err != nil {
		t.Fatal(err)
	}
	s := newScenario("eth0", wired()).dhcpFail().dhcpFail()
	if got := feedAll(d, s.evs); len(got) != 0 {
		t.Fatalf("raised at 2 with threshold 3: %+v", got)
	}
	n := len(s.evs)
	if got := feedAll(d, s.dhcpFail().evs[n:]); len(got) != 1 {
		t.Fatalf("not raised at 3: %+v", got)
	}

	cfg = DefaultConfig()
	cfg.Window = time.Minute
	d, _ = New(cfg, nil)
	if got := feedAll(d, newScenario("eth0", wired()).dhcpFail().wait(90*time.Second).dhcpFail().evs); len(got) != 0 {
		t.Fatalf("raised across a 1m window: %+v", got)
	}
}

func TestTransitionLog(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(slog.NewTextHandler(&buf, &slog.HandlerOptions{Level: slog.LevelDebug}))
	d, err := New(DefaultConfig(), log)
	if err != nil {
		t.Fatal(err)
	}
	feedAll(d, newScenario("eth0", wired()).dhcpFail().dhcpFail().evs)
	out := buf.String()
	for _, want := range []string{
		`"detect: idle/watching -> prepare/watching (NM 30 -> 40, reason 0, new attempt)"`,
		`"detect: prepare/watching -> config/watching (NM 40 -> 50, reason 0)"`,
		`"detect: ip-config/watching -> failed/watching (NM 70 -> 120, reason 5)"`,
		`"detect: failed/watching -> failed/suspected (raised dhcp-failure: the network refused 2 DHCP requests from the private address)"`,
		`device=eth0`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %s\n%s", want, out)
		}
	}
}

func TestEpisodesStayBounded(t *testing.T) {
	d, err := New(DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	// 3000 devices each fail once, one second apart: old episodes go when
	// they fall out of the window, and never more than maxEpisodes live.
	for i := range 3000 {
		s := newScenario("veth"+itoa(i), Connection{UUID: "u" + itoa(i)})
		s.now = t0().Add(time.Duration(i) * time.Second)
		feedAll(d, s.dhcpFail().evs)
		if len(d.episodes) > maxEpisodes {
			t.Fatalf("%d episodes after device %d", len(d.episodes), i)
		}
	}
	if n := len(d.episodes); n > int(d.cfg.Window/time.Second)+int(d.cfg.Window/4/time.Second)+2 {
		t.Errorf("%d episodes kept; want about one window's worth", n)
	}
	if len(d.current) > len(d.episodes) {
		t.Errorf("%d current entries for %d episodes", len(d.current), len(d.episodes))
	}
	// Far more devices at the same instant: the hard cap holds.
	d, _ = New(DefaultConfig(), nil)
	for i := range 2*maxEpisodes + 10 {
		d.Feed(Event{Time: t0(), Device: "d" + itoa(i), Connection: Connection{UUID: "u"}, State: StatePrepare, Old: StateDisconnected, Spoofed: true})
	}
	if len(d.episodes) > maxEpisodes {
		t.Errorf("%d episodes, cap %d", len(d.episodes), maxEpisodes)
	}
}

func TestHistoryBounded(t *testing.T) {
	d, _ := New(DefaultConfig(), nil)
	for i := range maxHistory + 50 {
		d.RecordRealSuccess("u" + itoa(i))
	}
	d.RecordRealSuccess("")
	if len(d.history) != maxHistory || len(d.histFIFO) != maxHistory {
		t.Fatalf("history %d/%d, cap %d", len(d.history), len(d.histFIFO), maxHistory)
	}
	if _, ok := d.history["u0"]; ok {
		t.Error("oldest entry not evicted")
	}
}

func itoa(i int) string {
	const digits = "0123456789"
	if i == 0 {
		return "0"
	}
	var b []byte
	for ; i > 0; i /= 10 {
		b = append([]byte{digits[i%10]}, b...)
	}
	return string(b)
}
