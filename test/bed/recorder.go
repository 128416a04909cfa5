// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"fmt"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/mac-nmguard/mac-nmguard/detect"
)

// Recorder records, in order, NetworkManager's Device.StateChanged signals
// (new, old, reason) and HwAddress changes of the bed's devices, from its own
// connection to the bed's bus (a sequential signal handler: nothing is
// reordered or dropped). Each becomes a detect.Event with Address (the
// address in use at that point of the signal stream), Real (the device's
// initial address), Spoofed, Carrier and Connection (the active connection,
// read when the signal is handled) filled in.
//
// An HwAddress change is an event whose State and Old are both the device's
// current state and Reason is 0; Transitions leaves them out.
//
// The recorder follows NM restarts (device paths are resolved by interface
// name) but not a bus restart: its connection is lost then.
type Recorder struct {
	b    *Bed
	conn *dbus.Conn
	ch   chan *dbus.Signal
	done chan struct{}

	mu       sync.Mutex
	events   []detect.Event
	isState  []bool // events[i] came from StateChanged
	changed  chan struct{}
	devs     map[dbus.ObjectPath]*recDevice
	stopOnce sync.Once
}

// recDevice is what the recorder knows of one NM device.
type recDevice struct {
	name     string
	real     string
	tracked  bool // one of the bed's devices
	address  string
	carrier  bool
	state    uint32
	lastConn detect.Connection
}

// Recorder starts recording. It is stopped in t.Cleanup (or by Stop).
func (b *Bed) Recorder(t testing.TB) *Recorder {
	t.Helper()
	r, err := b.newRecorder()
	if err != nil {
		t.Fatalf("bed: recorder: %v", err)
	}
	t.Cleanup(r.Stop)
	return r
}

func (b *Bed) newRecorder() (*Recorder, error) {
	conn, err := b.dial()
	if err != nil {
		return nil, err
	}
	r := &Recorder{b: b, conn: conn, ch: make(chan *dbus.Signal, 256), done: make(chan struct{}),
		changed: make(chan struct{}), devs: map[dbus.ObjectPath]*recDevice{}}
	conn.Signal(r.ch)
	matches := [][]dbus.MatchOption{
		{dbus.WithMatchInterface(nmDeviceIfc), dbus.WithMatchMember("StateChanged"), dbus.WithMatchPathNamespace(nmDevicesDir)},
		{dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchPathNamespace(nmDevicesDir)},
	}
	for _, m := range matches {
		if err := conn.AddMatchSignal(m...); err != nil {
			conn.Close()
			return nil, fmt.Errorf("add match: %w", err)
		}
	}
	// Learn the current devices after subscribing: signals that arrive
	// meanwhile wait in the queue and apply on top.
	var paths []dbus.ObjectPath
	if err := conn.Object(nmBusName, nmPath).Call(nmBusName+".GetDevices", 0).Store(&paths); err == nil {
		for _, p := range paths {
			r.device(p)
		}
	}
	go r.loop()
	return r, nil
}

// device returns what is known of path, reading it from NM on first sight.
func (r *Recorder) device(path dbus.ObjectPath) *recDevice {
	r.mu.Lock()
	d := r.devs[path]
	r.mu.Unlock()
	if d != nil {
		return d
	}
	d = &recDevice{name: string(path)}
	obj := r.conn.Object(nmBusName, path)
	if v, err := obj.GetProperty(nmDeviceIfc + ".Interface"); err == nil {
		d.name, _ = v.Value().(string)
	}
	if bd, ok := r.b.Device(d.name); ok {
		d.tracked, d.real = true, bd.MAC.String()
	}
	if v, err := obj.GetProperty(nmDeviceIfc + ".HwAddress"); err == nil {
		s, _ := v.Value().(string)
		d.address = strings.ToLower(s)
	}
	if v, err := obj.GetProperty(nmWiredIfc + ".Carrier"); err == nil {
		d.carrier, _ = v.Value().(bool)
	}
	if v, err := obj.GetProperty(nmDeviceIfc + ".State"); err == nil {
		d.state, _ = v.Value().(uint32)
	}
	r.mu.Lock()
	r.devs[path] = d
	r.mu.Unlock()
	return d
}

// loop handles the signals in order.
func (r *Recorder) loop() {
	defer close(r.done)
	for sig := range r.ch {
		d := r.device(sig.Path)
		switch sig.Name {
		case nmDeviceIfc + ".StateChanged":
			if len(sig.Body) != 3 {
				continue
			}
			n, _ := sig.Body[0].(uint32)
			o, _ := sig.Body[1].(uint32)
			reason, _ := sig.Body[2].(uint32)
			d.state = n
			if !d.tracked {
				continue
			}
			conn := r.connection(sig.Path, d, n, o)
			r.add(r.event(d, n, o, reason, conn), true)
		case "org.freedesktop.DBus.Properties.PropertiesChanged":
			if len(sig.Body) < 2 {
				continue
			}
			ifc, _ := sig.Body[0].(string)
			props, _ := sig.Body[1].(map[string]dbus.Variant)
			if v, ok := props["Carrier"]; ok && ifc == nmWiredIfc {
				d.carrier, _ = v.Value().(bool)
			}
			if v, ok := props["HwAddress"]; ok && ifc == nmDeviceIfc {
				s, _ := v.Value().(string)
				s = strings.ToLower(s)
				if s != d.address {
					d.address = s
					if d.tracked {
						r.add(r.event(d, d.state, d.state, 0, d.lastConn), false)
					}
				}
			}
		}
	}
}

// connection returns the device's active connection, or the last one seen
// while it deactivates or right after it failed (NM has dropped it by then).
func (r *Recorder) connection(path dbus.ObjectPath, d *recDevice, state, old uint32) detect.Connection {
	var c detect.Connection
	if v, err := r.conn.Object(nmBusName, path).GetProperty(nmDeviceIfc + ".ActiveConnection"); err == nil {
		if ac, _ := v.Value().(dbus.ObjectPath); ac != "" && ac != "/" {
			obj := r.conn.Object(nmBusName, ac)
			if v, err := obj.GetProperty(nmACIfc + ".Uuid"); err == nil {
				c.UUID, _ = v.Value().(string)
			}
			if v, err := obj.GetProperty(nmACIfc + ".Id"); err == nil {
				c.ID, _ = v.Value().(string)
			}
		}
	}
	// The active connection may vanish between the reads, and is gone when
	// the device has failed or is deactivating: use the last full answer.
	partial := c.UUID == "" || c.ID == ""
	if partial && (c.UUID == "" || c.UUID == d.lastConn.UUID) && (state >= detect.StatePrepare || old >= detect.StatePrepare) {
		c = d.lastConn
	}
	if c.UUID != "" && c.ID != "" {
		d.lastConn = c
	}
	if state <= detect.StateDisconnected {
		d.lastConn = detect.Connection{} // the activation ended
	}
	return c
}

func (r *Recorder) event(d *recDevice, state, old, reason uint32, c detect.Connection) detect.Event {
	return detect.Event{
		Time: time.Now(), Device: d.name, Connection: c,
		State: state, Old: old, Reason: reason,
		Address: d.address, Real: d.real,
		Spoofed: d.real != "" && d.address != "" && d.address != d.real,
		Carrier: d.carrier,
	}
}

func (r *Recorder) add(ev detect.Event, isState bool) {
	r.mu.Lock()
	r.events = append(r.events, ev)
	r.isState = append(r.isState, isState)
	close(r.changed)
	r.changed = make(chan struct{})
	r.mu.Unlock()
}

// Events returns every event recorded so far (state changes and address
// changes), in order.
func (r *Recorder) Events() []detect.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]detect.Event(nil), r.events...)
}

// Transitions returns the recorded state changes, in order (no address-only
// events).
func (r *Recorder) Transitions() []detect.Event {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []detect.Event
	for i, ev := range r.events {
		if r.isState[i] {
			out = append(out, ev)
		}
	}
	return out
}

// WaitCount waits until n recorded state changes match (all of them since
// the recorder started, not only new ones) and returns the n-th; it fails t
// after timeout, listing what was recorded.
func (r *Recorder) WaitCount(t testing.TB, n int, timeout time.Duration, match func(detect.Event) bool) detect.Event {
	t.Helper()
	deadline := time.NewTimer(timeout)
	defer deadline.Stop()
	for {
		r.mu.Lock()
		found := 0
		for i, ev := range r.events {
			if r.isState[i] && match(ev) {
				if found++; found == n {
					r.mu.Unlock()
					return ev
				}
			}
		}
		changed := r.changed
		r.mu.Unlock()
		select {
		case <-changed:
		case <-r.done:
			t.Fatalf("bed: recorder: bus connection lost; recorded:\n%s", FormatEvents(r.Transitions()))
		case <-deadline.C:
			t.Fatalf("bed: recorder: %d matching state changes not seen within %v; recorded:\n%s", n, timeout, FormatEvents(r.Transitions()))
		}
	}
}

// Wait waits for the first recorded state change that matches (see WaitCount).
func (r *Recorder) Wait(t testing.TB, timeout time.Duration, match func(detect.Event) bool) detect.Event {
	t.Helper()
	return r.WaitCount(t, 1, timeout, match)
}

// Stop stops recording; the events stay readable. It may be called more
// than once.
func (r *Recorder) Stop() {
	r.stopOnce.Do(func() {
		// Close makes the signal handler close r.ch (signals still queued
		// are dropped); wait for the loop to end.
		r.conn.Close()
		select {
		case <-r.done:
		case <-time.After(5 * time.Second):
		}
	})
}

// Is matches a state change to state from old with reason; old or reason
// < 0 match any value.
func Is(state uint32, old, reason int) func(detect.Event) bool {
	return func(ev detect.Event) bool {
		return ev.State == state && (old < 0 || ev.Old == uint32(old)) && (reason < 0 || ev.Reason == uint32(reason))
	}
}

// FormatEvents prints events one a line: device state<-old reason address
// connection, for test failure messages.
func FormatEvents(evs []detect.Event) string {
	var sb strings.Builder
	for _, ev := range evs {
		fmt.Fprintf(&sb, "  %s %s %d<-%d r%d addr=%s spoofed=%v carrier=%v conn=%s\n",
			ev.Time.Format("15:04:05.000"), ev.Device, ev.State, ev.Old, ev.Reason, ev.Address, ev.Spoofed, ev.Carrier, ev.Connection.ID)
	}
	return sb.String()
}
