// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"fmt"
	"testing"

	"github.com/godbus/dbus/v5"
)

// TestPolkitAbsent: only the bus's "no such name, nothing to start" means
// polkit is not installed (root-only fallback); every other failure of the
// call, polkit's own errors included, denies.
func TestPolkitAbsent(t *testing.T) {
	for _, c := range []struct {
		err  error
		want bool
	}{
		{dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}, true},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.NameHasNoOwner"}, true},
		{&dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}, true},
		{fmt.Errorf("call: %w", dbus.Error{Name: "org.freedesktop.DBus.Error.ServiceUnknown"}), true},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.AccessDenied"}, false},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.NoReply"}, false},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.Spawn.ChildExited"}, false},
		{dbus.Error{Name: "org.freedesktop.DBus.Error.TimedOut"}, false},
		{dbus.Error{Name: "org.freedesktop.PolicyKit1.Error.Failed"}, false},
		{context.DeadlineExceeded, false},
		{errors.New("connection closed"), false},
	} {
		if got := polkitAbsent(c.err); got != c.want {
			t.Errorf("polkitAbsent(%v) = %v, want %v", c.err, got, c.want)
		}
	}
}
