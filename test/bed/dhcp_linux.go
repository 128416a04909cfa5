// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"fmt"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// DHCP range served by dnsmasq on the bridge (inside BridgeCIDR).
const (
	DHCPRangeStart = "10.213.0.100"
	DHCPRangeEnd   = "10.213.255.250"
)

// StartDHCP starts dnsmasq (DHCP only, no DNS) on the bridge in PeerNS, so it
// serves every device. allow == nil: it answers every client; otherwise only
// clients whose address is in allow, and ignores the others (logged as
// "ignored"), like a network with a MAC allow-list. A running dnsmasq is
// replaced. It is stopped in the bed's cleanup or by StopDHCP.
func (b *Bed) StartDHCP(t testing.TB, allow []net.HardwareAddr) {
	t.Helper()
	b.StopDHCP(t)
	args := []string{"dnsmasq", "--keep-in-foreground", "--conf-file=/dev/null",
		"--user=root", "--group=root", "--port=0", "--interface=" + BridgeName, "--bind-interfaces",
		"--dhcp-range=" + DHCPRangeStart + "," + DHCPRangeEnd + ",255.255.0.0,2m",
		"--dhcp-leasefile=" + filepath.Join(b.Dir, "dnsmasq.leases"),
		"--pid-file=" + filepath.Join(b.Dir, "dnsmasq.pid"),
		"--log-dhcp", "--log-facility=-",
		// No ping before an offer: dnsmasq checks each new address with
		// an ICMP echo and waits up to 3 s for it, one DISCOVER after the
		// other. After NetworkManager is killed mid-activation the
		// DISCOVERs of the killed runs (a new private address each, so a
		// new lease each) queue up, and the next activation's offer came
		// after NetworkManager's 10 s DHCP timeout. No bed test is about
		// address conflicts.
		"--no-ping"}
	if allow != nil {
		for _, mac := range allow {
			args = append(args, "--dhcp-host="+mac.String()+",set:known")
		}
		args = append(args, "--dhcp-ignore=tag:!known")
	}
	p, err := b.start("dnsmasq", b.PeerNS, nil, nil, args...)
	if err != nil {
		t.Fatalf("bed: start dhcp: %v", err)
	}
	b.mu.Lock()
	b.dhcp = p
	b.mu.Unlock()
	// dnsmasq logs the range once its DHCP socket is bound.
	if err := waitLog(p, "DHCP, IP range", 10*time.Second); err != nil {
		t.Fatalf("bed: start dhcp: %v", err)
	}
}

// StopDHCP stops dnsmasq, if running.
func (b *Bed) StopDHCP(t testing.TB) {
	t.Helper()
	b.mu.Lock()
	p := b.dhcp
	b.dhcp = nil
	b.mu.Unlock()
	if p != nil {
		p.stop(5 * time.Second)
	}
}

// DHCP returns the running dnsmasq process (nil when none), e.g. for its Log.
func (b *Bed) DHCP() *Process {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.dhcp
}

// waitLog waits until p's log contains s.
func waitLog(p *Process, s string, timeout time.Duration) error {
	deadline := time.Now().Add(timeout)
	for {
		log := p.Log()
		if strings.Contains(log, s) {
			return nil
		}
		if p.Exited() {
			return fmt.Errorf("%s exited (%v) before logging %q:\n%s", p.name, p.Wait(0), s, log)
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("%s did not log %q within %v:\n%s", p.name, s, timeout, log)
		}
		time.Sleep(20 * time.Millisecond)
	}
}
