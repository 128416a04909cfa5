// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"bytes"
	"context"
	"log/slog"
	"net"
	"slices"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// refreshCarries finds, for a virtual device, the device guarded on its
// own account (a card, or one a rule guards) whose real address it carries:
// its current address, or the address it was first seen with (a bridge,
// bond, VLAN or macvlan that inherited a card's address, then was given a
// private one). That real address becomes the one to hide on the virtual
// device too: the backstop drops it there.
func (s *Service) refreshCarries(d *devState) {
	d.carries = ""
	if d.hw.Class != policy.ClassVirtual {
		return
	}
	names := make([]string, 0, len(s.devs))
	for name := range s.devs {
		names = append(names, name)
	}
	slices.Sort(names)
	cs := make([]gate.Carrier, 0, len(names))
	for _, name := range names {
		if e := s.devs[name]; e != d {
			cs = append(cs, gate.Carrier{Name: e.iface, Real: e.real, Device: e.policyDevice()})
		}
	}
	c, ok := gate.Carried(s.effectivePolicy(), d.link.Addr, d.real, cs)
	if !ok {
		return
	}
	d.carries = c.Name
	if !bytes.Equal(d.real, c.Real) {
		d.real, d.realSource = append(net.HardwareAddr(nil), c.Real...), gate.RealFromCarried+c.Name
		s.log.Info("gate: virtual device carries the real address of a guarded device", slog.String("device", d.iface),
			slog.String("of", c.Name), slog.String("real", d.real.String()))
	}
}

// evaluateCarriers decides again on the virtual devices left alone that
// carry the real address of d, a device that just appeared (a card found
// after the bridge that inherited its address).
func (s *Service) evaluateCarriers(ctx context.Context, d *devState, t0 time.Time) {
	if len(d.real) != 6 || !s.effectivePolicy().GuardedAlone(d.policyDevice()) {
		return
	}
	for _, v := range s.devs {
		if v != d && v.hw.Class == policy.ClassVirtual && v.carries == "" &&
			(bytes.Equal(v.link.Addr, d.real) || bytes.Equal(v.real, d.real)) {
			s.evaluate(ctx, v, "carries the real address of "+d.iface, t0)
		}
	}
}

// leftAlone reports whether the guard setting leaves d alone as a virtual
// device without a card's address (guard = auto): the service does not
// touch it, not even to hand it to NetworkManager.
func (s *Service) leftAlone(d *devState) bool {
	if d.hw.Class != policy.ClassVirtual || d.carries != "" || d.verdict.Guarded {
		return false
	}
	g, _ := s.effectivePolicy().GuardFor(d.policyDevice())
	return g == policy.GuardAuto
}
