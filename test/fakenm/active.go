// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"fmt"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// NMActiveConnectionState values.
const (
	acActivating   uint32 = 1
	acActivated    uint32 = 2
	acDeactivating uint32 = 3
	acDeactivated  uint32 = 4
)

// acStateFor is the active connection's state while its device is in st.
func acStateFor(st uint32) uint32 {
	switch {
	case st >= detect.StatePrepare && st < detect.StateActivated:
		return acActivating
	case st == detect.StateActivated:
		return acActivated
	case st == detect.StateDeactivating:
		return acDeactivating
	}
	return acDeactivated
}

// active is one exported active connection.
type active struct {
	path    dbus.ObjectPath
	device  dbus.ObjectPath
	profile dbus.ObjectPath
	state   uint32
	props   *prop.Properties
}

// SetActiveConnection makes profile the device's active connection (a new
// Connection.Active object, as NM creates one per activation) and returns
// its path. A previous one of the device is dropped. NM does this when an
// activation is queued, before the device leaves DISCONNECTED.
func (n *NM) SetActiveConnection(dev, profile dbus.ObjectPath) (dbus.ObjectPath, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.profiles[profile]; !ok {
		return "", fmt.Errorf("fake NM: set active connection: no profile %s", profile)
	}
	return n.setActiveLocked(dev, profile)
}

// ClearActiveConnection drops the device's active connection, if any,
// without a state change.
func (n *NM) ClearActiveConnection(dev dbus.ObjectPath) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, err := n.deviceLocked(dev)
	if err != nil {
		return err
	}
	if d.active == "/" {
		return nil
	}
	return n.removeActiveLocked(d)
}

// ActiveProfile returns the profile path of the device's active
// connection, "/" when none.
func (n *NM) ActiveProfile(dev dbus.ObjectPath) (dbus.ObjectPath, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, err := n.deviceLocked(dev)
	if err != nil {
		return "", err
	}
	if a, ok := n.actives[d.active]; ok {
		return a.profile, nil
	}
	return "/", nil
}

func (n *NM) setActiveLocked(dev, profile dbus.ObjectPath) (dbus.ObjectPath, error) {
	d, err := n.deviceLocked(dev)
	if err != nil {
		return "", err
	}
	if d.active != "/" {
		if err := n.removeActiveLocked(d); err != nil {
			return "", err
		}
	}
	spec := n.profiles[profile].spec
	n.nextAC++
	path := dbus.ObjectPath(fmt.Sprintf("%s/ActiveConnection/%d", ManagerPath, n.nextAC))
	a := &active{path: path, device: dev, profile: profile, state: acActivating}
	props := map[string]*prop.Prop{
		"Connection":     ro(profile),
		"SpecificObject": ro(dbus.ObjectPath("/")),
		"Id":             ro(spec.ID),
		"Uuid":           ro(spec.UUID),
		"Type":           ro("802-11-wireless"),
		"Devices":        ro([]dbus.ObjectPath{dev}),
		"State":          ro(acActivating),
		"StateFlags":     ro(uint32(0)),
		"Default":        ro(false),
		"Default6":       ro(false),
		"Ip4Config":      ro(dbus.ObjectPath("/")),
		"Dhcp4Config":    ro(dbus.ObjectPath("/")),
		"Ip6Config":      ro(dbus.ObjectPath("/")),
		"Dhcp6Config":    ro(dbus.ObjectPath("/")),
		"Vpn":            ro(false),
		"Master":         ro(dbus.ObjectPath("/")),
	}
	if a.props, err = prop.Export(n.conn, path, prop.Map{ActiveIface: props}); err != nil {
		return "", fmt.Errorf("fake NM: export active connection: %w", err)
	}
	err = n.register(path, ifaceDecl{
		Name:       ActiveIface,
		Signals:    []introspectSignal{signal("StateChanged", arg("state", "u"), arg("reason", "u"))},
		Properties: propDecls(props),
	})
	if err != nil {
		return "", fmt.Errorf("fake NM: export active connection: %w", err)
	}
	n.actives[path] = a
	d.active = path
	if err := n.update(d.props, dev, DeviceIface, map[string]any{"ActiveConnection": path}); err != nil {
		return "", err
	}
	if err := n.syncManagerLocked(); err != nil {
		return "", err
	}
	return path, nil
}

// setActiveStateLocked moves an active connection to st (if it changes).
func (n *NM) setActiveStateLocked(a *active, st uint32) error {
	if a.state == st {
		return nil
	}
	a.state = st
	a.props.SetMust(ActiveIface, "State", st)
	if err := n.emit(a.path, ActiveIface+".StateChanged", st, uint32(0)); err != nil {
		return err
	}
	return n.update(a.props, a.path, ActiveIface, map[string]any{"State": st})
}

// removeActiveLocked deactivates and removes the device's active connection.
func (n *NM) removeActiveLocked(d *device) error {
	a, ok := n.actives[d.active]
	if !ok {
		d.active = "/"
		return nil
	}
	if err := n.setActiveStateLocked(a, acDeactivated); err != nil {
		return err
	}
	delete(n.actives, a.path)
	n.unregister(a.path, ActiveIface)
	d.active = "/"
	if err := n.update(d.props, d.path, DeviceIface, map[string]any{"ActiveConnection": dbus.ObjectPath("/")}); err != nil {
		return err
	}
	return n.syncManagerLocked()
}
