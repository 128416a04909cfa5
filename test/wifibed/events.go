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

// suspicionDelay is the time from the decisive NetworkManager event to
// the service's first Suspicion of the scenario. The decisive event is the
// one at which the detector, fed the NetworkManager events alone (what the
// service follows), raises.
func suspicionDelay(s Scenario) (time.Duration, detect.Event, bool) {
	if len(s.Suspicions) == 0 {
		return 0, detect.Event{}, false
	}
	d, err := detect.New(detect.DefaultConfig(), nil)
	if err != nil {
		return 0, detect.Event{}, false
	}
	for _, ev := range s.Events {
		if ev.Supplicant != nil {
			continue
		}
		if len(d.Feed(ev)) > 0 {
			return s.Suspicions[0].Time.Sub(ev.Time), ev, true
		}
	}
	return 0, detect.Event{}, false
}
