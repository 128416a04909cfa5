// SPDX-License-Identifier: GPL-3.0-or-later

// Package identwire judges, for the tests only, what frames captured on a
// bed tell about a card's identifiers other than its address: the host name
// (DHCPv4 options 12 and 81, the DHCPv6 FQDN), the DHCPv4 client
// identifier and DHCPv6 DUID, IPv6 addresses and link-layer options built
// from the real address, mDNS and LLMNR. Frames are parsed with gopacket's
// layers (no text matching); the wired bed gives Ethernet frames (Ethernet),
// the Wi-Fi bed radiotap 802.11 frames (Radiotap).
package identwire

import (
	"bytes"
	"fmt"
	"net"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

// Idents is what a capture's frames tell about the card's identifiers.
type Idents struct {
	Frames                   int      // frames judged (sent by the card)
	DHCP4, DHCP6, RS, NS, NA int      // packets of each kind the card sent
	DHCP4Replies             int      // DHCPv4 replies to the card (Radiotap only)
	Hostnames4               []string // DHCPv4 option 12 values
	FQDN4                    int      // DHCPv4 option 81 seen
	FQDN6                    int      // DHCPv6 client FQDN option seen
	MDNS, LLMNR              int      // UDP packets to 5353 / 5355
	EUI64OfSource            int      // IPv6 source addresses whose IID is the EUI-64 of the frame's source address
	Problems                 []string // identifiers derived from the real address
}

// EUI64IID is the interface identifier EUI-64 makes from mac.
func EUI64IID(mac net.HardwareAddr) []byte {
	return []byte{mac[0] ^ 0x02, mac[1], mac[2], 0xff, 0xfe, mac[3], mac[4], mac[5]}
}

func (w *Idents) bad(format string, args ...any) {
	w.Problems = append(w.Problems, fmt.Sprintf(format, args...))
}

// Ethernet judges Ethernet frames (every one taken as the card's) against
// the card's real address.
func Ethernet(frames [][]byte, real net.HardwareAddr) Idents {
	var w Idents
	for n, f := range frames {
		pkt := gopacket.NewPacket(f, layers.LayerTypeEthernet, gopacket.Default)
		eth, ok := pkt.Layer(layers.LayerTypeEthernet).(*layers.Ethernet)
		if !ok {
			continue
		}
		w.Add(n, f, pkt, eth.SrcMAC, real)
	}
	return w
}

// Radiotap judges radiotap 802.11 frames against the card's real address:
// no frame may have it as any of its 802.11 addresses or carry its EUI-64;
// the data frames the card sends (to an access point: to-DS) are judged in
// full (Add, without the search for the address's bytes anywhere: with
// hwsim's real addresses, 02:00:00:00:NN:00, any run of zeros matches);
// the DHCPv4 replies access points send it are counted.
func Radiotap(frames [][]byte, real net.HardwareAddr) Idents {
	var w Idents
	for n, f := range frames {
		pkt := gopacket.NewPacket(f, layers.LayerTypeRadioTap, gopacket.Default)
		d, ok := pkt.Layer(layers.LayerTypeDot11).(*layers.Dot11)
		if !ok {
			continue
		}
		for i, a := range []net.HardwareAddr{d.Address1, d.Address2, d.Address3, d.Address4} {
			if bytes.Equal(a, real) {
				w.bad("frame %d (from %s): 802.11 address %d is the real address", n, d.Address2, i+1)
			}
		}
		switch {
		case d.Type.MainType() == layers.Dot11TypeData && d.Flags.ToDS() && !d.Flags.FromDS():
			w.add(n, f, pkt, d.Address2, real, false) // the card's: addr2 is the source
		default:
			if bytes.Contains(f, EUI64IID(real)) {
				w.bad("frame %d (from %s) carries the real address's EUI-64", n, d.Address2)
			}
			if dh, ok := pkt.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); ok && dh.Operation == layers.DHCPOpReply {
				w.DHCP4Replies++
			}
		}
	}
	return w
}

// Add judges frame n, f as parsed in pkt, sent by the card from src (the
// address in use): DHCPv4 host name (12, 81) and client identifier (61),
// DHCPv6 client identifier (DUID) and FQDN, the link-layer address options
// of router solicitations and neighbour solicitations/advertisements, IPv6
// addresses whose interface identifier is the real address's EUI-64,
// mDNS/LLMNR packets, and the real address's bytes or its EUI-64 anywhere.
func (w *Idents) Add(n int, f []byte, pkt gopacket.Packet, src, real net.HardwareAddr) {
	w.add(n, f, pkt, src, real, true)
}

// add is Add; rawBytes false leaves out the search for the real address's
// six bytes anywhere in the frame (hwsim's real addresses, 02:00:00:00:NN:00,
// match runs of zeros in any payload; the EUI-64 is still searched).
func (w *Idents) add(n int, f []byte, pkt gopacket.Packet, src, real net.HardwareAddr, rawBytes bool) {
	w.Frames++
	realIID := EUI64IID(real)
	if rawBytes && bytes.Contains(f, real) {
		w.bad("frame %d (from %s) carries the real address's bytes", n, src)
	}
	if bytes.Contains(f, realIID) {
		w.bad("frame %d (from %s) carries the real address's EUI-64", n, src)
	}
	if ip6, ok := pkt.Layer(layers.LayerTypeIPv6).(*layers.IPv6); ok {
		for _, a := range []net.IP{ip6.SrcIP, ip6.DstIP} {
			if len(a) == 16 && bytes.Equal(a[8:], realIID) {
				w.bad("frame %d: IPv6 address %s is built from the real address (EUI-64)", n, a)
			}
		}
		if len(ip6.SrcIP) == 16 && !ip6.SrcIP.IsUnspecified() && bytes.Equal(ip6.SrcIP[8:], EUI64IID(src)) {
			w.EUI64OfSource++
		}
	}
	if udp, ok := pkt.Layer(layers.LayerTypeUDP).(*layers.UDP); ok {
		switch udp.DstPort {
		case 5353:
			w.MDNS++
		case 5355:
			w.LLMNR++
		}
	}
	if d, ok := pkt.Layer(layers.LayerTypeDHCPv4).(*layers.DHCPv4); ok && d.Operation == layers.DHCPOpRequest {
		w.DHCP4++
		if bytes.Equal(d.ClientHWAddr, real) {
			w.bad("frame %d: DHCPv4 chaddr is the real address", n)
		}
		for _, o := range d.Options {
			switch o.Type {
			case layers.DHCPOptHostname:
				w.Hostnames4 = append(w.Hostnames4, string(o.Data))
			case layers.DHCPOpt(81):
				w.FQDN4++
			case layers.DHCPOptClientID:
				// "mac": hardware type 1 and the address in use.
				if !bytes.Equal(o.Data, append([]byte{1}, src...)) {
					w.bad("frame %d: DHCPv4 client identifier %x is not made from the address in use %s", n, o.Data, src)
				}
			}
		}
	}
	if d, ok := pkt.Layer(layers.LayerTypeDHCPv6).(*layers.DHCPv6); ok {
		w.DHCP6++
		for _, o := range d.Options {
			switch o.Code {
			case layers.DHCPv6OptClientFQDN:
				w.FQDN6++
			case layers.DHCPv6OptClientID:
				// DUID-LL (type 3), hardware type 1, the address in use.
				want := append([]byte{0, 3, 0, 1}, src...)
				if !bytes.Equal(o.Data, want) {
					w.bad("frame %d: DHCPv6 DUID %x is not a DUID-LL of the address in use %s", n, o.Data, src)
				}
			}
		}
	}
	llOpts := func(kind string, opts layers.ICMPv6Options) {
		for _, o := range opts {
			if (o.Type == layers.ICMPv6OptSourceAddress || o.Type == layers.ICMPv6OptTargetAddress) && bytes.Equal(o.Data, real) {
				w.bad("frame %d: %s link-layer address option is the real address", n, kind)
			}
		}
	}
	if rs, ok := pkt.Layer(layers.LayerTypeICMPv6RouterSolicitation).(*layers.ICMPv6RouterSolicitation); ok {
		w.RS++
		llOpts("router solicitation", rs.Options)
	}
	if ns, ok := pkt.Layer(layers.LayerTypeICMPv6NeighborSolicitation).(*layers.ICMPv6NeighborSolicitation); ok {
		w.NS++
		llOpts("neighbour solicitation", ns.Options)
		if len(ns.TargetAddress) == 16 && bytes.Equal(ns.TargetAddress[8:], realIID) {
			w.bad("frame %d: neighbour solicitation for %s, built from the real address", n, ns.TargetAddress)
		}
	}
	if na, ok := pkt.Layer(layers.LayerTypeICMPv6NeighborAdvertisement).(*layers.ICMPv6NeighborAdvertisement); ok {
		w.NA++
		llOpts("neighbour advertisement", na.Options)
		if len(na.TargetAddress) == 16 && bytes.Equal(na.TargetAddress[8:], realIID) {
			w.bad("frame %d: neighbour advertisement for %s, built from the real address", n, na.TargetAddress)
		}
	}
}
