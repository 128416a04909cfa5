// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"net"
	"time"

	"github.com/vishvananda/netlink"
)

var _ Tripwire = (*Netlink)(nil)

// Arm makes the subscription take link index down whenever the kernel
// reports it up with addr.
func (l *Netlink) Arm(index int, addr net.HardwareAddr) { l.trip.Arm(index, addr) }

// Disarm ends Arm for link index.
func (l *Netlink) Disarm(index int) { l.trip.Disarm(index) }

// tripDown takes the link of ev down when it trips the tripwire, in the
// subscription's goroutine before the event is queued (one netlink request
// by index: no lookup, no D-Bus, no loop between the kernel's message and
// the link down), and records it in ev.
func (l *Netlink) tripDown(ev *Event) {
	if ev.Deleted || !l.trip.trips(ev.Link) {
		return
	}
	if err := l.Handle.LinkSetDown(&netlink.Device{LinkAttrs: netlink.LinkAttrs{Index: ev.Link.Index}}); err != nil {
		return // the service decides on the event as usual
	}
	ev.Tripped, ev.TripReaction = true, time.Since(ev.Received)
	ev.Link.Up = false
}
