// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"bytes"
	"net"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// classifyDevices gives each device what sysfs says is behind it and, for a
// virtual device, the device guarded on its own account whose real address
// it carries, by the carried-address rule the service applies too
// (gate.Carried): the guard setting
// (guard = "auto") leaves the other virtual devices alone.
func (b *builder) classifyDevices() {
	for _, d := range b.devs {
		if !d.inKernel {
			continue
		}
		hw := b.s.Hardware[d.link.Index]
		d.pd.Class = hw.Class
		if d.pd.Driver == "" {
			d.pd.Driver = hw.Driver
		}
	}
	for _, d := range b.devs {
		if d.pd.Class != policy.ClassVirtual {
			continue
		}
		var cs []gate.Carrier
		for _, e := range b.devs {
			if e != d {
				cs = append(cs, gate.Carrier{Name: e.name, Real: e.real, Device: e.pd})
			}
		}
		c, ok := gate.Carried(b.pol, d.current, d.real, cs)
		if !ok {
			continue
		}
		d.pd.Carries = c.Name
		if !bytes.Equal(d.real, c.Real) {
			d.real, d.source, d.why = append(net.HardwareAddr(nil), c.Real...), gate.RealFromCarried+c.Name, ""
			if m, err := policy.FromHardwareAddr(d.real); err == nil {
				d.pd.Real, d.pd.RealKnown = m, true
			}
		}
	}
}
