// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"context"
	"fmt"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

const (
	// subscribeBuffer is the capacity of the channel between the netlink
	// library's reader and our forwarder; the forwarder empties it at once.
	subscribeBuffer = 64
	// subscribeQueueMax bounds the events held for a slow consumer. Past it
	// the subscription ends with ErrSubscriptionLost (the caller re-lists)
	// instead of growing without bound or blocking the kernel socket.
	subscribeQueueMax = 4096
	// subscribeRcvBuf asks the kernel for a larger socket receive buffer, so
	// a burst of changes does not overrun it (ENOBUFS) before we read.
	subscribeRcvBuf = 1 << 20
)

// Subscribe streams link changes (RTM_NEWLINK, RTM_DELLINK) in the handle's
// namespace until ctx is done. The goroutine that sends owns the channel and
// closes it when ctx is done or when the subscription fails; a channel that
// closes while ctx is not done means events may have been lost and the
// caller must List again and subscribe again. SubscribeWithErrors gives the
// reason as well.
func (l *Netlink) Subscribe(ctx context.Context) (<-chan Event, error) {
	events, _, err := l.SubscribeWithErrors(ctx)
	return events, err
}

// SubscribeWithErrors is Subscribe with the reason a subscription ended
// early: errs receives at most one error (wrapping ErrSubscriptionLost) and
// is closed together with events. Nothing is sent on errs when the
// subscription ends because ctx is done. errs is buffered: not reading it
// never blocks the subscription.
//
// Model: coreos/go-systemd dbus/subscription.go — one goroutine owns and
// closes the output, every send also selects on the stop signal. Unlike a
// plain forwarder it keeps reading the netlink side while the consumer is
// slow (a netlink subscription that is not read fills the kernel socket and
// drops messages), holding at most subscribeQueueMax events.
func (l *Netlink) SubscribeWithErrors(ctx context.Context) (<-chan Event, <-chan error, error) {
	if err := ctx.Err(); err != nil {
		return nil, nil, fmt.Errorf("subscribe to links: %w", err)
	}
	in := make(chan netlink.LinkUpdate, subscribeBuffer)
	done := make(chan struct{})
	// The library calls the callback from its reader goroutine; it must not
	// block. One slot is enough: any error ends the subscription.
	cbErrs := make(chan error, 1)
	opts := netlink.LinkSubscribeOptions{
		ErrorCallback: func(err error) {
			select {
			case cbErrs <- err:
			default:
			}
		},
		ReceiveBufferSize: subscribeRcvBuf,
	}
	if !InProcessNetNS(l.ns) {
		ns := l.ns
		opts.Namespace = &ns
	}
	if err := netlink.LinkSubscribeWithOptions(in, done, opts); err != nil {
		close(done)
		return nil, nil, fmt.Errorf("subscribe to links: %w", err)
	}
	out := make(chan Event)
	errs := make(chan error, 1)
	go forwardLinkUpdates(ctx, in, done, cbErrs, out, errs)
	return out, errs, nil
}

// forwardLinkUpdates runs as the subscription's only sender: it owns and
// closes out and errs, and it always closes done (which closes the netlink
// socket) and drains in until the library closes it, so neither goroutine
// is left behind.
func forwardLinkUpdates(ctx context.Context, in <-chan netlink.LinkUpdate, done chan<- struct{},
	cbErrs <-chan error, out chan<- Event, errs chan<- error) {
	defer close(errs)
	defer close(out)
	stop := func() {
		close(done)
		for range in {
		}
	}
	var queue []Event
	for {
		var send chan<- Event
		var next Event
		if len(queue) > 0 {
			send, next = out, queue[0]
		}
		select {
		case <-ctx.Done():
			stop()
			return
		case err := <-cbErrs:
			stop()
			errs <- fmt.Errorf("%w: %w", ErrSubscriptionLost, err)
			return
		case u, ok := <-in:
			if !ok {
				// The library closes in after reporting its error; take
				// that error if it is there.
				var cause error = fmt.Errorf("netlink reader stopped")
				select {
				case cause = <-cbErrs:
				default:
				}
				close(done)
				errs <- fmt.Errorf("%w: %w", ErrSubscriptionLost, cause)
				return
			}
			if len(queue) >= subscribeQueueMax {
				stop()
				errs <- fmt.Errorf("%w: consumer too slow, %d events queued", ErrSubscriptionLost, len(queue))
				return
			}
			queue = append(queue, Event{
				Link:    linkFromNetlink(u.Link),
				Deleted: u.Header.Type == unix.RTM_DELLINK,
			})
		case send <- next:
			queue[0] = Event{}
			queue = queue[1:]
		}
	}
}
