// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// countLog counts the service's log lines that contain every one of subs.
func (g *guard) countLog(subs ...string) int {
	n := 0
	for _, line := range strings.Split(g.p.Log(), "\n") {
		ok := true
		for _, s := range subs {
			if !strings.Contains(line, s) {
				ok = false
				break
			}
		}
		if ok {
			n++
		}
	}
	return n
}

// waitLogCount waits until at least n log lines contain every one of subs.
func (g *guard) waitLogCount(t testing.TB, n int, timeout time.Duration, subs ...string) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for g.countLog(subs...) < n {
		if g.p.Exited() {
			t.Fatalf("the service exited (%v) while waiting for %d lines with %q; log:\n%s", g.p.Wait(0), n, subs, tail(g.p.Log(), 60))
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d log lines with %q within %s, want %d; log:\n%s", g.countLog(subs...), subs, timeout, n, tail(g.p.Log(), 60))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// status asks the running service for its Status over the bed's bus: it
// fails t when the service does not answer (dead or hung).
func status(t testing.TB, b *bed.Bed) api.Status {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var js string
	if err := conn.Object(api.BusName, api.Path).CallWithContext(ctx, api.StatusMethod, 0).Store(&js); err != nil {
		t.Fatalf("Status: the service does not answer: %v", err)
	}
	var st api.Status
	if err := json.Unmarshal([]byte(js), &st); err != nil {
		t.Fatalf("Status %q: %v", js, err)
	}
	return st
}

// setSpoofing calls SetSpoofing as root over the bed's bus (no polkit on
// the bed's bus: root is allowed).
func setSpoofing(t testing.TB, b *bed.Bed, spoof bool) error {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	return conn.Object(api.BusName, api.Path).CallWithContext(ctx, api.SetSpoofing, 0, spoof).Err
}

// sendRaw writes n broadcast frames with source address src on dev in the
// client namespace through an AF_PACKET socket (which passes the egress
// hook, like NM's DHCP client). It returns how many reached the device's
// transmit path: sent, or dropped on the way out (ENOBUFS: the egress hook,
// i.e. the backstop, dropped it).
func sendRaw(t testing.TB, b *bed.Bed, dev string, src net.HardwareAddr, n int) int {
	t.Helper()
	sent := 0
	err := b.InClient(t, func() error {
		ifi, err := net.InterfaceByName(dev)
		if err != nil {
			return err
		}
		fd, err := syscall.Socket(syscall.AF_PACKET, syscall.SOCK_RAW|syscall.SOCK_CLOEXEC, 0)
		if err != nil {
			return fmt.Errorf("packet socket: %w", err)
		}
		defer syscall.Close(fd)
		frame := make([]byte, 60)
		copy(frame[0:6], []byte{0xff, 0xff, 0xff, 0xff, 0xff, 0xff})
		copy(frame[6:12], src)
		frame[12], frame[13] = 0x88, 0xb5 // IEEE local experimental ethertype
		copy(frame[14:], "mac-nmguard fault test")
		to := &syscall.SockaddrLinklayer{Ifindex: ifi.Index, Halen: 6, Protocol: 0xb588}
		copy(to.Addr[:], frame[0:6])
		var last error
		for range n {
			err := syscall.Sendto(fd, frame, 0, to)
			if err != nil && err != syscall.ENOBUFS {
				last = err
				continue
			}
			sent++
		}
		if sent < n {
			t.Logf("send on %s: %d of %d frames did not reach the device: %v", dev, n-sent, n, last)
		}
		return nil
	})
	if err != nil {
		t.Fatalf("send raw frames on %s: %v", dev, err)
	}
	return sent
}

// compliantAll checks every device of the bed against the default policy.
func compliantAll(t *testing.T, b *bed.Bed, devs []bed.Device) {
	t.Helper()
	for _, d := range devs {
		compliant(t, d.Name, linkAddr(t, b, d.Name), d.MAC)
	}
}

// noRealFramesAll fails t if the capture saw a frame from any real address.
func noRealFramesAll(t *testing.T, c *bed.Capture, devs []bed.Device) {
	t.Helper()
	c.Stop()
	leaks := 0
	for _, d := range devs {
		if n := c.Count(d.MAC); n != 0 {
			t.Errorf("LEAK: the peer saw %d frames from the real address %s of %s", n, d.MAC, d.Name)
			leaks += n
		}
	}
	if leaks != 0 {
		t.Fatalf("LEAK: %d real-address frames in all (sources: %v)", leaks, c.Sources())
	}
}

// TestIntegrationFaultNMKilledDuringActivation: NetworkManager killed with
// SIGKILL while it activates two devices, three times, and started again:
// the service resyncs each time and the peer never sees a real address.
func TestIntegrationFaultNMKilledDuringActivation(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 2}))
	devs := b.Devices()
	b.StartDHCP(t, nil)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	uuids := map[string]string{}
	for _, d := range devs {
		waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
		uuids[d.Name] = b.AddProfile(t, bed.Profile{Name: "w-" + d.Name, Interface: d.Name, DHCPTimeout: 10})
	}
	for round, delay := range []time.Duration{150 * time.Millisecond, 600 * time.Millisecond, 1500 * time.Millisecond} {
		appeared := g.countLog("NetworkManager (re)appeared")
		// --wait 0: nmcli returns once NM has the request (an nmcli
		// waiting for the outcome sits out its whole --wait after NM is
		// killed: it does not notice NM leaving the bus).
		for _, d := range devs {
			if _, err := b.Nmcli(t, "--wait", "0", "connection", "up", "uuid", uuids[d.Name], "ifname", d.Name); err != nil {
				t.Fatalf("%s: start activation: %v", d.Name, err)
			}
		}
		time.Sleep(delay)
		b.KillNM(t, syscall.SIGKILL)
		compliantAll(t, b, devs) // NM is gone: the kernel side alone
		b.StartNM(t)
		g.waitLogCount(t, appeared+1, 15*time.Second, "NetworkManager (re)appeared")
		compliantAll(t, b, devs)
		t.Logf("round %d: NM killed %s into the activation; service resynced", round+1, delay)
	}
	for _, d := range devs {
		if err := b.Activate(t, uuids[d.Name], d.Name); err != nil {
			t.Fatalf("%s: activation after the kills: %v", d.Name, err)
		}
		b.WaitState(t, d.Name, detect.StateActivated, 30*time.Second)
	}
	compliantAll(t, b, devs)
	status(t, b)
	noRealFramesAll(t, capt, devs)
}

// TestIntegrationFaultNMRestarted20: NetworkManager restarted 20 times in a
// row under a running service with an activated device: 20 resyncs, the
// device stays compliant, no real-address frame.
func TestIntegrationFaultNMRestarted20(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	devs := b.Devices()
	d := devs[0]
	b.StartDHCP(t, nil)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	uuid := b.AddProfile(t, bed.Profile{Name: "wired", Interface: d.Name, DHCPTimeout: 10})
	if err := b.Activate(t, uuid, d.Name); err != nil {
		t.Fatalf("activation: %v", err)
	}
	appeared := g.countLog("NetworkManager (re)appeared")
	start := time.Now()
	for i := range 20 {
		b.RestartNM(t)
		g.waitLogCount(t, appeared+i+1, 15*time.Second, "NetworkManager (re)appeared")
		compliantAll(t, b, devs)
	}
	t.Logf("20 NM restarts, each resynced, in %s", time.Since(start).Round(time.Millisecond))
	if err := b.Activate(t, uuid, d.Name); err != nil {
		t.Fatalf("activation after 20 restarts: %v", err)
	}
	b.WaitState(t, d.Name, detect.StateActivated, 30*time.Second)
	compliantAll(t, b, devs)
	status(t, b)
	noRealFramesAll(t, capt, devs)
}

// TestIntegrationFaultBusRestart: the system bus restarted under the
// service (then NM, which does not come back on a new bus by itself): the
// service reconnects; meanwhile the kernel side keeps guarding — frames
// sent with the real address are dropped by the backstop, the real address
// forced on the card is replaced — and the peer sees none of them.
func TestIntegrationFaultBusRestart(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	devs := b.Devices()
	d := devs[0]
	b.StartDHCP(t, nil)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	uuid := b.AddProfile(t, bed.Profile{Name: "wired", Interface: d.Name, DHCPTimeout: 10})
	if err := b.Activate(t, uuid, d.Name); err != nil {
		t.Fatalf("activation: %v", err)
	}
	spoofed := mustHW(t, linkAddr(t, b, d.Name))
	if n := g.countLog("bus: connected"); n != 1 {
		t.Fatalf("%d \"bus: connected\" lines before the bus restart, want 1", n)
	}

	b.RestartBus(t)
	g.waitLogCount(t, 1, 10*time.Second, "bus: connection lost")
	g.waitLogCount(t, 2, 20*time.Second, "bus: connected")

	// NM is off the bus: only the kernel side guards. Frames with the real
	// address are dropped by the backstop (its counter moves); frames with
	// the private address go out (the capture is judging something).
	before := droppedPackets(nftRuleset(t, b))
	if sent := sendRaw(t, b, d.Name, d.MAC, 20); sent != 20 {
		t.Fatalf("only %d of 20 real-address frames reached the device", sent)
	}
	sendRaw(t, b, d.Name, spoofed, 5)
	if after := droppedPackets(nftRuleset(t, b)); after-before < 20 {
		t.Fatalf("backstop dropped %d frames, want >= 20 (ruleset:\n%s)", after-before, nftRuleset(t, b))
	}
	// The real address forced on the card while NM is away: netlink alone
	// brings the private address back.
	ipClient(t, b, "link", "set", "dev", d.Name, "address", d.MAC.String())
	addr := waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	compliant(t, d.Name, addr, d.MAC)

	b.RestartNM(t)
	g.waitLogCount(t, 1, 15*time.Second, "NetworkManager (re)appeared")
	if err := b.Activate(t, uuid, d.Name); err != nil {
		t.Fatalf("activation after the bus restart: %v", err)
	}
	b.WaitState(t, d.Name, detect.StateActivated, 30*time.Second)
	compliantAll(t, b, devs)
	if st := status(t, b); !st.NMRunning {
		t.Errorf("Status after the bus restart: nm_running=false")
	}
	noRealFramesAll(t, capt, devs)
	if capt.Count(spoofed) < 5 {
		t.Fatalf("the peer saw %d frames from the private address %s, want >= 5: the capture judged nothing", capt.Count(spoofed), spoofed)
	}
}

// seedState writes a valid state file holding one "always" exemption.
func seedState(t *testing.T, path string, ex policy.Exemption) {
	t.Helper()
	st := state.State{Version: 1, Secret: strings.Repeat("5a", 32), Exemptions: []policy.Exemption{ex}}
	data, err := json.MarshalIndent(st, "", "  ")
	if err != nil {
		t.Fatal(err)
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
}

// readBootState parses the per-boot state file and fails t if it is torn or
// invalid.
func readBootState(t *testing.T, path string) state.BootState {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("per-boot state file: %v", err)
	}
	var st state.BootState
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("TORN per-boot state file %s: %v\n%q", path, err, data)
	}
	if st.Version != 1 || st.BootID == "" {
		t.Fatalf("per-boot state file %s: version %d, boot id %q", path, st.Version, st.BootID)
	}
	return st
}

// readState parses the state file and fails t if it is torn or invalid.
func readState(t *testing.T, path string) state.State {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("state file: %v", err)
	}
	var st state.State
	if err := json.Unmarshal(data, &st); err != nil {
		t.Fatalf("TORN state file %s: %v\n%q", path, err, data)
	}
	if st.Version != 1 || len(st.Secret) != 64 {
		t.Fatalf("state file %s: version %d, secret of %d hex digits", path, st.Version, len(st.Secret))
	}
	return st
}

// newGuard prepares a service's directory without starting it.
func newGuard(t *testing.T, b *bed.Bed) *guard {
	t.Helper()
	dir := filepath.Join(b.Dir, "guard")
	writeBedCards(t, filepath.Join(dir, "policy.d"))
	return &guard{b: b, dir: dir, stateDir: filepath.Join(dir, "state"), runtimeDir: filepath.Join(dir, "run")}
}

// TestIntegrationFaultServiceKilledWhileWriting: the service killed with
// SIGKILL 30 times while it writes its per-boot state file (SetSpoofing
// calls in a loop, and a hotplugged device per round whose first address is
// saved): it always parses, and the state file keeps the user's exemption;
// every restart adopts the backstop; the peer never sees a real address.
func TestIntegrationFaultServiceKilledWhileWriting(t *testing.T) {
	bed.Require(t, "nft")
	const rounds = 30
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	capt := b.StartCapture(t)
	g := newGuard(t, b)
	statePath := filepath.Join(g.stateDir, "state.json")
	ex := policy.Exemption{UUID: "2b4f6c1e-0000-4000-8000-00000000cafe", Scope: policy.ScopeAlways}
	seedState(t, statePath, ex)
	devs := b.Devices()
	writes := 0
	for i := range rounds {
		g.start(t)
		if i > 0 {
			g.waitLog(t, 10*time.Second, "backstop: adopted rule", "device="+devs[0].Name)
		}
		g.waitLog(t, 10*time.Second, "api: serving")
		dev := b.AddDevice(t, fmt.Sprintf("k%d", i), bed.DeviceMAC(100+i))
		devs = append(devs, dev)
		stop := make(chan struct{})
		done := make(chan int)
		var ok atomic.Int64
		go func() {
			n := 0
			for {
				select {
				case <-stop:
					done <- n
					return
				default:
				}
				if setSpoofing(t, b, true) == nil {
					n++
					ok.Add(1)
				}
			}
		}()
		// Kill while writes go on: after the first one has succeeded (a
		// loaded machine can be slow to get there), at a varying moment.
		deadline := time.Now().Add(20 * time.Second)
		for ok.Load() == 0 && time.Now().Before(deadline) {
			time.Sleep(5 * time.Millisecond)
		}
		time.Sleep(time.Duration(50+(i*37)%250) * time.Millisecond)
		if err := g.p.Signal(syscall.SIGKILL); err != nil {
			t.Fatal(err)
		}
		_ = g.p.Wait(10 * time.Second)
		close(stop)
		n := <-done
		if n == 0 {
			t.Fatalf("round %d: no SetSpoofing call succeeded before the kill: nothing was being written", i)
		}
		writes += n
		st := readState(t, statePath)
		if len(st.Exemptions) != 1 || st.Exemptions[0] != ex {
			t.Fatalf("round %d: exemptions after SIGKILL = %+v, want [%+v]", i, st.Exemptions, ex)
		}
		if bs := readBootState(t, filepath.Join(g.runtimeDir, "boot.json")); bs.Spoof == nil || !*bs.Spoof {
			t.Fatalf("round %d: per-boot spoof switch after SIGKILL = %v, want true", i, bs.Spoof)
		}
	}
	g.start(t)
	for _, d := range devs {
		g.waitLog(t, 10*time.Second, "backstop: adopted rule", "device="+d.Name)
	}
	g.waitLog(t, 10*time.Second, "api: serving")
	st := status(t, b)
	if len(st.Exemptions) != 1 || st.Exemptions[0] != ex {
		t.Fatalf("exemptions after %d kills: %+v, want [%+v]", rounds, st.Exemptions, ex)
	}
	for _, d := range devs {
		waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	}
	compliantAll(t, b, devs)
	tmps, _ := filepath.Glob(filepath.Join(g.runtimeDir, ".boot.json.tmp-*"))
	t.Logf("%d kills during %d successful SetSpoofing writes and %d hotplugs; state always parsed; %d temporary files left behind by the kills",
		rounds, writes, rounds, len(tmps))
	noRealFramesAll(t, capt, devs)
}

// TestIntegrationFaultDeviceDeletedMidActivation: cards unplugged while NM
// activates them: the service forgets them, keeps running and answering,
// and the peer sees no real address.
func TestIntegrationFaultDeviceDeletedMidActivation(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{}))
	b.StartDHCP(t, nil)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	var devs []bed.Device
	for i, delay := range []time.Duration{0, 50 * time.Millisecond, 200 * time.Millisecond, 500 * time.Millisecond, 1200 * time.Millisecond} {
		name := fmt.Sprintf("del%d", i)
		uuid := b.AddProfile(t, bed.Profile{Name: name, Interface: name, DHCPTimeout: 10})
		d := b.AddDevice(t, name, bed.DeviceMAC(150+i))
		devs = append(devs, d)
		g.waitLog(t, 10*time.Second, "nm: device handed to NetworkManager", "device="+name)
		b.WaitState(t, name, detect.StateDisconnected, 10*time.Second)
		res := make(chan error, 1)
		go func() { res <- b.Activate(t, uuid, name) }()
		time.Sleep(delay)
		b.DeleteDevice(t, name)
		err := <-res
		g.waitLog(t, 10*time.Second, "netlink: device removed", "device="+name)
		t.Logf("%s deleted %s into its activation: nmcli said %v", name, delay, err)
	}
	st := status(t, b)
	if g.p.Exited() {
		t.Fatalf("the service exited: %v", g.p.Wait(0))
	}
	t.Logf("service alive after 5 unplugs mid-activation; %d violations recorded", len(st.Violations))
	// A card plugged after all that is still guarded.
	d := b.AddDevice(t, "after0", bed.DeviceMAC(160))
	devs = append(devs, d)
	waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	compliant(t, d.Name, linkAddr(t, b, d.Name), d.MAC)
	noRealFramesAll(t, capt, devs)
}

// TestIntegrationFaultHotplug200: bed.MaxDevices cards hotplugged at once
// under autoconnect profiles: each gets a backstop rule for its real
// address and a private address, NM activates every one (DHCP), and the
// peer sees no real address. MAC_NMGUARD_HOTPLUG200_ACTIVATE=0 skips waiting
// for the 200 activations (guarding and zero frames are still checked);
// measured here: 200 guarded and handed to NM 7 s after the first plug, all
// activated within 82 s of test time.
func TestIntegrationFaultHotplug200(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	n := bed.MaxDevices
	b := bed.New(t, guardOptions(t, bed.Options{}))
	b.StartDHCP(t, nil)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	for i := range n {
		b.AddProfile(t, bed.Profile{Name: fmt.Sprintf("auto%d", i), Interface: bed.DeviceName(i), Autoconnect: true, DHCPTimeout: 60})
	}
	start := time.Now()
	var devs []bed.Device
	for i := range n {
		devs = append(devs, b.AddDevice(t, bed.DeviceName(i), bed.DeviceMAC(i)))
	}
	plugged := time.Since(start)
	g.waitLogCount(t, n, 90*time.Second, "nm: device handed to NetworkManager")
	guarded := time.Since(start)
	rules := nftRuleset(t, b)
	chains := strings.Count(rules, "chain dev_")
	if chains < n {
		t.Fatalf("%d backstop chains for %d cards", chains, n)
	}
	for _, d := range devs {
		if !strings.Contains(rules, strings.ToLower(d.MAC.String())) {
			t.Errorf("no backstop rule for %s's real address %s", d.Name, d.MAC)
		}
	}
	if os.Getenv("MAC_NMGUARD_HOTPLUG200_ACTIVATE") != "0" {
		for _, d := range devs {
			b.WaitState(t, d.Name, detect.StateActivated, 3*time.Minute)
		}
	} else {
		time.Sleep(5 * time.Second)
	}
	settled := time.Since(start)
	activated := 0
	if out, err := b.Nmcli(t, "-t", "-f", "DEVICE,STATE", "device"); err == nil {
		activated = strings.Count(out, ":connected\n")
	}
	compliantAll(t, b, devs)
	t.Logf("%d cards: plugged in %s, all guarded and handed to NM %s after the first plug; %d activated %s after it; %d backstop chains",
		n, plugged.Round(time.Millisecond), guarded.Round(time.Millisecond), activated, settled.Round(time.Millisecond), chains)
	status(t, b)
	noRealFramesAll(t, capt, devs)
}

// TestIntegrationFaultCarrierFlap: the cable of an activated card pulled and
// plugged back 1000 times: the service stays up and answering, the card
// compliant, the peer sees no real address.
func TestIntegrationFaultCarrierFlap(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	flaps := 1000
	if testing.Short() {
		flaps = 100
	}
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	devs := b.Devices()
	d := devs[0]
	b.StartDHCP(t, nil)
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	uuid := b.AddProfile(t, bed.Profile{Name: "wired", Interface: d.Name, Autoconnect: true, DHCPTimeout: 10})
	_ = b.Activate(t, uuid, d.Name) // autoconnect may have been first
	b.WaitState(t, d.Name, detect.StateActivated, 30*time.Second)
	start := time.Now()
	for range flaps {
		b.SetCarrier(t, d.Name, false)
		b.SetCarrier(t, d.Name, true)
	}
	t.Logf("%d carrier flaps in %s", flaps, time.Since(start).Round(time.Millisecond))
	if g.p.Exited() {
		t.Fatalf("the service exited during the flaps: %v", g.p.Wait(0))
	}
	status(t, b)
	b.WaitState(t, d.Name, detect.StateActivated, 60*time.Second)
	compliantAll(t, b, devs)
	noRealFramesAll(t, capt, devs)
}

// TestIntegrationFaultCorruptState: a torn state file at start is moved
// aside (state.json.corrupt-*) and the service starts afresh, spoofing
// (fail closed: the exemptions it held are gone). A state file corrupted
// while the service runs is not read again (SIGHUP reloads the policy only):
// the next write replaces it with the service's state, exemption kept.
func TestIntegrationFaultCorruptState(t *testing.T) {
	bed.Require(t, "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	devs := b.Devices()
	d := devs[0]
	capt := b.StartCapture(t)
	g := newGuard(t, b)
	statePath := filepath.Join(g.stateDir, "state.json")

	// While running: corrupt, SIGHUP, a write.
	ex := policy.Exemption{UUID: "2b4f6c1e-0000-4000-8000-00000000cafe", Scope: policy.ScopeAlways}
	seedState(t, statePath, ex)
	g.start(t)
	waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	if err := os.WriteFile(statePath, []byte("{\"version\": 1, \"secr"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := g.p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	g.waitLog(t, 10*time.Second, "policy: reloaded")
	if err := setSpoofing(t, b, true); err != nil {
		t.Fatalf("SetSpoofing: %v", err)
	}
	// The switch goes to the per-boot file, which stays whole; the
	// service still holds the exemption it read.
	readBootState(t, filepath.Join(g.runtimeDir, "boot.json"))
	if st := status(t, b); len(st.Exemptions) != 1 || st.Exemptions[0] != ex {
		t.Fatalf("exemptions after the state file turned corrupt: %+v, want [%+v]", st.Exemptions, ex)
	}
	compliantAll(t, b, devs)

	// At start: torn file.
	if err := g.p.Signal(syscall.SIGTERM); err != nil {
		t.Fatal(err)
	}
	if err := g.p.Wait(10 * time.Second); err != nil {
		t.Fatalf("service stop: %v", err)
	}
	torn := []byte("{\"version\": 1, \"secret\": \"5a5a")
	if err := os.WriteFile(statePath, torn, 0o600); err != nil {
		t.Fatal(err)
	}
	ipClient(t, b, "link", "set", "dev", d.Name, "address", d.MAC.String()) // the real address, as after a reboot
	g.start(t)
	line := g.waitLog(t, 10*time.Second, "state:", "was corrupt", "moved to")
	t.Logf("reported: %s", line)
	aside, _ := filepath.Glob(statePath + ".corrupt-*")
	if len(aside) != 1 {
		t.Fatalf("corrupt state files moved aside: %v, want one", aside)
	}
	if got, err := os.ReadFile(aside[0]); err != nil || string(got) != string(torn) {
		t.Fatalf("%s holds %q (%v), want the torn file's bytes", aside[0], got, err)
	}
	if !strings.Contains(line, aside[0]) {
		t.Errorf("the log line does not name %s", aside[0])
	}
	waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	compliantAll(t, b, devs)
	if st := status(t, b); len(st.Exemptions) != 0 || !st.Spoof {
		t.Fatalf("after a corrupt state file: exemptions %+v spoof %t; want none and spoofing (fail closed)", st.Exemptions, st.Spoof)
	}
	readState(t, statePath)
	noRealFramesAll(t, capt, devs)
}

// TestIntegrationFaultCorruptPolicy: a corrupt policy drop-in at start makes
// the service use the built-in default (spoof) and report file:line:col; a
// corrupt drop-in at SIGHUP keeps the last good policy and reports
// file:line:col; the card stays private throughout.
func TestIntegrationFaultCorruptPolicy(t *testing.T) {
	bed.Require(t, "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	devs := b.Devices()
	d := devs[0]
	capt := b.StartCapture(t)
	g := newGuard(t, b)
	// The main file says "permanent" (the opt-out): if the broken drop-in
	// made the service read the files it could, the card would get its real
	// address. Failing closed means the built-in default: spoof.
	if err := os.WriteFile(filepath.Join(g.dir, "policy.toml"), []byte("[default]\nmode = \"permanent\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	bad := filepath.Join(g.dir, "policy.d", "50-bad.toml")
	if err := os.WriteFile(bad, []byte("[default]\nmode = \"keep-vendor\"\nenforcement = \n"), 0o644); err != nil {
		t.Fatal(err)
	}
	g.start(t)
	line := g.waitLog(t, 10*time.Second, "policy: cannot load", "50-bad.toml:3:15")
	t.Logf("at start: %s", line)
	waitAddrNot(t, b, d.Name, d.MAC.String(), 10*time.Second)
	compliantAll(t, b, devs)
	if st := status(t, b); !st.Spoof {
		t.Fatalf("Status spoof=false with a corrupt drop-in: not failing closed")
	}

	// Fix it: a valid random-mode policy, reloaded.
	if err := os.WriteFile(bad, []byte("[default]\nmode = \"random\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := g.p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	g.waitLog(t, 10*time.Second, "policy: reloaded")
	good := status(t, b).Policy
	goodPol, err := policy.Load(filepath.Join(g.dir, "policy.toml"), filepath.Join(g.dir, "policy.d"))
	if err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(strings.Join(good, " "), "50-bad.toml") {
		t.Fatalf("policy sources after the good reload: %v", good)
	}

	// Break another drop-in at SIGHUP: the last good policy stays.
	worse := filepath.Join(g.dir, "policy.d", "60-worse.toml")
	if err := os.WriteFile(worse, []byte("[default]\nmode = \"bogus\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	addrBefore := linkAddr(t, b, d.Name)
	if err := g.p.Signal(syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	line = g.waitLog(t, 10*time.Second, "policy: reload failed; keeping the last good policy", "60-worse.toml:2:8")
	t.Logf("at SIGHUP: %s", line)
	if st := status(t, b); strings.Join(st.Policy, " ") != strings.Join(good, " ") || !st.Spoof {
		t.Fatalf("after a bad reload: sources %v spoof %t, want the last good %v and spoof", st.Policy, st.Spoof, good)
	}
	got := linkAddr(t, b, d.Name)
	if got != addrBefore {
		t.Errorf("a rejected reload changed the address: %s -> %s", addrBefore, got)
	}
	cur, err := policy.ParseMAC(got)
	if err != nil {
		t.Fatal(err)
	}
	real, err := policy.FromHardwareAddr(d.MAC)
	if err != nil {
		t.Fatal(err)
	}
	if v := goodPol.Evaluate(policy.Device{Interface: d.Name, Current: cur, Real: real, RealKnown: true}, policy.Network{}, nil); !v.Allowed {
		t.Fatalf("%s has %s, not compliant with the last good policy: %s", d.Name, got, v.Reason)
	}
	noRealFramesAll(t, capt, devs)
}
