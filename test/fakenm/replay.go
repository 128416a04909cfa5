// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// Retiming compresses a trace's gaps so a replay takes seconds, not
// minutes, while the detector still decides as it does on the original.
//
// The detector (package detect) looks at time in two ways only:
//
//   - the evidence window (Window, 5 minutes by default; episodes are swept
//     after a quiet Window/4): every gap of the built traces is below 75 s
//     and a whole trace spans under 2 minutes, so everything stays inside
//     the window both in the original and in the re-timed replay, which
//     is shorter;
//   - how long CONFIG lasted before NEED_AUTH/NONE (secretsCheckMaxDwell,
//     1 s): under it the NEED_AUTH is NM's immediate secrets check, at or
//     above it an association/authentication timeout.
//
// So gaps under Threshold (the detector's 1 s) become Short and gaps at or
// above it become Long (above Threshold by a margin for the service's
// signal handling, which stamps events with its own clock when it handles
// them). TestRetimeKeepsVerdicts checks that every trace in
// detect/testdata/traces raises the same kinds re-timed as original.
type Retiming struct {
	Short     time.Duration // replaces gaps under Threshold
	Long      time.Duration // replaces gaps at or above Threshold
	Threshold time.Duration // the detector's secrets-check dwell (1 s)
}

// DefaultRetiming: 20 ms, 1.5 s, threshold 1 s.
func DefaultRetiming() Retiming {
	return Retiming{Short: 20 * time.Millisecond, Long: 1500 * time.Millisecond, Threshold: time.Second}
}

// Validate reports a retiming that would change what the detector decides.
func (r Retiming) Validate() error {
	var errs []error
	if r.Threshold <= 0 {
		errs = append(errs, fmt.Errorf("threshold %v: must be positive", r.Threshold))
	}
	if r.Short <= 0 || r.Short >= r.Threshold {
		errs = append(errs, fmt.Errorf("short gap %v: must be positive and under the threshold %v", r.Short, r.Threshold))
	}
	if r.Long < r.Threshold {
		errs = append(errs, fmt.Errorf("long gap %v: must be at least the threshold %v", r.Long, r.Threshold))
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("retiming: %w", err)
	}
	return nil
}

// Gaps returns, for each event, the re-timed wait after the previous one
// (0 for the first). A trace that goes back in time is an error.
func (r Retiming) Gaps(evs []detect.Event) ([]time.Duration, error) {
	if err := r.Validate(); err != nil {
		return nil, err
	}
	gaps := make([]time.Duration, len(evs))
	for i := 1; i < len(evs); i++ {
		g := evs[i].Time.Sub(evs[i-1].Time)
		switch {
		case g < 0:
			return nil, fmt.Errorf("retiming: event %d is %v before event %d", i, -g, i-1)
		case g < r.Threshold:
			gaps[i] = r.Short
		default:
			gaps[i] = r.Long
		}
	}
	return gaps, nil
}

// Apply returns a copy of evs with re-timed times, starting at the first
// event's time: what the detector sees when the replay runs on time.
func (r Retiming) Apply(evs []detect.Event) ([]detect.Event, error) {
	gaps, err := r.Gaps(evs)
	if err != nil {
		return nil, err
	}
	out := append([]detect.Event(nil), evs...)
	for i := 1; i < len(out); i++ {
		out[i].Time = out[i-1].Time.Add(gaps[i])
	}
	return out, nil
}

// Replay plays a trace's state changes on the device at path, in order,
// re-timed by r. Per event: the device must be in the event's old state
// (else a client moved it, e.g. with Disconnect, and Replay stops with an
// error); an event of an activation (PREPARE up to FAILED) makes the
// profile with the event's connection UUID the active connection if it is
// not already (the test must have added it); then SetState(state, reason).
//
// Only the state changes go over D-Bus, as with the real NM. The trace's
// address, real address, carrier and spoofed fields are not replayed: in
// the real path the service reads them from the kernel (the link the
// device is named after). wpa_supplicant's events (recorded Wi-Fi traces)
// are left out: this is NetworkManager.
func (n *NM) Replay(ctx context.Context, path dbus.ObjectPath, tr detect.Trace, r Retiming) error {
	tr.Events = NMEvents(tr.Events)
	gaps, err := r.Gaps(tr.Events)
	if err != nil {
		return err
	}
	if len(tr.Events) == 0 {
		return fmt.Errorf("replay %s: no events", tr.Header.Trace)
	}
	for i, ev := range tr.Events {
		if ev.Device != tr.Events[0].Device {
			return fmt.Errorf("replay %s: event %d is for device %q, the trace's first for %q: one device per replay", tr.Header.Trace, i, ev.Device, tr.Events[0].Device)
		}
	}
	timer := time.NewTimer(0)
	defer timer.Stop()
	for i, ev := range tr.Events {
		if i > 0 {
			timer.Reset(gaps[i])
			select {
			case <-timer.C:
			case <-ctx.Done():
				return fmt.Errorf("replay %s: %w", tr.Header.Trace, ctx.Err())
			}
		}
		if err := n.replayEvent(path, ev); err != nil {
			return fmt.Errorf("replay %s: event %d (%d -> %d, reason %d): %w", tr.Header.Trace, i, ev.Old, ev.State, ev.Reason, err)
		}
	}
	return nil
}

// NMEvents are a trace's NetworkManager events (no wpa_supplicant ones).
func NMEvents(evs []detect.Event) []detect.Event {
	var out []detect.Event
	for _, ev := range evs {
		if ev.Supplicant == nil {
			out = append(out, ev)
		}
	}
	return out
}

func (n *NM) replayEvent(path dbus.ObjectPath, ev detect.Event) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, err := n.deviceLocked(path)
	if err != nil {
		return err
	}
	if d.state != ev.Old {
		return fmt.Errorf("the device is in state %d, the trace expects %d (did the client disconnect it?)", d.state, ev.Old)
	}
	if ev.State >= detect.StatePrepare && ev.State <= detect.StateFailed && ev.Connection.UUID != "" {
		p, ok := n.profileByUUID(ev.Connection.UUID)
		if !ok {
			return fmt.Errorf("no profile with uuid %s (%q): add it first", ev.Connection.UUID, ev.Connection.ID)
		}
		cur, ok := n.actives[d.active]
		if !ok || cur.profile != p.path {
			if _, err := n.setActiveLocked(path, p.path); err != nil {
				return err
			}
		}
	}
	return n.setStateLocked(d, ev.State, ev.Reason)
}

// ProfileFor is the Wi-Fi profile of a trace's connection, for the
// interface iface: autoconnect on (NM's default), no address of its own, no
// security setting (the service does not read it; set KeyMgmt if needed).
func ProfileFor(c detect.Connection, iface string) Profile {
	return Profile{UUID: c.UUID, ID: c.ID, SSID: c.SSID, Interface: iface, Autoconnect: true}
}
