// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"context"
	"fmt"

	gonm "github.com/Wifx/gonetworkmanager/v2"
	"github.com/godbus/dbus/v5"
)

// NetworkManager exports its ObjectManager on /org/freedesktop (not on
// /org/freedesktop/NetworkManager).
const (
	ObjectManagerPath  = dbus.ObjectPath("/org/freedesktop")
	objectManagerIface = "org.freedesktop.DBus.ObjectManager"
)

// Objects is an ObjectManager.GetManagedObjects answer: every object
// NetworkManager exports, by path, with every property of every interface.
type Objects map[dbus.ObjectPath]map[string]map[string]dbus.Variant

// ManagedObjects reads every object NetworkManager exports in one call
// (devices, active connections, the manager, the settings; for 50 devices
// about 160 objects, 100 kB).
func (c Client) ManagedObjects(ctx context.Context) (Objects, error) {
	call := c.Call(ctx, ObjectManagerPath, objectManagerIface+".GetManagedObjects")
	if call.Err != nil {
		return nil, fmt.Errorf("read NetworkManager's objects: %w", call.Err)
	}
	// godbus already decoded a{oa{sa{sv}}} into this type; Store would copy
	// every value again, which costs as much as the decoding itself.
	if len(call.Body) == 1 {
		if m, ok := call.Body[0].(map[dbus.ObjectPath]map[string]map[string]dbus.Variant); ok {
			return m, nil
		}
	}
	var m map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := call.Store(&m); err != nil {
		return nil, fmt.Errorf("read NetworkManager's objects: %w", err)
	}
	return m, nil
}

// ObjectsView is what check takes from NetworkManager's objects.
type ObjectsView struct {
	Version  string
	Devices  []Device                            // in AllDevices order (GetAllDevices)
	Active   map[dbus.ObjectPath]dbus.ObjectPath // device -> profile of its activating or activated connection
	Hostname string                              // Settings.Hostname ("" when absent)
}

// ViewOf reads the manager's version and device list, each device
// (deviceFromProps, as Client.Device does), the profile behind each
// device's active connection (as Client.ActiveProfile judges it) and the
// host name from a GetManagedObjects answer. It reports false when the
// answer has no manager object: not the NetworkManager it knows.
func ViewOf(objs Objects) (ObjectsView, bool) {
	mgr, ok := objs[Path][BusName]
	if !ok {
		return ObjectsView{}, false
	}
	var v ObjectsView
	v.Version, _ = mgr["Version"].Value().(string)
	paths, _ := mgr["AllDevices"].Value().([]dbus.ObjectPath)
	v.Devices = make([]Device, 0, len(paths))
	v.Active = map[dbus.ObjectPath]dbus.ObjectPath{}
	for _, p := range paths {
		ifaces := objs[p]
		props, ok := ifaces[DeviceIface]
		if !ok {
			continue // removed meanwhile, as Devices skips it
		}
		d := deviceFromProps(p, props, ifaces[permHwIface(props)])
		v.Devices = append(v.Devices, d)
		if prof, ok := activeProfilePath(objs, d.ActiveConnection); ok {
			v.Active[p] = prof
		}
	}
	if set, ok := objs[SettingsPath][SettingsMgrIface]; ok {
		v.Hostname, _ = set["Hostname"].Value().(string)
	}
	return v, true
}

// activeProfilePath is the profile of an activating or activated connection
// (the rule of Client.ActiveProfile); false for none, a dying one, or one
// not among the objects.
func activeProfilePath(objs Objects, ac dbus.ObjectPath) (dbus.ObjectPath, bool) {
	if ac == "" || ac == "/" {
		return "", false
	}
	props, ok := objs[ac][ActiveIface]
	if !ok {
		return "", false
	}
	if !activeConnectionLive(props) {
		return "", false
	}
	path, ok := props["Connection"].Value().(dbus.ObjectPath)
	return path, ok
}

// activeConnectionLive reports whether an active connection's properties
// say it is activating or activated: a device's ActiveConnection can still
// name the previous, dying one right after a new activation starts.
func activeConnectionLive(props map[string]dbus.Variant) bool {
	st, _ := props["State"].Value().(uint32)
	switch gonm.NmActiveConnectionState(st) {
	case gonm.NmActiveConnectionStateActivating, gonm.NmActiveConnectionStateActivated:
		return true
	}
	return false
}
