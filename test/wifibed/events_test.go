// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// The decisive event of the recorded allow-list refusal is wpa_supplicant's
// first AuthStatusCode 1, not a later event.
func TestSuspicionDelay(t *testing.T) {
	f, err := os.Open(filepath.Join(tracesDir, "real-wifi-acl-refused.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := detect.ReadTrace(f)
	if err != nil {
		t.Fatal(err)
	}
	var first *detect.Event
	for i, ev := range tr.Events {
		if ev.Supplicant != nil && ev.Supplicant.Property == detect.PropAuthStatusCode && ev.Supplicant.Value != 0 {
			first = &tr.Events[i]
			break
		}
	}
	if first == nil {
		t.Fatal("no AuthStatusCode refusal in the trace")
	}
	at := first.Time.Add(40 * time.Millisecond)
	s := Scenario{Events: tr.Events, Suspicions: []SeenSuspicion{{Time: at, Kind: "auth-rejected"}}}
	d, ev, ok := suspicionDelay(s)
	if !ok || d != 40*time.Millisecond || !ev.Time.Equal(first.Time) {
		t.Errorf("delay %v after %s (ok %v), want 40ms after the first AuthStatusCode 1", d, describe(ev), ok)
	}
	if f, ok := firstFailed(s); !ok || !f.After(at) {
		t.Errorf("NetworkManager's first FAILED at %v, want after the suspicion at %v", f, at)
	}
	if _, _, ok := suspicionDelay(Scenario{Events: tr.Events}); ok {
		t.Error("a delay without a suspicion")
	}
}
