// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"log/slog"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// onConnectivity hands a change of a device's Ip4Connectivity (NetworkManager's
// connectivity check: a captive portal is detect.ConnectivityPortal) to the
// detector, which spots a portal that forgets the private address.
func (s *Service) onConnectivity(path dbus.ObjectPath, v dbus.Variant, t0 time.Time) {
	c, ok := v.Value().(uint32)
	if !ok {
		return
	}
	name, ok := s.byPath[path]
	if !ok {
		return
	}
	d := s.devs[name]
	if d == nil || !d.nmKnown {
		return
	}
	s.log.Debug("nm: connectivity changed", slog.String("device", d.iface), slog.Int("connectivity", int(c)))
	if d.nm.State != detect.StateActivated {
		return
	}
	ev := s.detectEvent(d, d.nm.State, d.nm.State, 0, t0)
	ev.Connectivity, ev.ConnectivityChange = c, true
	s.feedEvent(d, ev, t0)
}
