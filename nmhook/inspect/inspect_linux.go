// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"fmt"
	"net/netip"

	"github.com/vishvananda/netlink"

	"github.com/mac-nmguard/mac-nmguard/nmhook/backstop"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
)

// gatherKernel reads the links, their IPv6 addresses and the backstop's
// rules from the current network namespace. It changes nothing.
func gatherKernel(s *inspectSnapshot) {
	nl, err := links.New()
	if err != nil {
		s.LinksErr = err
		s.GuardErr = fmt.Errorf("not read: %w", err)
		return
	}
	defer nl.Close()
	s.Links, s.LinksErr = nl.List()
	s.Hardware = map[int]links.Hardware{}
	for _, l := range s.Links {
		s.Hardware[l.Index] = nl.Classify(l)
	}
	if s.LinksErr == nil {
		s.IPv6, s.LinksErr = ipv6Addresses(nl)
	}
	bs, err := backstop.New()
	if err != nil {
		s.GuardErr = err
		return
	}
	defer bs.Close()
	s.Guards, s.GuardErr = bs.List()
}

// ipv6Addresses returns every IPv6 address by ifindex (one dump).
func ipv6Addresses(l *links.Netlink) (map[int][]netip.Addr, error) {
	addrs, err := l.Handle.AddrList(nil, netlink.FAMILY_V6)
	if err != nil {
		return nil, fmt.Errorf("list IPv6 addresses: %w", err)
	}
	out := map[int][]netip.Addr{}
	for _, a := range addrs {
		if a.IPNet == nil {
			continue
		}
		ip, ok := netip.AddrFromSlice(a.IP)
		if !ok {
			continue
		}
		out[a.LinkIndex] = append(out[a.LinkIndex], ip.Unmap())
	}
	for k, v := range out {
		out[k] = ipv6Sorted(v)
	}
	return out, nil
}
