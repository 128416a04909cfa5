// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"errors"
	"fmt"
	"net"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Capture counts the frames the client devices send, by source address, as
// the network side receives them: an AF_PACKET socket in PeerNS counts every
// frame arriving on a peer end (all devices, hotplugged ones included, and
// frames the bridge does not forward such as EAPOL). Frames seen again on
// the bridge itself, loopback traffic of the network side's daemons and
// frames the network side sends are not counted.
type Capture struct {
	fd     int
	bridge int // ifindex of the bridge, not counted
	lo     int // ifindex of loopback, not counted
	stop   chan struct{}
	done   chan struct{}

	mu     sync.Mutex
	counts map[string]int
	err    error
	keep   bool     // StartFrameCapture: keep the frames too
	frames [][]byte // the frames kept, in order of arrival (at most maxKeptFrames)
}

// maxKeptFrames bounds what a frame capture keeps (a flood stays counted).
const maxKeptFrames = 100000

// StartCapture starts counting frames on the peer side. It is stopped in
// t.Cleanup (or by Stop).
func (b *Bed) StartCapture(t testing.TB) *Capture {
	t.Helper()
	return b.startCapture(t, false)
}

// StartFrameCapture is StartCapture that also keeps every frame counted
// (Frames), for tests that parse what left the cards.
func (b *Bed) StartFrameCapture(t testing.TB) *Capture {
	t.Helper()
	return b.startCapture(t, true)
}

func (b *Bed) startCapture(t testing.TB, keep bool) *Capture {
	t.Helper()
	c := &Capture{keep: keep, fd: -1, stop: make(chan struct{}), done: make(chan struct{}), counts: map[string]int{}}
	err := inNS(b.PeerNS, func() error {
		br, err := net.InterfaceByName(BridgeName)
		if err != nil {
			return fmt.Errorf("bridge: %w", err)
		}
		c.bridge = br.Index
		lo, err := net.InterfaceByName("lo")
		if err != nil {
			return fmt.Errorf("loopback: %w", err)
		}
		c.lo = lo.Index
		fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, int(htons(syscall.ETH_P_ALL)))
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		c.fd = fd
		return nil
	})
	if err != nil {
		if c.fd >= 0 {
			syscall.Close(c.fd)
		}
		t.Fatalf("bed: start capture: %v", err)
	}
	// A receive timeout lets the reader notice Stop.
	tv := syscall.NsecToTimeval((100 * time.Millisecond).Nanoseconds())
	if err := syscall.SetsockoptTimeval(c.fd, syscall.SOL_SOCKET, syscall.SO_RCVTIMEO, &tv); err != nil {
		syscall.Close(c.fd)
		t.Fatalf("bed: start capture: receive timeout: %v", err)
	}
	_ = syscall.SetsockoptInt(c.fd, syscall.SOL_SOCKET, syscall.SO_RCVBUF, 4<<20)
	go c.read()
	t.Cleanup(c.Stop)
	return c
}

func htons(v uint16) uint16 { return v<<8 | v>>8 }

// read counts frames until Stop, then drains what the socket still holds.
func (c *Capture) read() {
	defer close(c.done)
	defer syscall.Close(c.fd)
	buf := make([]byte, 65536)
	stopping, drained := false, 0
	for {
		if !stopping {
			select {
			case <-c.stop:
				stopping = true
			default:
			}
		}
		flags := 0
		if stopping {
			flags = syscall.MSG_DONTWAIT
			if drained++; drained > 100000 {
				return // a flood: stop anyway
			}
		}
		n, from, err := syscall.Recvfrom(c.fd, buf, flags)
		if err != nil {
			if errors.Is(err, syscall.EAGAIN) || errors.Is(err, syscall.EINTR) {
				if stopping && errors.Is(err, syscall.EAGAIN) {
					return
				}
				continue
			}
			c.mu.Lock()
			c.err = fmt.Errorf("capture: %w", err)
			c.mu.Unlock()
			return
		}
		ll, ok := from.(*syscall.SockaddrLinklayer)
		if !ok || n < 14 || ll.Pkttype == syscall.PACKET_OUTGOING || ll.Ifindex == c.bridge || ll.Ifindex == c.lo {
			continue
		}
		src := net.HardwareAddr(buf[6:12]).String()
		c.mu.Lock()
		c.counts[src]++
		if c.keep && len(c.frames) < maxKeptFrames {
			c.frames = append(c.frames, append([]byte(nil), buf[:n]...))
		}
		c.mu.Unlock()
	}
}

// Stop stops counting; frames already received are counted. It may be
// called more than once.
func (c *Capture) Stop() {
	select {
	case <-c.stop:
	default:
		close(c.stop)
	}
	<-c.done
}

// Count returns how many frames with source address src were received so far.
func (c *Capture) Count(src net.HardwareAddr) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.counts[src.String()]
}

// Sources returns the frame count per source address ("aa:bb:cc:dd:ee:ff").
func (c *Capture) Sources() map[string]int {
	c.mu.Lock()
	defer c.mu.Unlock()
	m := make(map[string]int, len(c.counts))
	for k, v := range c.counts {
		m[k] = v
	}
	return m
}

// Frames returns the frames kept so far (StartFrameCapture; nil otherwise),
// in order of arrival.
func (c *Capture) Frames() [][]byte {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([][]byte(nil), c.frames...)
}

// Err returns the error that ended the capture early, if any.
func (c *Capture) Err() error {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.err
}
