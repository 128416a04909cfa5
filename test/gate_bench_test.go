// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"os"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// BenchmarkGateViolations activates a profile that sets the real address N
// times (MAC_NMGUARD_BENCH_VIOLATIONS, default 200) under the real service
// and NetworkManager, and reports the frames with the real address the peer
// saw (must be 0), the frames the kernel backstop dropped, and the service's
// reaction time from the NM signal or netlink event to the link down (p50,
// p99, max).
func BenchmarkGateViolations(b *testing.B) {
	bed.Require(b, "dnsmasq", "nft")
	n := 200
	if v, err := strconv.Atoi(os.Getenv("MAC_NMGUARD_BENCH_VIOLATIONS")); err == nil && v > 0 {
		n = v
	}
	for range b.N {
		bd := bed.New(b, guardOptions(b, bed.Options{Devices: 1}))
		dev := bd.Devices()[0]
		bd.StartDHCP(b, nil)
		capt := bd.StartCapture(b)
		g := startGuard(b, bd, "")
		waitAddrNot(b, bd, dev.Name, dev.MAC.String(), 10*time.Second)
		uuid := bd.AddProfile(b, bed.Profile{Name: "leaky", Interface: dev.Name, ClonedMAC: dev.MAC.String(), DHCPTimeout: 10})
		start := time.Now()
		overridden := 0
		for i := range n {
			if err := bd.Activate(b, uuid, dev.Name); err == nil {
				// NM went on with the private address the service put back
				// (see below): no leak, but not a refusal either.
				if a := linkAddr(b, bd, dev.Name); a == strings.ToLower(dev.MAC.String()) {
					b.Fatalf("LEAK: attempt %d activated with the real address", i)
				}
				overridden++
				if err := bd.Deactivate(b, uuid); err != nil {
					b.Fatal(err)
				}
			}
		}
		b.ReportMetric(float64(overridden), "activated-private")
		elapsed := time.Since(start)
		capt.Stop()
		var reactions []time.Duration
		for _, line := range strings.Split(g.p.Log(), "\n") {
			if strings.Contains(line, "violation: refused") {
				if d, err := time.ParseDuration(field(line, "reaction")); err == nil {
					reactions = append(reactions, d)
				}
			}
		}
		// Every attempt failed (checked above). Most are refusals; an
		// attempt whose address change the service saw before NM said it
		// was activating is answered by setting a private address at once,
		// which NM's activation does not survive either: no refusal line.
		if len(reactions) == 0 {
			b.Fatalf("no refusal logged for %d attempts", n)
		}
		b.ReportMetric(float64(len(reactions)), "refusals")
		slices.Sort(reactions)
		pct := func(p float64) float64 {
			return float64(reactions[int(p*float64(len(reactions)-1))].Microseconds())
		}
		b.ReportMetric(float64(capt.Count(dev.MAC)), "leaked-frames")
		b.ReportMetric(float64(droppedPackets(nftRuleset(b, bd))), "backstop-drops")
		b.ReportMetric(pct(0.50), "reaction-p50-µs")
		b.ReportMetric(pct(0.99), "reaction-p99-µs")
		b.ReportMetric(float64(reactions[len(reactions)-1].Microseconds()), "reaction-max-µs")
		b.ReportMetric(float64(n), "activations")
		b.ReportMetric(float64(elapsed.Milliseconds())/float64(n), "ms/activation")
		if c := capt.Count(dev.MAC); c != 0 {
			b.Errorf("LEAK: %d frames with the real address", c)
		}
	}
}
