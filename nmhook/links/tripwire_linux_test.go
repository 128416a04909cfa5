// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"context"
	"net"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/mac-nmguard/mac-nmguard/nmhook/internal/netnstest"
)

func TestTripwireTripsOnlyUpWithTheArmedAddress(t *testing.T) {
	real0, other := netnstest.MustMAC(t, "02:00:00:00:01:01"), netnstest.MustMAC(t, "02:00:00:00:01:02")
	tw := newTripwire()
	tw.Arm(7, real0)
	for _, c := range []struct {
		l    Link
		want bool
	}{
		{Link{Index: 7, Addr: real0, Up: true}, true},
		{Link{Index: 7, Addr: real0}, false},
		{Link{Index: 7, Addr: other, Up: true}, false},
		{Link{Index: 8, Addr: real0, Up: true}, false},
	} {
		if got := tw.trips(c.l); got != c.want {
			t.Errorf("trips(%+v) = %t, want %t", c.l, got, c.want)
		}
	}
	tw.Disarm(7)
	if tw.trips(Link{Index: 7, Addr: real0, Up: true}) {
		t.Error("trips after Disarm")
	}
	if (*tripwire)(nil).trips(Link{Index: 7, Addr: real0, Up: true}) {
		t.Error("a nil tripwire trips")
	}
}

// The subscription's goroutine shows each event to react before it queues
// it, stamped with when it was read.
func TestForwardReactsBeforeQueueing(t *testing.T) {
	in := make(chan netlink.LinkUpdate, 1)
	out := make(chan Event)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	go forwardLinkUpdates(ctx, in, make(chan struct{}), make(chan error, 1), out, make(chan error, 1), func(ev *Event) {
		if ev.Received.IsZero() {
			t.Error("react saw an event without its receive time")
		}
		ev.Tripped = true
	})
	u := update("x")
	u.Header.Type = unix.RTM_NEWLINK
	before := time.Now()
	in <- u
	select {
	case ev := <-out:
		if !ev.Tripped || ev.Received.Before(before) {
			t.Errorf("event %+v: want what react made of it, received after %v", ev, before)
		}
	case <-time.After(eventWait):
		t.Fatal("no event")
	}
}

// Against the kernel: a link armed with an address is taken down by the
// subscription itself when it comes up with it, and the event says so; up
// with another address, or disarmed, it stays up.
func TestIntegrationLinksTripwire(t *testing.T) {
	netnstest.RequireRoot(t)
	netnstest.EnterTestNetns(t)
	l := newTestLinks(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, err := l.Subscribe(ctx)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}
	a, _ := netnstest.AddVeth(t, "mng2", "mng2p")
	real0, private := netnstest.MustMAC(t, "02:00:5e:10:00:03"), netnstest.MustMAC(t, "02:00:5e:10:00:04")
	idx := a.Attrs().Index
	l.Arm(idx, real0)
	isUp := func() bool {
		t.Helper()
		k, err := netlink.LinkByIndex(idx)
		if err != nil {
			t.Fatal(err)
		}
		return k.Attrs().Flags&net.FlagUp != 0
	}

	if err := netlink.LinkSetHardwareAddr(a, private); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(a); err != nil {
		t.Fatal(err)
	}
	ev := nextEvent(t, ch, "up with another address", func(e Event) bool { return e.Link.Index == idx && e.Link.Up })
	if ev.Tripped || !isUp() {
		t.Fatalf("up with an address not armed: tripped %t, up %t", ev.Tripped, isUp())
	}

	if err := netlink.LinkSetHardwareAddr(a, real0); err != nil {
		t.Fatal(err)
	}
	ev = nextEvent(t, ch, "tripped", func(e Event) bool { return e.Link.Index == idx && e.Tripped })
	if ev.Link.Up || ev.TripReaction <= 0 || isUp() {
		t.Fatalf("tripped event %+v, link up %t: want it down with a reaction", ev, isUp())
	}
	t.Logf("taken down %v after the kernel's message was read", ev.TripReaction)

	l.Disarm(idx)
	if err := netlink.LinkSetUp(a); err != nil {
		t.Fatal(err)
	}
	ev = nextEvent(t, ch, "up disarmed", func(e Event) bool { return e.Link.Index == idx && e.Link.Up })
	if ev.Tripped || !isUp() {
		t.Fatalf("disarmed: tripped %t, up %t", ev.Tripped, isUp())
	}
}
