// SPDX-License-Identifier: GPL-3.0-or-later

package links

import (
	"testing"

	"github.com/vishvananda/netlink"

	"github.com/mac-nmguard/mac-nmguard/nmhook/internal/netnstest"
)

// BenchmarkLinkSetDown measures taking an up link down through Netlink
// (the in-flight layer's fastest reaction). Bringing it up again is not
// timed.
func BenchmarkLinkSetDown(b *testing.B) {
	netnstest.RequireRoot(b)
	netnstest.EnterTestNetns(b)
	a, _ := netnstest.AddVeth(b, "mngb1", "mngb1p")
	l := newTestLinks(b)
	b.ResetTimer()
	for range b.N {
		b.StopTimer()
		if err := netlink.LinkSetUp(a); err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		if err := l.SetDown("mngb1"); err != nil {
			b.Fatal(err)
		}
	}
}
