// SPDX-License-Identifier: GPL-3.0-or-later

package gate

import (
	"net"
	"testing"
)

func TestPermanentAddress(t *testing.T) {
	zero := net.HardwareAddr{0, 0, 0, 0, 0, 0}
	kernel := net.HardwareAddr{0x52, 0x54, 0, 0x12, 0x34, 0x56}
	for _, tc := range []struct {
		name   string
		kernel net.HardwareAddr
		nm     string
		want   string
		src    string
	}{
		{"kernel", kernel, "52:54:00:aa:bb:cc", "52:54:00:12:34:56", RealFromKernel},
		{"nm when the kernel has none", nil, "52:54:00:aa:bb:cc", "52:54:00:aa:bb:cc", RealFromNM},
		{"nm when the kernel's is all zero", zero, "52:54:00:aa:bb:cc", "52:54:00:aa:bb:cc", RealFromNM},
		{"all zero everywhere", zero, "00:00:00:00:00:00", "", RealUnknown},
		{"nm's is not an address", nil, "permanent", "", RealUnknown},
		{"nm's is too long", nil, "00:11:22:33:44:55:66:77", "", RealUnknown},
		{"kernel's is too short", net.HardwareAddr{1, 2, 3}, "", "", RealUnknown},
		{"none", nil, "", "", RealUnknown},
	} {
		t.Run(tc.name, func(t *testing.T) {
			hw, src := PermanentAddress(tc.kernel, tc.nm)
			got := ""
			if hw != nil {
				got = hw.String()
			}
			if got != tc.want || src != tc.src {
				t.Errorf("permanentAddress(%v, %q) = %q (%s), want %q (%s)", tc.kernel, tc.nm, got, src, tc.want, tc.src)
			}
		})
	}
}
