// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	gonm "github.com/Wifx/gonetworkmanager/v2"
	"github.com/godbus/dbus/v5"
)

const (
	nmBusName     = "org.freedesktop.NetworkManager"
	nmPath        = dbus.ObjectPath("/org/freedesktop/NetworkManager")
	nmDeviceIface = nmBusName + ".Device"
)

// restoreSteps are what restore prints while the card goes through
// NetworkManager's states, in words a user reads.
var restoreSteps = map[gonm.NmDeviceState]string{
	gonm.NmDeviceStateDeactivating: "disconnecting",
	gonm.NmDeviceStateDisconnected: "disconnected",
	gonm.NmDeviceStatePrepare:      "connecting: preparing",
	gonm.NmDeviceStateConfig:       "connecting: joining the network",
	gonm.NmDeviceStateNeedAuth:     "connecting: waiting for the password",
	gonm.NmDeviceStateIpConfig:     "connecting: asking for an IP address",
	gonm.NmDeviceStateIpCheck:      "connecting: checking the connection",
	gonm.NmDeviceStateActivated:    "connected",
	gonm.NmDeviceStateFailed:       "the connection failed",
}

// nmDevice is what restore watches of the card: NetworkManager's unique
// bus name (signals from anyone else are not believed) and the device path.
type nmDevice struct {
	owner string
	path  dbus.ObjectPath
}

// findNMDevice asks NetworkManager for iface's device. A device it does not
// know is exitNotFound; NetworkManager not answering leaves the progress
// out (the service says what it can).
func findNMDevice(ctx context.Context, conn *dbus.Conn, iface string) (nmDevice, error) {
	var d nmDevice
	if err := conn.BusObject().CallWithContext(ctx, "org.freedesktop.DBus.GetNameOwner", 0, nmBusName).Store(&d.owner); err != nil {
		return nmDevice{}, nil
	}
	err := conn.Object(nmBusName, nmPath).CallWithContext(ctx, nmBusName+".GetDeviceByIpIface", 0, iface).Store(&d.path)
	var de dbus.Error
	if errors.As(err, &de) && de.Name == nmBusName+".UnknownDevice" {
		return nmDevice{}, &exitError{code: exitNotFound, err: fmt.Errorf("no network device %s", iface)}
	}
	if err != nil {
		return nmDevice{}, nil
	}
	return d, nil
}

// watch subscribes to the device's state and address changes.
func (d nmDevice) watch(ctx context.Context, conn *dbus.Conn) error {
	if d.path == "" {
		return nil
	}
	for _, m := range [][]dbus.MatchOption{
		{dbus.WithMatchSender(nmBusName), dbus.WithMatchObjectPath(d.path), dbus.WithMatchInterface(nmDeviceIface), dbus.WithMatchMember("StateChanged")},
		{dbus.WithMatchSender(nmBusName), dbus.WithMatchObjectPath(d.path), dbus.WithMatchInterface("org.freedesktop.DBus.Properties"), dbus.WithMatchMember("PropertiesChanged"), dbus.WithMatchArg(0, nmDeviceIface)},
	} {
		if err := conn.AddMatchSignalContext(ctx, m...); err != nil {
			return fmt.Errorf("follow NetworkManager: %w", err)
		}
	}
	return nil
}

// progress prints the step a signal from NetworkManager about the device
// shows, if it is one; last is the previous line, never printed twice.
func (d nmDevice) progress(w io.Writer, sig *dbus.Signal, last *string) {
	if d.path == "" || sig.Sender != d.owner || sig.Path != d.path {
		return
	}
	line := ""
	switch sig.Name {
	case nmDeviceIface + ".StateChanged":
		var nw, old, reason uint32
		if dbus.Store(sig.Body, &nw, &old, &reason) != nil {
			return
		}
		line = restoreSteps[gonm.NmDeviceState(nw)]
	case "org.freedesktop.DBus.Properties.PropertiesChanged":
		var iface string
		var changed map[string]dbus.Variant
		var inval []string
		if dbus.Store(sig.Body, &iface, &changed, &inval) != nil {
			return
		}
		if v, ok := changed["HwAddress"]; ok {
			if addr, ok := v.Value().(string); ok {
				line = "address set: " + safeText(strings.ToLower(addr))
			}
		}
	}
	if line != "" && line != *last {
		fmt.Fprintln(w, line)
		*last = line
	}
}
