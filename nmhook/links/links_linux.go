// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"bytes"
	"errors"
	"fmt"
	"net"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// listAttempts bounds how often List repeats a link dump that a concurrent
// change interrupted (NLM_F_DUMP_INTR) before it gives up.
const listAttempts = 5

// Netlink implements Links over rtnetlink. It is bound to the network
// namespace that was current on the calling thread when New ran: every
// request and every subscription goes to that namespace, whatever thread the
// caller runs on later.
type Netlink struct {
	ns     netns.NsHandle
	Handle *netlink.Handle
	sysfs  string // where Classify reads sysfs ("" DefaultSysfs)
}

var _ Links = (*Netlink)(nil)

// New opens an rtnetlink handle in the current network namespace. Call
// Close when done.
func New() (*Netlink, error) {
	ns, err := netns.Get()
	if err != nil {
		return nil, fmt.Errorf("open current network namespace: %w", err)
	}
	var h *netlink.Handle
	if InProcessNetNS(ns) {
		// No setns: the service runs with CAP_NET_ADMIN and CAP_SYS_NICE only (setns needs
		// CAP_SYS_ADMIN and the unit's RestrictNamespaces forbids it).
		h, err = netlink.NewHandle(unix.NETLINK_ROUTE)
	} else {
		h, err = netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	}
	if err != nil {
		ns.Close()
		return nil, fmt.Errorf("open rtnetlink handle: %w", err)
	}
	return &Netlink{ns: ns, Handle: h}, nil
}

// Close releases the netlink handle and the namespace reference. Running
// subscriptions hold their own socket and end with their context.
func (l *Netlink) Close() error {
	l.Handle.Close()
	if err := l.ns.Close(); err != nil {
		return fmt.Errorf("close network namespace handle: %w", err)
	}
	return nil
}

// List returns every link. A dump that a concurrent change interrupted is
// partial; it is repeated up to listAttempts times, then List fails rather
// than return an incomplete view.
func (l *Netlink) List() ([]Link, error) {
	var err error
	for range listAttempts {
		var nls []netlink.Link
		nls, err = l.Handle.LinkList()
		if errors.Is(err, netlink.ErrDumpInterrupted) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("list links: %w", err)
		}
		out := make([]Link, 0, len(nls))
		for _, nl := range nls {
			out = append(out, linkFromNetlink(nl))
		}
		return out, nil
	}
	return nil, fmt.Errorf("list links: dump interrupted %d times in a row: %w", listAttempts, err)
}

// Get returns one link by name. A missing link gives an error that wraps
// ErrLinkNotFound.
func (l *Netlink) Get(name string) (Link, error) {
	nl, err := l.byName(name)
	if err != nil {
		return Link{}, err
	}
	return linkFromNetlink(nl), nil
}

// SetDown takes the link administratively down.
func (l *Netlink) SetDown(name string) error {
	nl, err := l.byName(name)
	if err != nil {
		return err
	}
	if err := l.Handle.LinkSetDown(nl); err != nil {
		return fmt.Errorf("set %q down: %w", name, err)
	}
	return nil
}

// SetUp brings the link administratively up.
func (l *Netlink) SetUp(name string) error {
	nl, err := l.byName(name)
	if err != nil {
		return err
	}
	if err := l.Handle.LinkSetUp(nl); err != nil {
		return fmt.Errorf("set %q up: %w", name, err)
	}
	return nil
}

// SetAddress takes the link down when it is up (many drivers refuse a new
// address on a running device, and a running device must not send a frame
// with a half-applied identity), sets mac, reads the address back and
// compares it. The link is left down whatever the outcome: the caller
// decides when to bring it up.
func (l *Netlink) SetAddress(name string, mac net.HardwareAddr) error {
	nl, err := l.byName(name)
	if err != nil {
		return err
	}
	attrs := nl.Attrs()
	if len(mac) == 0 {
		return fmt.Errorf("set address of %q: empty address", name)
	}
	if len(mac) != len(attrs.HardwareAddr) {
		return fmt.Errorf("set address of %q: %s has %d bytes, the device uses %d",
			name, mac, len(mac), len(attrs.HardwareAddr))
	}
	if attrs.Flags&net.FlagUp != 0 {
		if err := l.Handle.LinkSetDown(nl); err != nil {
			return fmt.Errorf("set address of %q: take it down: %w", name, err)
		}
	}
	if err := l.Handle.LinkSetHardwareAddr(nl, mac); err != nil {
		return fmt.Errorf("set address of %q to %s: %w", name, mac, err)
	}
	// Read back by index: the name may have changed in between, the
	// device we changed may not.
	back, err := l.Handle.LinkByIndex(attrs.Index)
	if err != nil {
		return fmt.Errorf("set address of %q: read it back: %w", name, err)
	}
	if got := back.Attrs().HardwareAddr; !bytes.Equal(got, mac) {
		return fmt.Errorf("set address of %q: kernel reports %s after setting %s", name, got, mac)
	}
	return nil
}

func (l *Netlink) byName(name string) (netlink.Link, error) {
	nl, err := l.Handle.LinkByName(name)
	if err != nil {
		var nf netlink.LinkNotFoundError
		if errors.As(err, &nf) || errors.Is(err, unix.ENODEV) {
			return nil, fmt.Errorf("link %q: %w", name, ErrLinkNotFound)
		}
		return nil, fmt.Errorf("link %q: %w", name, err)
	}
	return nl, nil
}

// linkFromNetlink copies what the gate needs out of a netlink link. The
// addresses are copied: the library's slices may point into a reused
// receive buffer.
func linkFromNetlink(nl netlink.Link) Link {
	a := nl.Attrs()
	return Link{
		Index:    a.Index,
		Name:     a.Name,
		Kind:     nl.Type(),
		Addr:     cloneAddr(a.HardwareAddr),
		PermAddr: cloneAddr(a.PermHWAddr),
		Up:       a.Flags&net.FlagUp != 0,
		Carrier:  a.RawFlags&unix.IFF_LOWER_UP != 0,
	}
}

// cloneAddr copies an address; nil or empty gives nil.
func cloneAddr(a net.HardwareAddr) net.HardwareAddr {
	if len(a) == 0 {
		return nil
	}
	return bytes.Clone(a)
}

// inProcessNetNS reports whether ns is the network namespace of the whole
// process (its main thread). Then sockets can be opened without setns, which
// needs CAP_SYS_ADMIN; only a thread moved to another namespace (tests) needs
// the namespace handle.
func InProcessNetNS(ns netns.NsHandle) bool {
	main, err := netns.GetFromPath("/proc/self/ns/net")
	if err != nil {
		return false
	}
	defer main.Close()
	return main.Equal(ns)
}
