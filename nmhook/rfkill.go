// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"errors"
	"io/fs"
	"log/slog"
	"sync"
)

// rfkill events (linux/rfkill.h): idx u32, type u8, op u8, soft u8, hard u8.
const (
	rfkillTypeWLAN = 1

	rfkillOpAdd    = 0
	rfkillOpDel    = 1
	rfkillOpChange = 2
)

// RfkillEvent is one event of /dev/rfkill.
type RfkillEvent struct {
	Idx  uint32
	Type uint8
	Op   uint8
	Soft bool
	Hard bool
}

// RfkillConn is an open /dev/rfkill.
type RfkillConn interface {
	// Existing returns the events the kernel queues at open: one ADD per
	// switch present.
	Existing() ([]RfkillEvent, error)
	// Next waits for the next event; it fails once Close was called.
	Next() (RfkillEvent, error)
	// Set soft-blocks (or unblocks) one switch.
	Set(idx uint32, soft bool) error
	Close() error
}

// radioHold soft-blocks every wireless radio while the boot-time hold is in
// force, one by one (also those that appear during it), and on release puts
// each back as it was before: a radio the user had switched off stays off.
// What each radio was before is kept in the per-boot state, so that a
// service restarted during the hold (finding the radios blocked by itself)
// still restores them right.
type radioHold struct {
	log  *slog.Logger
	conn RfkillConn
	save func(prev map[uint32]bool)
	done chan struct{}

	mu     sync.Mutex
	prev   map[uint32]bool // WLAN switch -> soft-blocked before the hold
	ending bool
}

// holdRadios opens rfkill and blocks every wireless radio. prev holds what
// an earlier run of this boot recorded (nil none); save is called whenever
// the record changes. It returns nil when there is no rfkill (logged): the
// hold's link-down and drop-all backstop still apply.
func holdRadios(log *slog.Logger, open func() (RfkillConn, error), prev map[uint32]bool, save func(map[uint32]bool)) *radioHold {
	conn, err := open()
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			log.Info("hold: no rfkill in this kernel; radios are not soft-blocked (links stay down and the backstop drops every frame)")
		} else {
			log.Warn("hold: rfkill unavailable; radios are not soft-blocked (links stay down and the backstop drops every frame)", slog.String("error", err.Error()))
		}
		return nil
	}
	h := &radioHold{log: log, conn: conn, save: save, done: make(chan struct{}), prev: map[uint32]bool{}}
	existing, err := conn.Existing()
	if err != nil {
		log.Warn("hold: cannot read rfkill", slog.String("error", err.Error()))
	}
	h.mu.Lock()
	present := map[uint32]bool{}
	for _, ev := range existing {
		if ev.Type == rfkillTypeWLAN && ev.Op == rfkillOpAdd {
			present[ev.Idx] = true
		}
	}
	// An earlier run's record wins: it saw the radios before it blocked
	// them. Switches gone since are dropped.
	for idx, soft := range prev {
		if present[idx] {
			h.prev[idx] = soft
		}
	}
	for _, ev := range existing {
		h.adopt(ev)
	}
	h.mu.Unlock()
	h.record()
	go h.watch()
	log.Info("hold: wireless radios soft-blocked", slog.Int("radios", len(h.prev)))
	return h
}

// adopt records and blocks a switch that appeared (h.mu held).
func (h *radioHold) adopt(ev RfkillEvent) {
	if ev.Type != rfkillTypeWLAN || ev.Op != rfkillOpAdd {
		return
	}
	if _, ok := h.prev[ev.Idx]; !ok {
		h.prev[ev.Idx] = ev.Soft
	}
	h.block(ev.Idx)
}

func (h *radioHold) block(idx uint32) {
	if err := h.conn.Set(idx, true); err != nil {
		h.log.Warn("hold: rfkill block failed", slog.Uint64("radio", uint64(idx)), slog.String("error", err.Error()))
	}
}

func (h *radioHold) record() {
	h.mu.Lock()
	cp := make(map[uint32]bool, len(h.prev))
	for k, v := range h.prev {
		cp[k] = v
	}
	h.mu.Unlock()
	if h.save != nil {
		h.save(cp)
	}
}

// watch blocks radios that appear during the hold, and radios someone
// unblocks during it.
func (h *radioHold) watch() {
	defer close(h.done)
	for {
		ev, err := h.conn.Next()
		if err != nil {
			return
		}
		if ev.Type != rfkillTypeWLAN {
			continue
		}
		h.mu.Lock()
		if h.ending {
			h.mu.Unlock()
			return
		}
		changed := false
		switch ev.Op {
		case rfkillOpAdd:
			h.adopt(ev)
			changed = true
		case rfkillOpDel:
			delete(h.prev, ev.Idx)
			changed = true
		case rfkillOpChange:
			if !ev.Soft {
				h.log.Warn("hold: a radio was unblocked during the hold; blocking it again", slog.Uint64("radio", uint64(ev.Idx)))
				h.block(ev.Idx)
			}
		}
		h.mu.Unlock()
		if changed {
			h.record()
		}
	}
}

// stop leaves the radios blocked (the service stops during the hold: the
// next start finds the record in the per-boot state) and ends the reader.
func (h *radioHold) stop() {
	h.mu.Lock()
	h.ending = true
	h.mu.Unlock()
	h.conn.Close()
	<-h.done
}

// release ends the hold: each radio gets its soft-block state from before
// the hold back.
func (h *radioHold) release() {
	h.mu.Lock()
	h.ending = true
	restored, kept := 0, 0
	for idx, soft := range h.prev {
		if soft {
			kept++
			continue
		}
		if err := h.conn.Set(idx, false); err != nil {
			h.log.Warn("hold: rfkill unblock failed", slog.Uint64("radio", uint64(idx)), slog.String("error", err.Error()))
			continue
		}
		restored++
	}
	h.prev = map[uint32]bool{}
	h.mu.Unlock()
	h.conn.Close()
	<-h.done
	h.record()
	h.log.Info("hold: wireless radios restored to their state before the hold", slog.Int("unblocked", restored), slog.Int("kept_blocked", kept))
}
