// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

const (
	polkitBusName = "org.freedesktop.PolicyKit1"
	polkitPath    = dbus.ObjectPath("/org/freedesktop/PolicyKit1/Authority")
	polkitCheck   = "org.freedesktop.PolicyKit1.Authority.CheckAuthorization"
	// polkitAllowUserInteraction lets an authentication agent ask the user.
	polkitAllowUserInteraction = uint32(1)
)

// The bus's answers when no program provides a name: none owns it and none
// can be started for it (no .service file).
const (
	dbusErrServiceUnknown = "org.freedesktop.DBus.Error.ServiceUnknown"
	dbusErrNameHasNoOwner = "org.freedesktop.DBus.Error.NameHasNoOwner"
)

// authorize decides whether the caller (its unique bus name) may perform a
// polkit action. polkit is asked with the subject system-bus-name, never
// with a uid the service passes (polkit would trust it). The call may start
// polkit: on a desktop, polkitd is D-Bus activated and not running until
// someone asks. Only when the bus says no polkit can be had (none owns the
// name and none is installed to be started) is root allowed alone; any
// other failure of the call denies: fail closed.
func authorize(ctx context.Context, conn *dbus.Conn, sender dbus.Sender, action string) error {
	if sender == "" {
		return fmt.Errorf("no caller")
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	subject := struct {
		Kind    string
		Details map[string]dbus.Variant
	}{"system-bus-name", map[string]dbus.Variant{"name": dbus.MakeVariant(string(sender))}}
	var result struct {
		Authorized bool
		Challenge  bool
		Details    map[string]string
	}
	// Flags 0: no NoAutoStart, so the bus starts polkit when it is not
	// running yet.
	err := conn.Object(polkitBusName, polkitPath).CallWithContext(ctx, polkitCheck, 0,
		subject, action, map[string]string{}, polkitAllowUserInteraction, "").Store(&result)
	if err != nil {
		if !polkitAbsent(err) {
			return fmt.Errorf("ask polkit about %s: %w", action, err)
		}
		var uid uint32
		if err := conn.BusObject().CallWithContext(ctx, nm.DBusName+".GetConnectionUnixUser", 0, string(sender)).Store(&uid); err != nil {
			return fmt.Errorf("identify caller %s: %w", sender, err)
		}
		if uid == 0 {
			return nil
		}
		return fmt.Errorf("polkit is not installed and uid %d is not root", uid)
	}
	if !result.Authorized {
		if result.Challenge {
			return fmt.Errorf("%s needs authentication that was not given", action)
		}
		return fmt.Errorf("not authorised for %s", action)
	}
	return nil
}

// polkitAbsent reports whether err is the bus saying that polkit is
// neither running nor installed to be started on demand.
func polkitAbsent(err error) bool {
	var de dbus.Error
	if errors.As(err, &de) {
		return de.Name == dbusErrServiceUnknown || de.Name == dbusErrNameHasNoOwner
	}
	var dp *dbus.Error
	if errors.As(err, &dp) && dp != nil {
		return dp.Name == dbusErrServiceUnknown || dp.Name == dbusErrNameHasNoOwner
	}
	return false
}
