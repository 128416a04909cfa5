// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"context"
	"net"
	"sync/atomic"
	"testing"
	"time"

	"github.com/vishvananda/netlink"

	"github.com/mac-nmguard/mac-nmguard/nmhook/internal/netnstest"
)

// Against the kernel: the real-time watch sees a link come up with an
// address, and its callback takes the link down from the watch's own
// thread; up with another address, the link stays up.
func TestIntegrationLinksRTWatchTakesDown(t *testing.T) {
	netnstest.RequireRoot(t)
	netnstest.EnterTestNetns(t)
	l := newTestLinks(t)
	a, _ := netnstest.AddVeth(t, "mng3", "mng3p")
	idx := a.Attrs().Index
	real0, private := netnstest.MustMAC(t, "02:00:5e:10:00:05"), netnstest.MustMAC(t, "02:00:5e:10:00:06")
	var downs atomic.Int32
	var downErr atomic.Value
	ctx, cancel := context.WithCancel(context.Background())
	w, err := l.WatchRT(ctx, 10, func(w *RTWatch, m LinkMsg) {
		if m.Index != idx || !m.Up || m.Addr.String() != real0.String() || m.Received.IsZero() {
			return
		}
		if err := w.SetDownNow(m.Index); err != nil {
			downErr.Store(err)
			return
		}
		downs.Add(1)
	})
	if err != nil {
		cancel()
		t.Fatalf("WatchRT: %v", err)
	}
	t.Cleanup(func() { cancel(); <-w.Done() })
	t.Logf("watch policy %s (refused: %v)", w.Policy, w.PolicyErr)
	isUp := func() bool {
		t.Helper()
		k, err := netlink.LinkByIndex(idx)
		if err != nil {
			t.Fatal(err)
		}
		return k.Attrs().Flags&net.FlagUp != 0
	}
	waitFor := func(what string, cond func() bool) {
		t.Helper()
		deadline := time.Now().Add(10 * time.Second) // turns a hang into a failure
		for !cond() {
			if time.Now().After(deadline) {
				t.Fatalf("%s: not after 10s (error %v)", what, downErr.Load())
			}
			time.Sleep(5 * time.Millisecond)
		}
	}

	if err := netlink.LinkSetHardwareAddr(a, private); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(a); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetHardwareAddr(a, real0); err != nil {
		t.Fatal(err)
	}
	waitFor("taken down by the watch", func() bool { return downs.Load() == 1 && !isUp() })

	// Up again with the other address: left alone. The watch reads its
	// messages in order, so once it has taken the next real-address raise
	// down, it has seen this one.
	if err := netlink.LinkSetHardwareAddr(a, private); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(a); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetHardwareAddr(a, real0); err != nil {
		t.Fatal(err)
	}
	waitFor("taken down again", func() bool { return downs.Load() == 2 && !isUp() })
	if err := netlink.LinkSetHardwareAddr(a, private); err != nil {
		t.Fatal(err)
	}
	if err := netlink.LinkSetUp(a); err != nil {
		t.Fatal(err)
	}
	if !isUp() || downs.Load() != 2 {
		t.Fatalf("up with another address: up %t, taken down %d times; want up, 2", isUp(), downs.Load())
	}
}
