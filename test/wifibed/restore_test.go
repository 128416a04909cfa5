// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"strings"
	"testing"
	"time"
)

func TestRestoreWindowsAndTimes(t *testing.T) {
	t0 := time.Date(2026, 12, 6, 22, 0, 0, 0, time.UTC)
	s := Scenario{Start: t0, End: t0.Add(60 * time.Second), Log: []string{
		"  1.0s added profile cafe",
		" 30.0s " + RestoreOpen + " round 1",
		" 41.5s " + RestoreTook + " 11.400 s: restored, 00:1b:21:00:00:01, 10.42.5.10/24",
		" 45.0s " + RestoreClosed,
		" 50.0s " + RestoreOpen + " round 2",
	}}
	w := RestoreWindows(s, 500*time.Millisecond)
	if len(w) != 2 || !w[0][0].Equal(t0.Add(29500*time.Millisecond)) || !w[0][1].Equal(t0.Add(45500*time.Millisecond)) || !w[1][1].Equal(s.End) {
		t.Fatalf("windows %v", w)
	}
	frames := []Frame{{Time: t0.Add(10 * time.Second)}, {Time: t0.Add(35 * time.Second)}, {Time: t0.Add(47 * time.Second)}, {Time: t0.Add(55 * time.Second)}}
	if out := OutsideWindows(frames, w); len(out) != 2 || !out[0].Time.Equal(frames[0].Time) || !out[1].Time.Equal(frames[2].Time) {
		t.Fatalf("outside %v", out)
	}
	if got := RestoreTimes(s); len(got) != 1 || got[0] != 11.4 {
		t.Fatalf("times %v", got)
	}
	vs := []float64{5, 1, 4, 2, 3, 10, 6, 7, 8, 9}
	if p := Percentile(vs, 50); p != 5 {
		t.Errorf("p50 = %v", p)
	}
	if p := Percentile(vs, 95); p != 10 {
		t.Errorf("p95 = %v", p)
	}
}

func TestRestoreRoundResults(t *testing.T) {
	s := Scenario{Log: []string{
		"  2.0s " + RestoreOpen + " round 1",
		" 12.0s " + RestoreRound + " 1: pass",
		" 30.0s " + RestoreRound + " 2: FAIL: restore: exit status 1: NetworkManager failed the connection (reason 53)",
		" 50.0s " + RestoreRound + " 3: pass",
	}}
	rs := RestoreRoundResults(s)
	if len(rs) != 3 || !rs[0].Pass || rs[1].Pass || rs[1].Round != 2 || !strings.Contains(rs[1].Err, "reason 53") || !rs[2].Pass {
		t.Fatalf("results %+v", rs)
	}
	lines, err := CheckRounds(rs, 3)
	if err == nil || !strings.Contains(err.Error(), "1 of 3") || len(lines) != 3 || !strings.HasPrefix(lines[1], "round 2: FAIL") {
		t.Fatalf("lines %q, error %v: want round 2 failed", lines, err)
	}
	if _, err := CheckRounds(rs[:1], 3); err == nil || !strings.Contains(err.Error(), "1 of 3 restore rounds ran") {
		t.Fatalf("rounds missing: error %v", err)
	}
	if _, err := CheckRounds([]RoundResult{{Round: 1, Pass: true}, {Round: 2, Pass: true}}, 2); err != nil {
		t.Fatalf("all passed: %v", err)
	}
	if _, err := CheckRounds(nil, 10); err == nil {
		t.Fatal("no round ran: no error")
	}
}
