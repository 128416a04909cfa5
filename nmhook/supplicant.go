// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"log/slog"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// supplicantSignals decodes the properties the detector reads from a
// PropertiesChanged body of a wpa_supplicant interface, in a fixed order.
func supplicantSignals(body []any) []detect.SupplicantSignal {
	if len(body) < 2 {
		return nil
	}
	iface, _ := body[0].(string)
	changed, _ := body[1].(map[string]dbus.Variant)
	if iface != nm.SupplicantIface {
		return nil
	}
	var out []detect.SupplicantSignal
	for _, p := range []string{detect.PropAuthStatusCode, detect.PropDisconnectReason} {
		v, ok := changed[p]
		if !ok {
			continue
		}
		if n, ok := v.Value().(int32); ok {
			out = append(out, detect.SupplicantSignal{Property: p, Value: n})
		}
	}
	return out
}

// onSupplicantProperties feeds the detector wpa_supplicant's view of a
// device NetworkManager manages. The sender filter (nm.Sender) has let only
// wpa_supplicant's own signals through: a forged one could make the service
// offer the real address.
func (s *Service) onSupplicantProperties(ctx context.Context, sig *dbus.Signal, t0 time.Time) {
	sigs := supplicantSignals(sig.Body)
	if len(sigs) == 0 || s.conn == nil {
		return
	}
	name, ok := s.supIfaces[sig.Path]
	if !ok {
		v, err := s.conn.Object(nm.SupplicantBusName, sig.Path).GetProperty(nm.SupplicantIface + ".Ifname")
		if err != nil {
			return
		}
		name, _ = v.Value().(string)
		if len(s.supIfaces) > 4*maxDevicesHint {
			clear(s.supIfaces) // interfaces come and go with cards: keep the cache bounded
		}
		s.supIfaces[sig.Path] = name
	}
	d := s.devs[name]
	if d == nil || !d.nmKnown {
		return
	}
	for _, sg := range sigs {
		s.log.Debug("supplicant: "+sg.Property+" changed", slog.String("device", d.iface), slog.Int("value", int(sg.Value)))
		ev := s.detectEvent(d, d.nm.State, d.nm.State, 0, t0)
		ev.Supplicant = &sg
		s.feedEvent(d, ev, t0)
	}
}

// maxDevicesHint sizes the supplicant interface cache.
const maxDevicesHint = 64

// detectEvent is a detector event for d as the service sees it now.
func (s *Service) detectEvent(d *devState, nw, old, reason uint32, t0 time.Time) detect.Event {
	spoofed := d.real == nil || !strings.EqualFold(d.link.Addr.String(), d.real.String())
	return detect.Event{
		Time: t0, Device: d.iface, Connection: d.network,
		State: nw, Old: old, Reason: reason,
		Address: d.link.Addr.String(), Real: d.real.String(), Spoofed: spoofed,
		Carrier: d.link.Carrier, Exempt: d.verdict.Exempt,
	}
}
