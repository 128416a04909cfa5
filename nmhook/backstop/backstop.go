// SPDX-License-Identifier: GPL-3.0-or-later

package backstop

import "net"

// Rule is one device guarded by the kernel backstop.
type Rule struct {
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
	List() ([]Rule, error)
	// RemoveAll deletes the backstop's table (mac-nmguard release).
	RemoveAll() error
}
