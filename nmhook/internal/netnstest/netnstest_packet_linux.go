// SPDX-License-Identifier: GPL-3.0-or-later

package netnstest

import (
	"bytes"
	"errors"
	"net"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// EtherType is IEEE 802 "local experimental" 1: nothing else on a test
// veth uses it, so the receiver sees only the frames the test wrote.
const EtherType = 0x88b5

// Frame is one test frame as seen on the receiving end.
type Frame struct {
	src net.HardwareAddr
	tag byte // what the frame was sent for (see the tests)
	seq byte
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// OpenPacketSocket opens an AF_PACKET raw socket bound to ifindex for
// testEtherType, in the current thread's namespace; t.Cleanup closes it.
func OpenPacketSocket(t testing.TB, ifindex int) int {
	t.Helper()
	fd, err := unix.Socket(unix.AF_PACKET, unix.SOCK_RAW|unix.SOCK_CLOEXEC, int(htons(EtherType)))
	if err != nil {
		t.Fatalf("AF_PACKET socket: %v", err)
	}
	t.Cleanup(func() { unix.Close(fd) })
	sa := &unix.SockaddrLinklayer{Protocol: htons(EtherType), Ifindex: ifindex}
	if err := unix.Bind(fd, sa); err != nil {
		t.Fatalf("bind AF_PACKET socket to ifindex %d: %v", ifindex, err)
	}
	tv := unix.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		t.Fatalf("SO_RCVTIMEO: %v", err)
	}
	return fd
}

// SendFrames writes n broadcast frames with source src through fd (a
// socket from openPacketSocket, so they go through the qdisc path and the
// egress hook). The payload holds tag and a sequence number. It returns how
// many writes the kernel refused with ENOBUFS: that is how a frame dropped
// at the egress hook shows to an AF_PACKET sender (NET_XMIT_DROP).
func SendFrames(t testing.TB, fd int, src net.HardwareAddr, tag byte, n int) (refused int) {
	t.Helper()
	for i := range n {
		f := make([]byte, 60) // minimum Ethernet frame without FCS
		copy(f[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		copy(f[6:12], src)
		f[12], f[13] = EtherType>>8, EtherType&0xff
		f[14], f[15] = tag, byte(i)
		_, err := unix.Write(fd, f)
		if errors.Is(err, unix.ENOBUFS) {
			refused++
			continue
		}
		if err != nil {
			t.Fatalf("send frame %d (tag %d) from %s: %v", i, tag, src, err)
		}
	}
	return refused
}

// ReceiveUntil reads frames from fd until one carries the sentinel tag,
// then drains until the socket has been quiet for one read timeout, and
// returns everything read before and after the sentinel (the sentinel
// excluded). It fails the test when the sentinel does not come within
// limit: that is a broken test bed, not a measurement.
func ReceiveUntil(t testing.TB, fd int, sentinel byte, limit time.Duration) []Frame {
	t.Helper()
	var got []Frame
	deadline := time.Now().Add(limit)
	seen := false
	buf := make([]byte, 2048)
	for {
		n, err := unix.Read(fd, buf)
		if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) {
			if seen {
				return got
			}
			if time.Now().After(deadline) {
				t.Fatalf("sentinel frame (tag %d) not received within %v; got %d frames", sentinel, limit, len(got))
			}
			continue
		}
		if err != nil {
			t.Fatalf("receive: %v", err)
		}
		if n < 16 {
			continue
		}
		f := Frame{src: net.HardwareAddr(bytes.Clone(buf[6:12])), tag: buf[14], seq: buf[15]}
		if f.tag == sentinel {
			seen = true
			continue
		}
		got = append(got, f)
	}
}

// CountFrames counts frames with the given source and tag.
func CountFrames(frames []Frame, src net.HardwareAddr, tag byte) int {
	n := 0
	for _, f := range frames {
		if bytes.Equal(f.src, src) && f.tag == tag {
			n++
		}
	}
	return n
}
