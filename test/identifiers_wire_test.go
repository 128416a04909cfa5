// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"bytes"
	"fmt"
	"net"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// wireIdents is what a capture's frames tell about the card's identifiers,
// parsed with gopacket's layers (no text matching).
type wireIdents struct {
	dhcp4, dhcp6, rs, ns, na int      // packets of each kind seen
	hostnames4               []string // DHCPv4 option 12 values
	fqdn4                    int      // DHCPv4 option 81 seen
	fqdn6                    int      // DHCPv6 client FQDN option seen
	mdns, llmnr              int      // UDP packets to 5353 / 5355
	eui64OfSource            int      // IPv6 source addresses whose IID is the EUI-64 of the frame's source address
	problems                 []string // identifiers derived from the real address
}

// eui64IID is the interface identifier EUI-64 makes from mac.
func eui64IID(mac net.HardwareAddr) []byte {
	return []byte{mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
}

// parseIdents parses frames (Ethernet) and records, against the card's real
// address: DHCPv4 host name (12, 81) and client identifier (61), DHCPv6
// client identifier (DUID) and FQDN, the link-layer address options of
// router solicitations and neighbour solicitations/advertisements, IPv6
// addresses whose interface identifier is the real address's EUI-64,
// mDNS/LLMNR packets, and any frame that carries the real address's bytes
// or its EUI-64 anywhere.
func parseIdents(frames [][]byte, real net.HardwareAddr) wireIdents {
	var w wireIdents
	realIID := eui64IID(real)
	bad := func(format string, args ...any) { w.problems = append(w.problems, fmt.Sprintf(format, args...)) }
	for n, f := range frames {
		pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		if !ok {
			continue
		}
		src := eth.SrcMAC
		if bytes.Contains(f, real) {
			bad("frame %d (from %s) carries the real address's bytes", n, src)
		}
		if bytes.Contains(f, realIID) {
			bad("frame %d (from %s) carries the real address's EUI-64", n, src)
		}
		if ip6, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
			for _, a := range []net.IP{ip6.SrcIP, ip6.DstIP} {
				if len(a) == 16 && bytes.Equal(a[8:], realIID) {
					bad("frame %d: IPv6 address %s is built from the real address (EUI-64)", n, a)
				}
			}
			if len(ip6.SrcIP) == 16 && !ip6.SrcIP.IsUnspecified() && bytes.Equal(ip6.SrcIP[8:], eui64IID(src)) {
				w.eui64OfSource++
			}
		}
		if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
			switch udp.DstPort {
			case 5353:
				w.mdns++
			case 5355:
				w.llmnr++
			}
		}
		if d, ok := pkt.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); ok && d.Operation == layers.DHCPOpRequest {
			w.dhcp4++
			if bytes.Equal(d.ClientHWAddr, real) {
				bad("frame %d: DHCPv4 chaddr is the real address", n)
			}
			for _, o := range d.Options {
				switch o.Type {
				case layers.DHCPOptHostname:
					w.hostnames4 = append(w.hostnames4, string(o.Data))
				case layers.DHCPOpt(81):
					w.fqdn4++
				case layers.DHCPOptClientID:
					// "mac": hardware type 1 and the address in use.
					if !bytes.Equal(o.Data, append([]byte{1}, src...)) {
						bad("frame %d: DHCPv4 client identifier %x is not made from the address in use %s", n, o.Data, src)
					}
				}
			}
		}
		if d, ok := pkt.Layer(layers.LayerTypeDHCPv6).(*layers.DHCPv6); ok {
			w.dhcp6++
			for _, o := range d.Options {
				switch o.Code {
				case layers.DHCPv6OptClientFQDN:
					w.fqdn6++
				case layers.DHCPv6OptClientID:
					// DUID-LL (type 3), hardware type 1, the address in use.
					want := append([]byte{0, 3, 0, 1}, src...)
					if !bytes.Equal(o.Data, want) {
						bad("frame %d: DHCPv6 DUID %x is not a DUID-LL of the address in use %s", n, o.Data, src)
					}
				}
			}
		}
		llOpts := func(kind string, opts layers.ICMPv6Options) {
			for _, o := range opts {
				if (o.Type == layers.ICMPv6OptSourceAddress || o.Type == layers.ICMPv6OptTargetAddress) && bytes.Equal(o.Data, real) {
					bad("frame %d: %s link-layer address option is the real address", n, kind)
				}
			}
		}
		if rs, ok := pkt.Layer(layers.LayerTypeICMPv6RouterSolicitation).(*layers.ICMPv6RouterSolicitation); ok {
			w.rs++
			llOpts("router solicitation", rs.Options)
		}
		if ns, ok := pkt.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation); ok {
			w.ns++
			llOpts("neighbour solicitation", ns.Options)
			if len(ns.TargetAddress) == 16 && bytes.Equal(ns.TargetAddress[8:], realIID) {
				bad("frame %d: neighbour solicitation for %s, built from the real address", n, ns.TargetAddress)
			}
		}
		if na, ok := pkt.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement); ok {
			w.na++
			llOpts("neighbour advertisement", na.Options)
			if len(na.TargetAddress) == 16 && bytes.Equal(na.TargetAddress[8:], realIID) {
				bad("frame %d: neighbour advertisement for %s, built from the real address", n, na.TargetAddress)
			}
		}
	}
	return w
}
