// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

func readTraces(t *testing.T) map[string]detect.Trace {
	t.Helper()
	files, err := filepath.Glob(filepath.Join("..", "..", "detect", "testdata", "traces", "*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	if len(files) == 0 {
		t.Fatal("no traces found in detect/testdata/traces")
	}
	out := map[string]detect.Trace{}
	for _, f := range files {
		fh, err := os.Open(f)
		if err != nil {
			t.Fatal(err)
		}
		tr, err := detect.ReadTrace(fh)
		fh.Close()
		if err != nil {
			t.Fatalf("%s: %v", f, err)
		}
		name := strings.TrimSuffix(filepath.Base(f), ".jsonl")
		out[name] = tr
		// What the service sees today (it follows NetworkManager only):
		// the trace without wpa_supplicant's events.
		var nm []detect.Event
		for _, ev := range tr.Events {
			if ev.Supplicant == nil {
				nm = append(nm, ev)
			}
		}
		if len(nm) < len(tr.Events) {
			out[name+"/nm-only"] = detect.Trace{Header: tr.Header, Events: nm}
		}
	}
	return out
}

// verdicts feeds evs to a detector with the built-in thresholds and
// describes each suspicion: at which event, kind, confidence, reason and
// how much evidence.
func verdicts(t *testing.T, evs []detect.Event) []string {
	t.Helper()
	d, err := detect.New(detect.DefaultConfig(), nil)
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	for i, ev := range evs {
		for _, sp := range d.Feed(ev) {
			out = append(out, fmt.Sprintf("event %d: %s (%s) %s; %d evidence", i, sp.Kind, sp.Confidence, sp.Reason, len(sp.Evidence)))
		}
	}
	return out
}

// TestRetimeKeepsVerdicts: every trace (built and recorded) raises the same
// suspicions (kind, confidence, reason, evidence) at the same events,
// re-timed by DefaultRetiming as in its original timing; the replay keeps the events' order and takes a fraction of the
// original time.
func TestRetimeKeepsVerdicts(t *testing.T) {
	r := DefaultRetiming()
	raised := 0
	for name, tr := range readTraces(t) {
		t.Run(name, func(t *testing.T) {
			re, err := r.Apply(tr.Events)
			if err != nil {
				t.Fatal(err)
			}
			if len(re) != len(tr.Events) {
				t.Fatalf("%d events re-timed, want %d", len(re), len(tr.Events))
			}
			for i := range re {
				orig := tr.Events[i]
				orig.Time = re[i].Time
				if diff := cmp.Diff(orig, re[i]); diff != "" {
					t.Fatalf("event %d changed beyond its time:\n%s", i, diff)
				}
				if i > 0 && !re[i].Time.After(re[i-1].Time) {
					t.Fatalf("event %d is not after event %d", i, i-1)
				}
			}
			want := verdicts(t, tr.Events)
			if diff := cmp.Diff(want, verdicts(t, re)); diff != "" {
				t.Fatalf("suspicions changed by re-timing (-original +re-timed):\n%s", diff)
			}
			if len(want) > 0 {
				raised++
			}
			span := re[len(re)-1].Time.Sub(re[0].Time)
			orig := tr.Events[len(tr.Events)-1].Time.Sub(tr.Events[0].Time)
			if orig > time.Minute && span > orig/3 {
				t.Errorf("re-timed span %v is not much shorter than the original %v", span, orig)
			}
		})
	}
	if raised == 0 {
		t.Fatal("no trace raised anything: the comparison above judged nothing")
	}
}

// TestRetimeFlatCompressionWouldMislead shows why long gaps stay long: with
// every gap 20 ms (no threshold), some trace raises differently (another
// kind, or later, on other evidence), so TestRetimeKeepsVerdicts is a real
// check.
func TestRetimeFlatCompressionWouldMislead(t *testing.T) {
	changed := []string{}
	for name, tr := range readTraces(t) {
		flat := append([]detect.Event(nil), tr.Events...)
		for i := 1; i < len(flat); i++ {
			flat[i].Time = flat[i-1].Time.Add(20 * time.Millisecond)
		}
		if a, b := verdicts(t, tr.Events), verdicts(t, flat); !slices.Equal(a, b) {
			changed = append(changed, name)
			t.Logf("%s:\n  original: %q\n  flat:     %q", name, a, b)
		}
	}
	if len(changed) == 0 {
		t.Fatal("flat 20 ms gaps change no verdict: the threshold in Retiming would be pointless")
	}
	slices.Sort(changed)
	t.Logf("flat compression changes the verdict of: %v", changed)
}

func TestRetimingValidate(t *testing.T) {
	ok := DefaultRetiming()
	if err := ok.Validate(); err != nil {
		t.Fatalf("default: %v", err)
	}
	for _, r := range []Retiming{
		{Short: 0, Long: time.Second, Threshold: time.Second},
		{Short: time.Second, Long: time.Second, Threshold: time.Second},
		{Short: time.Millisecond, Long: 999 * time.Millisecond, Threshold: time.Second},
		{Short: time.Millisecond, Long: time.Second, Threshold: 0},
	} {
		if err := r.Validate(); err == nil {
			t.Errorf("%+v: accepted", r)
		}
		if _, err := r.Gaps(nil); err == nil {
			t.Errorf("%+v: Gaps accepted it", r)
		}
	}
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	back := []detect.Event{{Time: t0}, {Time: t0.Add(-time.Millisecond)}}
	if _, err := ok.Gaps(back); err == nil {
		t.Error("a trace going back in time was accepted")
	}
	gaps, err := ok.Gaps([]detect.Event{{Time: t0}, {Time: t0.Add(999 * time.Millisecond)}, {Time: t0.Add(1999 * time.Millisecond)}, {Time: t0.Add(time.Hour)}})
	if err != nil {
		t.Fatal(err)
	}
	if want := []time.Duration{0, ok.Short, ok.Long, ok.Long}; !slices.Equal(gaps, want) {
		t.Errorf("gaps %v, want %v", gaps, want)
	}
}
