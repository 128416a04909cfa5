// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"bytes"
	"net"

	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// classifyDevices gives each device what sysfs says is behind it and, for a
// virtual device, the device guarded on its own account whose real address
// it carries, as the service's refreshCarries does: the guard setting
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
		for _, e := range b.devs {
			if e == d || !gate.KnownAddress(e.real) {
				continue
			}
			if !bytes.Equal(d.current, e.real) && !bytes.Equal(d.real, e.real) {
				continue
			}
			if !b.pol.GuardedAlone(e.pd) {
				continue
			}
			d.pd.Carries = e.name
			if !bytes.Equal(d.real, e.real) {
				d.real, d.source, d.why = append(net.HardwareAddr(nil), e.real...), realFromCarried+e.name, ""
				if m, err := policy.FromHardwareAddr(d.real); err == nil {
					d.pd.Real, d.pd.RealKnown = m, true
				}
			}
			break
		}
	}
}
