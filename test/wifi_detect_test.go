// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
	"github.com/mac-nmguard/mac-nmguard/test/fakenm"
)

// Wi-Fi through the service's real D-Bus path, with a FAKE NetworkManager.
//
// The test kernel has no Wi-Fi, so the real NM cannot show a Wi-Fi device
// here. These tests run `mac-nmguard run` unchanged on the bed's private
// system bus, with package fakenm owning org.freedesktop.NetworkManager in
// NM's place: a Wi-Fi device named after a real veth of the bed (so the
// service's netlink side, address changes, backstop and link up/down are
// real) whose NM states are scripted from the BUILT traces of
// detect/testdata/traces (NM's documented behaviour, not recordings).

// wifiBuiltWant is what each built Wi-Fi trace must raise through the
// service (nil: nothing), as detect/replay_test.go expects of the detector
// fed directly. TestIntegrationWifiDetectFakeNMBuiltTraces also checks it
// against the detector, so a change in detect shows up here.
func wifiBuiltWant() map[string][]detect.Kind {
	return map[string][]detect.Kind{
		"built-wifi-psk-agent-success":          nil,
		"built-wifi-psk-wrong-once-then-right":  nil,
		"built-wifi-psk-handshake-loop":         {detect.KindAuthLoop},
		"built-wifi-assoc-timeout-real-address": nil,
	}
}

// wifiKernel does to the bed's client links what NM does in stage 1 of an
// activation (fakenm.Kernel).
type wifiKernel struct{ ns string }

func (k wifiKernel) SetUp(iface string) error {
	return wifiIP(k.ns, "link", "set", "dev", iface, "up")
}

func (k wifiKernel) SetAddress(iface, mac string) error {
	return wifiIP(k.ns, "link", "set", "dev", iface, "address", mac)
}

func wifiIP(ns string, args ...string) error {
	out, err := exec.Command("ip", append([]string{"-n", ns}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("ip %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}

// wifiRig is a bed without NM, the fake NM with one Wi-Fi device on the
// bed's veth, and the service.
type wifiRig struct {
	b    *bed.Bed
	dev  bed.Device
	nm   *fakenm.NM
	path dbus.ObjectPath
	g    *guard
	addr string // the device's address once the service handed it to NM

	mu            sync.Mutex
	managedAddrs  []string // the link's address at each Managed=true call
	managedErrors []error
}

// startWifiRig builds the rig. The device starts UNMANAGED, as the installed
// NM snippet keeps a new card (its hotplug gate); the service must set its
// address and hand it to NM (Managed=true), after which the fake moves it to
// DISCONNECTED as NM does. With realKept the policy keeps the real address.
func startWifiRig(t *testing.T, policyText string, realKept bool) *wifiRig {
	t.Helper()
	bed.Require(t, "nft")
	b := bed.New(t, guardOptions(t, bed.Options{NoNM: true, Devices: 1}))
	r := &wifiRig{b: b, dev: b.Devices()[0]}
	nm, err := fakenm.Start(b.BusAddress, fakenm.Options{
		Kernel: wifiKernel{ns: b.ClientNS},
		OnCall: func(c fakenm.Call) {
			if v, ok := c.SetProperty(fakenm.DeviceIface, "Managed"); ok && v == true {
				out, err := exec.Command("ip", "-n", b.ClientNS, "-br", "link", "show", "dev", r.dev.Name).Output()
				r.mu.Lock()
				defer r.mu.Unlock()
				if f := strings.Fields(string(out)); err == nil && len(f) >= 3 {
					r.managedAddrs = append(r.managedAddrs, strings.ToLower(f[2]))
				} else {
					r.managedErrors = append(r.managedErrors, fmt.Errorf("read %s at Managed=true: %v %q", r.dev.Name, err, out))
				}
			}
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := nm.Close(); err != nil {
			t.Errorf("fake NM: %v", err)
		}
	})
	r.nm = nm
	r.path, err = nm.AddWifiDevice(fakenm.WifiDevice{
		Interface: r.dev.Name, Driver: "fakenm", HwAddress: r.dev.MAC.String(), PermHwAddress: r.dev.MAC.String(),
		State: detect.StateUnmanaged, Autoconnect: true,
	})
	if err != nil {
		t.Fatal(err)
	}
	r.g = startGuard(t, b, policyText)
	real := r.dev.MAC.String()
	if realKept {
		r.addr = real
	} else {
		r.addr = waitAddrNot(t, b, r.dev.Name, real, 10*time.Second)
		compliant(t, r.dev.Name, r.addr, r.dev.MAC)
		// NM notices the new address and reports it.
		if err := nm.SetHwAddress(r.path, r.addr); err != nil {
			t.Fatal(err)
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), 15*time.Second)
	defer cancel()
	c, err := nm.WaitCall(ctx, fakenm.IsSet(r.path, fakenm.DeviceIface, "Managed"))
	if err != nil {
		t.Fatalf("the service never handed the Wi-Fi device to NM: %v\n%s", err, tail(r.g.p.Log(), 40))
	}
	if v, _ := c.SetProperty(fakenm.DeviceIface, "Managed"); v != true {
		t.Fatalf("the service set Managed=%v, want true", v)
	}
	r.mu.Lock()
	addrs, errs := slices.Clone(r.managedAddrs), slices.Clone(r.managedErrors)
	r.mu.Unlock()
	if len(errs) > 0 || len(addrs) == 0 {
		t.Fatalf("address at Managed=true unknown: %v", errs)
	}
	if addrs[0] != r.addr {
		t.Fatalf("the service handed the device to NM with address %s, want %s (real %s)", addrs[0], r.addr, real)
	}
	r.waitDevice(t, "disconnected")
	if got := linkAddr(t, b, r.dev.Name); got != r.addr {
		t.Fatalf("%s has %s after the hand-over, want %s", r.dev.Name, got, r.addr)
	}
	return r
}

// waitDevice waits until the service's API shows the device as a Wi-Fi
// device of NM in state nmState.
func (r *wifiRig) waitDevice(t *testing.T, nmState string) api.Device {
	t.Helper()
	conn := r.b.Dial(t)
	defer conn.Close()
	deadline := time.Now().Add(10 * time.Second)
	var last []api.Device
	for {
		var js string
		if err := conn.Object(api.BusName, api.Path).Call(api.ListDevices, 0).Store(&js); err == nil {
			last = nil
			if err := json.Unmarshal([]byte(js), &last); err != nil {
				t.Fatalf("ListDevices answer %q: %v", js, err)
			}
			for _, d := range last {
				if d.Interface == r.dev.Name && d.Type == "wifi" && d.NMState == nmState {
					return d
				}
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service does not show %s as a %s Wi-Fi device: %+v\n%s", r.dev.Name, nmState, last, tail(r.g.p.Log(), 40))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// stateLines counts the NM state changes the service handled for the device.
func (r *wifiRig) stateLines() int {
	n := 0
	for _, line := range strings.Split(r.g.p.Log(), "\n") {
		if strings.Contains(line, `msg="nm: state `) && strings.Contains(line, " device="+r.dev.Name+" ") {
			n++
		}
	}
	return n
}

// wifiLinkUp reports whether the client device's link is administratively up.
func wifiLinkUp(t *testing.T, b *bed.Bed, dev string) bool {
	t.Helper()
	out, err := exec.Command("ip", "-n", b.ClientNS, "-o", "link", "show", "dev", dev).CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show %s: %v: %s", dev, err, out)
	}
	s := string(out)
	i, j := strings.Index(s, "<"), strings.Index(s, ">")
	if i < 0 || j < i {
		t.Fatalf("ip link show %s: no flags in %q", dev, s)
	}
	return slices.Contains(strings.Split(s[i+1:j], ","), "UP")
}

// suspicionWatch listens to the service's Suspicion signal and asks for
// ListSuspicions on the same connection (so every signal sent before an
// answer has arrived before it).
type suspicionWatch struct {
	conn *dbus.Conn
	sigs chan *dbus.Signal
}

func watchSuspicions(t *testing.T, b *bed.Bed) suspicionWatch {
	t.Helper()
	conn := b.Dial(t)
	t.Cleanup(func() { conn.Close() })
	if err := conn.AddMatchSignal(dbus.WithMatchInterface(api.Interface), dbus.WithMatchMember(api.SignalSuspicion)); err != nil {
		t.Fatal(err)
	}
	w := suspicionWatch{conn: conn, sigs: make(chan *dbus.Signal, 64)}
	conn.Signal(w.sigs)
	return w
}

func (w suspicionWatch) list(t *testing.T) []api.Suspicion {
	t.Helper()
	var js string
	if err := w.conn.Object(api.BusName, api.Path).Call(api.ListSuspicions, 0).Store(&js); err != nil {
		t.Fatalf("ListSuspicions: %v", err)
	}
	var out []api.Suspicion
	if err := json.Unmarshal([]byte(js), &out); err != nil {
		t.Fatalf("ListSuspicions answer %q: %v", js, err)
	}
	return out
}

// signalled returns the Suspicion signals received within wait.
func (w suspicionWatch) signalled(t *testing.T, wait time.Duration) []api.Suspicion {
	t.Helper()
	var out []api.Suspicion
	timeout := time.After(wait)
	for {
		select {
		case s := <-w.sigs:
			if s.Name != api.Interface+"."+api.SignalSuspicion {
				continue
			}
			var js string
			var sp api.Suspicion
			if err := dbus.Store(s.Body, &js); err != nil {
				t.Fatalf("Suspicion signal %v: %v", s.Body, err)
			}
			if err := json.Unmarshal([]byte(js), &sp); err != nil {
				t.Fatalf("Suspicion signal %q: %v", js, err)
			}
			out = append(out, sp)
		case <-timeout:
			return out
		}
	}
}

func readWifiTrace(t *testing.T, path string) detect.Trace {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	tr, err := detect.ReadTrace(f)
	if err != nil {
		t.Fatalf("%s: %v", path, err)
	}
	return tr
}

func kindsOfAPI(sps []api.Suspicion) []detect.Kind {
	var out []detect.Kind
	for _, sp := range sps {
		out = append(out, detect.Kind(sp.Kind))
	}
	return out
}

// TestIntegrationWifiDetectFakeNMBuiltTraces replays every built Wi-Fi
// trace through a FAKE NetworkManager (fakenm, built from NM's documented
// behaviour, not recorded) to the real service: the service spoofed the
// device first and handed it to NM; the traces that raise must raise the
// same kind, through ListSuspicions and the Suspicion signal, naming the
// trace's network (uuid, id, SSID read from the fake's profile); the benign
// ones raise nothing. The trace with the real address in use runs with a
// policy that keeps the real address, and must raise nothing.
//
// Timing: the replay is re-timed by fakenm.DefaultRetiming (gaps under 1 s
// become 20 ms, longer ones 1.5 s); the service stamps events with its own
// clock. TestRetimeKeepsVerdicts (package fakenm) shows the re-timed traces
// give the detector the same verdicts as the originals.
func TestIntegrationWifiDetectFakeNMBuiltTraces(t *testing.T) {
	bed.Require(t, "nft")
	files, err := filepath.Glob(filepath.Join("..", "detect", "testdata", "traces", "built-wifi-*.jsonl"))
	if err != nil {
		t.Fatal(err)
	}
	want := wifiBuiltWant()
	if len(files) != len(want) {
		t.Errorf("%d built Wi-Fi traces, %d in wifiBuiltWant: list every trace with its kinds", len(files), len(want))
	}
	for _, file := range files {
		name := strings.TrimSuffix(filepath.Base(file), ".jsonl")
		t.Run(name, func(t *testing.T) {
			wantKinds, ok := want[name]
			if !ok {
				t.Fatalf("%s is not in wifiBuiltWant", name)
			}
			tr := readWifiTrace(t, file)
			if tr.Header.Source != "built" {
				t.Fatalf("%s: source %q, want built", name, tr.Header.Source)
			}
			// The table must agree with the detector fed the trace directly.
			det, err := detect.New(detect.DefaultConfig(), nil)
			if err != nil {
				t.Fatal(err)
			}
			var direct []detect.Kind
			for _, ev := range tr.Events {
				for _, sp := range det.Feed(ev) {
					direct = append(direct, sp.Kind)
				}
			}
			if !slices.Equal(direct, wantKinds) {
				t.Fatalf("wifiBuiltWant says %v, the detector fed %s directly raises %v", wantKinds, name, direct)
			}
			realKept := !tr.Events[0].Spoofed
			policyText := ""
			if realKept {
				policyText = "[[device]]\nname = \"wifi-real\"\ninterface = \"" + bed.DeviceName(0) + "\"\nmode = \"permanent\"\n"
			}
			r := startWifiRig(t, policyText, realKept)
			conn := tr.Events[0].Connection
			// The traces' networks are WPA-PSK but for the "open" ones (see
			// their notes): the service offers nothing for DHCP failures on
			// an open network (TestIntegrationWifiDetectFakeNMOpenDHCPNotOffered).
			prof := fakenm.ProfileFor(conn, r.dev.Name)
			if !strings.Contains(name, "-open-") {
				prof.KeyMgmt = "wpa-psk"
			}
			if _, err := r.nm.AddProfile(prof); err != nil {
				t.Fatal(err)
			}
			w := watchSuspicions(t, r.b)
			before := r.stateLines()
			start := time.Now()
			ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
			defer cancel()
			if err := r.nm.Replay(ctx, r.path, tr, fakenm.DefaultRetiming()); err != nil {
				t.Fatalf("%v\n%s", err, tail(r.g.p.Log(), 40))
			}
			replayed := time.Since(start)
			// Barrier: the service has handled every state change.
			deadline := time.Now().Add(15 * time.Second)
			for r.stateLines()-before < len(tr.Events) {
				if time.Now().After(deadline) {
					t.Fatalf("the service handled %d of %d state changes\n%s", r.stateLines()-before, len(tr.Events), tail(r.g.p.Log(), 60))
				}
				time.Sleep(20 * time.Millisecond)
			}
			listed := w.list(t)
			signalled := w.signalled(t, 300*time.Millisecond)
			t.Logf("%d events replayed in %v; listed %v, signalled %v", len(tr.Events), replayed.Round(time.Millisecond), kindsOfAPI(listed), kindsOfAPI(signalled))
			if got := kindsOfAPI(listed); !slices.Equal(got, wantKinds) {
				t.Errorf("ListSuspicions kinds %v, want %v\n%s", got, wantKinds, tail(r.g.p.Log(), 60))
			}
			if got := kindsOfAPI(signalled); !slices.Equal(got, wantKinds) {
				t.Errorf("Suspicion signals %v, want %v", got, wantKinds)
			}
			for _, sp := range append(listed, signalled...) {
				if sp.Device != r.dev.Name || sp.Connection != conn {
					t.Errorf("suspicion names %s %+v, want %s %+v", sp.Device, sp.Connection, r.dev.Name, conn)
				}
			}
			// The address the service chose stayed, and the service never
			// disconnected the device (Replay would have failed).
			if got := linkAddr(t, r.b, r.dev.Name); got != r.addr {
				t.Errorf("%s has %s after the replay, want %s", r.dev.Name, got, r.addr)
			}
			for _, c := range r.nm.Calls() {
				if c.Member == "Disconnect" {
					t.Errorf("the service disconnected the device during a replay: %v", c)
				}
			}
			if err := r.nm.Err(); err != nil {
				t.Error(err)
			}
		})
	}
}

// TestIntegrationWifiDetectFakeNMOpenDHCPNotOffered replays the DHCP
// allow-list trace recorded on the Wi-Fi bed (real-wifi-dhcpacl-refused,
// NetworkManager's events, by a FAKE NetworkManager) on an OPEN network: anyone can set
// up an access point with that name that drops every DHCP request, so the
// service must neither signal nor list the suspicion, and must say why in
// its log (issue 13, item 5).
func TestIntegrationWifiDetectFakeNMOpenDHCPNotOffered(t *testing.T) {
	bed.Require(t, "nft")
	tr := readWifiTrace(t, filepath.Join("..", "detect", "testdata", "traces", "real-wifi-dhcpacl-refused.jsonl"))
	tr.Events = fakenm.NMEvents(tr.Events)
	r := startWifiRig(t, "", false)
	conn := tr.Events[0].Connection
	prof := fakenm.ProfileFor(conn, r.dev.Name) // no 802-11-wireless-security: open
	if prof.KeyMgmt != "" {
		t.Fatalf("ProfileFor gave key-mgmt %q, want an open profile", prof.KeyMgmt)
	}
	if _, err := r.nm.AddProfile(prof); err != nil {
		t.Fatal(err)
	}
	w := watchSuspicions(t, r.b)
	before := r.stateLines()
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	if err := r.nm.Replay(ctx, r.path, tr, fakenm.DefaultRetiming()); err != nil {
		t.Fatalf("%v\n%s", err, tail(r.g.p.Log(), 40))
	}
	deadline := time.Now().Add(15 * time.Second)
	for r.stateLines()-before < len(tr.Events) {
		if time.Now().After(deadline) {
			t.Fatalf("the service handled %d of %d state changes\n%s", r.stateLines()-before, len(tr.Events), tail(r.g.p.Log(), 60))
		}
		time.Sleep(20 * time.Millisecond)
	}
	// The detector did suspect the network; the offer gate held it back.
	r.g.waitLog(t, 5*time.Second, "detect: the network may be rejecting", "kind=dhcp-failure")
	r.g.waitLog(t, 5*time.Second, "detect: not offering the real address: an open Wi-Fi network", "device="+r.dev.Name)
	if got := w.list(t); len(got) != 0 {
		t.Errorf("ListSuspicions = %+v, want none for DHCP failures on an open network", got)
	}
	if got := w.signalled(t, 300*time.Millisecond); len(got) != 0 {
		t.Errorf("Suspicion signals %+v, want none for DHCP failures on an open network", got)
	}
	if err := r.nm.Err(); err != nil {
		t.Error(err)
	}
}

// TestIntegrationWifiDetectFakeNMRefusesRealAddressProfile: a Wi-Fi device
// (FAKE NM) activates a profile whose assigned-mac-address is the real
// address (not autoconnect, so the at-rest layer does not stop it first).
// As NM does, the fake announces PREPARE, then sets that address on the
// link (stage 1), then CONFIG: the service refuses through the real path —
// link down, Device.Disconnect on the fake, autoconnect off, a "refused"
// violation.
func TestIntegrationWifiDetectFakeNMRefusesRealAddressProfile(t *testing.T) {
	r := startWifiRig(t, "", false)
	real := r.dev.MAC.String()
	prof, err := r.nm.AddProfile(fakenm.Profile{UUID: "5f1e0c2a-real-addr", ID: "HomeNet", SSID: "HomeNet", Interface: r.dev.Name, AssignedMAC: real, KeyMgmt: "wpa-psk"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := r.nm.SetActiveConnection(r.path, prof); err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	if err := r.nm.SetState(r.path, detect.StatePrepare, 0); err != nil {
		t.Fatal(err)
	}
	reachedConfig, err := r.nm.SetStateFrom(r.path, detect.StatePrepare, detect.StateConfig, 0)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	disc, err := r.nm.WaitCall(ctx, fakenm.IsCall(r.path, fakenm.DeviceIface, "Disconnect"))
	if err != nil {
		t.Fatalf("the service did not disconnect the device: %v\n%s", err, tail(r.g.p.Log(), 60))
	}
	t.Logf("Disconnect %v after PREPARE (CONFIG announced before it: %t)", disc.Time.Sub(start).Round(time.Millisecond), reachedConfig)
	r.g.waitLog(t, 10*time.Second, "violation: refused", "device="+r.dev.Name)
	deadline := time.Now().Add(5 * time.Second)
	for wifiLinkUp(t, r.b, r.dev.Name) {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still up after the refusal\n%s", r.dev.Name, tail(r.g.p.Log(), 40))
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := r.nm.WaitCall(ctx, func(c fakenm.Call) bool {
		v, ok := c.SetProperty(fakenm.DeviceIface, "Autoconnect")
		return ok && c.Path == r.path && v == false
	}); err != nil {
		t.Errorf("autoconnect was not turned off: %v", err)
	}
	if st, err := r.nm.State(r.path); err != nil || st != detect.StateDisconnected {
		t.Errorf("fake device state %d (%v), want DISCONNECTED after the Disconnect", st, err)
	}
	if err := r.nm.Err(); err != nil {
		t.Error(err)
	}
	// For the report, not judged here: how often the service refused this
	// one activation (the address change in PREPARE and the CONFIG state
	// each count) and what its gate says afterwards.
	disconnects := 0
	for _, c := range r.nm.Calls() {
		if c.Member == "Disconnect" {
			disconnects++
		}
	}
	t.Logf("refusals logged: %d, Disconnect calls: %d, gate afterwards: %q",
		strings.Count(r.g.p.Log(), "violation: refused"), disconnects, r.waitDevice(t, "disconnected").Gate)
}

// TestIntegrationWifiDetectFakeNMBlocksAutoconnectProfileAtRest: an
// autoconnect Wi-Fi profile (FAKE NM) that would set the real address
// appears while the device is idle: the service blocks the device before
// any activation — autoconnect off through a Set on the fake, link down —
// and disconnects nothing (nothing is active).
func TestIntegrationWifiDetectFakeNMBlocksAutoconnectProfileAtRest(t *testing.T) {
	r := startWifiRig(t, "", false)
	if !wifiLinkUp(t, r.b, r.dev.Name) {
		t.Fatalf("%s is down before the profile appears: the block below would prove nothing", r.dev.Name)
	}
	_, err := r.nm.AddProfile(fakenm.Profile{UUID: "9a3c-auto-real", ID: "AutoReal", SSID: "AutoReal", Interface: r.dev.Name,
		Autoconnect: true, AssignedMAC: r.dev.MAC.String(), KeyMgmt: "wpa-psk"})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	if _, err := r.nm.WaitCall(ctx, func(c fakenm.Call) bool {
		v, ok := c.SetProperty(fakenm.DeviceIface, "Autoconnect")
		return ok && c.Path == r.path && v == false
	}); err != nil {
		t.Fatalf("autoconnect was not turned off: %v\n%s", err, tail(r.g.p.Log(), 40))
	}
	if on, err := r.nm.Autoconnect(r.path); err != nil || on {
		t.Errorf("fake device Autoconnect = %t (%v), want false", on, err)
	}
	deadline := time.Now().Add(5 * time.Second)
	for wifiLinkUp(t, r.b, r.dev.Name) {
		if time.Now().After(deadline) {
			t.Fatalf("%s is still up after the block", r.dev.Name)
		}
		time.Sleep(20 * time.Millisecond)
	}
	for _, c := range r.nm.Calls() {
		if c.Member == "Disconnect" || c.Member == "ActivateConnection" {
			t.Errorf("unexpected call at rest: %v", c)
		}
	}
}
