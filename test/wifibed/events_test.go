package wifibed

import (
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// The decisive event of the recorded allow-list refusal is the second
// FAILED 53 (NetworkManager alone), not the DISCONNECTED after it.
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
	var fails []detect.Event
	for _, ev := range tr.Events {
		if ev.Supplicant == nil && ev.State == detect.StateFailed {
			fails = append(fails, ev)
		}
	}
	if len(fails) != 2 {
		t.Fatalf("%d FAILED events in the trace, want 2", len(fails))
	}
	at := fails[1].Time.Add(40 * time.Millisecond)
	s := Scenario{Events: tr.Events, Suspicions: []SeenSuspicion{{Time: at, Kind: "association-timeout"}}}
	d, ev, ok := suspicionDelay(s)
	if !ok || d != 40*time.Millisecond || ev.State != detect.StateFailed || ev.Reason != detect.ReasonSSIDNotFound {
		t.Errorf("delay %v after %d<-%d reason %d (ok %v), want 40ms after the second FAILED 53", d, ev.State, ev.Old, ev.Reason, ok)
	}
	if _, _, ok := suspicionDelay(Scenario{Events: tr.Events}); ok {
		t.Error("a delay without a suspicion")
	}
}
