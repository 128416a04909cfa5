// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"fmt"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// NM's global state NM_STATE_DISCONNECTED: the fake does not compute it.
const nmStateDisconnected uint32 = 20

func (n *NM) exportManager() error {
	props := map[string]*prop.Prop{
		"Version":                 ro(Version),
		"Devices":                 ro([]dbus.ObjectPath{}),
		"AllDevices":              ro([]dbus.ObjectPath{}),
		"ActiveConnections":       ro([]dbus.ObjectPath{}),
		"PrimaryConnection":       ro(dbus.ObjectPath("/")),
		"State":                   ro(nmStateDisconnected),
		"Startup":                 ro(false),
		"NetworkingEnabled":       ro(true),
		"WirelessEnabled":         ro(true),
		"WirelessHardwareEnabled": ro(true),
		"Connectivity":            ro(uint32(1)), // NONE: connectivity checking is off
	}
	p, err := prop.Export(n.conn, ManagerPath, prop.Map{ManagerIface: props})
	if err != nil {
		return fmt.Errorf("fake NM: export manager: %w", err)
	}
	n.mgr = p
	methods := map[string]any{
		"GetDevices":           n.getDevices,
		"GetAllDevices":        n.getDevices,
		"GetDeviceByIpIface":   n.getDeviceByIface,
		"ActivateConnection":   n.activateConnection,
		"DeactivateConnection": n.deactivateConnection,
	}
	if err := n.conn.ExportMethodTable(methods, ManagerPath, ManagerIface); err != nil {
		return fmt.Errorf("fake NM: export manager: %w", err)
	}
	return n.register(ManagerPath, ifaceDecl{
		Name: ManagerIface,
		Methods: []introspectMethod{
			method("GetDevices", out("devices", "ao")),
			method("GetAllDevices", out("devices", "ao")),
			method("GetDeviceByIpIface", in("iface", "s"), out("device", "o")),
			method("ActivateConnection", in("connection", "o"), in("device", "o"), in("specific_object", "o"), out("active_connection", "o")),
			method("DeactivateConnection", in("active_connection", "o")),
		},
		Signals: []introspectSignal{
			signal("DeviceAdded", arg("device_path", "o")),
			signal("DeviceRemoved", arg("device_path", "o")),
			signal("StateChanged", arg("state", "u")),
		},
		Properties: propDecls(props),
	})
}

func (n *NM) getDevices() ([]dbus.ObjectPath, *dbus.Error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]dbus.ObjectPath{}, n.devOrder...), nil
}

func (n *NM) getDeviceByIface(iface string) (dbus.ObjectPath, *dbus.Error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.devOrder {
		if n.devices[p].iface == iface {
			return p, nil
		}
	}
	return "", dbusErr("UnknownDevice", "No device found for the requested iface.")
}

// activateConnection records the call and makes the profile the device's
// active connection. The fake runs no activation: the test scripts the
// states that follow (SetState, Replay).
func (n *NM) activateConnection(sender dbus.Sender, conn, dev, specific dbus.ObjectPath) (dbus.ObjectPath, *dbus.Error) {
	n.record(Call{Sender: string(sender), Path: ManagerPath, Interface: ManagerIface, Member: "ActivateConnection", Args: []any{conn, dev, specific}})
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.profiles[conn]; !ok {
		return "", dbusErr("Manager.UnknownConnection", "Connection '%s' is not available", conn)
	}
	if _, ok := n.devices[dev]; !ok {
		return "", dbusErr("Manager.UnknownDevice", "Device '%s' not found", dev)
	}
	ac, err := n.setActiveLocked(dev, conn)
	if err != nil {
		return "", dbus.MakeFailedError(err)
	}
	return ac, nil
}

func (n *NM) deactivateConnection(sender dbus.Sender, ac dbus.ObjectPath) *dbus.Error {
	n.record(Call{Sender: string(sender), Path: ManagerPath, Interface: ManagerIface, Member: "DeactivateConnection", Args: []any{ac}})
	n.mu.Lock()
	defer n.mu.Unlock()
	a, ok := n.actives[ac]
	if !ok {
		return dbusErr("Manager.ConnectionNotActive", "The connection was not active.")
	}
	if err := n.deactivateLocked(a.device); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

// syncManagerLocked publishes the device and active connection lists.
func (n *NM) syncManagerLocked() error {
	acs := make([]dbus.ObjectPath, 0, len(n.actives))
	for _, p := range n.devOrder {
		if a := n.devices[p].active; a != "/" {
			acs = append(acs, a)
		}
	}
	devs := append([]dbus.ObjectPath{}, n.devOrder...)
	return n.update(n.mgr, ManagerPath, ManagerIface, map[string]any{
		"Devices": devs, "AllDevices": devs, "ActiveConnections": acs,
	})
}

// exportSettings exports /org/freedesktop/NetworkManager/Settings.
func (n *NM) exportSettings() error {
	props := map[string]*prop.Prop{
		"Connections": ro([]dbus.ObjectPath{}),
		"Hostname":    ro(""),
		"CanModify":   ro(false),
	}
	p, err := prop.Export(n.conn, SettingsPath, prop.Map{SettingsIface: props})
	if err != nil {
		return fmt.Errorf("fake NM: export settings: %w", err)
	}
	n.settings = p
	methods := map[string]any{
		"ListConnections":     n.listConnections,
		"GetConnectionByUuid": n.connectionByUUID,
		"AddConnection": func(sender dbus.Sender, s map[string]map[string]dbus.Variant) (dbus.ObjectPath, *dbus.Error) {
			n.record(Call{Sender: string(sender), Path: SettingsPath, Interface: SettingsIface, Member: "AddConnection", Args: []any{s}})
			return "", dbusErr("Settings.NotSupported", "the fake NetworkManager takes profiles from its test only (fakenm.AddProfile)")
		},
	}
	if err := n.conn.ExportMethodTable(methods, SettingsPath, SettingsIface); err != nil {
		return fmt.Errorf("fake NM: export settings: %w", err)
	}
	return n.register(SettingsPath, ifaceDecl{
		Name: SettingsIface,
		Methods: []introspectMethod{
			method("ListConnections", out("connections", "ao")),
			method("GetConnectionByUuid", in("uuid", "s"), out("connection", "o")),
			method("AddConnection", in("connection", "a{sa{sv}}"), out("path", "o")),
		},
		Signals: []introspectSignal{
			signal("NewConnection", arg("connection", "o")),
			signal("ConnectionRemoved", arg("connection", "o")),
		},
		Properties: propDecls(props),
	})
}

func (n *NM) listConnections() ([]dbus.ObjectPath, *dbus.Error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	return append([]dbus.ObjectPath{}, n.profOrder...), nil
}

func (n *NM) connectionByUUID(uuid string) (dbus.ObjectPath, *dbus.Error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, p := range n.profOrder {
		if n.profiles[p].spec.UUID == uuid {
			return p, nil
		}
	}
	return "", dbusErr("Settings.InvalidConnection", "No connection with the UUID was found.")
}
