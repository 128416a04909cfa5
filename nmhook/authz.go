package nmhook

import (
	"context"
	"fmt"
	"time"

	"github.com/godbus/dbus/v5"
)

const (
	polkitBusName = "org.freedesktop.PolicyKit1"
	polkitPath    = dbus.ObjectPath("/org/freedesktop/PolicyKit1/Authority")
	polkitCheck   = "org.freedesktop.PolicyKit1.Authority.CheckAuthorization"
	// polkitAllowUserInteraction lets an authentication agent ask the user.
	polkitAllowUserInteraction = uint32(1)
)

// authorize decides whether the caller (its unique bus name) may perform a
// polkit action. polkit is asked with the subject system-bus-name, never
// with a uid the service passes (polkit would trust it). When polkit is not
// on the bus, only root is allowed: fail closed.
func authorize(ctx context.Context, conn *dbus.Conn, sender dbus.Sender, action string) error {
	if sender == "" {
		return fmt.Errorf("no caller")
	}
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	var owner string
	if err := conn.BusObject().CallWithContext(ctx, dbusBusName+".GetNameOwner", 0, polkitBusName).Store(&owner); err != nil || owner == "" {
		var uid uint32
		if err := conn.BusObject().CallWithContext(ctx, dbusBusName+".GetConnectionUnixUser", 0, string(sender)).Store(&uid); err != nil {
			return fmt.Errorf("identify caller %s: %w", sender, err)
		}
		if uid == 0 {
			return nil
		}
		return fmt.Errorf("polkit is not running and uid %d is not root", uid)
	}
	subject := struct {
		Kind    string
		Details map[string]dbus.Variant
	}{"system-bus-name", map[string]dbus.Variant{"name": dbus.MakeVariant(string(sender))}}
	var result struct {
		Authorized bool
		Challenge  bool
		Details    map[string]string
	}
	err := conn.Object(polkitBusName, polkitPath).CallWithContext(ctx, polkitCheck, 0,
		subject, action, map[string]string{}, polkitAllowUserInteraction, "").Store(&result)
	if err != nil {
		return fmt.Errorf("ask polkit about %s: %w", action, err)
	}
	if !result.Authorized {
		if result.Challenge {
			return fmt.Errorf("%s needs authentication that was not given", action)
		}
		return fmt.Errorf("not authorised for %s", action)
	}
	return nil
}
