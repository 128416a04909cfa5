// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Markers in a restore scenario's log (guest/restore.go): the real address
// may be on the air only between RestoreOpen and RestoreClosed; RestoreTook
// gives the time from the restore request to "connected".
const (
	RestoreOpen   = "restore window open"
	RestoreClosed = "restore window closed"
	RestoreTook   = "restore took"
	// RestoreRound starts the line that gives one round's outcome:
	// "restore round 3: pass" or "restore round 3: FAIL: why".
	RestoreRound = "restore round"
)

// RoundResult is one restore round's outcome, from the scenario's log.
type RoundResult struct {
	Round int
	Pass  bool
	Err   string // why it failed
}

// RestoreRoundResults are the scenario's round outcomes, in order.
func RestoreRoundResults(s Scenario) []RoundResult {
	var out []RoundResult
	for _, l := range s.Log {
		i := strings.Index(l, RestoreRound+" ")
		if i < 0 {
			continue
		}
		rest := l[i+len(RestoreRound)+1:]
		n, verdict, ok := strings.Cut(rest, ": ")
		var r RoundResult
		if _, err := fmt.Sscanf(n, "%d", &r.Round); err != nil || !ok {
			continue
		}
		switch {
		case verdict == "pass":
			r.Pass = true
		case strings.HasPrefix(verdict, "FAIL"):
			r.Err = strings.TrimPrefix(strings.TrimPrefix(verdict, "FAIL"), ": ")
		default:
			continue
		}
		out = append(out, r)
	}
	return out
}

// CheckRounds fails unless want rounds were run and every one passed; it
// returns one line per round for the log.
func CheckRounds(rs []RoundResult, want int) ([]string, error) {
	var lines []string
	var failed []string
	for _, r := range rs {
		if r.Pass {
			lines = append(lines, fmt.Sprintf("round %d: pass", r.Round))
			continue
		}
		lines = append(lines, fmt.Sprintf("round %d: FAIL: %s", r.Round, r.Err))
		failed = append(failed, fmt.Sprintf("%d", r.Round))
	}
	switch {
	case len(failed) > 0:
		return lines, fmt.Errorf("%d of %d restore rounds failed (rounds %s)", len(failed), want, strings.Join(failed, ", "))
	case len(rs) != want:
		return lines, fmt.Errorf("%d of %d restore rounds ran", len(rs), want)
	}
	return lines, nil
}

// RestoreScenarios are the scenarios whose frames with the real address are
// judged against their restore windows.
var RestoreScenarios = map[string]bool{"restore-once": true, "restore-always": true, StoryScenario: true}

// logTime is the time of one scenario log line ("  12.3s ...").
func logTime(s Scenario, line string) (time.Time, bool) {
	var secs float64
	if _, err := fmt.Sscanf(strings.TrimSpace(line), "%fs", &secs); err != nil {
		return time.Time{}, false
	}
	return s.Start.Add(time.Duration(secs * float64(time.Second))), true
}

// RestoreWindows are the scenario's windows in which the real address is
// wanted, widened by slack for the log's 0.1 s resolution.
func RestoreWindows(s Scenario, slack time.Duration) [][2]time.Time {
	var out [][2]time.Time
	var open time.Time
	for _, l := range s.Log {
		t, ok := logTime(s, l)
		if !ok {
			continue
		}
		switch {
		case strings.Contains(l, RestoreOpen):
			open = t.Add(-slack)
		case strings.Contains(l, RestoreClosed) && !open.IsZero():
			out = append(out, [2]time.Time{open, t.Add(slack)})
			open = time.Time{}
		}
	}
	if !open.IsZero() {
		out = append(out, [2]time.Time{open, s.End})
	}
	return out
}

// OutsideWindows returns the frames outside every window.
func OutsideWindows(frames []Frame, windows [][2]time.Time) []Frame {
	var out []Frame
	for _, f := range frames {
		in := false
		for _, w := range windows {
			if !f.Time.Before(w[0]) && !f.Time.After(w[1]) {
				in = true
				break
			}
		}
		if !in {
			out = append(out, f)
		}
	}
	return out
}

// RestoreTimes are the scenario's "restore took" figures, in seconds.
func RestoreTimes(s Scenario) []float64 {
	var out []float64
	for _, l := range s.Log {
		i := strings.Index(l, RestoreTook+" ")
		if i < 0 {
			continue
		}
		var v float64
		if _, err := fmt.Sscanf(l[i+len(RestoreTook)+1:], "%f", &v); err == nil {
			out = append(out, v)
		}
	}
	return out
}

// Percentile is the p-th percentile (0..100, nearest rank) of vs.
func Percentile(vs []float64, p float64) float64 {
	if len(vs) == 0 {
		return 0
	}
	s := append([]float64(nil), vs...)
	sort.Float64s(s)
	rank := int(p/100*float64(len(s))+0.999999) - 1
	if rank < 0 {
		rank = 0
	}
	if rank >= len(s) {
		rank = len(s) - 1
	}
	return s[rank]
}
