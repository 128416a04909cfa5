// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

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

// LinkEvent is one RTM_NEWLINK / RTM_DELLINK seen on the link subscription.
type LinkEvent struct {
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
	Subscribe(ctx context.Context) (<-chan LinkEvent, error)
	// Classify says what is behind the link (sysfs): a card, a virtual
	// device, or unknown (treated as a card).
	Classify(l Link) Hardware
}

// GuardRule is one device guarded by the kernel backstop.
type GuardRule struct {
	Interface string
	Real      net.HardwareAddr // frames with this source are dropped (nil in hold mode)
	Hold      bool             // every frame is dropped
	Dropped   uint64           // packets dropped so far (counter)
}

// Backstop is the nftables netdev egress backstop. It lives in the kernel:
// rules stay when the service stops, and a restarted service adopts them.
type Backstop interface {
	// Guard installs (or replaces) the rule that drops every frame leaving
	// ifname with source address real. Idempotent.
	Guard(ifname string, real net.HardwareAddr) error
	// Hold installs (or replaces) a rule that drops every frame leaving ifname.
	Hold(ifname string) error
	// Unguard removes whatever rule guards ifname. Idempotent.
	Unguard(ifname string) error
	// List returns the rules in the kernel with their counters.
	List() ([]GuardRule, error)
	// RemoveAll deletes the backstop's table (mac-nmguard release).
	RemoveAll() error
}
