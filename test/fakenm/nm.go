// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"errors"
	"fmt"
	"sync"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// NetworkManager's D-Bus names, as the fake exports them.
const (
	BusName         = "org.freedesktop.NetworkManager"
	ManagerPath     = dbus.ObjectPath("/org/freedesktop/NetworkManager")
	SettingsPath    = ManagerPath + "/Settings"
	ManagerIface    = BusName
	DeviceIface     = BusName + ".Device"
	WirelessIface   = BusName + ".Device.Wireless"
	SettingsIface   = BusName + ".Settings"
	ConnectionIface = BusName + ".Settings.Connection"
	ActiveIface     = BusName + ".Connection.Active"
	PropertiesIface = "org.freedesktop.DBus.Properties"

	// Version is the fake's Version property: the NM release the built
	// traces are written for, marked as fake.
	Version = "1.42.4-fakenm"
)

// Kernel is what the fake does to the real link when NetworkManager would:
// bring it up and set a profile's explicit address in stage 1 of an
// activation (nm-device.c act_stage1_prepare / nm-device-wifi.c
// _set_hw_addr). The fake runs in the test's network namespace, the link
// lives in another one: the test provides these.
type Kernel interface {
	SetUp(iface string) error
	SetAddress(iface, mac string) error
}

// Options configure a fake.
type Options struct {
	// Kernel, if set, is called in stage 1 (after PREPARE is announced):
	// link up, and the active profile's explicit assigned-mac-address.
	// Without it the fake touches no link.
	Kernel Kernel
	// OnCall, if set, sees every recorded call synchronously, before the
	// fake acts on it. It runs on a D-Bus handler goroutine and must not
	// call back into the fake.
	OnCall func(Call)
}

// NM is one fake NetworkManager on a bus. Its methods are safe for
// concurrent use.
type NM struct {
	conn *dbus.Conn
	opts Options

	// mu serialises every change of the fake's objects and the signals that
	// announce it, so signals go out in the order of the changes. Lock
	// order: mu, then a prop.Properties' own lock (never the reverse:
	// property Set callbacks do not take mu).
	mu        sync.Mutex
	mgr       *prop.Properties
	settings  *prop.Properties
	devices   map[dbus.ObjectPath]*device
	devOrder  []dbus.ObjectPath
	profiles  map[dbus.ObjectPath]*profile
	profOrder []dbus.ObjectPath
	actives   map[dbus.ObjectPath]*active
	nextDev   int
	nextProf  int
	nextAC    int
	closed    bool

	intro introspection
	rec   recorder
}

// Start connects to the bus at address (e.g. a test bed's BusAddress),
// exports the manager and the settings objects and takes the name
// org.freedesktop.NetworkManager. The bus policy must let the caller own it
// (the real NM's policy file lets root). Close ends it.
func Start(address string, opts Options) (*NM, error) {
	conn, err := dbus.Connect(address)
	if err != nil {
		return nil, fmt.Errorf("fake NM: connect to %s: %w", address, err)
	}
	n := &NM{
		conn:     conn,
		opts:     opts,
		devices:  map[dbus.ObjectPath]*device{},
		profiles: map[dbus.ObjectPath]*profile{},
		actives:  map[dbus.ObjectPath]*active{},
		intro:    introspection{objects: map[dbus.ObjectPath][]ifaceDecl{}},
	}
	n.rec.init()
	if err := n.exportManager(); err != nil {
		conn.Close()
		return nil, err
	}
	if err := n.exportSettings(); err != nil {
		conn.Close()
		return nil, err
	}
	reply, err := conn.RequestName(BusName, dbus.NameFlagDoNotQueue)
	if err != nil {
		conn.Close()
		return nil, fmt.Errorf("fake NM: own %s: %w", BusName, err)
	}
	if reply != dbus.RequestNameReplyPrimaryOwner {
		conn.Close()
		return nil, fmt.Errorf("fake NM: own %s: not the primary owner (reply %d): is a NetworkManager running on this bus?", BusName, reply)
	}
	return n, nil
}

// Close gives up the name (clients see NetworkManager leave the bus) and
// the connection.
func (n *NM) Close() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.closed {
		return nil
	}
	n.closed = true
	_, relErr := n.conn.ReleaseName(BusName)
	closeErr := n.conn.Close()
	if err := errors.Join(relErr, closeErr); err != nil {
		return fmt.Errorf("fake NM: close: %w", err)
	}
	return nil
}

// emit sends a signal; the caller holds mu. A failed emit means the bus
// connection is gone: the fake is useless then, so it is an error.
func (n *NM) emit(path dbus.ObjectPath, name string, args ...any) error {
	if err := n.conn.Emit(path, name, args...); err != nil {
		return fmt.Errorf("fake NM: emit %s on %s: %w", name, path, err)
	}
	return nil
}

// update sets properties of one interface of one object and announces them
// in one PropertiesChanged signal, as NM does; the caller holds mu.
func (n *NM) update(p *prop.Properties, path dbus.ObjectPath, iface string, kv map[string]any) error {
	changed := make(map[string]dbus.Variant, len(kv))
	for k, v := range kv {
		p.SetMust(iface, k, v)
		changed[k] = dbus.MakeVariant(v)
	}
	return n.emit(path, PropertiesIface+".PropertiesChanged", iface, changed, []string{})
}

// dbusErr is an error in NetworkManager's error domain.
func dbusErr(name, format string, args ...any) *dbus.Error {
	return dbus.NewError(BusName+"."+name, []any{fmt.Sprintf(format, args...)})
}
