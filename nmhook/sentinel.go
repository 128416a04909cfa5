// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
)

// The sentinel takes a guarded card that comes up with its real address
// down from the real-time link watch's own thread (links.WatchRT), before
// the service's loop hears of it through the link subscription: with both
// cores busy the loop's thread waits for the kernel to run it (issue 18:
// p99 17 ms from the loop's receipt, more from the kernel's message). The
// loop keeps the authority: it arms the sentinel with the real address of
// each card that must not be up with it (the same condition as evaluate's
// own fast path, re-armed after every step of the loop and before the
// service raises a link, sets an address or asks NetworkManager to
// activate), and when it handles that card's link change it takes the trip
// (evaluate: the reaction is the sentinel's; a card found allowed after
// all gets its link back). A trip never outlives the evaluate that takes
// it, and an untaken one is dropped when the card is armed anew or after
// tripKeep, so it cannot make a later evaluate raise the link.

// rtPriority is the SCHED_FIFO priority of the watch's thread: above every
// ordinary thread, below the kernel's own real-time threads.
const rtPriority = 10

// tripKeep is how long an untaken trip waits for the loop's evaluate.
const tripKeep = 2 * time.Second

type sentinel struct {
	armed atomic.Pointer[map[int]string] // link index → real address (lower-case)
	mu    sync.Mutex
	trips map[int][]trip // per link index, oldest first, at most tripQueue
}

// tripQueue bounds the trips of one link waiting for the loop: each
// raise the sentinel takes down is one link message the loop handles in
// turn, and takes one trip.
const tripQueue = 16

type trip struct {
	at       time.Time     // the link was down
	reaction time.Duration // from the kernel's message read to the link down
}

func newSentinel() *sentinel {
	t := &sentinel{trips: map[int][]trip{}}
	t.armed.Store(&map[int]string{})
	return t
}

// onMsg runs on the watch's thread for every link message.
func (t *sentinel) onMsg(w *links.RTWatch, m links.LinkMsg) {
	if !m.Up || len(m.Addr) != 6 {
		return
	}
	real, ok := (*t.armed.Load())[m.Index]
	if !ok || real != m.Addr.String() {
		return
	}
	if err := w.SetDownNow(m.Index); err != nil {
		return // the loop's evaluate takes it down as before
	}
	now := time.Now()
	t.mu.Lock()
	q := append(t.trips[m.Index], trip{at: now, reaction: now.Sub(m.Received)})
	if len(q) > tripQueue {
		q = q[len(q)-tripQueue:]
	}
	t.trips[m.Index] = q
	t.mu.Unlock()
}

// take returns and forgets the oldest recent trip of link index.
func (t *sentinel) take(index int) (trip, bool) {
	if t == nil {
		return trip{}, false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	q := t.trips[index]
	for len(q) > 0 && time.Since(q[0].at) >= tripKeep {
		q = q[1:]
	}
	if len(q) == 0 {
		delete(t.trips, index)
		return trip{}, false
	}
	tr := q[0]
	if q = q[1:]; len(q) == 0 {
		delete(t.trips, index)
	} else {
		t.trips[index] = q
	}
	return tr, true
}

// rearm arms the sentinel with the cards that must not be up with their
// real address now.
func (s *Service) rearm() {
	t := s.sentinel
	if t == nil {
		return
	}
	next := map[int]string{}
	for _, d := range s.devs {
		if d.link.Index != 0 && len(d.real) == 6 && d.guarded != nil && !s.held && !s.realWantedOn(d) {
			next[d.link.Index] = net.HardwareAddr(d.real).String()
		}
	}
	cur := *t.armed.Load()
	if len(cur) == len(next) {
		same := true
		for i, a := range next {
			if cur[i] != a {
				same = false
				break
			}
		}
		if same {
			return
		}
	}
	t.armed.Store(&next)
	t.mu.Lock()
	for i := range t.trips {
		if _, ok := next[i]; !ok {
			delete(t.trips, i)
		}
	}
	t.mu.Unlock()
}

// rtWatcher is implemented by Links that can run a real-time link watch
// (links.Netlink).
type rtWatcher interface {
	WatchRT(ctx context.Context, priority int, fn func(*links.RTWatch, links.LinkMsg)) (*links.RTWatch, error)
}

// startSentinel starts the real-time watch when the kernel side can; the
// service works without it (the loop's own fast path), more slowly.
func (s *Service) startSentinel(ctx context.Context) {
	rw, ok := s.cfg.Links.(rtWatcher)
	if !ok {
		return
	}
	t := newSentinel()
	w, err := rw.WatchRT(ctx, rtPriority, t.onMsg)
	if err != nil {
		s.log.Warn("netlink: no real-time link watch; the service's loop alone takes cards down", slog.String("error", err.Error()))
		return
	}
	if w.PolicyErr != nil {
		s.log.Warn("netlink: the real-time link watch runs at ordinary priority (SCHED_FIFO refused: CAP_SYS_NICE?)",
			slog.String("error", w.PolicyErr.Error()))
	} else {
		s.log.Debug("netlink: real-time link watch started", slog.String("policy", w.Policy), slog.Int("priority", rtPriority))
	}
	s.sentinel = t
}

// tripOf is the fast-path record of a trip the sentinel made on d, for
// evaluate: the link is down with the real address, and was taken down by
// the sentinel.
func (s *Service) tripOf(d *devState) (fastDown, bool) {
	if d.link.Up || !bytes.Equal(d.link.Addr, d.real) {
		return fastDown{}, false
	}
	tr, ok := s.sentinel.take(d.link.Index)
	if !ok {
		return fastDown{}, false
	}
	return fastDown{done: true, wasUp: true, reaction: tr.reaction}, true
}
