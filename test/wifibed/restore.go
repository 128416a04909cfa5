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
)

// RestoreScenarios are the scenarios whose frames with the real address are
// judged against their restore windows.
var RestoreScenarios = map[string]bool{"restore-once": true, "restore-always": true}

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
