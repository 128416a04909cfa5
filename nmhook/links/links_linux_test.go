// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"bytes"
	"context"
	"errors"
	"net"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"

	"github.com/mac-nmguard/mac-nmguard/nmhook/internal/netnstest"
)

// eventWait bounds how long a test waits for an event that must come; it
// only turns a hang into a failure and measures nothing.
const eventWait = 5 * time.Second

func newTestLinks(t testing.TB) *Netlink {
	t.Helper()
	l, err := New()
	if err != nil {
		t.Fatalf("links.New: %v", err)
	}
	t.Cleanup(func() {
		if err := l.Close(); err != nil {
			t.Errorf("close links: %v", err)
		}
	})
	return l
}

func findLink(links []Link, name string) (Link, bool) {
	for _, l := range links {
		if l.Name == name {
			return l, true
		}
	}
	return Link{}, false
}

func TestIntegrationLinksVeth(t *testing.T) {
	netnstest.RequireRoot(t)
	netnstest.EnterTestNetns(t)
	links := newTestLinks(t)
	a, _ := netnstest.AddVeth(t, "mng0", "mng0p")

	all, err := links.List()
	if err != nil {
		t.Fatalf("List: %v", err)
	}
	for _, name := range []string{"lo", "mng0", "mng0p"} {
		if _, ok := findLink(all, name); !ok {
			t.Errorf("List: %s missing from %+v", name, all)
		}
	}
	if len(all) != 3 {
		t.Errorf("List: %d links in a fresh namespace with one veth pair, want 3: %+v", len(all), all)
	}
	got, _ := findLink(all, "mng0")
	if got.Kind != "veth" || got.Index != a.Attrs().Index || !bytes.Equal(got.Addr, a.Attrs().HardwareAddr) {
		t.Errorf("List: mng0 = %+v, want veth index %d addr %s", got, a.Attrs().Index, a.Attrs().HardwareAddr)
	}
	if got.PermAddr != nil {
		t.Errorf("List: veth PermAddr = %v, want nil (veth has no IFLA_PERM_ADDRESS)", got.PermAddr)
	}

	if err := links.SetUp("mng0"); err != nil {
		t.Fatalf("SetUp: %v", err)
	}
	if g, err := links.Get("mng0"); err != nil || !g.Up {
		t.Fatalf("Get after SetUp = %+v, %v; want Up", g, err)
	}

	want := netnstest.MustMAC(t, "02:00:5e:10:00:01")
	if err := links.SetAddress("mng0", want); err != nil {
		t.Fatalf("SetAddress: %v", err)
	}
	// Check with an independent read, not through the code under test.
	k, err := netlink.LinkByName("mng0")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(k.Attrs().HardwareAddr, want) {
		t.Errorf("kernel address after SetAddress = %s, want %s", k.Attrs().HardwareAddr, want)
	}
	if k.Attrs().Flags&net.FlagUp != 0 {
		t.Errorf("link is up after SetAddress; want it left down")
	}

	// Bad input: a clear error, and the address is untouched.
	for _, bad := range []net.HardwareAddr{nil, {1, 2, 3}, netnstest.MustMAC(t, "01:00:5e:00:00:01")} {
		if err := links.SetAddress("mng0", bad); err == nil {
			t.Errorf("SetAddress(%v) succeeded; want an error", bad)
		}
		if g, _ := links.Get("mng0"); !bytes.Equal(g.Addr, want) {
			t.Errorf("after SetAddress(%v) failed, address = %s, want %s", bad, g.Addr, want)
		}
	}

	if err := links.SetUp("mng0"); err != nil {
		t.Fatal(err)
	}
	if err := links.SetDown("mng0"); err != nil {
		t.Fatalf("SetDown: %v", err)
	}
	if g, _ := links.Get("mng0"); g.Up {
		t.Errorf("Get after SetDown: Up")
	}

	for _, op := range map[string]func() error{
		"Get":        func() error { _, err := links.Get("nosuch0"); return err },
		"SetDown":    func() error { return links.SetDown("nosuch0") },
		"SetUp":      func() error { return links.SetUp("nosuch0") },
		"SetAddress": func() error { return links.SetAddress("nosuch0", want) },
	} {
		if err := op(); !errors.Is(err, ErrLinkNotFound) {
			t.Errorf("missing link: err = %v, want ErrLinkNotFound", err)
		}
	}
}

// nextEvent returns the first event that matches, failing after eventWait.
func nextEvent(t *testing.T, ch <-chan Event, what string, match func(Event) bool) Event {
	t.Helper()
	timeout := time.After(eventWait)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				t.Fatalf("waiting for %s: channel closed", what)
			}
			if match(ev) {
				return ev
			}
		case <-timeout:
			t.Fatalf("no %s event within %v", what, eventWait)
		}
	}
}

func TestIntegrationLinksSubscribe(t *testing.T) {
	netnstest.RequireRoot(t)
	netnstest.EnterTestNetns(t)
	links := newTestLinks(t)
	ctx, cancel := context.WithCancel(context.Background())
	t.Cleanup(cancel)
	ch, errs, err := links.SubscribeWithErrors(ctx)
	if err != nil {
		t.Fatalf("Subscribe: %v", err)
	}

	a, _ := netnstest.AddVeth(t, "mng1", "mng1p")
	ev := nextEvent(t, ch, "new mng1", func(e Event) bool { return e.Link.Name == "mng1" && !e.Deleted })
	if ev.Link.Kind != "veth" || ev.Link.Index != a.Attrs().Index {
		t.Errorf("new link event = %+v", ev)
	}

	mac := netnstest.MustMAC(t, "02:00:5e:10:00:02")
	if err := netlink.LinkSetHardwareAddr(a, mac); err != nil {
		t.Fatal(err)
	}
	nextEvent(t, ch, "address change", func(e Event) bool {
		return e.Link.Name == "mng1" && bytes.Equal(e.Link.Addr, mac)
	})

	if err := netlink.LinkDel(a); err != nil {
		t.Fatal(err)
	}
	ev = nextEvent(t, ch, "deletion", func(e Event) bool { return e.Link.Name == "mng1" && e.Deleted })
	if ev.Link.Index != a.Attrs().Index {
		t.Errorf("deletion event index %d, want %d", ev.Link.Index, a.Attrs().Index)
	}

	cancel()
	timeout := time.After(eventWait)
	for open := true; open; {
		select {
		case _, open = <-ch:
		case <-timeout:
			t.Fatalf("channel not closed within %v of cancel", eventWait)
		}
	}
	if err, ok := <-errs; ok {
		t.Errorf("errs after cancel = %v, want closed without error", err)
	}
}

// The forwarder is tested below without a kernel: a fake library side
// feeds it, as the netlink reader would.

// fakeReader stands for the library's reader goroutine: it closes in once
// done is closed, as the library does when its socket is closed.
func fakeReader(in chan netlink.LinkUpdate, done chan struct{}, stopped chan<- struct{}) {
	<-done
	close(in)
	close(stopped)
}

func update(name string) netlink.LinkUpdate {
	u := netlink.LinkUpdate{Link: &netlink.Dummy{LinkAttrs: netlink.LinkAttrs{Name: name, Index: 7}}}
	u.Header.Type = unix.RTM_NEWLINK
	return u
}

func TestForwardKeepsReadingWhileConsumerIsSlow(t *testing.T) {
	in := make(chan netlink.LinkUpdate) // unbuffered: every send needs a reader
	done := make(chan struct{})
	cbErrs := make(chan error, 1)
	out := make(chan Event)
	errs := make(chan error, 1)
	ctx, cancel := context.WithCancel(context.Background())
	go forwardLinkUpdates(ctx, in, done, cbErrs, out, errs)

	// Nobody reads out, yet the reader side must never block.
	sent := make(chan struct{})
	go func() {
		for range 1000 {
			in <- update("x")
		}
		close(sent)
	}()
	select {
	case <-sent:
	case <-time.After(eventWait):
		t.Fatal("the netlink side blocked while the consumer was slow")
	}
	// Events kept their order.
	if ev := <-out; ev.Link.Name != "x" || ev.Deleted {
		t.Errorf("first event = %+v", ev)
	}

	stopped := make(chan struct{})
	go fakeReader(in, done, stopped)
	cancel()
	select {
	case <-stopped:
	case <-time.After(eventWait):
		t.Fatal("done not closed after cancel")
	}
	for range out {
	}
	if err, ok := <-errs; ok {
		t.Errorf("errs after cancel = %v, want closed empty", err)
	}
}

func TestForwardReportsReaderError(t *testing.T) {
	in := make(chan netlink.LinkUpdate, 4)
	done := make(chan struct{})
	cbErrs := make(chan error, 1)
	out := make(chan Event)
	errs := make(chan error, 1)
	go forwardLinkUpdates(context.Background(), in, done, cbErrs, out, errs)
	in <- update("y")
	if ev := <-out; ev.Link.Name != "y" {
		t.Fatalf("event = %+v", ev)
	}
	cause := errors.New("Receive failed: no buffer space available")
	cbErrs <- cause
	stopped := make(chan struct{})
	go fakeReader(in, done, stopped)
	err := <-errs
	if !errors.Is(err, ErrSubscriptionLost) || !errors.Is(err, cause) {
		t.Errorf("err = %v, want ErrSubscriptionLost wrapping the cause", err)
	}
	if _, ok := <-out; ok {
		t.Error("events channel still open after the subscription failed")
	}
	<-stopped
}

func TestForwardReportsOverflow(t *testing.T) {
	in := make(chan netlink.LinkUpdate)
	done := make(chan struct{})
	out := make(chan Event)
	errs := make(chan error, 1)
	go forwardLinkUpdates(context.Background(), in, done, make(chan error, 1), out, errs)
	stopped := make(chan struct{})
	go func() {
		defer fakeReader(in, done, stopped)
		for range subscribeQueueMax + 1 {
			select {
			case in <- update("z"):
			case <-done:
				return
			}
		}
	}()
	err := <-errs
	if !errors.Is(err, ErrSubscriptionLost) {
		t.Errorf("err = %v, want ErrSubscriptionLost", err)
	}
	<-stopped
	if _, ok := <-out; ok {
		t.Error("events channel still open after overflow")
	}
}
