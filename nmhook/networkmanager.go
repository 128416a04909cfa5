// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// NetworkManager is what the service asks of NetworkManager, as Links and
// Backstop are what it asks of the kernel: nm.Client over the system bus
// in production, a fake in memory in tests (so the refusal, in-flight,
// restore and reconnect paths are tested without root or a bus). The
// service holds one only while it is connected to the bus.
type NetworkManager interface {
	nm.ProfileStore

	// Owner is NetworkManager's unique bus name ("" when it is not
	// running); OwnerOf any name's.
	Owner(ctx context.Context) string
	OwnerOf(ctx context.Context, name string) string

	Devices(ctx context.Context) ([]nm.Device, error)
	Device(ctx context.Context, path dbus.ObjectPath) (nm.Device, error)
	DeviceState(ctx context.Context, dev dbus.ObjectPath) (uint32, error)
	HasDevice(ctx context.Context, path dbus.ObjectPath) (bool, error)
	// ActiveConnectionOf is a device's ActiveConnection ("/" for none).
	ActiveConnectionOf(ctx context.Context, dev dbus.ObjectPath) (dbus.ObjectPath, error)

	Profiles(ctx context.Context) ([]nm.Profile, error)
	Profile(ctx context.Context, path dbus.ObjectPath) (nm.Profile, error)
	HasProfile(ctx context.Context, path dbus.ObjectPath) (bool, error)
	ProfileByUUID(ctx context.Context, uuid string) (dbus.ObjectPath, error)
	// ActiveProfile is the profile an activating or activated connection
	// brings up (an error for a dying one).
	ActiveProfile(ctx context.Context, ac dbus.ObjectPath) (nm.Profile, error)

	Disconnect(ctx context.Context, dev dbus.ObjectPath) error
	Activate(ctx context.Context, profile, dev dbus.ObjectPath) error
	SetAutoconnect(ctx context.Context, dev dbus.ObjectPath, on bool) error
	SetManaged(ctx context.Context, dev dbus.ObjectPath, on bool) error
}

var _ NetworkManager = nm.Client{}
