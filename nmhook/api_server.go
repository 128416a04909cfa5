// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"encoding/json"
	"fmt"
	"log/slog"
	"regexp"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// D-Bus error names of the API.
const (
	apiErrInvalidArgs  = "org.freedesktop.DBus.Error.InvalidArgs"
	apiErrAccessDenied = "org.freedesktop.DBus.Error.AccessDenied"
	apiErrFailed       = "org.freedesktop.DBus.Error.Failed"
)

// uuidPattern is the textual form of a connection UUID.
var uuidPattern = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)

// apiObject is the exported object; every method runs its work in the
// service loop.
type apiObject struct {
	s    *Service
	conn *dbus.Conn
}

func invalidArgs(format string, args ...any) *dbus.Error {
	return dbus.NewError(apiErrInvalidArgs, []any{fmt.Sprintf(format, args...)})
}

func (a apiObject) authorize(sender dbus.Sender, action string) *dbus.Error {
	if err := authorize(context.Background(), a.conn, sender, action); err != nil {
		a.s.log.Warn("api: access denied", slog.String("caller", string(sender)), slog.String("action", action), slog.String("error", err.Error()))
		return dbus.NewError(apiErrAccessDenied, []any{err.Error()})
	}
	return nil
}

// inLoop runs fn in the service loop and turns its error into a D-Bus error.
func (a apiObject) inLoop(fn func() *dbus.Error) *dbus.Error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var derr *dbus.Error
	if err := a.s.do(ctx, func() { derr = fn() }); err != nil {
		return dbus.NewError(apiErrFailed, []any{"service busy: " + err.Error()})
	}
	return derr
}

func jsonReply(v any) (string, *dbus.Error) {
	b, err := json.Marshal(v)
	if err != nil {
		return "", dbus.NewError(apiErrFailed, []any{err.Error()})
	}
	return string(b), nil
}

// ListDevices returns []api.Device as JSON.
func (a apiObject) ListDevices() (string, *dbus.Error) {
	var out []api.Device
	if err := a.inLoop(func() *dbus.Error { out = a.s.apiDevices(); return nil }); err != nil {
		return "", err
	}
	return jsonReply(out)
}

// ListSuspicions returns []api.Suspicion as JSON.
func (a apiObject) ListSuspicions() (string, *dbus.Error) {
	var out []api.Suspicion
	if err := a.inLoop(func() *dbus.Error { out = a.s.apiSuspicions(); return nil }); err != nil {
		return "", err
	}
	return jsonReply(out)
}

// Status returns api.Status as JSON.
func (a apiObject) Status() (string, *dbus.Error) {
	var out api.Status
	if err := a.inLoop(func() *dbus.Error { out = a.s.apiStatus(); return nil }); err != nil {
		return "", err
	}
	return jsonReply(out)
}

// Restore starts using the real address for one network on one device.
func (a apiObject) Restore(sender dbus.Sender, device, uuid, scope string) *dbus.Error {
	if err := checkTarget(device, uuid); err != nil {
		return err
	}
	sc := policy.Scope(scope)
	if sc != policy.ScopeOnce && sc != policy.ScopeAlways {
		return invalidArgs("scope %q: use once or always", scope)
	}
	// "This time, for the network that seems to refuse the private
	// address" is the active session's to decide; a lasting exemption, or
	// the real address for a network that showed no sign of refusing the
	// private one, is the administrator's.
	var answer string
	var answers bool
	if err := a.inLoop(func() *dbus.Error { answer, answers = a.s.answersSuspicion(device, uuid, sc); return nil }); err != nil {
		return err
	}
	if err := a.authorizeAnswer(sender, answers); err != nil {
		return err
	}
	return a.inLoop(func() *dbus.Error {
		if answers {
			// Authorised for that suspicion: it must still be pending.
			if _, still := a.s.answersSuspicion(device, answer, sc); !still {
				return dbus.NewError(apiErrAccessDenied, []any{fmt.Sprintf("the suspicion on %s is no longer pending; using the real address now needs %s", device, api.PolkitActionRestoreAlways)})
			}
			uuid = answer
		}
		if err := a.s.startRestore(context.Background(), device, uuid, sc); err != nil {
			return invalidArgs("%s", err.Error())
		}
		return nil
	})
}

// KeepPrivate gives one network the same private address at every
// connection from now on (mode stable) and reconnects: the answer to a
// captive portal that forgets the private address.
func (a apiObject) KeepPrivate(sender dbus.Sender, device, uuid string) *dbus.Error {
	if err := checkTarget(device, uuid); err != nil {
		return err
	}
	// The answer to a pending portal-forgets suspicion never reveals the
	// real address: the active session's, like "this time". For a network
	// with no such suspicion it is a lasting change of the policy: the
	// administrator's.
	var answer string
	var answers bool
	if err := a.inLoop(func() *dbus.Error { answer, answers = a.s.answersPortal(device, uuid); return nil }); err != nil {
		return err
	}
	if err := a.authorizeAnswer(sender, answers); err != nil {
		return err
	}
	return a.inLoop(func() *dbus.Error {
		if answers {
			if _, still := a.s.answersPortal(device, answer); !still {
				return dbus.NewError(apiErrAccessDenied, []any{fmt.Sprintf("the suspicion on %s is no longer pending; keeping the same private address now needs %s", device, api.PolkitActionRestoreAlways)})
			}
			uuid = answer
		}
		if err := a.s.startKeepPrivate(context.Background(), device, uuid); err != nil {
			return invalidArgs("%s", err.Error())
		}
		return nil
	})
}

// ListExemptions returns []api.Exemption as JSON.
func (a apiObject) ListExemptions() (string, *dbus.Error) {
	var out []api.Exemption
	if err := a.inLoop(func() *dbus.Error { out = a.s.apiExemptions(); return nil }); err != nil {
		return "", err
	}
	return jsonReply(out)
}

// ForgetExemption drops the exemptions named id (ListExemptions' id).
func (a apiObject) ForgetExemption(sender dbus.Sender, id string) *dbus.Error {
	if id == "" || len(id) > 512 {
		return invalidArgs("exemption id %q is not valid", id)
	}
	if err := a.authorize(sender, api.PolkitActionForgetExemption); err != nil {
		return err
	}
	return a.inLoop(func() *dbus.Error {
		n, err := a.s.forgetExemptions(context.Background(), id)
		if err != nil {
			return dbus.NewError(apiErrFailed, []any{"forget the exemption: " + err.Error()})
		}
		if n == 0 {
			return invalidArgs("no exemption %q", id)
		}
		return nil
	})
}

// ForgetAllExemptions drops every exemption and says how many there were.
func (a apiObject) ForgetAllExemptions(sender dbus.Sender) (uint32, *dbus.Error) {
	if err := a.authorize(sender, api.PolkitActionForgetExemption); err != nil {
		return 0, err
	}
	var n int
	derr := a.inLoop(func() *dbus.Error {
		var err error
		if n, err = a.s.forgetExemptions(context.Background(), ""); err != nil {
			return dbus.NewError(apiErrFailed, []any{"forget the exemptions: " + err.Error()})
		}
		return nil
	})
	return uint32(n), derr
}

// Dismiss drops a pending suspicion: the user keeps the private address.
func (a apiObject) Dismiss(sender dbus.Sender, id string) *dbus.Error {
	if id == "" || len(id) > 512 {
		return invalidArgs("suspicion id %q is not valid", id)
	}
	if err := a.authorize(sender, api.PolkitActionDismiss); err != nil {
		return err
	}
	return a.inLoop(func() *dbus.Error {
		if !a.s.dismiss(id) {
			return invalidArgs("no pending suspicion %q", id)
		}
		return nil
	})
}

// SetSpoofing sets the global spoof switch (a login screen's choice).
func (a apiObject) SetSpoofing(sender dbus.Sender, spoof bool) *dbus.Error {
	if err := a.authorize(sender, api.PolkitActionSetSpoofing); err != nil {
		return err
	}
	return a.inLoop(func() *dbus.Error {
		a.s.setSpoofing(context.Background(), spoof, "SetSpoofing over D-Bus")
		return nil
	})
}

// methods is the API's method table. It is exported with
// ExportMethodTable, not Export: Export finds methods by reflection
// (reflect.Value.Method), and a program that can do that keeps every
// exported method of every type in its binary (the linker cannot tell
// which are unused), which made the service's binary, and the part of it
// in memory, about a megabyte larger.
func (a apiObject) methods() map[string]any {
	return map[string]any{
		"ListDevices":    a.ListDevices,
		"ListSuspicions": a.ListSuspicions,
		"Status":         a.Status,
		"Restore":        a.Restore,
		"KeepPrivate":    a.KeepPrivate,
		"Dismiss":        a.Dismiss,
		"SetSpoofing":    a.SetSpoofing,

		"ListExemptions":      a.ListExemptions,
		"ForgetExemption":     a.ForgetExemption,
		"ForgetAllExemptions": a.ForgetAllExemptions,
	}
}

// exportAPI exports the API on conn and takes the well-known name. Failing
// to own the name is logged: the gate works without its API.
func (s *Service) exportAPI(conn *dbus.Conn) {
	obj := apiObject{s: s, conn: conn}
	if err := conn.ExportMethodTable(obj.methods(), api.Path, api.Interface); err != nil {
		s.log.Error("api: export failed", slog.String("error", err.Error()))
		return
	}
	xml := introspect.IntrospectDeclarationString + "<node>" + introspect.IntrospectDataString + api.Introspection + "</node>"
	introspectTable := map[string]any{
		"Introspect": func() (string, *dbus.Error) { return xml, nil },
	}
	if err := conn.ExportMethodTable(introspectTable, api.Path, "org.freedesktop.DBus.Introspectable"); err != nil {
		s.log.Warn("api: introspection export failed", slog.String("error", err.Error()))
	}
	reply, err := conn.RequestName(api.BusName, dbus.NameFlagDoNotQueue)
	if err != nil || reply != dbus.RequestNameReplyPrimaryOwner {
		s.log.Error("api: cannot own the bus name; the gate runs without its API",
			slog.String("name", api.BusName), slog.Any("reply", reply), slog.Any("error", err))
		return
	}
	s.log.Info("api: serving", slog.String("name", api.BusName))
}

// emit sends an API signal when the bus is up.
func (s *Service) emit(name string, args ...any) {
	if s.conn == nil {
		return
	}
	if err := s.conn.Emit(api.Path, api.Interface+"."+name, args...); err != nil {
		s.log.Warn("api: emit failed", slog.String("signal", name), slog.String("error", err.Error()))
	}
}

// checkTarget checks the device and connection arguments of Restore and
// KeepPrivate (uuid "" means the device's pending suspicion).
func checkTarget(device, uuid string) *dbus.Error {
	if device == "" || len(device) > 15 {
		return invalidArgs("device %q is not an interface name", device)
	}
	if uuid != "" && !uuidPattern.MatchString(uuid) {
		return invalidArgs("connection %q is not a UUID", uuid)
	}
	return nil
}

// authorizeAnswer authorises sender for Restore or KeepPrivate: an answer
// to a pending suspicion is the active session's (polkit restore), any
// other change the administrator's (restore-always).
func (a apiObject) authorizeAnswer(sender dbus.Sender, answers bool) *dbus.Error {
	if answers {
		return a.authorize(sender, api.PolkitActionRestore)
	}
	return a.authorize(sender, api.PolkitActionRestoreAlways)
}
