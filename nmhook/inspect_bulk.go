// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"fmt"
	"sync"

	"github.com/godbus/dbus/v5"
)

// NetworkManager exports its ObjectManager on /org/freedesktop (not on
// /org/freedesktop/NetworkManager).
const (
	nmObjectManagerPath = dbus.ObjectPath("/org/freedesktop")
	objectManagerIface  = "org.freedesktop.DBus.ObjectManager"
)

// nmObjects is an ObjectManager.GetManagedObjects answer: every object
// NetworkManager exports, by path, with every property of every interface.
type nmObjects map[dbus.ObjectPath]map[string]map[string]dbus.Variant

// managedObjects reads every object NetworkManager exports in one call
// (devices, active connections, the manager, the settings; for 50 devices
// about 160 objects, 100 kB).
func (c nmClient) managedObjects(ctx context.Context) (nmObjects, error) {
	call := c.call(ctx, nmObjectManagerPath, objectManagerIface+".GetManagedObjects")
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

// readNMBulk fills the snapshot's NetworkManager part from one
// GetManagedObjects answer and the profiles' settings (GetSettings per
// profile: NetworkManager has no call that returns them all), read side by
// side. It reports false, with s untouched, when the objects could not be
// read or lack the manager: the caller then reads object by object, which
// gives the same report (or says what failed) more slowly.
func readNMBulk(ctx context.Context, s *inspectSnapshot, c nmClient) bool {
	var profiles []profileInfo
	var profErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		profiles, profErr = readProfiles(ctx, c)
	}()
	objs, err := c.managedObjects(ctx)
	wg.Wait()
	if err != nil {
		return false
	}
	v, ok := nmFromObjects(objs)
	if !ok {
		return false
	}
	s.NMVersion = v.version
	if profErr != nil {
		s.NMErr = profErr
		return true
	}
	s.Profiles = profiles
	s.NMDevices = v.devices
	byPath := make(map[dbus.ObjectPath]*profileInfo, len(profiles))
	for i := range profiles {
		byPath[profiles[i].Path] = &profiles[i]
	}
	s.Active = map[dbus.ObjectPath]NMProfile{}
	for dev, prof := range v.active {
		if p, ok := byPath[prof]; ok {
			s.Active[dev] = p.NMProfile
			continue
		}
		// Added after the profiles were listed: read it as ActiveProfile does.
		p, err := c.Profile(ctx, prof)
		if err != nil {
			continue // deleted meanwhile
		}
		s.Active[dev] = p
	}
	if v.hostname != "" {
		s.Hostname, s.HostnameFrom = v.hostname, "NetworkManager"
	}
	return true
}

// nmObjectsView is what check takes from NetworkManager's objects.
type nmObjectsView struct {
	version  string
	devices  []NMDevice                          // in AllDevices order (GetAllDevices)
	active   map[dbus.ObjectPath]dbus.ObjectPath // device -> profile of its activating or activated connection
	hostname string                              // Settings.Hostname ("" when absent)
}

// nmFromObjects reads the manager's version and device list, each device
// (deviceFromProps, as nmClient.Device does), the profile behind each
// device's active connection (as nmClient.ActiveProfile judges it) and the
// host name from a GetManagedObjects answer. It reports false when the
// answer has no manager object: not the NetworkManager it knows.
func nmFromObjects(objs nmObjects) (nmObjectsView, bool) {
	mgr, ok := objs[nmObjectPath][nmBusName]
	if !ok {
		return nmObjectsView{}, false
	}
	var v nmObjectsView
	v.version, _ = mgr["Version"].Value().(string)
	paths, _ := mgr["AllDevices"].Value().([]dbus.ObjectPath)
	v.devices = make([]NMDevice, 0, len(paths))
	v.active = map[dbus.ObjectPath]dbus.ObjectPath{}
	for _, p := range paths {
		ifaces := objs[p]
		props, ok := ifaces[nmDeviceIface]
		if !ok {
			continue // removed meanwhile, as readDevices skips it
		}
		d := deviceFromProps(p, props, ifaces[permHwIface(props)])
		v.devices = append(v.devices, d)
		if prof, ok := activeProfilePath(objs, d.ActiveConnection); ok {
			v.active[p] = prof
		}
	}
	if set, ok := objs[nmSettingsPath][nmSettingsMgrIface]; ok {
		v.hostname, _ = set["Hostname"].Value().(string)
	}
	return v, true
}

// activeProfilePath is the profile of an activating or activated connection
// (the rule of nmClient.ActiveProfile); false for none, a dying one, or one
// not among the objects.
func activeProfilePath(objs nmObjects, ac dbus.ObjectPath) (dbus.ObjectPath, bool) {
	if ac == "" || ac == "/" {
		return "", false
	}
	props, ok := objs[ac][nmACIface]
	if !ok {
		return "", false
	}
	if st, _ := props["State"].Value().(uint32); st != 1 && st != 2 {
		return "", false
	}
	path, ok := props["Connection"].Value().(dbus.ObjectPath)
	return path, ok
}
