// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"os"
	"strconv"
	"testing"
	"time"
)

// RestoreRoundsEnv sets how many restores BenchmarkWifiRestore runs in one
// boot (default 10).
const RestoreRoundsEnv = "MAC_NMGUARD_WIFI_RESTORE_ROUNDS"

// BenchmarkWifiRestore boots the Wi-Fi bed once (whatever b.N) and runs the
// issue-21 scenario with N restores in a row ("cafe" private, "acl"
// refused, suspicion, then N times: restore → "acl" connected with the real
// address and a lease → "cafe" private), and reports the restore's time
// from the request to "connected" (p50, p95) and the real-address frames
// outside the restored connections (must be 0).
//
//	MAC_NMGUARD_WIFI_RESTORE_ROUNDS=10 flock /tmp/mng-integ.lock go test -run '^$' -bench WifiRestore -benchtime 1x -timeout 0 ./test/wifibed/
func BenchmarkWifiRestore(b *testing.B) {
	Require(b)
	rounds := 10
	if v, err := strconv.Atoi(os.Getenv(RestoreRoundsEnv)); err == nil && v > 0 {
		rounds = v
	}
	var r *Run
	for range b.N {
		if r == nil {
			r = Boot(b, Options{Plan: Plan{Scenarios: []string{"restore-once"}, RestoreRounds: rounds,
				ScenarioTimeout: time.Duration(rounds)*2*time.Minute + 2*time.Minute}})
		}
	}
	s, err := r.Scenario("restore-once")
	if err != nil {
		b.Fatal(err)
	}
	for _, l := range s.Log {
		b.Log(l)
	}
	if s.Err != "" {
		b.Errorf("scenario failed: %s", s.Err)
	}
	times := RestoreTimes(s)
	cl := r.Classifier()
	leaks := OutsideWindows(cl.Leaks(r.FramesOf(s)), RestoreWindows(s, 500*time.Millisecond))
	b.ReportMetric(float64(len(times)), "restores")
	b.ReportMetric(Percentile(times, 50), "p50-s")
	b.ReportMetric(Percentile(times, 95), "p95-s")
	b.ReportMetric(float64(len(leaks)), "real-frames-outside")
	if len(leaks) > 0 {
		b.Errorf("frames with the real address outside the restored connections:\n%s", FormatFrames(leaks, 40))
	}
	if len(times) != rounds {
		b.Errorf("%d restores of %d succeeded", len(times), rounds)
	}
}
