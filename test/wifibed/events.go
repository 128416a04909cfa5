// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"fmt"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// formatEvents prints events one a line, for logs.
func formatEvents(evs []detect.Event) string {
	var sb strings.Builder
	for _, ev := range evs {
		if ev.Supplicant != nil {
			fmt.Fprintf(&sb, "  %s supplicant %s=%d addr=%s spoofed=%v\n", ev.Time.Format("15:04:05.000"),
				ev.Supplicant.Property, ev.Supplicant.Value, ev.Address, ev.Spoofed)
			continue
		}
		fmt.Fprintf(&sb, "  %s %d<-%d r%d addr=%s spoofed=%v carrier=%v conn=%s\n", ev.Time.Format("15:04:05.000"),
			ev.State, ev.Old, ev.Reason, ev.Address, ev.Spoofed, ev.Carrier, ev.Connection.ID)
	}
	return sb.String()
}

// suspicionDelay is the time from the decisive event to the service's
// first Suspicion of the scenario. The decisive event is the one at which
// the detector, fed the scenario's events as the service is
// (NetworkManager's and wpa_supplicant's), raises.
func suspicionDelay(s Scenario) (time.Duration, detect.Event, bool) {
	if len(s.Suspicions) == 0 {
		return 0, detect.Event{}, false
	}
	d, err := detect.New(detect.DefaultConfig(), nil)
	if err != nil {
		return 0, detect.Event{}, false
	}
	for _, ev := range s.Events {
		if len(d.Feed(ev)) > 0 {
			return s.Suspicions[0].Time.Sub(ev.Time), ev, true
		}
	}
	return 0, detect.Event{}, false
}

// firstFailed is the time of NetworkManager's first FAILED in the
// scenario.
func firstFailed(s Scenario) (time.Time, bool) {
	for _, ev := range s.Events {
		if ev.Supplicant == nil && ev.State == detect.StateFailed {
			return ev.Time, true
		}
	}
	return time.Time{}, false
}

// describe names an event for people.
func describe(ev detect.Event) string {
	if ev.Supplicant != nil {
		return fmt.Sprintf("wpa_supplicant %s=%d", ev.Supplicant.Property, ev.Supplicant.Value)
	}
	return fmt.Sprintf("NetworkManager %d<-%d reason %d", ev.State, ev.Old, ev.Reason)
}
