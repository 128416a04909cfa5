// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"

	"github.com/godbus/dbus/v5"
)

// Exit statuses of the commands that ask the service for something
// (restore, decide), after nmcli's where they mean the same. check and
// policy validate keep their own (0, 1, 2), documented with them.
const (
	exitFailed        = 1  // refused, or failed: the reason is on stderr
	exitUsage         = 2  // bad arguments (cobra's errors land here too)
	exitTimeout       = 3  // no outcome in time
	exitConnectFailed = 4  // the reconnection failed (nmcli: activation failed)
	exitServiceDown   = 8  // the service is not running (nmcli: NetworkManager not running)
	exitNotFound      = 10 // no such device or profile
)

// serviceError classifies an error of a call to the service: not running,
// timed out, or refused.
func serviceError(what string, err error) error {
	var de dbus.Error
	switch {
	case errors.As(err, &de) && (de.Name == "org.freedesktop.DBus.Error.ServiceUnknown" || de.Name == "org.freedesktop.DBus.Error.NameHasNoOwner"):
		return &exitError{code: exitServiceDown, err: errors.New("the mac-nmguard service is not running; start it (systemctl start mac-nmguard) and try again")}
	case errors.Is(err, context.DeadlineExceeded):
		return &exitError{code: exitTimeout, err: errors.New(what + ": no answer from the service in time")}
	case errors.As(err, &de) && de.Name == "org.freedesktop.DBus.Error.InvalidArgs":
		return &exitError{code: exitUsage, err: errors.New(what + " refused: " + errBody(de))}
	}
	return &exitError{code: exitFailed, err: errors.New(what + " refused: " + errBody(err))}
}

// errBody is a D-Bus error's message without its name, or err's text.
func errBody(err error) string {
	var de dbus.Error
	if errors.As(err, &de) && len(de.Body) > 0 {
		if s, ok := de.Body[0].(string); ok {
			return s
		}
	}
	return err.Error()
}
