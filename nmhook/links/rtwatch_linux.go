// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"net"
	"runtime"
	"syscall"
	"time"

	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// The link subscription (links_subscribe_linux.go) reaches the service's
// loop through the Go netpoller and two goroutine hand-offs: with both cores
// busy each hop waits for the kernel to run an ordinary thread again. A
// real-time watch reads link messages instead on one OS thread of its own,
// blocked in recvfrom on a blocking socket (no netpoller), at SCHED_FIFO
// priority when the process may (CAP_SYS_NICE): the kernel runs it as soon
// as the message is queued, ahead of every ordinary thread, and the callback
// acts there (one netlink request, no D-Bus, no loop).

// LinkMsg is one RTM_NEWLINK as the real-time watch read it.
type LinkMsg struct {
	Index    int
	Up       bool
	Addr     net.HardwareAddr
	Received time.Time // when recvfrom returned it
}

// rtReadTimeout bounds each blocking read so that the thread sees its
// context end (closing a socket does not wake a thread blocked on it).
const rtReadTimeout = 250 * time.Millisecond

// RTWatch is a running real-time watch.
type RTWatch struct {
	// Policy is "SCHED_FIFO" or, when the kernel refused it, "SCHED_OTHER".
	Policy string
	// PolicyErr is why SCHED_FIFO was refused (nil: it was not).
	PolicyErr error
	done      chan struct{}
	req       int // socket for requests (SetDownNow), owned by the thread
	seq       uint32
}

// Done is closed when the watch's thread has ended.
func (w *RTWatch) Done() <-chan struct{} { return w.done }

// WatchRT starts a real-time watch of the links in the handle's namespace:
// fn is called on the watch's own OS thread for every RTM_NEWLINK until ctx
// is done. fn must not block; it may call w.SetDownNow. priority is the
// SCHED_FIFO priority (1-99); when the kernel refuses it the watch runs at
// ordinary priority and says why in PolicyErr.
func (l *Netlink) WatchRT(ctx context.Context, priority int, fn func(w *RTWatch, m LinkMsg)) (*RTWatch, error) {
	return WatchRTIn(ctx, l.ns, priority, fn)
}

// WatchRTIn is WatchRT in network namespace ns (the process's own: no
// setns).
func WatchRTIn(ctx context.Context, ns netns.NsHandle, priority int, fn func(w *RTWatch, m LinkMsg)) (*RTWatch, error) {
	w := &RTWatch{done: make(chan struct{}), req: -1}
	started := make(chan error, 1)
	go func() {
		defer close(w.done)
		// Never unlocked: the thread (maybe in another namespace, at
		// real-time priority) ends with this goroutine.
		runtime.LockOSThread()
		fd, err := w.open(ns, priority)
		if err != nil {
			started <- err
			return
		}
		defer unix.Close(fd)
		defer unix.Close(w.req)
		started <- nil
		buf := make([]byte, 1<<16)
		for ctx.Err() == nil {
			n, _, err := unix.Recvfrom(fd, buf, 0)
			now := time.Now()
			if err != nil {
				if errors.Is(err, unix.EAGAIN) || errors.Is(err, unix.EINTR) || errors.Is(err, unix.ENOBUFS) {
					continue
				}
				return
			}
			msgs, err := syscall.ParseNetlinkMessage(buf[:n])
			if err != nil {
				continue
			}
			for i := range msgs {
				if m, ok := parseLinkMsg(&msgs[i], now); ok {
					fn(w, m)
				}
			}
		}
	}()
	if err := <-started; err != nil {
		<-w.done
		return nil, err
	}
	return w, nil
}

// open sets up the locked thread: namespace, scheduling policy, the
// subscription socket (returned) and the request socket.
func (w *RTWatch) open(ns netns.NsHandle, priority int) (int, error) {
	// The thread's own namespace decides, not the process's: Go may start
	// this thread from any other, and a test that moved the main thread
	// into its namespace leaves new threads outside it. No setns (which
	// needs CAP_SYS_ADMIN) when the thread is already there, as in the
	// service.
	cur, err := netns.Get()
	if err != nil {
		return -1, fmt.Errorf("real-time link watch: read the thread's namespace: %w", err)
	}
	here := cur.Equal(ns)
	cur.Close()
	if !here {
		if err := netns.Set(ns); err != nil {
			return -1, fmt.Errorf("real-time link watch: enter namespace: %w", err)
		}
	}
	w.Policy = "SCHED_FIFO"
	attr := unix.SchedAttr{Size: unix.SizeofSchedAttr, Policy: unix.SCHED_FIFO, Priority: uint32(priority)}
	if err := unix.SchedSetAttr(0, &attr, 0); err != nil {
		w.Policy, w.PolicyErr = "SCHED_OTHER", err
	}
	fd, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		return -1, fmt.Errorf("real-time link watch: socket: %w", err)
	}
	tv := unix.NsecToTimeval(rtReadTimeout.Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("real-time link watch: receive timeout: %w", err)
	}
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUF, subscribeRcvBuf)
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK, Groups: unix.RTMGRP_LINK}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("real-time link watch: bind: %w", err)
	}
	req, err := unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_ROUTE)
	if err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("real-time link watch: request socket: %w", err)
	}
	if err := unix.Bind(req, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		unix.Close(req)
		return -1, fmt.Errorf("real-time link watch: bind request socket: %w", err)
	}
	w.req = req
	return fd, nil
}

// parseLinkMsg reads index, IFF_UP and address of an RTM_NEWLINK.
func parseLinkMsg(m *syscall.NetlinkMessage, now time.Time) (LinkMsg, bool) {
	if m.Header.Type != unix.RTM_NEWLINK || len(m.Data) < unix.SizeofIfInfomsg {
		return LinkMsg{}, false
	}
	lm := LinkMsg{
		Index:    int(int32(binary.NativeEndian.Uint32(m.Data[4:8]))),
		Up:       binary.NativeEndian.Uint32(m.Data[8:12])&unix.IFF_UP != 0,
		Received: now,
	}
	attrs, err := syscall.ParseNetlinkRouteAttr(m)
	if err != nil {
		return LinkMsg{}, false
	}
	for _, a := range attrs {
		if a.Attr.Type == unix.IFLA_ADDRESS {
			lm.Addr = net.HardwareAddr(append([]byte(nil), a.Value...))
		}
	}
	return lm, true
}

// SetDownNow takes link index down with one netlink request from the
// watch's thread and waits for the kernel's answer. Call it only from the
// callback.
func (w *RTWatch) SetDownNow(index int) error {
	w.seq++
	msg := make([]byte, unix.SizeofNlMsghdr+unix.SizeofIfInfomsg)
	binary.NativeEndian.PutUint32(msg[0:4], uint32(len(msg)))
	binary.NativeEndian.PutUint16(msg[4:6], unix.RTM_NEWLINK)
	binary.NativeEndian.PutUint16(msg[6:8], unix.NLM_F_REQUEST|unix.NLM_F_ACK)
	binary.NativeEndian.PutUint32(msg[8:12], w.seq)
	ifi := msg[unix.SizeofNlMsghdr:]
	ifi[0] = unix.AF_UNSPEC
	binary.NativeEndian.PutUint32(ifi[4:8], uint32(int32(index)))
	binary.NativeEndian.PutUint32(ifi[8:12], 0)            // flags: not IFF_UP
	binary.NativeEndian.PutUint32(ifi[12:16], unix.IFF_UP) // change: IFF_UP
	if err := unix.Sendto(w.req, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return fmt.Errorf("link %d down: %w", index, err)
	}
	buf := make([]byte, 4096)
	for {
		n, _, err := unix.Recvfrom(w.req, buf, 0)
		if err != nil {
			if errors.Is(err, unix.EINTR) {
				continue
			}
			return fmt.Errorf("link %d down: %w", index, err)
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:n])
		if err != nil {
			return fmt.Errorf("link %d down: %w", index, err)
		}
		for _, m := range msgs {
			if m.Header.Seq != w.seq || m.Header.Type != unix.NLMSG_ERROR || len(m.Data) < 4 {
				continue
			}
			if e := int32(binary.NativeEndian.Uint32(m.Data[0:4])); e != 0 {
				return fmt.Errorf("link %d down: %w", index, unix.Errno(-e))
			}
			return nil
		}
	}
}
