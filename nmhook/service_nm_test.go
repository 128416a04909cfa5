// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// The paths of the NetworkManager objects these tests use.
const (
	devEth0  = dbus.ObjectPath("/org/freedesktop/NetworkManager/Devices/2")
	devEth1  = dbus.ObjectPath("/org/freedesktop/NetworkManager/Devices/3")
	profGood = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/1")
	profBad  = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/2")
	acFirst  = dbus.ObjectPath("/org/freedesktop/NetworkManager/ActiveConnection/1")
	acSecond = dbus.ObjectPath("/org/freedesktop/NetworkManager/ActiveConnection/2")

	uuidGood = "0b3e5e2c-2222-4a4a-9b9b-000000000001"
	uuidBad  = "0b3e5e2c-2222-4a4a-9b9b-000000000002"
)

var (
	realEth0 = mustHW("00:1b:21:aa:bb:00")
	realEth1 = mustHW("00:1b:21:aa:bb:01")
)

func mustHW(s string) []byte {
	m, err := policy.ParseMAC(s)
	if err != nil {
		panic(err)
	}
	return m.HardwareAddr()
}

// wiredBed: eth0, a card NetworkManager manages, disconnected, with two
// profiles bound to it: "good" (no address of its own: the service gives
// it a private one in memory) and "bad" (cloned-mac-address=permanent, not
// autoconnect: only a manual activation brings it up). With eth1 the kernel
// has a second card NetworkManager has not reported yet.
func wiredBed(t *testing.T, policyText string) *nmBed {
	t.Helper()
	f := newFakeNM()
	f.devices[devEth0] = nm.Device{Path: devEth0, Interface: "eth0", Type: "ethernet", State: detect.StateDisconnected,
		HwAddress: "00:1b:21:aa:bb:00", PermHwAddress: "00:1b:21:aa:bb:00", Autoconnect: true, ActiveConnection: "/"}
	f.addProfile(profGood, nm.ConnTypeEthernet, uuidGood, "eth0", "")
	f.addProfile(profBad, nm.ConnTypeEthernet, uuidBad, "eth0", "permanent")
	f.mem[profBad]["connection"]["autoconnect"] = dbus.MakeVariant(false)
	return newNMBed(t, policyText, f,
		links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: realEth0, PermAddr: realEth0, Up: true, Carrier: true},
		links.Link{Index: 3, Name: "eth1", Kind: "device", Addr: realEth1, PermAddr: realEth1, Up: true, Carrier: true})
}

func hasCall(calls []string, want string) bool { return slices.Contains(calls, want) }

func countCalls(calls []string, prefix string) int {
	n := 0
	for _, c := range calls {
		if strings.HasPrefix(c, prefix) {
			n++
		}
	}
	return n
}

// TestOnStateChanged: what the service does at each NetworkManager state of
// a device, from the fake NetworkManager's and the fake kernel's side.
func TestOnStateChanged(t *testing.T) {
	type step struct {
		dev     dbus.ObjectPath
		state   uint32
		ac      dbus.ObjectPath // the activation to start at this step ("" none)
		profile dbus.ObjectPath
	}
	cases := []struct {
		name   string
		policy string
		steps  []step
		// What must have happened after the last step.
		linkDown       bool // the card was taken down
		disconnects    int
		autoconnectOff bool
		violations     int
		gate           gateState
		action         string // of the last violation
	}{
		{
			name:     "a manual activation of a profile with the real address is refused at its first state",
			steps:    []step{{devEth0, detect.StatePrepare, acFirst, profBad}},
			linkDown: true, disconnects: 1, autoconnectOff: true, violations: 1, gate: gateBlocked, action: "refused",
		},
		{
			name: "an activation already refused is refused once, whatever states follow",
			steps: []step{{devEth0, detect.StatePrepare, acFirst, profBad}, {devEth0, detect.StateConfig, "", ""},
				{devEth0, detect.StateIPConfig, "", ""}},
			linkDown: true, disconnects: 1, autoconnectOff: true, violations: 1, gate: gateBlocked, action: "refused",
		},
		{
			name: "a profile the service gave a private address comes up untouched",
			steps: []step{{devEth0, detect.StatePrepare, acFirst, profGood}, {devEth0, detect.StateConfig, "", ""},
				{devEth0, detect.StateIPConfig, "", ""}, {devEth0, detect.StateActivated, "", ""}},
			gate: gateSpoofed,
		},
		{
			name: "a second activation with the real address after a good one is refused",
			steps: []step{{devEth0, detect.StatePrepare, acFirst, profGood}, {devEth0, detect.StateActivated, "", ""},
				{devEth0, detect.StateDeactivating, "", ""}, {devEth0, detect.StateDisconnected, "", ""},
				{devEth0, detect.StatePrepare, acSecond, profBad}},
			linkDown: true, disconnects: 1, autoconnectOff: true, violations: 1, gate: gateBlocked, action: "refused",
		},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := wiredBed(t, tc.policy)
			for _, st := range tc.steps {
				if st.ac != "" {
					b.f.activate(st.dev, st.ac, st.profile, st.state)
				}
				b.state(st.dev, st.state, 0)
			}
			kc, nc := b.kernelCalls(), b.f.takeCalls()
			if got := hasCall(kc, "up eth0 false"); got != tc.linkDown {
				t.Errorf("link taken down: %t, want %t (kernel calls %q)", got, tc.linkDown, kc)
			}
			if got := countCalls(nc, "disconnect "+string(devEth0)); got != tc.disconnects {
				t.Errorf("%d disconnects, want %d (NetworkManager calls %q)", got, tc.disconnects, nc)
			}
			if got := hasCall(nc, "autoconnect "+string(devEth0)+" false"); got != tc.autoconnectOff {
				t.Errorf("autoconnect turned off: %t, want %t (NetworkManager calls %q)", got, tc.autoconnectOff, nc)
			}
			if got := len(b.svc.violations); got != tc.violations {
				t.Errorf("%d violations, want %d: %+v", got, tc.violations, b.svc.violations)
			} else if got > 0 && b.svc.violations[got-1].Action != tc.action {
				t.Errorf("violation action %q, want %q", b.svc.violations[got-1].Action, tc.action)
			}
			if d := b.dev("eth0"); d.gate != tc.gate {
				t.Errorf("gate %q, want %q", d.gate, tc.gate)
			}
		})
	}
}

// TestOnStateChangedOfUnknownDevices: a state of a device the service has
// not seen from NetworkManager adopts it (NetworkManager's DeviceAdded can
// come late); one of a device NetworkManager no longer has is dropped.
func TestOnStateChangedOfUnknownDevices(t *testing.T) {
	b := wiredBed(t, "")
	if b.dev("eth1").nmKnown {
		t.Fatal("eth1 known to NetworkManager before it reported it")
	}
	b.f.devices[devEth1] = nm.Device{Path: devEth1, Interface: "eth1", Type: "ethernet", State: detect.StateDisconnected,
		HwAddress: "00:1b:21:aa:bb:01", PermHwAddress: "00:1b:21:aa:bb:01", Autoconnect: true, ActiveConnection: "/"}
	b.state(devEth1, detect.StateDisconnected, 0)
	d := b.dev("eth1")
	if !d.nmKnown || d.nm.Path != devEth1 || b.svc.byPath[devEth1] != "eth1" {
		t.Fatalf("eth1 not adopted: known %t path %q byPath %q", d.nmKnown, d.nm.Path, b.svc.byPath[devEth1])
	}
	gone := dbus.ObjectPath("/org/freedesktop/NetworkManager/Devices/9")
	b.svc.onStateChanged(b.ctx, gone, detect.StatePrepare, detect.StateDisconnected, 0, time.Now(), true)
	if _, ok := b.svc.byPath[gone]; ok {
		t.Error("a device NetworkManager does not have was recorded")
	}
	if nc := b.f.takeCalls(); countCalls(nc, "disconnect") != 0 {
		t.Errorf("NetworkManager calls %q for an unknown device", nc)
	}
}

// TestAdoptNMDevice: what adopting NetworkManager's view of a device does.
func TestAdoptNMDevice(t *testing.T) {
	t.Run("a device the kernel does not have is not recorded", func(t *testing.T) {
		b := wiredBed(t, "")
		b.svc.adoptNMDevice(b.ctx, nm.Device{Path: "/org/freedesktop/NetworkManager/Devices/8", Interface: "ghost0", State: detect.StateDisconnected}, time.Now())
		if _, ok := b.svc.devs["ghost0"]; ok {
			t.Fatal("ghost0 recorded without a kernel link")
		}
	})
	t.Run("a link netlink has not reported yet is read from the kernel", func(t *testing.T) {
		b := wiredBed(t, "")
		late := links.Link{Index: 4, Name: "eth2", Kind: "device", Addr: mustHW("00:1b:21:aa:bb:02"), PermAddr: mustHW("00:1b:21:aa:bb:02"), Up: true}
		b.k.mu.Lock()
		b.k.links["eth2"] = late
		b.k.mu.Unlock()
		path := dbus.ObjectPath("/org/freedesktop/NetworkManager/Devices/4")
		b.svc.adoptNMDevice(b.ctx, nm.Device{Path: path, Interface: "eth2", Type: "ethernet", State: detect.StateDisconnected, ActiveConnection: "/"}, time.Now())
		d := b.dev("eth2")
		if !d.nmKnown || b.svc.byPath[path] != "eth2" || d.gate != gateSpoofed {
			t.Fatalf("eth2: known %t byPath %q gate %q", d.nmKnown, b.svc.byPath[path], d.gate)
		}
		if r := b.k.List2()["eth2"]; r.Real.String() != "00:1b:21:aa:bb:02" {
			t.Errorf("backstop rule %+v, want the card's real address", r)
		}
	})
	t.Run("NetworkManager's permanent address replaces a first-seen one", func(t *testing.T) {
		f := newFakeNM()
		cur := mustHW("00:1b:21:00:00:09")
		b := newNMBed(t, "", f, links.Link{Index: 5, Name: "usb0", Kind: "device", Addr: cur, Up: true})
		if d := b.dev("usb0"); d.realSource != gate.RealFromFirstSeen {
			t.Fatalf("before: real from %q", d.realSource)
		}
		path := dbus.ObjectPath("/org/freedesktop/NetworkManager/Devices/5")
		b.svc.adoptNMDevice(b.ctx, nm.Device{Path: path, Interface: "usb0", Type: "ethernet", State: detect.StateDisconnected,
			PermHwAddress: "00:1b:21:00:00:05", ActiveConnection: "/"}, time.Now())
		d := b.dev("usb0")
		if d.real.String() != "00:1b:21:00:00:05" || d.realSource != gate.RealFromNM {
			t.Fatalf("real %s from %q, want NetworkManager's PermHwAddress", d.real, d.realSource)
		}
	})
	t.Run("a device found activating a violating profile is refused", func(t *testing.T) {
		b := wiredBed(t, "")
		b.f.devices[devEth1] = nm.Device{Path: devEth1, Interface: "eth1", Type: "ethernet", HwAddress: "00:1b:21:aa:bb:01",
			PermHwAddress: "00:1b:21:aa:bb:01"}
		b.f.addProfile("/org/freedesktop/NetworkManager/Settings/3", nm.ConnTypeEthernet, "0b3e5e2c-2222-4a4a-9b9b-000000000003", "eth1", "00:1b:21:aa:bb:01")
		b.f.activate(devEth1, acSecond, "/org/freedesktop/NetworkManager/Settings/3", detect.StateConfig)
		nd, _ := b.f.Device(b.ctx, devEth1)
		b.svc.adoptNMDevice(b.ctx, nd, time.Now())
		nc := b.f.takeCalls()
		if !hasCall(nc, "disconnect "+string(devEth1)) || len(b.svc.violations) != 1 || b.dev("eth1").gate != gateBlocked {
			t.Fatalf("calls %q, violations %+v, gate %q: want refused", nc, b.svc.violations, b.dev("eth1").gate)
		}
	})
}

// TestBlock: the refusal itself (link down at once, then NetworkManager's
// disconnect and autoconnect off, one Violation per refused activation).
func TestBlock(t *testing.T) {
	refuse := gate.Decision{Block: true, Disconnect: true, Reason: "the profile sets the real address"}
	atRest := gate.Decision{Block: true, Reason: "an autoconnect profile sets the real address"}
	cases := []struct {
		name        string
		decs        []gate.Decision
		noNM        bool   // NetworkManager not connected
		fail        string // NetworkManager method that fails
		disconnects int
		autoOff     bool // autoconnectOff recorded
		violations  int
	}{
		{name: "in flight", decs: []gate.Decision{refuse}, disconnects: 1, autoOff: true, violations: 1},
		{name: "at rest: no disconnect, no violation", decs: []gate.Decision{atRest}, autoOff: true},
		{name: "the same activation twice", decs: []gate.Decision{refuse, refuse}, disconnects: 1, autoOff: true, violations: 1},
		{name: "autoconnect cannot be turned off", decs: []gate.Decision{refuse}, fail: "SetAutoconnect", disconnects: 1, violations: 1},
		{name: "a failed disconnect still refuses", decs: []gate.Decision{refuse}, fail: "Disconnect", disconnects: 1, autoOff: true, violations: 1},
		{name: "NetworkManager not connected: the kernel refuses alone", decs: []gate.Decision{refuse}, noNM: true, violations: 1},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := wiredBed(t, "")
			if tc.fail != "" {
				b.f.fail[tc.fail] = true
			}
			if tc.noNM {
				b.svc.nm = nil
			}
			b.f.activate(devEth0, acFirst, profBad, detect.StateConfig)
			d := b.dev("eth0")
			d.nm.ActiveConnection, d.nm.State = acFirst, detect.StateConfig
			for _, dec := range tc.decs {
				b.svc.block(b.ctx, d, dec, "test", time.Now())
			}
			kc, nc := b.kernelCalls(), b.f.takeCalls()
			if countCalls(kc, "up eth0 false") != len(tc.decs) {
				t.Errorf("kernel calls %q: want the link down at each decision", kc)
			}
			if got := countCalls(nc, "disconnect "); got != tc.disconnects {
				t.Errorf("%d disconnects, want %d (%q)", got, tc.disconnects, nc)
			}
			if d.autoconnOff != tc.autoOff {
				t.Errorf("autoconnOff %t, want %t (%q)", d.autoconnOff, tc.autoOff, nc)
			}
			if len(b.svc.violations) != tc.violations {
				t.Errorf("%d violations, want %d", len(b.svc.violations), tc.violations)
			}
			if d.gate != gateBlocked {
				t.Errorf("gate %q, want blocked", d.gate)
			}
		})
	}
}

// TestRestoreProgress: a restore of the real address followed through
// NetworkManager's states, from the user's request to the outcome.
func TestRestoreProgress(t *testing.T) {
	type step struct {
		state uint32
		// activate: NetworkManager starts the service's activation here.
		activate bool
	}
	cases := []struct {
		name      string
		activeAt  uint32 // the card's state when the restore starts (0: disconnected)
		steps     []step
		activates int // Activate calls seen
		phase     restorePhase
		done      bool // the restore ended (restoring nil)
		onceLeft  bool // the once exemption is still there
		// failActivate: NetworkManager does not take any activation.
		failActivate bool
	}{
		{name: "at rest: the real address is set, then nothing until NetworkManager sees the card back",
			phase: restoreSettling, onceLeft: true},
		{name: "at rest: activated once NetworkManager reports the card back",
			steps:     []step{{detect.StateUnavailable, false}, {detect.StateDisconnected, false}},
			activates: 1, phase: restoreActivating, onceLeft: true},
		{name: "connected with the real address",
			steps: []step{{detect.StateUnavailable, false}, {detect.StateDisconnected, false},
				{detect.StatePrepare, true}, {detect.StateConfig, false}, {detect.StateActivated, false}},
			activates: 1, done: true, onceLeft: true},
		{name: "NetworkManager fails the connection: the once exemption ends",
			steps: []step{{detect.StateUnavailable, false}, {detect.StateDisconnected, false},
				{detect.StatePrepare, true}, {detect.StateFailed, false}},
			activates: 1, done: true},
		{name: "in flight: disconnected first, then the address, then the activation", activeAt: detect.StateActivated,
			steps:     []step{{detect.StateDeactivating, false}, {detect.StateDisconnected, false}},
			activates: 1, phase: restoreActivating, onceLeft: true},
		{name: "in flight, still deactivating: nothing yet", activeAt: detect.StateActivated,
			steps: []step{{detect.StateDeactivating, false}}, phase: restoreDisconnecting, onceLeft: true},
		{name: "NetworkManager does not take the activation: asked once more when the card is ready",
			failActivate: true, steps: []step{{detect.StateUnavailable, false}, {detect.StateDisconnected, false}},
			activates: 1, phase: restoreSettling, onceLeft: true},
		{name: "NetworkManager does not take the activation twice: the restore fails",
			failActivate: true, steps: []step{{detect.StateUnavailable, false}, {detect.StateDisconnected, false},
				{detect.StateUnavailable, false}, {detect.StateDisconnected, false}},
			activates: 2, done: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := wiredBed(t, "")
			if tc.activeAt != 0 {
				b.f.activate(devEth0, acFirst, profGood, detect.StatePrepare)
				b.state(devEth0, detect.StatePrepare, 0)
				for _, st := range []uint32{detect.StateConfig, detect.StateIPConfig, tc.activeAt} {
					b.state(devEth0, st, 0)
				}
			}
			b.f.takeCalls()
			b.f.fail["Activate"] = tc.failActivate
			if err := b.svc.startRestore(b.ctx, "eth0", uuidGood, policy.ScopeOnce); err != nil {
				t.Fatal(err)
			}
			for _, st := range tc.steps {
				if st.activate {
					b.f.activate(devEth0, acSecond, profGood, st.state)
				}
				b.state(devEth0, st.state, 0)
			}
			d := b.dev("eth0")
			nc := b.f.takeCalls()
			if got := countCalls(nc, "activate "+string(profGood)+" on "+string(devEth0)); got != tc.activates {
				t.Errorf("%d activations, want %d (%q)", got, tc.activates, nc)
			}
			if tc.done != (d.restoring == nil) {
				t.Fatalf("restore ended %t, want %t", d.restoring == nil, tc.done)
			}
			if !tc.done && d.restoring.phase != tc.phase {
				t.Errorf("phase %d, want %d", d.restoring.phase, tc.phase)
			}
			once := slices.ContainsFunc(b.svc.onceEx, func(e policy.Exemption) bool { return e.UUID == uuidGood && e.Interface == "eth0" })
			if once != tc.onceLeft {
				t.Errorf("once exemption kept %t, want %t (%+v)", once, tc.onceLeft, b.svc.onceEx)
			}
			if tc.phase == restoreActivating || tc.phase == restoreSettling || (tc.done && tc.onceLeft) {
				if got := b.k.links["eth0"].Addr.String(); got != "00:1b:21:aa:bb:00" {
					t.Errorf("card address %s, want the real one", got)
				}
			}
		})
	}
}

// TestReconnect: a card given back at rest comes up as it would without the
// service: the autoconnect profile NetworkManager blocks because the
// service disconnected it is activated by the service, then the device's
// autoconnect is turned back on.
func TestReconnect(t *testing.T) {
	profOther := dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/4")
	cases := []struct {
		name      string
		blocked   []dbus.ObjectPath // profiles NM blocks after the service's disconnect
		priority  bool              // profOther has a higher autoconnect-priority
		held      bool
		failAct   bool
		activated string // the profile activated ("" none)
		autoOn    bool   // autoconnect turned back on
	}{
		{name: "the blocked profile NetworkManager would choose is activated", blocked: []dbus.ObjectPath{profGood},
			activated: string(profGood), autoOn: true},
		{name: "nothing blocked: autoconnect on, NetworkManager chooses", autoOn: true},
		{name: "NetworkManager would choose another profile: not activated", blocked: []dbus.ObjectPath{profGood}, priority: true,
			autoOn: true},
		{name: "the activation fails: autoconnect on all the same", blocked: []dbus.ObjectPath{profGood}, failAct: true,
			activated: string(profGood), autoOn: true},
		{name: "during the hold nothing is given back", blocked: []dbus.ObjectPath{profGood}, held: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := wiredBed(t, "")
			b.f.addProfile(profOther, nm.ConnTypeEthernet, "0b3e5e2c-2222-4a4a-9b9b-000000000004", "eth0", "")
			if tc.priority {
				b.f.mem[profOther]["connection"]["autoconnect-priority"] = dbus.MakeVariant(int32(10))
			}
			dev := b.f.devices[devEth0]
			dev.AvailableConnections = []dbus.ObjectPath{profGood, profBad, profOther}
			b.f.devices[devEth0] = dev
			b.f.fail["Activate"] = tc.failAct
			b.svc.resyncNM(b.ctx, "test")
			b.f.takeCalls()
			d := b.dev("eth0")
			d.autoconnOff = true
			b.svc.nmBlocked = map[dbus.ObjectPath]bool{}
			for _, p := range tc.blocked {
				b.svc.nmBlocked[p] = true
			}
			b.svc.held = tc.held
			b.svc.reconnect(b.ctx, d)
			nc := b.f.takeCalls()
			activated := ""
			for _, c := range nc {
				if p, ok := strings.CutPrefix(c, "activate "); ok {
					activated = strings.TrimSuffix(p, " on "+string(devEth0))
				}
			}
			if activated != tc.activated {
				t.Errorf("activated %q, want %q (%q)", activated, tc.activated, nc)
			}
			if got := hasCall(nc, "autoconnect "+string(devEth0)+" true"); got != tc.autoOn || d.autoconnOff == tc.autoOn {
				t.Errorf("autoconnect on: call %t, autoconnOff %t; want on %t (%q)", got, d.autoconnOff, tc.autoOn, nc)
			}
			if tc.activated != "" && !tc.failAct && b.svc.nmBlocked[profGood] {
				t.Error("the activated profile is still listed as blocked by NetworkManager")
			}
		})
	}
}
