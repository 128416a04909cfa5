// SPDX-License-Identifier: GPL-3.0-or-later

package identwire

import (
	"net"
	"strings"
	"testing"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
)

var (
	realMAC = net.HardwareAddr{0x02, 0, 0, 0, 0, 0}
	privMAC = net.HardwareAddr{0x02, 0, 0, 0x5c, 0x3a, 0x91}
	apMAC   = net.HardwareAddr{0x02, 0, 0, 0, 1, 0}
)

// dhcpRequest is an IPv4/UDP DHCPv4 request from src with opts.
func dhcpRequest(t *testing.T, src net.HardwareAddr, opts ...layers.DHCPOption) []gopacket.SerializableLayer {
	t.Helper()
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4zero, DstIP: net.IPv4bcast}
	udp := &layers.UDP{SrcPort: 68, DstPort: 67}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	d := &layers.DHCPv4{Operation: layers.DHCPOpRequest, HardwareType: layers.LinkTypeEthernet, HardwareLen: 6,
		Xid: 7, ClientHWAddr: src, Options: append(opts, layers.NewDHCPOption(layers.DHCPOptMessageType, []byte{byte(layers.DHCPMsgTypeDiscover)}))}
	return []gopacket.SerializableLayer{ip, udp, d}
}

func serialize(t *testing.T, ls ...gopacket.SerializableLayer) []byte {
	t.Helper()
	buf := gopacket.NewSerializeBuffer()
	if err := gopacket.SerializeLayers(buf, gopacket.SerializeOptions{FixLengths: true, ComputeChecksums: true}, ls...); err != nil {
		t.Fatal(err)
	}
	return buf.Bytes()
}

// radiotapData is a radiotap (no fields) 802.11 data frame, to-DS (a
// station to its access point) or from-DS, with an LLC/SNAP IPv4 payload.
func radiotapData(toDS bool, a1, a2, a3 net.HardwareAddr, payload []byte) []byte {
	flags := byte(0x02) // from-DS
	if toDS {
		flags = 0x01
	}
	b := []byte{0, 0, 8, 0, 0, 0, 0, 0} // radiotap: version 0, length 8, no fields
	b = append(b, 2<<2, flags, 0, 0)    // data, no QoS
	b = append(b, a1...)
	b = append(b, a2...)
	b = append(b, a3...)
	b = append(b, 0, 0)
	b = append(b, 0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00) // LLC/SNAP, IPv4
	return append(b, payload...)
}

func ethernetFrame(t *testing.T, src net.HardwareAddr, ls []gopacket.SerializableLayer) []byte {
	eth := &layers.Ethernet{SrcMAC: src, DstMAC: layers.EthernetBroadcast, EthernetType: layers.EthernetTypeIPv4}
	return serialize(t, append([]gopacket.SerializableLayer{eth}, ls...)...)
}

// TestRadiotapHidden: a DHCPv4 request from the private address with a
// client identifier made from it, and a reply, are counted and raise
// nothing.
func TestRadiotapHidden(t *testing.T) {
	req := serialize(t, dhcpRequest(t, privMAC, layers.NewDHCPOption(layers.DHCPOptClientID, append([]byte{1}, privMAC...)))...)
	ip := &layers.IPv4{Version: 4, TTL: 64, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(10, 0, 0, 1), DstIP: net.IPv4bcast}
	udp := &layers.UDP{SrcPort: 67, DstPort: 68}
	if err := udp.SetNetworkLayerForChecksum(ip); err != nil {
		t.Fatal(err)
	}
	reply := serialize(t, ip, udp, &layers.DHCPv4{Operation: layers.DHCPOpReply, HardwareType: layers.LinkTypeEthernet, HardwareLen: 6, ClientHWAddr: privMAC})
	w := Radiotap([][]byte{
		radiotapData(true, apMAC, privMAC, layers.EthernetBroadcast, req),
		radiotapData(false, privMAC, apMAC, apMAC, reply),
	}, realMAC)
	if w.DHCP4 != 1 || w.DHCP4Replies != 1 || w.Frames != 1 {
		t.Errorf("counted %d requests, %d replies, %d card frames; want 1, 1, 1", w.DHCP4, w.DHCP4Replies, w.Frames)
	}
	if len(w.Problems) != 0 || len(w.Hostnames4) != 0 {
		t.Errorf("problems %q, host names %q; want none", w.Problems, w.Hostnames4)
	}
}

// TestRadiotapLeaks is the negative control of the Wi-Fi bed's judgement:
// a request with the host name (12, 81), a client identifier made from the
// real address, and an mDNS packet, all in radiotap 802.11 frames.
func TestRadiotapLeaks(t *testing.T) {
	req := serialize(t, dhcpRequest(t, privMAC,
		layers.NewDHCPOption(layers.DHCPOptHostname, []byte("mng-ident-host")),
		layers.NewDHCPOption(layers.DHCPOpt(81), []byte{0, 0, 0, 'h'}),
		layers.NewDHCPOption(layers.DHCPOptClientID, append([]byte{1}, realMAC...)))...)
	ip := &layers.IPv4{Version: 4, TTL: 1, Protocol: layers.IPProtocolUDP, SrcIP: net.IPv4(10, 0, 0, 9), DstIP: net.IPv4(224, 0, 0, 251)}
	udp := &layers.UDP{SrcPort: 5353, DstPort: 5353}
	_ = udp.SetNetworkLayerForChecksum(ip)
	mdns := serialize(t, ip, udp, gopacket.Payload([]byte{0, 0, 0, 0}))
	w := Radiotap([][]byte{
		radiotapData(true, apMAC, privMAC, layers.EthernetBroadcast, req),
		radiotapData(true, apMAC, privMAC, layers.EthernetBroadcast, mdns),
	}, realMAC)
	if len(w.Hostnames4) != 1 || w.Hostnames4[0] != "mng-ident-host" || w.FQDN4 != 1 {
		t.Errorf("host names %q, %d option 81; want mng-ident-host, 1", w.Hostnames4, w.FQDN4)
	}
	if w.MDNS != 1 {
		t.Errorf("%d mDNS packets, want 1", w.MDNS)
	}
	joined := strings.Join(w.Problems, "\n")
	for _, want := range []string{"client identifier"} {
		if !strings.Contains(joined, want) {
			t.Errorf("problems lack %q:\n%s", want, joined)
		}
	}
}

// TestRadiotapRealTransmitter: any frame sent from the real address is a
// problem, to-DS or not, whatever it carries.
func TestRadiotapRealTransmitter(t *testing.T) {
	w := Radiotap([][]byte{radiotapData(false, apMAC, realMAC, apMAC, nil)}, realMAC)
	if len(w.Problems) != 1 {
		t.Errorf("problems %q, want one", w.Problems)
	}
}

// TestEthernet: the wired bed's frames, judged the same way.
func TestEthernet(t *testing.T) {
	w := Ethernet([][]byte{
		ethernetFrame(t, privMAC, dhcpRequest(t, privMAC, layers.NewDHCPOption(layers.DHCPOptClientID, append([]byte{1}, privMAC...)))),
		ethernetFrame(t, privMAC, dhcpRequest(t, privMAC, layers.NewDHCPOption(layers.DHCPOptHostname, []byte("h")))),
	}, realMAC)
	if w.DHCP4 != 2 || len(w.Hostnames4) != 1 || len(w.Problems) != 0 {
		t.Errorf("%d requests, host names %q, problems %q; want 2, [h], none", w.DHCP4, w.Hostnames4, w.Problems)
	}
}

func TestEUI64IID(t *testing.T) {
	got := net.IP(append(make([]byte, 8), EUI64IID(privMAC)...))
	if want := net.ParseIP("::0:ff:fe5c:3a91"); !got.Equal(want) {
		t.Errorf("EUI64IID(%s) = %s, want %s", privMAC, got, want)
	}
}
