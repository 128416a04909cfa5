// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"context"
	"fmt"
	"strings"

	"github.com/godbus/dbus/v5"
)

// NetworkManager's Settings.Connection.Update2 flags (nm-dbus-interface.h,
// NMSettingsUpdate2Flags): IN_MEMORY keeps the change in memory (a keyfile
// under /run shadows the profile's file, which stays untouched on disk);
// NO_REAPPLY keeps the change from touching a device the profile is
// active on (it applies from the next activation).
const (
	nmUpdate2ToDisk    = 0x1
	nmUpdate2InMemory  = 0x2
	nmUpdate2NoReapply = 0x40
)

// Settings is a profile's full settings, as GetSettings gives them
// (secrets left out).
type Settings = map[string]map[string]dbus.Variant

// ProfileStore is the part of NetworkManager that gives an activation its
// address: a profile's settings, read and changed in memory. Client is the
// real one; tests use a fake.
type ProfileStore interface {
	ProfileSettings(ctx context.Context, path dbus.ObjectPath) (Settings, error)
	// ProfileUnsaved reports NetworkManager's Unsaved flag: the profile in
	// memory is not what is on disk.
	ProfileUnsaved(ctx context.Context, path dbus.ObjectPath) (bool, error)
	// UpdateInMemory replaces the profile's settings in memory only.
	UpdateInMemory(ctx context.Context, path dbus.ObjectPath, s Settings) error
	// UpdateToDisk replaces the profile's settings and writes its keyfile
	// (only to give a profile someone saved with the service's address
	// its own value back on disk).
	UpdateToDisk(ctx context.Context, path dbus.ObjectPath, s Settings) error
}

// ProfileSettings reads a profile's full settings.
func (c Client) ProfileSettings(ctx context.Context, path dbus.ObjectPath) (Settings, error) {
	var s Settings
	if err := c.Call(ctx, path, SettingsIface+".GetSettings").Store(&s); err != nil {
		return nil, fmt.Errorf("read profile %s: %w", path, err)
	}
	return s, nil
}

// ProfileUnsaved reads a profile's Unsaved property.
func (c Client) ProfileUnsaved(ctx context.Context, path dbus.ObjectPath) (bool, error) {
	var v dbus.Variant
	if err := c.Call(ctx, path, PropertiesIface+".Get", SettingsIface, "Unsaved").Store(&v); err != nil {
		return false, fmt.Errorf("read Unsaved of %s: %w", path, err)
	}
	b, ok := v.Value().(bool)
	if !ok {
		return false, fmt.Errorf("unsaved of %s has type %s", path, v.Signature())
	}
	return b, nil
}

// UpdateInMemory replaces a profile's settings in NetworkManager's memory
// (Update2 with IN_MEMORY and NO_REAPPLY): the keyfile on disk is not
// written, a device the profile is active on is not touched; the stored
// secrets are kept (NetworkManager keeps them when an update carries none).
func (c Client) UpdateInMemory(ctx context.Context, path dbus.ObjectPath, s Settings) error {
	var result map[string]dbus.Variant
	err := c.Call(ctx, path, SettingsIface+".Update2", s, uint32(nmUpdate2InMemory|nmUpdate2NoReapply), map[string]dbus.Variant{}).Store(&result)
	if err != nil {
		return fmt.Errorf("update profile %s in memory: %w", path, err)
	}
	return nil
}

// UpdateToDisk replaces a profile's settings and writes them to disk
// (Update2 with TO_DISK and NO_REAPPLY); the stored secrets are kept as by
// UpdateInMemory.
func (c Client) UpdateToDisk(ctx context.Context, path dbus.ObjectPath, s Settings) error {
	var result map[string]dbus.Variant
	err := c.Call(ctx, path, SettingsIface+".Update2", s, uint32(nmUpdate2ToDisk|nmUpdate2NoReapply), map[string]dbus.Variant{}).Store(&result)
	if err != nil {
		return fmt.Errorf("write profile %s to disk: %w", path, err)
	}
	return nil
}

// macSection is the setting that carries a profile's cloned MAC address
// ("" for a type that has none).
func macSection(s Settings) string {
	t, _ := s["connection"]["type"].Value().(string)
	switch t {
	case "802-3-ethernet", "802-11-wireless":
		return t
	}
	return ""
}

// ClonedOf is a profile's cloned-mac-address in lower case: "" NM's
// default, preserve, permanent, random, stable, stable-ssid or an address.
func ClonedOf(s Settings) string {
	sect := macSection(s)
	if sect == "" {
		return ""
	}
	if v, ok := s[sect]["assigned-mac-address"].Value().(string); ok && v != "" {
		return strings.ToLower(v)
	}
	if b, ok := s[sect]["cloned-mac-address"].Value().([]byte); ok && len(b) == 6 {
		return fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[0], b[1], b[2], b[3], b[4], b[5])
	}
	return ""
}

// WithCloned returns a copy of s, fit to send back to NetworkManager, whose
// cloned-mac-address is value ("" removes it: NM's default). Deprecated
// properties whose replacements GetSettings also gives (ipv4/ipv6 addresses
// and routes: address-data, route-data; the byte form of cloned-mac-address:
// assigned-mac-address) are left out: empty ones do not survive the round
// trip with their D-Bus type, and NetworkManager rejects them.
func WithCloned(s Settings, value string) (Settings, error) {
	sect := macSection(s)
	if sect == "" {
		return nil, fmt.Errorf("profile type %v has no cloned MAC address", s["connection"]["type"].Value())
	}
	out := copySettings(s)
	if out[sect] == nil {
		out[sect] = map[string]dbus.Variant{}
	}
	delete(out[sect], "cloned-mac-address")
	if value == "" {
		delete(out[sect], "assigned-mac-address")
	} else {
		out[sect]["assigned-mac-address"] = dbus.MakeVariant(value)
	}
	return out, nil
}
