// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/backstop"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

func hw(t *testing.T, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}

// startService runs a service on a fake kernel with no bus (the dial fails),
// as it would before NetworkManager and D-Bus are up.
func startService(t *testing.T, k *fakeKernel, policyText string) *Service {
	t.Helper()
	dir := t.TempDir()
	pf := filepath.Join(dir, "policy.toml")
	if policyText != "" {
		if err := state.WriteFileAtomic(pf, []byte(policyText), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	svc, err := New(Config{
		PolicyFile: pf, PolicyDir: filepath.Join(dir, "policy.d"), StatePath: filepath.Join(dir, "state.json"),
		Dial:  func() (*dbus.Conn, error) { return nil, errors.New("no bus in this test") },
		Links: k, Backstop: backstopView{k},
		Log:    slog.New(slog.NewTextHandler(io.Discard, nil)),
		Rfkill: noRfkill,
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	return svc
}

// snapshot reads a device's gate state and address from the service loop.
func snapshot(t *testing.T, svc *Service, iface string) (gateState, string) {
	t.Helper()
	var g gateState
	var addr string
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.do(ctx, func() {
		if d, ok := svc.devs[iface]; ok {
			g, addr = d.gate, d.link.Addr.String()
		}
	}); err != nil {
		t.Fatal(err)
	}
	return g, addr
}

func waitGate(t *testing.T, svc *Service, iface string, want gateState) string {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for {
		g, addr := snapshot(t, svc, iface)
		if g == want {
			return addr
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: gate %q, want %q", iface, g, want)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func TestServiceSpoofsPresentAndHotpluggedDevices(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	svc := startService(t, k, "")
	addr := waitGate(t, svc, "eth0", gateSpoofed)
	if addr == real0.String() {
		t.Fatalf("eth0 still has its real address")
	}
	m, _ := policy.ParseMAC(addr)
	if v := policy.Default().Evaluate(policy.Device{Interface: "eth0", Current: m, Real: mustPMAC(t, real0.String()), RealKnown: true}, policy.Network{}, nil); !v.Allowed {
		t.Fatalf("address set %s is not compliant: %s", addr, v.Reason)
	}
	if r := k.List2()["eth0"]; r.Real.String() != real0.String() {
		t.Fatalf("backstop rule for eth0 = %+v, want real %s", r, real0)
	}

	// Hotplug: a veth without permanent address; its first address is the real one.
	first := hw(t, "02:00:00:00:01:01")
	k.mu.Lock()
	k.links["veth1"] = links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first}
	k.mu.Unlock()
	k.events <- links.Event{Link: links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first}}
	addr = waitGate(t, svc, "veth1", gateSpoofed)
	if addr == first.String() {
		t.Fatalf("veth1 kept its first address")
	}
	if r := k.List2()["veth1"]; r.Real.String() != first.String() {
		t.Fatalf("backstop rule for veth1 = %+v, want first-seen %s", r, first)
	}
}

// TestServiceKeepsDeviceDownWhenAddressCannotBeSet uses the fake kernel
// (test/ifb_test.go shows the same against the kernel with an ifb device):
// the card is kept down, taken down again each time it is raised, and the
// episode is one violation however often the service decides on it again.
func TestServiceKeepsDeviceDownWhenAddressCannotBeSet(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	k.failSet["eth0"] = true
	svc := startService(t, k, "")
	waitGate(t, svc, "eth0", gateFailed)
	l, _ := k.Get("eth0")
	if l.Up {
		t.Fatalf("eth0 is up although its address could not be set")
	}
	if r := k.List2()["eth0"]; r.Real.String() != real0.String() {
		t.Fatalf("backstop not in place for eth0: %+v", k.List2())
	}
	for i := range 3 {
		// Root raises it; then something makes the service decide again.
		if err := k.SetUp("eth0"); err != nil {
			t.Fatal(err)
		}
		up, _ := k.Get("eth0")
		k.events <- links.Event{Link: up}
		deadline := time.Now().Add(5 * time.Second)
		for {
			if l, _ := k.Get("eth0"); !l.Up {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("raise %d: eth0 still up", i+1)
			}
			time.Sleep(5 * time.Millisecond)
		}
		if err := svc.Reload(context.Background()); err != nil {
			t.Fatal(err)
		}
	}
	var n int
	if err := svc.do(context.Background(), func() { n = len(svc.violations) }); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d violations for one episode, want 1", n)
	}
}

func TestServiceIgnoreAndPermanentReleaseBackstop(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	k.rules["eth0"] = backstop.Rule{Interface: "eth0", Real: real0} // left by a previous run
	svc := startService(t, k, "[default]\nmode = \"permanent\"\n")
	waitGate(t, svc, "eth0", gateAllowed)
	if _, ok := k.List2()["eth0"]; ok {
		t.Fatalf("backstop still drops the real address although policy says permanent")
	}
	if l, _ := k.Get("eth0"); l.Addr.String() != real0.String() {
		t.Fatalf("address changed to %s under permanent", l.Addr)
	}
}

func TestServiceReloadKeepsLastGoodPolicy(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	svc := startService(t, k, "[default]\nmode = \"permanent\"\n")
	waitGate(t, svc, "eth0", gateAllowed)
	if err := state.WriteFileAtomic(svc.cfg.PolicyFile, []byte("[default]\nmode = \"bogus\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	err := svc.Reload(context.Background())
	if err == nil {
		t.Fatal("reload of an invalid policy succeeded")
	}
	if got := err.Error(); !containsAll(got, "policy.toml", "2") {
		t.Errorf("reload error %q does not name file and line", got)
	}
	// Still the last good policy: the device keeps its real address, no guard.
	if g, addr := snapshot(t, svc, "eth0"); g != gateAllowed || addr != real0.String() {
		t.Fatalf("after bad reload: gate %s addr %s", g, addr)
	}
}

func containsAll(s string, subs ...string) bool {
	for _, sub := range subs {
		if !contains(s, sub) {
			return false
		}
	}
	return true
}

func contains(s, sub string) bool {
	return strings.Contains(s, sub)
}

func TestServiceLeavesIgnoredDevicesAlone(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "docker0", Kind: "bridge", Addr: real0, Up: false})
	svc := startService(t, k, "[default]\nmode = \"ignore\"\n")
	waitGate(t, svc, "docker0", gateIgnored)
	for _, c := range k.Calls() {
		t.Errorf("the service acted on an ignored device: %s", c)
	}
}

// TestBlockOneViolationWhenActivationEnds: NetworkManager, ending an
// activation the service refused, sets its scan address before the service
// reads its next state; that address change, seen with the stale state and
// no active connection any more, is the same episode: one violation (seen
// on the systemd boot of test/wifibed as two warnings for one refusal).
func TestBlockOneViolationWhenActivationEnds(t *testing.T) {
	real0 := hw(t, "02:00:00:00:00:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "wlan0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	svc := startService(t, k, "")
	waitGate(t, svc, "wlan0", gateSpoofed)
	var n int
	if err := svc.do(context.Background(), func() {
		d := svc.devs["wlan0"]
		d.nm.ActiveConnection = "/org/freedesktop/NetworkManager/ActiveConnection/7"
		svc.block(context.Background(), d, gate.Decision{Block: true, Disconnect: true, Reason: "address equals the real address"}, "address changed", time.Now())
		d.nm.ActiveConnection = "/"
		svc.block(context.Background(), d, gate.Decision{Block: true, Disconnect: true, Reason: "address does not keep the real vendor prefix"}, "address changed", time.Now())
		n = len(svc.violations)
	}); err != nil {
		t.Fatal(err)
	}
	if n != 1 {
		t.Fatalf("%d violations for one refused activation, want 1", n)
	}
}

// TestBlockedRealAddressKeptDown: NetworkManager sets a profile's
// cloned-mac-address=permanent by taking the link down, setting the address
// and raising the link; the refusal reacts to the address change, and the
// raise that follows it must not stand while the card has the real address
// (seen on the systemd boot of test/wifibed: one authentication frame with
// the real address after the refusal).
func TestBlockedRealAddressKeptDown(t *testing.T) {
	real0 := hw(t, "02:00:00:00:00:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "wlan0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	svc := startService(t, k, "")
	waitGate(t, svc, "wlan0", gateSpoofed)
	// NetworkManager took the link down and set the real address; the
	// service saw the change and refused.
	if err := svc.do(context.Background(), func() {
		k.mu.Lock()
		l := k.links["wlan0"]
		l.Addr, l.Up = real0, false
		k.links["wlan0"] = l
		k.mu.Unlock()
		d := svc.devs["wlan0"]
		d.link = l
		d.nm.ActiveConnection = "/org/freedesktop/NetworkManager/ActiveConnection/7"
		svc.block(context.Background(), d, gate.Decision{Block: true, Disconnect: true, Reason: "address equals the real address"}, "address changed", time.Now())
	}); err != nil {
		t.Fatal(err)
	}
	waitGate(t, svc, "wlan0", gateBlocked)
	raise := func(addr net.HardwareAddr) {
		t.Helper()
		k.mu.Lock()
		l := k.links["wlan0"]
		l.Addr, l.Up = addr, true
		k.links["wlan0"] = l
		k.mu.Unlock()
		k.events <- links.Event{Link: l}
	}
	// NetworkManager raises the link.
	raise(real0)
	deadline := time.Now().Add(5 * time.Second)
	for {
		if l, _ := k.Get("wlan0"); !l.Up {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the refused card was raised with its real address and left up")
		}
		time.Sleep(5 * time.Millisecond)
	}
}
