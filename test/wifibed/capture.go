// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sort"
	"strings"
	"time"
)

// Frame is one 802.11 frame of the hwsim0 capture: the few header fields
// the tests judge frames by.
type Frame struct {
	Time    time.Time
	Type    uint8 // 0 management, 1 control, 2 data
	Subtype uint8
	TA      string // transmitter (addr2), "" when the frame has none (CTS, ACK)
	SA      string // source address, "" when not in the header (4-address frames: addr4)
	EAPOL   bool   // a data frame carrying EAPOL (LLC/SNAP ethertype 0x888e)
	Raw     []byte // the whole record, radiotap header included (nil in a bare 802.11 capture)
}

// Kind names the frame's type and subtype for people: "probe-req", "auth",
// "assoc-req", "data", "null", "eapol", ...
func (f Frame) Kind() string {
	switch f.Type {
	case 0:
		if n, ok := mgmtNames[f.Subtype]; ok {
			return n
		}
		return fmt.Sprintf("mgmt-%d", f.Subtype)
	case 1:
		return fmt.Sprintf("ctrl-%d", f.Subtype)
	case 2:
		switch {
		case f.EAPOL:
			return "eapol"
		case f.Subtype&0x4 != 0:
			return "null"
		}
		return "data"
	}
	return fmt.Sprintf("type%d-%d", f.Type, f.Subtype)
}

var mgmtNames = map[uint8]string{
	0: "assoc-req", 1: "assoc-resp", 2: "reassoc-req", 3: "reassoc-resp",
	4: "probe-req", 5: "probe-resp", 8: "beacon", 9: "atim", 10: "disassoc",
	11: "auth", 12: "deauth", 13: "action", 14: "action-noack",
}

// pcap link types the capture may use.
const (
	linkTypeRadiotap = 127
	linkType80211    = 105
)

// ReadCapture parses a pcap file (microsecond or nanosecond, either byte
// order) of radiotap or bare 802.11 frames. Frames too short to carry a
// frame control field are skipped; a truncated last record ends the read
// without error (tcpdump killed mid-write).
func ReadCapture(path string) ([]Frame, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("read capture: %w", err)
	}
	defer f.Close()
	return parseCapture(f)
}

func parseCapture(r io.Reader) ([]Frame, error) {
	var gh [24]byte
	if _, err := io.ReadFull(r, gh[:]); err != nil {
		return nil, fmt.Errorf("pcap header: %w", err)
	}
	var bo binary.ByteOrder
	nano := false
	switch binary.LittleEndian.Uint32(gh[0:4]) {
	case 0xa1b2c3d4:
		bo = binary.LittleEndian
	case 0xa1b23c4d:
		bo, nano = binary.LittleEndian, true
	case 0xd4c3b2a1:
		bo = binary.BigEndian
	case 0x4d3cb2a1:
		bo, nano = binary.BigEndian, true
	default:
		return nil, fmt.Errorf("pcap header: bad magic %x", gh[0:4])
	}
	link := bo.Uint32(gh[20:24])
	if link != linkTypeRadiotap && link != linkType80211 {
		return nil, fmt.Errorf("pcap link type %d: want radiotap (127) or 802.11 (105)", link)
	}
	var out []Frame
	var rh [16]byte
	buf := make([]byte, 0, 4096)
	for {
		if _, err := io.ReadFull(r, rh[:]); err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return out, nil
			}
			return out, fmt.Errorf("pcap record: %w", err)
		}
		sec, frac := bo.Uint32(rh[0:4]), bo.Uint32(rh[4:8])
		incl := bo.Uint32(rh[8:12])
		if incl > 1<<20 {
			return out, fmt.Errorf("pcap record of %d bytes", incl)
		}
		buf = buf[:incl]
		if _, err := io.ReadFull(r, buf); err != nil {
			return out, nil
		}
		ns := int64(frac) * 1000
		if nano {
			ns = int64(frac)
		}
		data := buf
		if link == linkTypeRadiotap {
			if len(data) < 4 {
				continue
			}
			n := int(binary.LittleEndian.Uint16(data[2:4])) // radiotap length, little endian
			if n > len(data) {
				continue
			}
			data = data[n:]
		}
		fr, ok := ParseFrame(data)
		if !ok {
			continue
		}
		fr.Time = time.Unix(int64(sec), ns)
		if link == linkTypeRadiotap {
			fr.Raw = append([]byte(nil), buf...)
		}
		out = append(out, fr)
	}
}

// ParseFrame reads an 802.11 frame's header (no radiotap).
func ParseFrame(b []byte) (Frame, bool) {
	if len(b) < 2 {
		return Frame{}, false
	}
	fc := b[0]
	flags := b[1]
	fr := Frame{Type: (fc >> 2) & 0x3, Subtype: fc >> 4}
	addr := func(off int) string {
		if len(b) < off+6 {
			return ""
		}
		return net.HardwareAddr(b[off : off+6]).String()
	}
	switch fr.Type {
	case 0: // management: addr1 DA, addr2 SA = TA, addr3 BSSID
		fr.TA = addr(10)
		fr.SA = fr.TA
	case 1: // control: RTS, PS-Poll, BlockAck... carry a TA; CTS and ACK do not
		switch fr.Subtype {
		case 12, 13: // CTS, ACK
		default:
			fr.TA = addr(10)
		}
	case 2:
		fr.TA = addr(10)
		toDS, fromDS := flags&0x1 != 0, flags&0x2 != 0
		hdr := 24
		switch {
		case !toDS && !fromDS: // addr2 = SA
			fr.SA = fr.TA
		case toDS && !fromDS: // to the AP: addr2 = SA
			fr.SA = fr.TA
		case !toDS && fromDS: // from the AP: addr3 = SA
			fr.SA = addr(16)
		default: // WDS: addr4 = SA
			fr.SA = addr(24)
			hdr = 30
		}
		if fr.Subtype&0x8 != 0 { // QoS
			hdr += 2
			if flags&0x80 != 0 { // +HTC
				hdr += 4
			}
		}
		if fr.Subtype&0x4 == 0 && flags&0x40 == 0 && len(b) >= hdr+8 {
			llc := b[hdr : hdr+8]
			fr.EAPOL = llc[0] == 0xaa && llc[1] == 0xaa && llc[2] == 0x03 && llc[6] == 0x88 && llc[7] == 0x8e
		}
	default:
		return Frame{}, false
	}
	return fr, true
}

// Class is who an address belongs to.
type Class string

// Address classes.
const (
	ClassReal    Class = "real"    // the guarded client radio's real address
	ClassAP      Class = "ap"      // an access point's
	ClassPrivate Class = "private" // anything else a station sent from: a private address
)

// Classifier sorts addresses into classes.
type Classifier struct {
	Real []string // real addresses of guarded radios
	AP   []string // access points' addresses
}

// Class of addr.
func (c Classifier) Class(addr string) Class {
	for _, a := range c.Real {
		if strings.EqualFold(a, addr) {
			return ClassReal
		}
	}
	for _, a := range c.AP {
		if strings.EqualFold(a, addr) {
			return ClassAP
		}
	}
	return ClassPrivate
}

// Leaks returns the frames whose TA or SA is a real address.
func (c Classifier) Leaks(frames []Frame) []Frame {
	var out []Frame
	for _, f := range frames {
		if (f.TA != "" && c.Class(f.TA) == ClassReal) || (f.SA != "" && c.Class(f.SA) == ClassReal) {
			out = append(out, f)
		}
	}
	return out
}

// Counts counts frames by "class/kind" of their transmitter (frames without
// a TA are left out).
func (c Classifier) Counts(frames []Frame) map[string]int {
	m := map[string]int{}
	for _, f := range frames {
		a := f.TA
		if a == "" {
			continue
		}
		cl := c.Class(a)
		if f.SA != "" && c.Class(f.SA) == ClassReal {
			cl = ClassReal
		}
		m[string(cl)+"/"+f.Kind()]++
	}
	return m
}

// Between returns the frames with from <= Time < to.
func Between(frames []Frame, from, to time.Time) []Frame {
	var out []Frame
	for _, f := range frames {
		if !f.Time.Before(from) && f.Time.Before(to) {
			out = append(out, f)
		}
	}
	return out
}

// FormatCounts prints counts sorted by key: "real/auth=2 private/data=10".
func FormatCounts(m map[string]int) string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	var sb strings.Builder
	for i, k := range keys {
		if i > 0 {
			sb.WriteByte(' ')
		}
		fmt.Fprintf(&sb, "%s=%d", k, m[k])
	}
	return sb.String()
}

// FormatFrames prints frames one a line, at most max of them.
func FormatFrames(frames []Frame, max int) string {
	var sb strings.Builder
	for i, f := range frames {
		if i == max {
			fmt.Fprintf(&sb, "  ... %d more\n", len(frames)-max)
			break
		}
		fmt.Fprintf(&sb, "  %s %-10s TA=%s SA=%s\n", f.Time.Format("15:04:05.000000"), f.Kind(), f.TA, f.SA)
	}
	return sb.String()
}
