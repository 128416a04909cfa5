// SPDX-License-Identifier: GPL-3.0-or-later

package backstop

import (
	"net"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/internal/netnstest"
)

// BenchmarkBackstopGuard measures installing the guard of one device in a
// throwaway namespace: "new" creates the chain (the hotplug case; the
// Unguard in between is not timed), "replace" swaps the rule of an existing
// chain (a policy change). A batch that deletes a rule waits for the
// kernel's nftables commit to release it, so "replace" is the slower one;
// `nft -f` with the same flush+add shows the same cost.
func BenchmarkBackstopGuard(b *testing.B) {
	macs := [2]net.HardwareAddr{netnstest.MustMAC(b, "02:00:5e:00:00:01"), netnstest.MustMAC(b, "02:00:5e:00:00:02")}
	setup := func(b *testing.B) *NFT {
		netnstest.RequireRoot(b)
		netnstest.EnterTestNetns(b)
		netnstest.AddVeth(b, "mngb0", "mngb0p")
		bs := newTestBackstop(b)
		b.Cleanup(func() {
			if err := bs.RemoveAll(); err != nil {
				b.Errorf("RemoveAll: %v", err)
			}
		})
		return bs
	}
	b.Run("new", func(b *testing.B) {
		bs := setup(b)
		b.ResetTimer()
		for i := range b.N {
			b.StopTimer()
			if err := bs.Unguard("mngb0"); err != nil {
				b.Fatal(err)
			}
			b.StartTimer()
			if err := bs.Guard("mngb0", macs[i%2]); err != nil {
				b.Fatal(err)
			}
		}
	})
	b.Run("replace", func(b *testing.B) {
		bs := setup(b)
		b.ResetTimer()
		for i := range b.N {
			if err := bs.Guard("mngb0", macs[i%2]); err != nil {
				b.Fatal(err)
			}
		}
	})
}
