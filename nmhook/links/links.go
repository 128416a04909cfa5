// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"context"
	"net"
)

// Link is what the kernel says about one network interface.
type Link struct {
	Index    int
	Name     string
	Kind     string           // netlink link type: "veth", "device", "macvlan", ...
	Addr     net.HardwareAddr // current address
	PermAddr net.HardwareAddr // IFLA_PERM_ADDRESS; nil when the kernel has none
	Up       bool             // administratively up
	Carrier  bool             // lower layer up
}

// Event is one RTM_NEWLINK / RTM_DELLINK seen on the link subscription.
type Event struct {
	Link    Link
	Deleted bool
}

// Links is the gate's view of kernel links (netlink). The Linux
// implementation lives in links_linux.go.
type Links interface {
	// List returns every link; a dump interrupted by a concurrent change is
	// retried until it is consistent.
	List() ([]Link, error)
	// Get returns one link by name.
	Get(name string) (Link, error)
	// SetDown takes the link administratively down.
	SetDown(name string) error
	// SetUp brings the link administratively up.
	SetUp(name string) error
	// SetAddress sets the link's address; it takes the link down first when
	// the device needs it and leaves it down (the caller decides when to
	// bring it up). It verifies the address was applied.
	SetAddress(name string, mac net.HardwareAddr) error
	// Subscribe streams link changes until ctx is done; the sending goroutine
	// owns and closes the channel.
	Subscribe(ctx context.Context) (<-chan Event, error)
	// Classify says what is behind the link (sysfs): a card, a virtual
	// device, or unknown (treated as a card).
	Classify(l Link) Hardware
}
