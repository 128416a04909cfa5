// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"bytes"
	"net"
	"sync"
)

// A card that must not use its real address can be given it, up, by
// NetworkManager (a profile, its reset at deactivation) or by root (`ip link
// set address`). The service's loop hears of it from the link subscription,
// behind whatever it is doing then (D-Bus round trips to NetworkManager take
// milliseconds, more with both cores busy). So the subscription itself takes
// such a link down the moment it reads the kernel's message, before the
// event is queued for the loop (Netlink.tripDown), and says so in the event
// (Event.Tripped); the loop then decides as before (disconnect, violation)
// on a link already down. The service arms a card's tripwire with its real
// address only while it hides that address, and disarms it before it puts
// the real address on the card itself.

// Tripwire is implemented by Links whose subscription takes a link down as
// soon as it reports it up with the address armed for it.
type Tripwire interface {
	// Arm makes link index trip when it is up with addr.
	Arm(index int, addr net.HardwareAddr)
	// Disarm lets link index be up with any address.
	Disarm(index int)
}

// tripwire holds, per link index, the address a link must not be up with.
// Safe for concurrent use: the service's loop arms it, the subscription
// reads it.
type tripwire struct {
	mu    sync.Mutex
	armed map[int]net.HardwareAddr
}

func newTripwire() *tripwire { return &tripwire{armed: map[int]net.HardwareAddr{}} }

func (t *tripwire) Arm(index int, addr net.HardwareAddr) {
	t.mu.Lock()
	defer t.mu.Unlock()
	t.armed[index] = bytes.Clone(addr)
}

func (t *tripwire) Disarm(index int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	delete(t.armed, index)
}

// trips reports whether l is up with the address armed for it.
func (t *tripwire) trips(l Link) bool {
	if t == nil || !l.Up {
		return false
	}
	t.mu.Lock()
	defer t.mu.Unlock()
	a, ok := t.armed[l.Index]
	return ok && bytes.Equal(l.Addr, a)
}
