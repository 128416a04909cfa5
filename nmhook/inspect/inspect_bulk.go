// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"context"
	"errors"
	"sync"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// readNMBulk fills the snapshot's NetworkManager part from one
// GetManagedObjects answer and the profiles' settings (GetSettings per
// profile: NetworkManager has no call that returns them all), read side by
// side; what could not be read is in s.NMErr.
func readNMBulk(ctx context.Context, s *inspectSnapshot, c nm.Client) {
	var profiles []profileInfo
	var profErr error
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		profiles, profErr = readProfiles(ctx, c)
	}()
	objs, err := c.ManagedObjects(ctx)
	wg.Wait()
	if err != nil {
		s.NMErr = err
		return
	}
	v, ok := nm.ViewOf(objs)
	if !ok {
		s.NMErr = errors.New("NetworkManager's object tree has no " + string(nm.Path))
		return
	}
	s.NMVersion = v.Version
	if profErr != nil {
		s.NMErr = profErr
		return
	}
	s.Profiles = profiles
	s.NMDevices = v.Devices
	byPath := make(map[dbus.ObjectPath]*profileInfo, len(profiles))
	for i := range profiles {
		byPath[dbus.ObjectPath(profiles[i].Path)] = &profiles[i]
	}
	s.Active = map[dbus.ObjectPath]nm.Profile{}
	for dev, prof := range v.Active {
		if p, ok := byPath[prof]; ok {
			s.Active[dev] = p.Profile
			continue
		}
		// Added after the profiles were listed: read it as ActiveProfile does.
		p, err := c.Profile(ctx, prof)
		if err != nil {
			continue // deleted meanwhile
		}
		s.Active[dev] = p
	}
	if v.Hostname != "" {
		s.Hostname, s.HostnameFrom = v.Hostname, "NetworkManager"
	}
}
