// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"errors"
	"fmt"
	"net"
	"strings"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/prop"
)

// Profile is a Wi-Fi connection profile (connection.type 802-11-wireless).
type Profile struct {
	UUID string // connection.uuid, required, unique
	ID   string // connection.id, required
	SSID string // 802-11-wireless.ssid, 1..32 bytes
	// Interface is connection.interface-name ("" any device).
	Interface   string
	Autoconnect bool // connection.autoconnect
	// AssignedMAC is 802-11-wireless.assigned-mac-address: "" (NM's
	// default, preserve), "preserve", "permanent", "random", "stable" or an
	// explicit address.
	AssignedMAC string
	// KeyMgmt is 802-11-wireless-security.key-mgmt ("" an open network,
	// e.g. "wpa-psk").
	KeyMgmt string
}

func (p Profile) validate() error {
	var errs []error
	if p.UUID == "" {
		errs = append(errs, errors.New("uuid is empty"))
	}
	if p.ID == "" {
		errs = append(errs, errors.New("id is empty"))
	}
	if len(p.SSID) == 0 || len(p.SSID) > 32 {
		errs = append(errs, fmt.Errorf("ssid %q: want 1..32 bytes", p.SSID))
	}
	switch p.AssignedMAC {
	case "", "preserve", "permanent", "random", "stable":
	default:
		if _, err := net.ParseMAC(p.AssignedMAC); err != nil {
			errs = append(errs, fmt.Errorf("assigned-mac-address %q: %w", p.AssignedMAC, err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("profile %q: %w", p.ID, err)
	}
	return nil
}

// explicitMAC is the address the profile makes NM set itself, or "".
func (p Profile) explicitMAC() string {
	if hw, err := net.ParseMAC(p.AssignedMAC); err == nil {
		return strings.ToLower(hw.String())
	}
	return ""
}

// settings is the GetSettings answer (secrets left out, as NM does).
func (p Profile) settings() map[string]map[string]dbus.Variant {
	con := map[string]dbus.Variant{
		"id":          dbus.MakeVariant(p.ID),
		"uuid":        dbus.MakeVariant(p.UUID),
		"type":        dbus.MakeVariant("802-11-wireless"),
		"autoconnect": dbus.MakeVariant(p.Autoconnect),
	}
	if p.Interface != "" {
		con["interface-name"] = dbus.MakeVariant(p.Interface)
	}
	wifi := map[string]dbus.Variant{
		"ssid": dbus.MakeVariant([]byte(p.SSID)),
		"mode": dbus.MakeVariant("infrastructure"),
	}
	if p.AssignedMAC != "" {
		wifi["assigned-mac-address"] = dbus.MakeVariant(p.AssignedMAC)
	}
	if hw, err := net.ParseMAC(p.AssignedMAC); err == nil {
		// NM also sends the deprecated byte-array form of an explicit address.
		wifi["cloned-mac-address"] = dbus.MakeVariant([]byte(hw))
	}
	s := map[string]map[string]dbus.Variant{"connection": con, "802-11-wireless": wifi}
	if p.KeyMgmt != "" {
		s["802-11-wireless-security"] = map[string]dbus.Variant{"key-mgmt": dbus.MakeVariant(p.KeyMgmt)}
	}
	return s
}

// appliesTo reports whether NM could activate p on a Wi-Fi device iface.
func (p Profile) appliesTo(iface string) bool { return p.Interface == "" || p.Interface == iface }

// profile is one exported settings connection.
type profile struct {
	path  dbus.ObjectPath
	spec  Profile
	props *prop.Properties
}

// AddProfile exports a Wi-Fi profile and announces it (Settings
// NewConnection); devices it applies to list it in AvailableConnections.
func (n *NM) AddProfile(p Profile) (dbus.ObjectPath, error) {
	if err := p.validate(); err != nil {
		return "", fmt.Errorf("fake NM: add %w", err)
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	for _, q := range n.profiles {
		if q.spec.UUID == p.UUID {
			return "", fmt.Errorf("fake NM: add profile %q: uuid %s is taken by %q", p.ID, p.UUID, q.spec.ID)
		}
	}
	n.nextProf++
	path := dbus.ObjectPath(fmt.Sprintf("%s/%d", SettingsPath, n.nextProf))
	pr := &profile{path: path, spec: p}
	props := map[string]*prop.Prop{
		"Unsaved":  ro(false),
		"Flags":    ro(uint32(0)),
		"Filename": ro("/etc/NetworkManager/system-connections/" + p.ID + ".nmconnection"),
	}
	var err error
	if pr.props, err = prop.Export(n.conn, path, prop.Map{ConnectionIface: props}); err != nil {
		return "", fmt.Errorf("fake NM: export profile: %w", err)
	}
	methods := map[string]any{
		"GetSettings": func() (map[string]map[string]dbus.Variant, *dbus.Error) { return p.settings(), nil },
		"GetSecrets": func(setting string) (map[string]map[string]dbus.Variant, *dbus.Error) {
			return map[string]map[string]dbus.Variant{}, nil
		},
		"Update": func(sender dbus.Sender, s map[string]map[string]dbus.Variant) *dbus.Error {
			n.record(Call{Sender: string(sender), Path: path, Interface: ConnectionIface, Member: "Update", Args: []any{s}})
			return dbusErr("Settings.NotSupported", "the fake NetworkManager does not edit profiles")
		},
		"Delete": func(sender dbus.Sender) *dbus.Error {
			n.record(Call{Sender: string(sender), Path: path, Interface: ConnectionIface, Member: "Delete"})
			if err := n.RemoveProfile(path); err != nil {
				return dbus.MakeFailedError(err)
			}
			return nil
		},
	}
	if err := n.conn.ExportMethodTable(methods, path, ConnectionIface); err != nil {
		return "", fmt.Errorf("fake NM: export profile: %w", err)
	}
	err = n.register(path, ifaceDecl{
		Name: ConnectionIface,
		Methods: []introspectMethod{
			method("GetSettings", out("settings", "a{sa{sv}}")),
			method("GetSecrets", in("setting_name", "s"), out("secrets", "a{sa{sv}}")),
			method("Update", in("properties", "a{sa{sv}}")),
			method("Delete"),
		},
		Signals:    []introspectSignal{signal("Updated"), signal("Removed")},
		Properties: propDecls(props),
	})
	if err != nil {
		return "", fmt.Errorf("fake NM: export profile: %w", err)
	}
	n.profiles[path] = pr
	n.profOrder = append(n.profOrder, path)
	if err := n.syncProfilesLocked(); err != nil {
		return "", err
	}
	if err := n.emit(SettingsPath, SettingsIface+".NewConnection", path); err != nil {
		return "", err
	}
	return path, nil
}

// RemoveProfile deletes a profile (an active connection of it is
// deactivated first) and announces it (Removed, ConnectionRemoved).
func (n *NM) RemoveProfile(path dbus.ObjectPath) error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if _, ok := n.profiles[path]; !ok {
		return fmt.Errorf("fake NM: remove profile: no profile %s", path)
	}
	for _, dp := range n.devOrder {
		if a, ok := n.actives[n.devices[dp].active]; ok && a.profile == path {
			if err := n.deactivateLocked(dp); err != nil {
				return err
			}
		}
	}
	delete(n.profiles, path)
	for i, p := range n.profOrder {
		if p == path {
			n.profOrder = append(n.profOrder[:i], n.profOrder[i+1:]...)
			break
		}
	}
	if err := n.emit(path, ConnectionIface+".Removed"); err != nil {
		return err
	}
	n.unregister(path, ConnectionIface)
	if err := n.syncProfilesLocked(); err != nil {
		return err
	}
	return n.emit(SettingsPath, SettingsIface+".ConnectionRemoved", path)
}

// profileByUUID returns the profile with uuid; the caller holds mu.
func (n *NM) profileByUUID(uuid string) (*profile, bool) {
	for _, p := range n.profOrder {
		if n.profiles[p].spec.UUID == uuid {
			return n.profiles[p], true
		}
	}
	return nil, false
}

// syncProfilesLocked publishes Settings.Connections and every device's
// AvailableConnections.
func (n *NM) syncProfilesLocked() error {
	if err := n.update(n.settings, SettingsPath, SettingsIface, map[string]any{
		"Connections": append([]dbus.ObjectPath{}, n.profOrder...),
	}); err != nil {
		return err
	}
	for _, dp := range n.devOrder {
		d := n.devices[dp]
		if err := n.update(d.props, dp, DeviceIface, map[string]any{"AvailableConnections": n.availableLocked(d.iface)}); err != nil {
			return err
		}
	}
	return nil
}

// availableLocked lists the profiles NM could activate on iface.
func (n *NM) availableLocked(iface string) []dbus.ObjectPath {
	out := []dbus.ObjectPath{}
	for _, p := range n.profOrder {
		if n.profiles[p].spec.appliesTo(iface) {
			out = append(out, p)
		}
	}
	return out
}
