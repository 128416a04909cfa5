// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"bytes"
	"encoding/binary"
	"net"
	"testing"
	"time"
)

// frame80211 builds an 802.11 header: frame control (type, subtype,
// flags), duration, addr1..3, sequence, then body.
func frame80211(typ, sub, flags uint8, a1, a2, a3 string, body []byte) []byte {
	b := []byte{typ<<2 | sub<<4, flags, 0, 0}
	for _, a := range []string{a1, a2, a3} {
		m, _ := net.ParseMAC(a)
		b = append(b, m...)
	}
	b = append(b, 0, 0) // sequence control
	if typ == 2 && sub&0x8 != 0 {
		b = append(b, 0, 0) // QoS control
	}
	return append(b, body...)
}

// pcapOf wraps frames in radiotap headers (8 bytes, no fields) and a
// little-endian microsecond pcap file.
func pcapOf(frames ...[]byte) []byte {
	var buf bytes.Buffer
	hdr := make([]byte, 24)
	binary.LittleEndian.PutUint32(hdr[0:], 0xa1b2c3d4)
	binary.LittleEndian.PutUint16(hdr[4:], 2)
	binary.LittleEndian.PutUint16(hdr[6:], 4)
	binary.LittleEndian.PutUint32(hdr[16:], 65535)
	binary.LittleEndian.PutUint32(hdr[20:], linkTypeRadiotap)
	buf.Write(hdr)
	for i, f := range frames {
		rt := []byte{0, 0, 8, 0, 0, 0, 0, 0}
		rec := make([]byte, 16)
		binary.LittleEndian.PutUint32(rec[0:], uint32(1000+i))
		binary.LittleEndian.PutUint32(rec[4:], 500)
		binary.LittleEndian.PutUint32(rec[8:], uint32(len(rt)+len(f)))
		binary.LittleEndian.PutUint32(rec[12:], uint32(len(rt)+len(f)))
		buf.Write(rec)
		buf.Write(rt)
		buf.Write(f)
	}
	return buf.Bytes()
}

func TestParseCapture(t *testing.T) {
	const (
		real  = "02:00:00:00:00:00"
		priv  = "02:00:00:5c:3a:91"
		ap    = "02:00:00:00:01:00"
		bcast = "ff:ff:ff:ff:ff:ff"
	)
	eapol := []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x88, 0x8e, 1, 3}
	ip := []byte{0xaa, 0xaa, 0x03, 0, 0, 0, 0x08, 0x00, 0x45}
	data := pcapOf(
		frame80211(0, 4, 0, bcast, real, bcast, nil), // probe request from the real address
		frame80211(0, 11, 0, ap, priv, ap, nil),      // authentication from a private one
		frame80211(2, 8, 0x01, ap, priv, ap, eapol),  // QoS data to the AP: EAPOL
		frame80211(2, 0, 0x02, priv, ap, real, ip),   // data from the AP, SA = the real address (bridged)
		frame80211(2, 4, 0x01, ap, priv, ap, nil),    // null function
		[]byte{0xd4, 0, 0, 0, 0x02, 0, 0, 0, 0, 0},   // ACK: no TA
		frame80211(0, 8, 0, bcast, ap, ap, nil),      // beacon
	)
	frames, err := parseCapture(bytes.NewReader(append(data, 1, 2, 3))) // a torn last record is ignored
	if err != nil {
		t.Fatal(err)
	}
	want := []struct {
		kind, ta, sa string
	}{
		{"probe-req", real, real},
		{"auth", priv, priv},
		{"eapol", priv, priv},
		{"data", ap, real},
		{"null", priv, priv},
		{"ctrl-13", "", ""},
		{"beacon", ap, ap},
	}
	if len(frames) != len(want) {
		t.Fatalf("%d frames, want %d:\n%s", len(frames), len(want), FormatFrames(frames, 20))
	}
	for i, w := range want {
		f := frames[i]
		if f.Kind() != w.kind || f.TA != w.ta || f.SA != w.sa {
			t.Errorf("frame %d: %s TA %s SA %s, want %s TA %s SA %s", i, f.Kind(), f.TA, f.SA, w.kind, w.ta, w.sa)
		}
	}
	if !frames[0].Time.Equal(time.Unix(1000, 500000)) {
		t.Errorf("time %v", frames[0].Time)
	}
	c := Classifier{Real: []string{real}, AP: []string{ap}}
	leaks := c.Leaks(frames)
	if len(leaks) != 2 || leaks[0].Kind() != "probe-req" || leaks[1].Kind() != "data" {
		t.Errorf("leaks:\n%s", FormatFrames(leaks, 10))
	}
	got := FormatCounts(c.Counts(frames))
	if w := "ap/beacon=1 private/auth=1 private/eapol=1 private/null=1 real/data=1 real/probe-req=1"; got != w {
		t.Errorf("counts %s, want %s", got, w)
	}
	if n := len(Between(frames, time.Unix(1001, 0), time.Unix(1003, 0))); n != 2 {
		t.Errorf("Between: %d frames, want 2", n)
	}
}

func TestParseCaptureRejects(t *testing.T) {
	if _, err := parseCapture(bytes.NewReader([]byte("not a pcap file at all!!"))); err == nil {
		t.Error("bad magic accepted")
	}
	hdr := pcapOf()
	binary.LittleEndian.PutUint32(hdr[20:], 1) // Ethernet
	if _, err := parseCapture(bytes.NewReader(hdr)); err == nil {
		t.Error("Ethernet capture accepted")
	}
}
