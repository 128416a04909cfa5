// SPDX-License-Identifier: GPL-3.0-or-later

// Package backstop is the kernel backstop: the Backstop interface and its
// nftables implementation, a netdev egress chain per guarded device that
// drops (and counts) every frame with the device's real address, or every
// frame while the device is held. The rules live in the kernel: they stay
// when the service stops, and a restarted service adopts them.
package backstop
