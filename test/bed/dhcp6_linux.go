// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"path/filepath"
	"testing"
	"time"
)

// The IPv6 network of the bridge: router advertisements with the managed
// flag and DHCPv6 from this prefix (StartDHCPv6).
const (
	BridgeCIDR6     = "fd00:213::1/64"
	DHCP6RangeStart = "fd00:213::100"
	DHCP6RangeEnd   = "fd00:213::1ff"
)

// StartDHCPv6 gives the bridge BridgeCIDR6 and starts a second dnsmasq in
// PeerNS that sends router advertisements (managed: addresses by DHCPv6)
// and answers DHCPv6 from the range above, so a profile with IPv6 (Profile
// IPv6) solicits routers, runs DHCPv6 and makes addresses. It is stopped in
// t.Cleanup; the address goes with the namespace.
func (b *Bed) StartDHCPv6(t testing.TB) *Process {
	t.Helper()
	if err := runBatch(b.PeerNS, "addr add "+BridgeCIDR6+" dev "+BridgeName+" nodad\n"); err != nil {
		t.Fatalf("bed: start dhcpv6: %v", err)
	}
	p := b.StartProcess(t, b.PeerNS, nil, "dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
		"--user=root", "--group=root", "--port=0", "--interface="+BridgeName, "--bind-interfaces",
		"--enable-ra", "--dhcp-range="+DHCP6RangeStart+","+DHCP6RangeEnd+",64,2m",
		"--dhcp-leasefile="+filepath.Join(b.Dir, "dnsmasq6.leases"),
		"--pid-file="+filepath.Join(b.Dir, "dnsmasq6.pid"),
		"--log-dhcp", "--log-facility=-")
	if err := waitLog(p, "DHCPv6, IP range", 10*time.Second); err != nil {
		t.Fatalf("bed: start dhcpv6: %v", err)
	}
	return p
}
