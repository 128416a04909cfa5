// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// NM device constants the fake uses.
const (
	deviceTypeWifi uint32 = 2 // NM_DEVICE_TYPE_WIFI

	// NMDeviceStateReason values NM sends for the transitions the fake
	// emulates (NetworkManager's nm-dbus-interface.h).
	ReasonNowManaged          uint32 = 2
	ReasonNowUnmanaged        uint32 = 3
	ReasonUserRequested       uint32 = 39
	ReasonSupplicantAvailable uint32 = 42
)

// WifiDevice describes a Wi-Fi device to add. Interface must name a real
// link the client under test sees (its netlink side looks the device up by
// name), and HwAddress should be the address that link has.
type WifiDevice struct {
	Interface string
	// Driver is the kernel driver NM reports ("" = "fakenm").
	Driver    string
	HwAddress string
	// PermHwAddress is Device.Wireless.PermHwAddress ("" when NM has none).
	PermHwAddress string
	// State is the initial device state, e.g. detect.StateUnmanaged (a card
	// the installed hotplug gate keeps unmanaged) or
	// detect.StateDisconnected (managed, idle).
	State       uint32
	Autoconnect bool
}

// device is one exported Wi-Fi device.
type device struct {
	path   dbus.ObjectPath
	iface  string
	state  uint32
	active dbus.ObjectPath // "/" when none
	props  *prop.Properties
}

// knownState reports whether st is an NMDeviceState.
func knownState(st uint32) bool {
	switch st {
	case detect.StateUnmanaged, detect.StateUnavailable, detect.StateDisconnected, detect.StatePrepare,
		detect.StateConfig, detect.StateNeedAuth, detect.StateIPConfig, detect.StateIPCheck,
		detect.StateSecondaries, detect.StateActivated, detect.StateDeactivating, detect.StateFailed:
		return true
	}
	return false
}

func normMAC(s string) (string, error) {
	hw, err := net.ParseMAC(s)
	if err != nil || len(hw) != 6 {
		return "", fmt.Errorf("address %q is not a 6-byte MAC", s)
	}
	return strings.ToUpper(hw.String()), nil // NM reports addresses in upper case
}

// AddWifiDevice exports a Wi-Fi device (Device and Device.Wireless) and
// announces it (DeviceAdded). It returns the device's object path.
func (n *NM) AddWifiDevice(w WifiDevice) (dbus.ObjectPath, error) {
	var errs []error
	if w.Interface == "" {
		errs = append(errs, errors.New("interface is empty"))
	}
	hw, err := normMAC(w.HwAddress)
	if err != nil {
		errs = append(errs, fmt.Errorf("hardware %w", err))
	}
	perm := ""
	if w.PermHwAddress != "" {
		if perm, err = normMAC(w.PermHwAddress); err != nil {
			errs = append(errs, fmt.Errorf("permanent %w", err))
		}
	}
	if !knownState(w.State) {
		errs = append(errs, fmt.Errorf("state %d is not a NetworkManager device state", w.State))
	}
	if err := errors.Join(errs...); err != nil {
		return "", fmt.Errorf("fake NM: add Wi-Fi device %q: %w", w.Interface, err)
	}
	if w.Driver == "" {
		w.Driver = "fakenm"
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, d := range n.devices {
		if d.iface == w.Interface {
			return "", fmt.Errorf("fake NM: add Wi-Fi device: %s exists", w.Interface)
		}
	}
	n.nextDev++
	path := dbus.ObjectPath(fmt.Sprintf("%s/Devices/%d", ManagerPath, n.nextDev))
	d := &device{path: path, iface: w.Interface, state: w.State, active: "/"}
	devProps := map[string]*prop.Prop{
		"Udi":                  ro("/sys/devices/virtual/net/" + w.Interface),
		"Path":                 ro(""),
		"Interface":            ro(w.Interface),
		"IpInterface":          ro(""),
		"Driver":               ro(w.Driver),
		"DriverVersion":        ro(""),
		"FirmwareVersion":      ro(""),
		"Capabilities":         ro(uint32(1)), // NM_DEVICE_CAP_NM_SUPPORTED
		"State":                ro(w.State),
		"StateReason":          ro(stateReason{w.State, 0}),
		"ActiveConnection":     ro(dbus.ObjectPath("/")),
		"Ip4Config":            ro(dbus.ObjectPath("/")),
		"Dhcp4Config":          ro(dbus.ObjectPath("/")),
		"Ip6Config":            ro(dbus.ObjectPath("/")),
		"Dhcp6Config":          ro(dbus.ObjectPath("/")),
		"Managed":              {Value: w.State != detect.StateUnmanaged, Writable: true, Emit: prop.EmitFalse, Callback: n.onSet(path, "Managed")},
		"Autoconnect":          {Value: w.Autoconnect, Writable: true, Emit: prop.EmitFalse, Callback: n.onSet(path, "Autoconnect")},
		"FirmwareMissing":      ro(false),
		"NmPluginMissing":      ro(false),
		"DeviceType":           ro(deviceTypeWifi),
		"AvailableConnections": ro(n.availableLocked(w.Interface)),
		"PhysicalPortId":       ro(""),
		"Mtu":                  ro(uint32(1500)),
		"Metered":              ro(uint32(0)),
		"Real":                 ro(true),
		"Ip4Connectivity":      ro(uint32(0)),
		"Ip6Connectivity":      ro(uint32(0)),
		"InterfaceFlags":       ro(uint32(0)),
		"HwAddress":            ro(hw),
		"Ports":                ro([]dbus.ObjectPath{}),
	}
	wifiProps := map[string]*prop.Prop{
		"HwAddress":            ro(hw),
		"PermHwAddress":        ro(perm),
		"Mode":                 ro(uint32(2)), // NM_802_11_MODE_INFRA
		"Bitrate":              ro(uint32(0)),
		"AccessPoints":         ro([]dbus.ObjectPath{}),
		"ActiveAccessPoint":    ro(dbus.ObjectPath("/")),
		"WirelessCapabilities": ro(uint32(0)),
		"LastScan":             ro(int64(-1)),
	}
	if d.props, err = prop.Export(n.conn, path, prop.Map{DeviceIface: devProps, WirelessIface: wifiProps}); err != nil {
		return "", fmt.Errorf("fake NM: export device: %w", err)
	}
	devMethods := map[string]any{
		"Disconnect": func(sender dbus.Sender) *dbus.Error { return n.disconnect(sender, path) },
		"Delete": func(sender dbus.Sender) *dbus.Error {
			n.record(Call{Sender: string(sender), Path: path, Interface: DeviceIface, Member: "Delete"})
			return dbusErr("Device.NotSoftware", "This device is not a software device")
		},
	}
	wifiMethods := map[string]any{
		"GetAccessPoints":    func() ([]dbus.ObjectPath, *dbus.Error) { return []dbus.ObjectPath{}, nil },
		"GetAllAccessPoints": func() ([]dbus.ObjectPath, *dbus.Error) { return []dbus.ObjectPath{}, nil },
		"RequestScan": func(sender dbus.Sender, opts map[string]dbus.Variant) *dbus.Error {
			n.record(Call{Sender: string(sender), Path: path, Interface: WirelessIface, Member: "RequestScan", Args: []any{opts}})
			return nil
		},
	}
	if err := n.conn.ExportMethodTable(devMethods, path, DeviceIface); err != nil {
		return "", fmt.Errorf("fake NM: export device: %w", err)
	}
	if err := n.conn.ExportMethodTable(wifiMethods, path, WirelessIface); err != nil {
		return "", fmt.Errorf("fake NM: export device: %w", err)
	}
	err = n.register(path,
		ifaceDecl{
			Name:       DeviceIface,
			Methods:    []introspectMethod{method("Disconnect"), method("Delete")},
			Signals:    []introspectSignal{signal("StateChanged", arg("new_state", "u"), arg("old_state", "u"), arg("reason", "u"))},
			Properties: propDecls(devProps),
		},
		ifaceDecl{
			Name: WirelessIface,
			Methods: []introspectMethod{
				method("GetAccessPoints", out("access_points", "ao")),
				method("GetAllAccessPoints", out("access_points", "ao")),
				method("RequestScan", in("options", "a{sv}")),
			},
			Signals:    []introspectSignal{signal("AccessPointAdded", arg("access_point", "o")), signal("AccessPointRemoved", arg("access_point", "o"))},
			Properties: propDecls(wifiProps),
		})
	if err != nil {
		return "", fmt.Errorf("fake NM: export device: %w", err)
	}
	n.devices[path] = d
	n.devOrder = append(n.devOrder, path)
	if err := n.syncManagerLocked(); err != nil {
		return "", err
	}
	if err := n.emit(ManagerPath, ManagerIface+".DeviceAdded", path); err != nil {
		return "", err
	}
	return path, nil
}

// stateReason is Device.StateReason, (uu).
type stateReason struct {
	State  uint32
	Reason uint32
}

// RemoveDevice removes a device (deactivating it first) and announces it
// (DeviceRemoved), as NM does when the card is unplugged.
func (n *NM) RemoveDevice(path dbus.ObjectPath) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, ok := n.devices[path]
	if !ok {
		return fmt.Errorf("fake NM: remove device: no device %s", path)
	}
	if d.active != "/" {
		if err := n.removeActiveLocked(d); err != nil {
			return err
		}
	}
	delete(n.devices, path)
	for i, p := range n.devOrder {
		if p == path {
			n.devOrder = append(n.devOrder[:i], n.devOrder[i+1:]...)
			break
		}
	}
	n.unregister(path, DeviceIface, WirelessIface)
	if err := n.syncManagerLocked(); err != nil {
		return err
	}
	return n.emit(ManagerPath, ManagerIface+".DeviceRemoved", path)
}

func (n *NM) deviceLocked(path dbus.ObjectPath) (*device, error) {
	d, ok := n.devices[path]
	if !ok {
		return nil, fmt.Errorf("fake NM: no device %s", path)
	}
	return d, nil
}

// State returns the device's current state.
func (n *NM) State(path dbus.ObjectPath) (uint32, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, err := n.deviceLocked(path)
	if err != nil {
		return 0, err
	}
	return d.state, nil
}

// Autoconnect returns the device's Autoconnect property.
func (n *NM) Autoconnect(path dbus.ObjectPath) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, err := n.deviceLocked(path)
	if err != nil {
		return false, err
	}
	v, _ := d.props.GetMust(DeviceIface, "Autoconnect").(bool)
	return v, nil
}

// SetState moves the device to state nw with reason: the properties change,
// then StateChanged(nw, old, reason) and PropertiesChanged go out, as NM
// sends them. Entering PREPARE runs stage 1 (see Kernel); entering
// DISCONNECTED, UNAVAILABLE or UNMANAGED drops the active connection.
func (n *NM) SetState(path dbus.ObjectPath, nw, reason uint32) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, err := n.deviceLocked(path)
	if err != nil {
		return err
	}
	return n.setStateLocked(d, nw, reason)
}

// SetStateFrom is SetState only when the device is in state from; it
// reports whether it changed the state (a client may have moved it, e.g.
// with Disconnect).
func (n *NM) SetStateFrom(path dbus.ObjectPath, from, nw, reason uint32) (bool, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, err := n.deviceLocked(path)
	if err != nil {
		return false, err
	}
	if d.state != from {
		return false, nil
	}
	return true, n.setStateLocked(d, nw, reason)
}

func (n *NM) setStateLocked(d *device, nw, reason uint32) error {
	if !knownState(nw) {
		return fmt.Errorf("fake NM: %s: state %d is not a NetworkManager device state", d.iface, nw)
	}
	old := d.state
	if nw == old {
		return fmt.Errorf("fake NM: %s: already in state %d (NM never announces a change to the same state)", d.iface, nw)
	}
	d.state = nw
	kv := map[string]any{"State": nw, "StateReason": stateReason{nw, reason}}
	if (old == detect.StateUnmanaged) != (nw == detect.StateUnmanaged) {
		kv["Managed"] = nw != detect.StateUnmanaged
	}
	for k, v := range kv {
		d.props.SetMust(DeviceIface, k, v)
	}
	if err := n.emit(d.path, DeviceIface+".StateChanged", nw, old, reason); err != nil {
		return err
	}
	if err := n.update(d.props, d.path, DeviceIface, kv); err != nil {
		return err
	}
	if a, ok := n.actives[d.active]; ok {
		if err := n.setActiveStateLocked(a, acStateFor(nw)); err != nil {
			return err
		}
	}
	switch nw {
	case detect.StatePrepare:
		return n.stage1Locked(d)
	case detect.StateDisconnected, detect.StateUnavailable, detect.StateUnmanaged:
		if d.active != "/" {
			return n.removeActiveLocked(d)
		}
	}
	return nil
}

// stage1Locked does what NM does to the link in stage 1 of an activation:
// bring it up and set the profile's explicit assigned-mac-address (after
// PREPARE was announced). Only with a Kernel.
func (n *NM) stage1Locked(d *device) error {
	k := n.opts.Kernel
	if k == nil {
		return nil
	}
	if err := k.SetUp(d.iface); err != nil {
		return fmt.Errorf("fake NM: stage 1 of %s: link up: %w", d.iface, err)
	}
	a, ok := n.actives[d.active]
	if !ok {
		return nil
	}
	mac := n.profiles[a.profile].spec.explicitMAC()
	if mac == "" {
		return nil
	}
	if err := k.SetAddress(d.iface, mac); err != nil {
		return fmt.Errorf("fake NM: stage 1 of %s: set assigned-mac-address %s: %w", d.iface, mac, err)
	}
	return n.setHwAddressLocked(d, mac)
}

// SetHwAddress changes the device's current address as NM reports it
// (Device and Device.Wireless HwAddress, with PropertiesChanged), e.g.
// after the client changed the link's address and NM noticed.
func (n *NM) SetHwAddress(path dbus.ObjectPath, mac string) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, err := n.deviceLocked(path)
	if err != nil {
		return err
	}
	return n.setHwAddressLocked(d, mac)
}

func (n *NM) setHwAddressLocked(d *device, mac string) error {
	hw, err := normMAC(mac)
	if err != nil {
		return fmt.Errorf("fake NM: set address of %s: %w", d.iface, err)
	}
	if err := n.update(d.props, d.path, DeviceIface, map[string]any{"HwAddress": hw}); err != nil {
		return err
	}
	return n.update(d.props, d.path, WirelessIface, map[string]any{"HwAddress": hw})
}

// onSet records a client's Set of a writable device property and emulates
// NM's reaction after the value is stored. It runs under the property
// store's lock, so the reaction runs on its own goroutine.
func (n *NM) onSet(path dbus.ObjectPath, name string) func(*prop.Change) *dbus.Error {
	return func(c *prop.Change) *dbus.Error {
		on, ok := c.Value.(bool)
		if !ok {
			return prop.ErrInvalidArg
		}
		n.record(Call{Path: path, Interface: PropertiesIface, Member: "Set", Args: []any{DeviceIface, name, on}})
		go n.afterSet(path, name, on)
		return nil
	}
}

// afterSet announces a Set property and, for Managed, moves the device as
// NM does: an UNMANAGED device that becomes managed goes UNAVAILABLE
// (NOW_MANAGED) then, the supplicant being there, DISCONNECTED
// (SUPPLICANT_AVAILABLE); a managed device that becomes unmanaged goes
// UNMANAGED (NOW_UNMANAGED).
func (n *NM) afterSet(path dbus.ObjectPath, name string, on bool) {
	n.mu.Lock()
	defer n.mu.Unlock()
	d, ok := n.devices[path]
	if n.closed || !ok {
		return
	}
	err := n.update(d.props, path, DeviceIface, map[string]any{name: on})
	if err == nil && name == "Managed" {
		switch {
		case on && d.state == detect.StateUnmanaged:
			err = n.setStateLocked(d, detect.StateUnavailable, ReasonNowManaged)
			if err == nil {
				err = n.setStateLocked(d, detect.StateDisconnected, ReasonSupplicantAvailable)
			}
		case !on && d.state != detect.StateUnmanaged:
			err = n.setStateLocked(d, detect.StateUnmanaged, ReasonNowUnmanaged)
		}
	}
	if err != nil {
		n.asyncFailed(fmt.Errorf("after Set %s=%t on %s: %w", name, on, d.iface, err))
	}
}

// disconnect is Device.Disconnect: NotActive on an idle device, else
// DEACTIVATING then DISCONNECTED with reason USER_REQUESTED, and
// autoconnect blocked on the device (its Autoconnect property false) until
// the user activates it again, as NM does.
func (n *NM) disconnect(sender dbus.Sender, path dbus.ObjectPath) *dbus.Error {
	n.record(Call{Sender: string(sender), Path: path, Interface: DeviceIface, Member: "Disconnect"})
	n.mu.Lock()
	defer n.mu.Unlock()
	d, ok := n.devices[path]
	if !ok {
		return dbusErr("Device.NotActive", "This device is not active")
	}
	if d.state <= detect.StateDisconnected {
		return dbusErr("Device.NotActive", "This device is not active")
	}
	if err := n.deactivateLocked(path); err != nil {
		return dbus.MakeFailedError(err)
	}
	if err := n.update(d.props, path, DeviceIface, map[string]any{"Autoconnect": false}); err != nil {
		return dbus.MakeFailedError(err)
	}
	return nil
}

// deactivateLocked takes an active device down (DEACTIVATING, DISCONNECTED,
// reason USER_REQUESTED), or drops the active connection of an idle one.
func (n *NM) deactivateLocked(path dbus.ObjectPath) error {
	d, err := n.deviceLocked(path)
	if err != nil {
		return err
	}
	if d.state <= detect.StateDisconnected {
		if d.active != "/" {
			return n.removeActiveLocked(d)
		}
		return nil
	}
	if d.state != detect.StateDeactivating {
		if err := n.setStateLocked(d, detect.StateDeactivating, ReasonUserRequested); err != nil {
			return err
		}
	}
	return n.setStateLocked(d, detect.StateDisconnected, ReasonUserRequested)
}

// asyncFailed keeps the first error of work done off the caller's
// goroutine; Err returns it.
func (n *NM) asyncFailed(err error) {
	n.rec.mu.Lock()
	defer n.rec.mu.Unlock()
	if n.rec.asyncErr == nil {
		n.rec.asyncErr = fmt.Errorf("fake NM: %w", err)
	}
}

// Err returns the first error the fake met while reacting to a client on
// its own (e.g. the state changes after a Managed Set), or nil.
func (n *NM) Err() error {
	n.rec.mu.Lock()
	defer n.rec.mu.Unlock()
	return n.rec.asyncErr
}
