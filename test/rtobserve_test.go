// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"context"
	"net"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/vishvananda/netns"

	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// linkObserver records, from a real-time thread of the benchmark
// (links.WatchRTIn at SCHED_FIFO, above the busy loops and the service),
// when the kernel reported each change of one link: it stands in for the
// kernel's own timestamps of the messages.
type linkObserver struct {
	index int
	mu    sync.Mutex
	msgs  []links.LinkMsg
}

// observeLink starts a linkObserver on link index in namespace nsName; it
// stops when tb ends.
func observeLink(tb testing.TB, nsName string, index int) *linkObserver {
	tb.Helper()
	ns, err := netns.GetFromPath(filepath.Join("/run/netns", nsName))
	if err != nil {
		tb.Fatalf("observer: namespace %s: %v", nsName, err)
	}
	tb.Cleanup(func() { ns.Close() })
	o := &linkObserver{index: index}
	ctx, cancel := context.WithCancel(context.Background())
	w, err := links.WatchRTIn(ctx, ns, 50, func(_ *links.RTWatch, m links.LinkMsg) {
		if m.Index != o.index {
			return
		}
		o.mu.Lock()
		o.msgs = append(o.msgs, m)
		o.mu.Unlock()
	})
	if err != nil {
		cancel()
		tb.Fatalf("observer: %v", err)
	}
	tb.Cleanup(func() { cancel(); <-w.Done() })
	if w.PolicyErr != nil {
		tb.Logf("observer runs at %s: %v (its figures include its own scheduling delay)", w.Policy, w.PolicyErr)
	}
	return o
}

// upDown pairs each message that reports the link up with address addr
// and received after since with the first later message that reports it
// down: when the kernel said the link had the address, and when it said
// the link was down.
func (o *linkObserver) upDown(addr net.HardwareAddr, since time.Time) (set, down []time.Time) {
	o.mu.Lock()
	msgs := slices.Clone(o.msgs)
	o.mu.Unlock()
	want := strings.ToLower(addr.String())
	var pending time.Time
	for _, m := range msgs {
		if m.Received.Before(since) {
			continue
		}
		switch {
		case pending.IsZero() && m.Up && m.Addr.String() == want:
			pending = m.Received
		case !pending.IsZero() && !m.Up:
			set, down = append(set, pending), append(down, m.Received)
			pending = time.Time{}
		}
	}
	return set, down
}

// linkIndex is the interface index of dev in the bed's client namespace.
func linkIndex(tb testing.TB, b *bed.Bed, dev string) int {
	tb.Helper()
	out, err := exec.Command("ip", "-n", b.ClientNS, "-o", "link", "show", "dev", dev).CombinedOutput()
	if err != nil {
		tb.Fatalf("ip link show %s: %v: %s", dev, err, out)
	}
	idx, _, _ := strings.Cut(string(out), ":")
	i, err := strconv.Atoi(strings.TrimSpace(idx))
	if err != nil {
		tb.Fatalf("index of %s in %q: %v", dev, out, err)
	}
	return i
}
