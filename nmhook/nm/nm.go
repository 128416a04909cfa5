// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"sync"
	"time"
	"unicode"

	gonm "github.com/Wifx/gonetworkmanager/v2"
	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/profile"
)

// NetworkManager's D-Bus names.
const (
	BusName          = "org.freedesktop.NetworkManager"
	Path             = dbus.ObjectPath("/org/freedesktop/NetworkManager")
	DeviceIface      = BusName + ".Device"
	ActiveIface      = BusName + ".Connection.Active"
	SettingsIface    = BusName + ".Settings.Connection"
	WiredIface       = BusName + ".Device.Wired"
	WirelessIface    = BusName + ".Device.Wireless"
	PropertiesIface  = "org.freedesktop.DBus.Properties"
	CallTimeout      = 5 * time.Second
	DBusName         = "org.freedesktop.DBus"
	NameOwnerChanged = "NameOwnerChanged"

	// NetworkManager's settings object.
	SettingsPath     = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings")
	SettingsMgrIface = BusName + ".Settings"
)

// Device is a snapshot of one NetworkManager device, read over D-Bus.
type Device struct {
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

// Profile is what matters to the gate of one NM connection profile: the
// pure type of package profile, so the gate reads it without linking D-Bus.
type Profile = profile.Profile

// Client reads and drives NetworkManager over one bus connection.
type Client struct {
	Conn *dbus.Conn
}

// Call calls method on NetworkManager's object path, bounded by CallTimeout.
func (c Client) Call(ctx context.Context, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	ctx, cancel := context.WithTimeout(ctx, CallTimeout)
	defer cancel()
	return c.Conn.Object(BusName, path).CallWithContext(ctx, method, 0, args...)
}

// getAll returns every property of iface on path.
func (c Client) getAll(ctx context.Context, path dbus.ObjectPath, iface string) (map[string]dbus.Variant, error) {
	var props map[string]dbus.Variant
	if err := c.Call(ctx, path, PropertiesIface+".GetAll", iface).Store(&props); err != nil {
		return nil, fmt.Errorf("read %s of %s: %w", iface, path, err)
	}
	return props, nil
}

// Running reports whether NetworkManager owns its bus name.
func (c Client) Running(ctx context.Context) bool {
	return c.Owner(ctx) != ""
}

// Owner is NetworkManager's unique bus name ("" when it is not on the bus).
func (c Client) Owner(ctx context.Context) string { return c.OwnerOf(ctx, BusName) }

// OwnerOf is the unique name owning name, "" when none.
func (c Client) OwnerOf(ctx context.Context, name string) string {
	var owner string
	if err := c.Conn.BusObject().CallWithContext(ctx, DBusName+".GetNameOwner", 0, name).Store(&owner); err != nil {
		return ""
	}
	return owner
}

// listed reports whether path is among the object paths method (on
// NetworkManager's object at obj) returns: whether NM still has it.
func (c Client) listed(ctx context.Context, obj dbus.ObjectPath, method string, path dbus.ObjectPath) (bool, error) {
	var paths []dbus.ObjectPath
	if err := c.Call(ctx, obj, method).Store(&paths); err != nil {
		return false, err
	}
	return slices.Contains(paths, path), nil
}

// HasProfile reports whether NetworkManager still has the profile at path.
func (c Client) HasProfile(ctx context.Context, path dbus.ObjectPath) (bool, error) {
	return c.listed(ctx, SettingsPath, BusName+".Settings.ListConnections", path)
}

// HasDevice reports whether NetworkManager still has the device at path.
func (c Client) HasDevice(ctx context.Context, path dbus.ObjectPath) (bool, error) {
	return c.listed(ctx, Path, BusName+".GetAllDevices", path)
}

// Devices lists every device NetworkManager knows, the per-device reads
// (Device) pipelined; a device removed between the list and the read is
// left out.
func (c Client) Devices(ctx context.Context) ([]Device, error) {
	var paths []dbus.ObjectPath
	if err := c.Call(ctx, Path, BusName+".GetAllDevices").Store(&paths); err != nil {
		return nil, fmt.Errorf("list NetworkManager devices: %w", err)
	}
	devs := make([]Device, len(paths))
	errs := parallel(len(paths), func(i int) error {
		var err error
		devs[i], err = c.Device(ctx, paths[i])
		return err
	})
	out := devs[:0]
	for i, err := range errs {
		if err != nil {
			if removed(err) {
				continue
			}
			return nil, err
		}
		out = append(out, devs[i])
	}
	return out, nil
}

// removed reports whether err says the object is gone (removed between a
// listing and the read).
func removed(err error) bool {
	return strings.Contains(err.Error(), "UnknownObject") || strings.Contains(err.Error(), "UnknownMethod")
}

// Device reads one device's snapshot.
func (c Client) Device(ctx context.Context, path dbus.ObjectPath) (Device, error) {
	props, err := c.getAll(ctx, path, DeviceIface)
	if err != nil {
		return Device{}, err
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
		return WiredIface
	case gonm.NmDeviceTypeWifi:
		return WirelessIface
	}
	return ""
}

// deviceFromProps builds a device's snapshot from its Device properties and
// the properties of its permHwIface interface (nil: none, or unreadable);
// values of unexpected types are treated as absent.
func deviceFromProps(path dbus.ObjectPath, props, wiredOrWireless map[string]dbus.Variant) Device {
	d := Device{Path: path}
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
func (c Client) permHwProps(ctx context.Context, path dbus.ObjectPath, iface string) map[string]dbus.Variant {
	var v dbus.Variant
	if err := c.Call(ctx, path, PropertiesIface+".Get", iface, "PermHwAddress").Store(&v); err != nil {
		return nil
	}
	return map[string]dbus.Variant{"PermHwAddress": v}
}

// StateName is the name nmcli shows for NM's device state st ("need-auth",
// "ip-config", ...), from gonetworkmanager's names.
func StateName(st uint32) string {
	s, ok := strings.CutPrefix(gonm.NmDeviceState(st).String(), "NmDeviceState")
	if !ok || strings.HasPrefix(s, "(") {
		return fmt.Sprintf("state-%d", st)
	}
	var b strings.Builder
	for i, r := range s {
		if unicode.IsUpper(r) {
			if i > 0 {
				b.WriteByte('-')
			}
			r = unicode.ToLower(r)
		}
		b.WriteRune(r)
	}
	return b.String()
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
func (c Client) Profile(ctx context.Context, path dbus.ObjectPath) (Profile, error) {
	var settings map[string]map[string]dbus.Variant
	if err := c.Call(ctx, path, SettingsIface+".GetSettings").Store(&settings); err != nil {
		return Profile{}, fmt.Errorf("read profile %s: %w", path, err)
	}
	return ProfileFromSettings(path, settings), nil
}

// ProfileFromSettings extracts what the gate needs from a GetSettings
// answer; values of unexpected types are treated as absent.
func ProfileFromSettings(path dbus.ObjectPath, s map[string]map[string]dbus.Variant) Profile {
	p := Profile{Path: string(path), Autoconnect: true}
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
	p = p.WithRefusal(RefusalOf(s))
	p.IdentsHidden = IdentsHidden(s)
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
func (c Client) ActiveProfile(ctx context.Context, ac dbus.ObjectPath) (Profile, error) {
	if ac == "" || ac == "/" {
		return Profile{}, errors.New("no active connection")
	}
	props, err := c.getAll(ctx, ac, ActiveIface)
	if err != nil {
		return Profile{}, err
	}
	// A device's ActiveConnection can still name the previous, dying one
	// right after a new activation starts: only an activating or activated
	// one says what the device is joining.
	if !activeConnectionLive(props) {
		return Profile{}, fmt.Errorf("active connection %s is not activating or activated", ac)
	}
	path, ok := props["Connection"].Value().(dbus.ObjectPath)
	if !ok {
		return Profile{}, fmt.Errorf("active connection %s: Connection has type %s", ac, props["Connection"].Signature())
	}
	return c.Profile(ctx, path)
}

// ProfileOfActive returns the profile path behind an active connection,
// whatever its state.
func (c Client) ProfileOfActive(ctx context.Context, ac dbus.ObjectPath) (dbus.ObjectPath, error) {
	if ac == "" || ac == "/" {
		return "", errors.New("no active connection")
	}
	var v dbus.Variant
	if err := c.Call(ctx, ac, PropertiesIface+".Get", ActiveIface, "Connection").Store(&v); err != nil {
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
func (c Client) Disconnect(ctx context.Context, dev dbus.ObjectPath) error {
	if err := c.Call(ctx, dev, DeviceIface+".Disconnect").Err; err != nil {
		return fmt.Errorf("disconnect %s: %w", dev, err)
	}
	return nil
}

// SetAutoconnect sets the device's Autoconnect property.
func (c Client) SetAutoconnect(ctx context.Context, dev dbus.ObjectPath, on bool) error {
	if err := c.Call(ctx, dev, PropertiesIface+".Set", DeviceIface, "Autoconnect", dbus.MakeVariant(on)).Err; err != nil {
		return fmt.Errorf("set autoconnect=%t on %s: %w", on, dev, err)
	}
	return nil
}

// Activate activates a profile on a device.
func (c Client) Activate(ctx context.Context, profile, dev dbus.ObjectPath) error {
	var ac dbus.ObjectPath
	if err := c.Call(ctx, Path, BusName+".ActivateConnection", profile, dev, dbus.ObjectPath("/")).Store(&ac); err != nil {
		return fmt.Errorf("activate %s on %s: %w", profile, dev, err)
	}
	return nil
}

// Profiles lists every connection profile.
func (c Client) Profiles(ctx context.Context) ([]Profile, error) {
	all, err := c.AllSettings(ctx)
	if err != nil {
		return nil, err
	}
	out := make([]Profile, len(all))
	for i, p := range all {
		out[i] = ProfileFromSettings(p.Path, p.Settings)
	}
	return out, nil
}

// ProfileSettings is one profile's path and GetSettings answer.
type ProfileSettings struct {
	Path     dbus.ObjectPath
	Settings Settings
}

// AllSettings lists every connection profile (Settings.ListConnections) and
// reads each one's settings, pipelined; a profile deleted between the list
// and the read is left out.
func (c Client) AllSettings(ctx context.Context) ([]ProfileSettings, error) {
	var paths []dbus.ObjectPath
	if err := c.Call(ctx, SettingsPath, SettingsMgrIface+".ListConnections").Store(&paths); err != nil {
		return nil, fmt.Errorf("list NetworkManager profiles: %w", err)
	}
	profs := make([]ProfileSettings, len(paths))
	errs := parallel(len(paths), func(i int) error {
		profs[i].Path = paths[i]
		if err := c.Call(ctx, paths[i], SettingsIface+".GetSettings").Store(&profs[i].Settings); err != nil {
			return fmt.Errorf("read profile %s: %w", paths[i], err)
		}
		return nil
	})
	out := profs[:0]
	for i, err := range errs {
		if err != nil {
			if removed(err) {
				continue
			}
			return nil, err
		}
		out = append(out, profs[i])
	}
	return out, nil
}

// nmWorkers bounds the D-Bus calls the client keeps in flight (Devices, AllSettings): the answers
// are pipelined instead of waited for one by one (NetworkManager answers in
// order on one connection; the latency, not its work, dominates).
const workers = 8

// parallel runs fn(i) for i in [0, n) on up to nmWorkers goroutines
// and returns the errors by index.
func parallel(n int, fn func(i int) error) []error {
	errs := make([]error, n)
	next := make(chan int)
	var wg sync.WaitGroup
	for range min(n, workers) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range next {
				errs[i] = fn(i)
			}
		}()
	}
	for i := range n {
		next <- i
	}
	close(next)
	wg.Wait()
	return errs
}

// SetManaged hands a device to NetworkManager (or takes it back).
func (c Client) SetManaged(ctx context.Context, dev dbus.ObjectPath, on bool) error {
	if err := c.Call(ctx, dev, PropertiesIface+".Set", DeviceIface, "Managed", dbus.MakeVariant(on)).Err; err != nil {
		return fmt.Errorf("set managed=%t on %s: %w", on, dev, err)
	}
	return nil
}

// ActiveConnectionOf reads a device's ActiveConnection ("/" for none): one
// property, not the device's every one.
func (c Client) ActiveConnectionOf(ctx context.Context, dev dbus.ObjectPath) (dbus.ObjectPath, error) {
	var v dbus.Variant
	if err := c.Call(ctx, dev, PropertiesIface+".Get", DeviceIface, "ActiveConnection").Store(&v); err != nil {
		return "", fmt.Errorf("read active connection of %s: %w", dev, err)
	}
	ac, ok := v.Value().(dbus.ObjectPath)
	if !ok {
		return "", fmt.Errorf("active connection of %s has type %s", dev, v.Signature())
	}
	return ac, nil
}

// DeviceState reads a device's current State property.
func (c Client) DeviceState(ctx context.Context, dev dbus.ObjectPath) (uint32, error) {
	var v dbus.Variant
	if err := c.Call(ctx, dev, PropertiesIface+".Get", DeviceIface, "State").Store(&v); err != nil {
		return 0, fmt.Errorf("read state of %s: %w", dev, err)
	}
	st, ok := v.Value().(uint32)
	if !ok {
		return 0, fmt.Errorf("state of %s has type %s", dev, v.Signature())
	}
	return st, nil
}

// NetworkManager's connection types (connection.type) the gate knows.
const (
	ConnTypeEthernet = profile.ConnTypeEthernet
	ConnTypeWifi     = profile.ConnTypeWifi
	ConnTypeVeth     = profile.ConnTypeVeth
)

// ProfileByUUID finds a connection profile's path.
func (c Client) ProfileByUUID(ctx context.Context, uuid string) (dbus.ObjectPath, error) {
	var path dbus.ObjectPath
	err := c.Call(ctx, SettingsPath, SettingsMgrIface+".GetConnectionByUuid", uuid).Store(&path)
	if err != nil {
		var de dbus.Error
		if errors.As(err, &de) {
			return "", fmt.Errorf("no connection profile with UUID %s", uuid)
		}
		return "", fmt.Errorf("look up connection %s: %w", uuid, err)
	}
	return path, nil
}
