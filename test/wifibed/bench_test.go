// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"os"
	"strings"
	"testing"
	"time"
)

// BenchmarkWifiBed boots the Wi-Fi bed once (whatever b.N) with every
// scenario and reports the boot's figures (sub-benchmark boot) and, per
// scenario, the frames by address class and kind (real / private / ap),
// the time from the decisive event (wpa_supplicant's or NetworkManager's)
// to the service's Suspicion, and that Suspicion's time from
// NetworkManager's first FAILED (negative: before it); for the restore
// scenarios the time from the request (agent-story: the pick on dunst) to
// "connected" with the real address (restore-s, the median), and for
// agent-story the time from the Suspicion to the offer on dunst.
//
//	flock /tmp/mng-integ.lock go test -run '^$' -bench WifiBed -benchtime 1x ./test/wifibed/
//
// MAC_NMGUARD_WIFIBED_SCENARIOS (ScenariosEnv) boots with only those.
func BenchmarkWifiBed(b *testing.B) {
	Require(b)
	names := planScenarios()
	if only := os.Getenv(ScenariosEnv); only != "" {
		names = strings.Split(only, ",")
	}
	var r *Run
	for range b.N {
		if r == nil {
			r = Boot(b, Options{Plan: Plan{Scenarios: names, ScenarioTimeout: 3 * time.Minute}})
		}
	}
	// Metrics of a benchmark with sub-benchmarks are not printed: the
	// boot's go in one of its own.
	b.Run("boot", func(b *testing.B) {
		b.ReportMetric(r.Results.Uptime, "boot-s")
		b.ReportMetric(r.Results.ReadyAt, "ready-s")
		b.ReportMetric(r.Wall.Seconds(), "wall-s")
	})
	cl := r.Classifier()
	for _, s := range r.Results.Scenarios {
		b.Run(s.Name, func(b *testing.B) {
			frames := r.FramesOf(s)
			counts := cl.Counts(frames)
			b.ReportMetric(s.End.Sub(s.Start).Seconds(), "scenario-s")
			for k, n := range counts {
				b.ReportMetric(float64(n), strings.ReplaceAll(k, "/", "-")+"-frames")
			}
			b.ReportMetric(float64(len(cl.Leaks(frames))), "real-address-frames")
			if d, ev, ok := suspicionDelay(s); ok {
				b.ReportMetric(d.Seconds(), "suspicion-after-s")
				b.Logf("%s: suspicion %v after %s", s.Name, d.Round(time.Millisecond), describe(ev))
				if f, ok := firstFailed(s); ok {
					b.ReportMetric(s.Suspicions[0].Time.Sub(f).Seconds(), "suspicion-vs-nm-failed-s")
				}
			}
			if ts := RestoreTimes(s); len(ts) > 0 {
				b.ReportMetric(Percentile(ts, 50), "restore-s")
			}
			if d, ok := StoryOfferAfter(s); ok {
				b.ReportMetric(d.Seconds(), "offer-after-suspicion-s")
			}
			b.Logf("%s: %s", s.Name, FormatCounts(counts))
		})
	}
}
