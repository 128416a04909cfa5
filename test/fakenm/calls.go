// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"context"
	"fmt"
	"sync"
	"time"

	"github.com/godbus/dbus/v5"
)

// Call is one method call a client made on the fake (a property Set is the
// call org.freedesktop.DBus.Properties.Set with Args interface, name, value).
// Reads (Get, GetAll, GetSettings, Introspect, listings) are not recorded.
type Call struct {
	Time      time.Time
	Sender    string
	Path      dbus.ObjectPath
	Interface string
	Member    string
	Args      []any
}

// Name is the call's full name, e.g. "org.freedesktop.NetworkManager.Device.Disconnect".
func (c Call) Name() string { return c.Interface + "." + c.Member }

// SetProperty reports whether c sets property iface.name, and the value.
func (c Call) SetProperty(iface, name string) (any, bool) {
	if c.Interface != PropertiesIface || c.Member != "Set" || len(c.Args) != 3 {
		return nil, false
	}
	if c.Args[0] != iface || c.Args[1] != name {
		return nil, false
	}
	return c.Args[2], true
}

func (c Call) String() string {
	return fmt.Sprintf("%s %s%v on %s from %s", c.Time.Format("15:04:05.000"), c.Name(), c.Args, c.Path, c.Sender)
}

// recorder keeps the calls; its lock is a leaf (taken under any other).
type recorder struct {
	mu      sync.Mutex
	calls   []Call
	changed chan struct{} // closed and replaced at every new call
	// asyncErr is the first error of work done off a caller's goroutine.
	asyncErr error
}

func (r *recorder) init() { r.changed = make(chan struct{}) }

// record stores c and wakes the waiters.
func (n *NM) record(c Call) {
	c.Time = time.Now()
	if n.opts.OnCall != nil {
		n.opts.OnCall(c)
	}
	n.rec.mu.Lock()
	n.rec.calls = append(n.rec.calls, c)
	close(n.rec.changed)
	n.rec.changed = make(chan struct{})
	n.rec.mu.Unlock()
}

// Calls returns every recorded call, oldest first.
func (n *NM) Calls() []Call {
	n.rec.mu.Lock()
	defer n.rec.mu.Unlock()
	return append([]Call(nil), n.rec.calls...)
}

// WaitCall waits until a recorded call satisfies match (calls made before
// WaitCall count too) and returns the first such call.
func (n *NM) WaitCall(ctx context.Context, match func(Call) bool) (Call, error) {
	for {
		n.rec.mu.Lock()
		for _, c := range n.rec.calls {
			if match(c) {
				n.rec.mu.Unlock()
				return c, nil
			}
		}
		ch := n.rec.changed
		n.rec.mu.Unlock()
		select {
		case <-ch:
		case <-ctx.Done():
			return Call{}, fmt.Errorf("fake NM: no matching call: %w", ctx.Err())
		}
	}
}

// IsCall matches calls of iface.member on path.
func IsCall(path dbus.ObjectPath, iface, member string) func(Call) bool {
	return func(c Call) bool { return c.Path == path && c.Interface == iface && c.Member == member }
}

// IsSet matches Sets of iface.name on path.
func IsSet(path dbus.ObjectPath, iface, name string) func(Call) bool {
	return func(c Call) bool {
		_, ok := c.SetProperty(iface, name)
		return ok && c.Path == path
	}
}
