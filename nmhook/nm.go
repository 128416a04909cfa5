// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	gonm "github.com/Wifx/gonetworkmanager/v2"
	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// NetworkManager's D-Bus names.
const (
	nmBusName        = "org.freedesktop.NetworkManager"
	nmObjectPath     = dbus.ObjectPath("/org/freedesktop/NetworkManager")
	nmDeviceIface    = nmBusName + ".Device"
	nmACIface        = nmBusName + ".Connection.Active"
	nmSettingsIface  = nmBusName + ".Settings.Connection"
	nmWiredIface     = nmBusName + ".Device.Wired"
	nmWirelessIface  = nmBusName + ".Device.Wireless"
	propertiesIface  = "org.freedesktop.DBus.Properties"
	nmCallTimeout    = 5 * time.Second
	dbusBusName      = "org.freedesktop.DBus"
	nameOwnerChanged = "NameOwnerChanged"
)

// NMDevice is a snapshot of one NetworkManager device, read over D-Bus.
type NMDevice struct {
	Path                 dbus.ObjectPath
	Interface            string
	Type                 string // NM's type name: "ethernet", "wifi", "veth", ...
	Driver               string
	State                uint32
	HwAddress            string
	PermHwAddress        string // "" when NM has none (only Wired and Wireless have it)
	Autoconnect          bool
	ActiveConnection     dbus.ObjectPath // "/" when none
	AvailableConnections []dbus.ObjectPath
}

// NMProfile is what matters to the gate of one NM connection profile.
type NMProfile struct {
	Path        dbus.ObjectPath
	UUID        string
	ID          string
	SSID        string
	Autoconnect bool
	// InterfaceName binds the profile to one device ("" any device).
	InterfaceName string
	// Type is connection.type: "802-3-ethernet", "802-11-wireless", ...
	Type string
	// AutoconnectPriority and Timestamp (last successful activation, Unix
	// seconds, 0 never) order autoconnect candidates as NM does.
	AutoconnectPriority int32
	Timestamp           uint64
	// ClonedMAC is what the profile asks NM to set: "" (NM's default,
	// preserve), "preserve", "permanent", "random", "stable", "stable-ssid"
	// or an explicit address.
	ClonedMAC string
	// KeyMgmt is 802-11-wireless-security.key-mgmt ("" when the profile has
	// no such setting: an open network). See OpenWiFi.
	KeyMgmt string
}

// Network is the detect.Connection this profile identifies.
func (p NMProfile) Network() detect.Connection {
	return detect.Connection{UUID: p.UUID, ID: p.ID, SSID: p.SSID}
}

// nmClient reads and drives NetworkManager over one bus connection.
type nmClient struct {
	conn *dbus.Conn
}

func (c nmClient) call(ctx context.Context, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(ctx, nmCallTimeout)
	defer cancel()
	return c.conn.Object(nmBusName, path).CallWithContext(ctx, method, 0, args...)
}

// getAll returns every property of iface on path.
func (c nmClient) getAll(ctx context.Context, path dbus.ObjectPath, iface string) (map[string]dbus.Variant, error) {
	var props map[string]dbus.Variant
	if err := c.call(ctx, path, propertiesIface+".GetAll", iface).Store(&props); err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", iface, path, err)
	}
	return props, nil
}

// Running reports whether NetworkManager owns its bus name.
func (c nmClient) Running(ctx context.Context) bool {
	return c.Owner(ctx) != ""
}

// Owner is NetworkManager's unique bus name ("" when it is not on the bus).
func (c nmClient) Owner(ctx context.Context) string { return c.ownerOf(ctx, nmBusName) }

// ownerOf is the unique name owning name, "" when none.
func (c nmClient) ownerOf(ctx context.Context, name string) string {
	var owner string
	if err := c.conn.BusObject().CallWithContext(ctx, dbusBusName+".GetNameOwner", 0, name).Store(&owner); err != nil {
		return ""
	}
	return owner
}

// listed reports whether path is among the object paths method (on
// NetworkManager's object at obj) returns: whether NM still has it.
func (c nmClient) listed(ctx context.Context, obj dbus.ObjectPath, method string, path dbus.ObjectPath) (bool, error) {
	var paths []dbus.ObjectPath
	if err := c.call(ctx, obj, method).Store(&paths); err != nil {
		return false, err
	}
	return slices.Contains(paths, path), nil
}

// HasProfile reports whether NetworkManager still has the profile at path.
func (c nmClient) HasProfile(ctx context.Context, path dbus.ObjectPath) (bool, error) {
	return c.listed(ctx, nmSettingsPath, nmBusName+".Settings.ListConnections", path)
}

// HasDevice reports whether NetworkManager still has the device at path.
func (c nmClient) HasDevice(ctx context.Context, path dbus.ObjectPath) (bool, error) {
	return c.listed(ctx, nmObjectPath, nmBusName+".GetAllDevices", path)
}

// Version is NetworkManager's version string.
func (c nmClient) Version(ctx context.Context) (string, error) {
	var v dbus.Variant
	if err := c.call(ctx, nmObjectPath, propertiesIface+".Get", nmBusName, "Version").Store(&v); err != nil {
		return "", fmt.Errorf("read NetworkManager version: %w", err)
	}
	s, _ := v.Value().(string)
	return s, nil
}

// Devices lists every device NetworkManager knows.
func (c nmClient) Devices(ctx context.Context) ([]NMDevice, error) {
	var paths []dbus.ObjectPath
	if err := c.call(ctx, nmObjectPath, nmBusName+".GetAllDevices").Store(&paths); err != nil {
		return nil, fmt.Errorf("list NetworkManager devices: %w", err)
	}
	devs := make([]NMDevice, 0, len(paths))
	for _, p := range paths {
		d, err := c.Device(ctx, p)
		if err != nil {
			// A device removed between the list and the read is not an error.
			var de dbus.Error
			if errors.As(err, &de) && strings.HasSuffix(de.Name, "UnknownMethod") || strings.Contains(err.Error(), "UnknownObject") {
				continue
			}
			return nil, err
		}
		devs = append(devs, d)
	}
	return devs, nil
}

// Device reads one device's snapshot.
func (c nmClient) Device(ctx context.Context, path dbus.ObjectPath) (NMDevice, error) {
	props, err := c.getAll(ctx, path, nmDeviceIface)
	if err != nil {
		return NMDevice{}, err
	}
	var hw map[string]dbus.Variant
	if iface := permHwIface(props); iface != "" {
		hw = c.permHwProps(ctx, path, iface)
	}
	return deviceFromProps(path, props, hw), nil
}

// permHwIface is the interface that carries the device's PermHwAddress
// (Device.Wired or Device.Wireless), "" when its type has none.
func permHwIface(deviceProps map[string]dbus.Variant) string {
	t, _ := deviceProps["DeviceType"].Value().(uint32)
	switch gonm.NmDeviceType(t) {
	case gonm.NmDeviceTypeEthernet, gonm.NmDeviceTypeVeth:
		return nmWiredIface
	case gonm.NmDeviceTypeWifi:
		return nmWirelessIface
	}
	return ""
}

// deviceFromProps builds a device's snapshot from its Device properties and
// the properties of its permHwIface interface (nil: none, or unreadable);
// values of unexpected types are treated as absent.
func deviceFromProps(path dbus.ObjectPath, props, wiredOrWireless map[string]dbus.Variant) NMDevice {
	d := NMDevice{Path: path}
	d.Interface, _ = props["Interface"].Value().(string)
	d.Driver, _ = props["Driver"].Value().(string)
	d.State, _ = props["State"].Value().(uint32)
	d.HwAddress, _ = props["HwAddress"].Value().(string)
	d.Autoconnect, _ = props["Autoconnect"].Value().(bool)
	d.ActiveConnection, _ = props["ActiveConnection"].Value().(dbus.ObjectPath)
	d.AvailableConnections, _ = props["AvailableConnections"].Value().([]dbus.ObjectPath)
	t, _ := props["DeviceType"].Value().(uint32)
	d.Type = deviceTypeName(gonm.NmDeviceType(t))
	if permHwIface(props) != "" {
		perm, _ := wiredOrWireless["PermHwAddress"].Value().(string)
		d.PermHwAddress = strings.ToLower(perm)
	}
	return d
}

// permHwProps reads the PermHwAddress property of iface alone (nil when it
// cannot be read).
func (c nmClient) permHwProps(ctx context.Context, path dbus.ObjectPath, iface string) map[string]dbus.Variant {
	var v dbus.Variant
	if err := c.call(ctx, path, propertiesIface+".Get", iface, "PermHwAddress").Store(&v); err != nil {
		return nil
	}
	return map[string]dbus.Variant{"PermHwAddress": v}
}

// deviceTypeName turns NM's numeric device type into the name nmcli shows.
func deviceTypeName(t gonm.NmDeviceType) string {
	s := t.String()
	if !strings.HasPrefix(s, "NmDeviceType") {
		return fmt.Sprintf("type-%d", uint32(t))
	}
	return strings.ToLower(strings.TrimPrefix(s, "NmDeviceType"))
}

// Profile reads one connection profile's settings.
func (c nmClient) Profile(ctx context.Context, path dbus.ObjectPath) (NMProfile, error) {
	var settings map[string]map[string]dbus.Variant
	if err := c.call(ctx, path, nmSettingsIface+".GetSettings").Store(&settings); err != nil {
		return NMProfile{}, fmt.Errorf("read profile %s: %w", path, err)
	}
	return profileFromSettings(path, settings), nil
}

// profileFromSettings extracts what the gate needs from a GetSettings
// answer; values of unexpected types are treated as absent.
func profileFromSettings(path dbus.ObjectPath, s map[string]map[string]dbus.Variant) NMProfile {
	p := NMProfile{Path: path, Autoconnect: true}
	con := s["connection"]
	p.UUID, _ = con["uuid"].Value().(string)
	p.ID, _ = con["id"].Value().(string)
	p.InterfaceName, _ = con["interface-name"].Value().(string)
	p.Type, _ = con["type"].Value().(string)
	if v, ok := con["autoconnect"].Value().(bool); ok {
		p.Autoconnect = v
	}
	p.AutoconnectPriority, _ = con["autoconnect-priority"].Value().(int32)
	p.Timestamp, _ = con["timestamp"].Value().(uint64)
	p.KeyMgmt, _ = s["802-11-wireless-security"]["key-mgmt"].Value().(string)
	for _, sect := range []string{"802-3-ethernet", "802-11-wireless"} {
		set, ok := s[sect]
		if !ok {
			continue
		}
		if sect == "802-11-wireless" {
			if b, ok := set["ssid"].Value().([]byte); ok {
				p.SSID = string(b)
			}
		}
		if v, ok := set["assigned-mac-address"].Value().(string); ok && v != "" {
			p.ClonedMAC = strings.ToLower(v)
		} else if b, ok := set["cloned-mac-address"].Value().([]byte); ok && len(b) == 6 {
			p.ClonedMAC = fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
		}
	}
	return p
}

// ActiveProfile returns the profile behind an active connection.
func (c nmClient) ActiveProfile(ctx context.Context, ac dbus.ObjectPath) (NMProfile, error) {
	if ac == "" || ac == "/" {
		return NMProfile{}, errors.New("no active connection")
	}
	props, err := c.getAll(ctx, ac, nmACIface)
	if err != nil {
		return NMProfile{}, err
	}
	// A device's ActiveConnection can still name the previous, dying one
	// right after a new activation starts: only an activating or activated
	// one (NMActiveConnectionState 1, 2) says what the device is joining.
	if st, _ := props["State"].Value().(uint32); st != 1 && st != 2 {
		return NMProfile{}, fmt.Errorf("active connection %s is in state %d, not activating", ac, st)
	}
	path, ok := props["Connection"].Value().(dbus.ObjectPath)
	if !ok {
		return NMProfile{}, fmt.Errorf("active connection %s: Connection has type %s", ac, props["Connection"].Signature())
	}
	return c.Profile(ctx, path)
}

// ProfileOfActive returns the profile path behind an active connection,
// whatever its state.
func (c nmClient) ProfileOfActive(ctx context.Context, ac dbus.ObjectPath) (dbus.ObjectPath, error) {
	if ac == "" || ac == "/" {
		return "", errors.New("no active connection")
	}
	var v dbus.Variant
	if err := c.call(ctx, ac, propertiesIface+".Get", nmACIface, "Connection").Store(&v); err != nil {
		return "", fmt.Errorf("read the profile of %s: %w", ac, err)
	}
	path, ok := v.Value().(dbus.ObjectPath)
	if !ok {
		return "", fmt.Errorf("active connection %s: Connection has type %s", ac, v.Signature())
	}
	return path, nil
}

// Disconnect asks NM to disconnect a device (it also stops autoconnect on it
// until the user activates it again).
func (c nmClient) Disconnect(ctx context.Context, dev dbus.ObjectPath) error {
	if err := c.call(ctx, dev, nmDeviceIface+".Disconnect").Err; err != nil {
		return fmt.Errorf("disconnect %s: %w", dev, err)
	}
	return nil
}

// SetAutoconnect sets the device's Autoconnect property.
func (c nmClient) SetAutoconnect(ctx context.Context, dev dbus.ObjectPath, on bool) error {
	if err := c.call(ctx, dev, propertiesIface+".Set", nmDeviceIface, "Autoconnect", dbus.MakeVariant(on)).Err; err != nil {
		return fmt.Errorf("set autoconnect=%t on %s: %w", on, dev, err)
	}
	return nil
}

// Activate activates a profile on a device.
func (c nmClient) Activate(ctx context.Context, profile, dev dbus.ObjectPath) error {
	var ac dbus.ObjectPath
	if err := c.call(ctx, nmObjectPath, nmBusName+".ActivateConnection", profile, dev, dbus.ObjectPath("/")).Store(&ac); err != nil {
		return fmt.Errorf("activate %s on %s: %w", profile, dev, err)
	}
	return nil
}

// AppliesTo reports whether NM could activate the profile on a device of
// this interface name and NM type. Unknown types are taken to apply (the
// gate errs on the side of checking).
func (p NMProfile) AppliesTo(iface, devType string) bool {
	if p.InterfaceName != "" && p.InterfaceName != iface {
		return false
	}
	switch p.Type {
	case "802-3-ethernet":
		return devType == "" || devType == "ethernet" || devType == "veth" || devType == "macvlan"
	case "802-11-wireless":
		return devType == "" || devType == "wifi"
	case "":
		return true
	}
	return false
}

// Profiles lists every connection profile.
func (c nmClient) Profiles(ctx context.Context) ([]NMProfile, error) {
	var paths []dbus.ObjectPath
	if err := c.call(ctx, nmSettingsPath, nmBusName+".Settings.ListConnections").Store(&paths); err != nil {
		return nil, fmt.Errorf("list profiles: %w", err)
	}
	out := make([]NMProfile, 0, len(paths))
	for _, path := range paths {
		p, err := c.Profile(ctx, path)
		if err != nil {
			continue // removed meanwhile
		}
		out = append(out, p)
	}
	return out, nil
}

// SetManaged hands a device to NetworkManager (or takes it back).
func (c nmClient) SetManaged(ctx context.Context, dev dbus.ObjectPath, on bool) error {
	if err := c.call(ctx, dev, propertiesIface+".Set", nmDeviceIface, "Managed", dbus.MakeVariant(on)).Err; err != nil {
		return fmt.Errorf("set managed=%t on %s: %w", on, dev, err)
	}
	return nil
}

// ActiveConnectionOf reads a device's ActiveConnection ("/" for none): one
// property, not the device's every one.
func (c nmClient) ActiveConnectionOf(ctx context.Context, dev dbus.ObjectPath) (dbus.ObjectPath, error) {
	var v dbus.Variant
	if err := c.call(ctx, dev, propertiesIface+".Get", nmDeviceIface, "ActiveConnection").Store(&v); err != nil {
		return "", fmt.Errorf("read active connection of %s: %w", dev, err)
	}
	ac, ok := v.Value().(dbus.ObjectPath)
	if !ok {
		return "", fmt.Errorf("active connection of %s has type %s", dev, v.Signature())
	}
	return ac, nil
}

// DeviceState reads a device's current State property.
func (c nmClient) DeviceState(ctx context.Context, dev dbus.ObjectPath) (uint32, error) {
	var v dbus.Variant
	if err := c.call(ctx, dev, propertiesIface+".Get", nmDeviceIface, "State").Store(&v); err != nil {
		return 0, fmt.Errorf("read state of %s: %w", dev, err)
	}
	st, ok := v.Value().(uint32)
	if !ok {
		return 0, fmt.Errorf("state of %s has type %s", dev, v.Signature())
	}
	return st, nil
}
