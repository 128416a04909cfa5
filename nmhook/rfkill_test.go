// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"errors"
	"io/fs"
	"sync"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
)

// fakeRfkill is the kernel's rfkill for the hold's unit tests: switches
// with a soft-block state; every change is an event for the reader, as the
// kernel sends it to every open /dev/rfkill.
type fakeRfkill struct {
	mu     sync.Mutex
	soft   map[uint32]bool
	typ    map[uint32]uint8
	events chan RfkillEvent
	closed chan struct{}
	opens  int
}

func newFakeRfkill() *fakeRfkill {
	return &fakeRfkill{soft: map[uint32]bool{}, typ: map[uint32]uint8{}}
}

// add plugs in a switch (an event for an open reader).
func (f *fakeRfkill) add(idx uint32, typ uint8, soft bool) {
	f.mu.Lock()
	f.soft[idx], f.typ[idx] = soft, typ
	ch := f.events
	f.mu.Unlock()
	if ch != nil {
		ch <- RfkillEvent{Idx: idx, Type: typ, Op: rfkillOpAdd, Soft: soft}
	}
}

func (f *fakeRfkill) state(idx uint32) bool {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.soft[idx]
}

// set changes a switch from outside (a user's `rfkill unblock`).
func (f *fakeRfkill) set(idx uint32, soft bool) {
	f.mu.Lock()
	f.soft[idx] = soft
	ch := f.events
	f.mu.Unlock()
	if ch != nil {
		ch <- RfkillEvent{Idx: idx, Type: f.typ[idx], Op: rfkillOpChange, Soft: soft}
	}
}

func (f *fakeRfkill) open() (RfkillConn, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.opens++
	f.events, f.closed = make(chan RfkillEvent, 64), make(chan struct{})
	return &fakeRfkillConn{f: f, events: f.events, closed: f.closed}, nil
}

type fakeRfkillConn struct {
	f      *fakeRfkill
	events chan RfkillEvent
	closed chan struct{}
	once   sync.Once
}

func (c *fakeRfkillConn) Existing() ([]RfkillEvent, error) {
	c.f.mu.Lock()
	defer c.f.mu.Unlock()
	var out []RfkillEvent
	for idx, soft := range c.f.soft {
		out = append(out, RfkillEvent{Idx: idx, Type: c.f.typ[idx], Op: rfkillOpAdd, Soft: soft})
	}
	return out, nil
}

func (c *fakeRfkillConn) Next() (RfkillEvent, error) {
	select {
	case ev := <-c.events:
		return ev, nil
	case <-c.closed:
		return RfkillEvent{}, errors.New("closed")
	}
}

func (c *fakeRfkillConn) Set(idx uint32, soft bool) error {
	c.f.mu.Lock()
	if _, ok := c.f.soft[idx]; !ok {
		c.f.mu.Unlock()
		return errors.New("no such switch")
	}
	c.f.soft[idx] = soft
	c.f.mu.Unlock()
	select {
	case c.events <- RfkillEvent{Idx: idx, Type: c.f.typ[idx], Op: rfkillOpChange, Soft: soft}:
	default:
	}
	return nil
}

func (c *fakeRfkillConn) Close() error {
	c.once.Do(func() {
		close(c.closed)
		c.f.mu.Lock()
		if c.f.events == c.events {
			c.f.events = nil
		}
		c.f.mu.Unlock()
	})
	return nil
}

func waitRadio(t *testing.T, f *fakeRfkill, idx uint32, soft bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for f.state(idx) != soft {
		if time.Now().After(deadline) {
			t.Fatalf("radio %d soft-blocked = %v, want %v", idx, f.state(idx), soft)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

const rfkillTypeBluetooth = 2

// TestHoldRestoresEachRadio: the hold soft-blocks every wireless radio
// (also one plugged in, or unblocked by someone, during it); its end gives
// each its state from before: a radio the user had switched off stays
// off. Other switch types are left alone.
func TestHoldRestoresEachRadio(t *testing.T) {
	f := newFakeRfkill()
	f.add(0, rfkillTypeWLAN, false)
	f.add(1, rfkillTypeWLAN, true) // switched off by the user
	f.add(5, rfkillTypeBluetooth, false)
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	m := newMachine(t, "hold = true\n")
	m.rfkill = f.open
	svc, _ := m.start(t, k)
	waitGate(t, svc, "eth0", gateHeld)
	waitRadio(t, f, 0, true)
	waitRadio(t, f, 1, true)
	f.add(2, rfkillTypeWLAN, false) // plugged in during the hold
	waitRadio(t, f, 2, true)
	f.set(0, false) // someone unblocks it during the hold
	waitRadio(t, f, 0, true)
	if f.state(5) {
		t.Fatal("the hold blocked a Bluetooth switch")
	}

	setSpoofing(t, svc, true)
	waitRadio(t, f, 0, false)
	waitRadio(t, f, 2, false)
	if !f.state(1) {
		t.Fatal("the end of the hold unblocked a radio the user had switched off")
	}
}

// TestHoldRadioRecordSurvivesRestart: the service restarted during the hold
// finds every radio blocked (by itself); the per-boot record still says
// which ones were on before, and the end of the hold turns only those on.
func TestHoldRadioRecordSurvivesRestart(t *testing.T) {
	f := newFakeRfkill()
	f.add(0, rfkillTypeWLAN, false)
	f.add(1, rfkillTypeWLAN, true)
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	m := newMachine(t, "hold = true\n")
	m.rfkill = f.open
	svc, stop := m.start(t, k)
	waitGate(t, svc, "eth0", gateHeld)
	waitRadio(t, f, 0, true)
	// The record reaches the per-boot file through the service loop.
	deadline := time.Now().Add(5 * time.Second)
	for {
		// Read only (LoadBootState would remove the writer's temporary file).
		bs, _, err := inspect.ReadBootStateFile(m.bootStatePath(), "boot-1")
		if err == nil && bs != nil && len(bs.RadiosBeforeHold) == 2 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("radios not recorded in the per-boot state: %+v %v\n%s", bs, err, m.log)
		}
		time.Sleep(10 * time.Millisecond)
	}
	stop()
	if !f.state(0) || !f.state(1) {
		t.Fatal("stopping during the hold unblocked a radio")
	}
	svc, _ = m.start(t, k)
	waitGate(t, svc, "eth0", gateHeld)
	setSpoofing(t, svc, true)
	waitRadio(t, f, 0, false)
	if !f.state(1) {
		t.Fatal("after a restart during the hold, its end unblocked the radio the user had switched off")
	}
}

// noRfkill is a machine without rfkill: unit tests never touch the host's.
func noRfkill() (RfkillConn, error) { return nil, fs.ErrNotExist }
