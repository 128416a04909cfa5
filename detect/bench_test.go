// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import (
	"testing"
	"time"
)

// benchStream is a mixed stream over 16 devices: successes, DHCP
// failures, 802.1X timeouts and user disconnects, all with the spoofed
// address.
func benchStream() []Event {
	var evs []Event
	for i := range 16 {
		s := newScenario("veth"+itoa(i), Connection{UUID: "u" + itoa(i%5)})
		s.now = t0().Add(time.Duration(i) * time.Second)
		s.dhcpSuccess().userDown().dhcpFail().dot1xStart().dot1xTimeout().toIP().userDown().dhcpFail()
		evs = append(evs, s.evs...)
	}
	return evs
}

// BenchmarkFeed reports how many events per second the detector takes.
func BenchmarkFeed(b *testing.B) {
	evs := benchStream()
	d, err := New(DefaultConfig(), nil)
	if err != nil {
		b.Fatal(err)
	}
	span := evs[len(evs)-1].Time.Sub(t0()) + time.Hour
	b.ReportAllocs()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		ev := evs[i%len(evs)]
		// Each pass over the stream is an hour later, so windows move on.
		ev.Time = ev.Time.Add(time.Duration(i/len(evs)) * span)
		d.Feed(ev)
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "events/s")
}

// BenchmarkDecisiveEvent measures the time from the decisive event to the
// suspicion: Feed is synchronous, so it is the latency of the Feed call
// that raises (the second DHCP failure).
func BenchmarkDecisiveEvent(b *testing.B) {
	s := newScenario("eth0", wired()).dhcpFail().dhcpFail()
	evs := s.evs
	decisive := len(evs) - 2 // the second FAILED; the last event is 30
	if evs[decisive].State != StateFailed {
		b.Fatalf("event %d is %d, not FAILED", decisive, evs[decisive].State)
	}
	// Detectors are primed in batches outside the timer (StopTimer per
	// iteration would cost more than what is measured).
	const batch = 1024
	dets := make([]*Detector, 0, batch)
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; {
		b.StopTimer()
		dets = dets[:0]
		for range min(batch, b.N-done) {
			d, err := New(DefaultConfig(), nil)
			if err != nil {
				b.Fatal(err)
			}
			for _, ev := range evs[:decisive] {
				d.Feed(ev)
			}
			dets = append(dets, d)
		}
		b.StartTimer()
		for _, d := range dets {
			if got := d.Feed(evs[decisive]); len(got) != 1 {
				b.Fatalf("decisive event raised %d suspicions", len(got))
			}
		}
		done += len(dets)
	}
}
