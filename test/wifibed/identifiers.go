// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"fmt"
	"net"

	"github.com/mac-nmguard/mac-nmguard/test/identwire"
)

// IdentHost is the host name the identifier scenarios' profiles ask DHCP
// to send (ipv4.dhcp-hostname), so a capture can tell it.
const IdentHost = "mng-ident-host"

// IdentScenarios are the scenarios on open networks (payloads in clear)
// whose frames are judged for the card's identifiers under the default
// identifiers = "hide" (JudgeIdents).
var IdentScenarios = map[string]bool{"open-connect": true}

// JudgeIdents parses frames (radiotap, 802.11, LLC/SNAP, IP, with
// gopacket's layers, test/identwire) against the real address and returns
// what they tell and the problems under identifiers = "hide": the card's
// DHCPv4 requests and the access point's replies must be there (so the
// judgement cannot pass on an empty capture), and its IPv6 link-local
// address (a neighbour solicitation, a source that is the EUI-64 of the
// address in use, as identifiers = "hide" sets); no host name (DHCPv4 options
// 12 and 81, DHCPv6 FQDN); client identifier and DUID made from the
// address in use; no IPv6 address, link-layer option or frame bytes from
// the real address or its EUI-64; no mDNS or LLMNR.
func JudgeIdents(frames []Frame, real string) (identwire.Idents, []string) {
	mac, err := net.ParseMAC(real)
	if err != nil {
		return identwire.Idents{}, []string{fmt.Sprintf("real address %q: %v", real, err)}
	}
	raw := make([][]byte, 0, len(frames))
	for _, f := range frames {
		if f.Raw != nil {
			raw = append(raw, f.Raw)
		}
	}
	w := identwire.Radiotap(raw, mac)
	var out []string
	if w.DHCP4 == 0 || w.DHCP4Replies == 0 {
		out = append(out, fmt.Sprintf("the capture lacks what it judges: %d DHCPv4 requests from the card, %d replies (of %d radiotap frames)", w.DHCP4, w.DHCP4Replies, len(raw)))
	}
	if w.NS == 0 || w.EUI64OfSource == 0 {
		out = append(out, fmt.Sprintf("the card's IPv6 link-local address is missing or not the EUI-64 of the private address (ipv6.addr-gen-mode eui64 not applied?): %d neighbour solicitations, %d IPv6 sources from the address in use", w.NS, w.EUI64OfSource))
	}
	out = append(out, w.Problems...)
	if len(w.Hostnames4) != 0 || w.FQDN4 != 0 || w.FQDN6 != 0 {
		out = append(out, fmt.Sprintf("host name sent: DHCPv4 option 12 %q, %d with option 81, %d DHCPv6 FQDN", w.Hostnames4, w.FQDN4, w.FQDN6))
	}
	if w.MDNS != 0 || w.LLMNR != 0 {
		out = append(out, fmt.Sprintf("%d mDNS and %d LLMNR packets", w.MDNS, w.LLMNR))
	}
	return w, out
}
