// SPDX-License-Identifier: GPL-3.0-or-later

//go:build !linux

package inspect

import "errors"

// gatherKernel needs netlink and nftables: Linux only.
func gatherKernel(s *inspectSnapshot) {
	s.LinksErr = errors.New("reading the kernel's devices needs Linux (netlink)")
	s.GuardErr = errors.New("reading the kernel backstop needs Linux (nftables)")
}
