// SPDX-License-Identifier: GPL-3.0-or-later

package fakenm

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// privateBus starts a dbus-daemon of the test's own (session type, any name
// may be owned) and returns its address. It needs no root; without
// dbus-daemon the test is skipped, unless MAC_NMGUARD_REQUIRE_INTEGRATION=1.
func privateBus(t *testing.T) string {
	t.Helper()
	if reason := testproc.MissingPrograms("dbus-daemon"); reason != "" {
		testproc.Skip(t, reason)
	}
	return testproc.StartTestBus(t, testproc.BusConfig{Type: testproc.SessionBus, Dir: t.TempDir()}).Address
}

// kernelLog is a Kernel that records what the fake asks of it.
type kernelLog struct{ ops chan string }

func (k kernelLog) SetUp(iface string) error { k.ops <- "up " + iface; return nil }
func (k kernelLog) SetAddress(iface, mac string) error {
	k.ops <- "address " + iface + " " + mac
	return nil
}

// client is a test's own connection to the bus, subscribed to the fake's
// signals.
type client struct {
	conn *dbus.Conn
	sigs chan *dbus.Signal
}

func newClient(t *testing.T, addr string) client {
	t.Helper()
	conn, err := dbus.Connect(addr, dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	if err := conn.AddMatchSignal(dbus.WithMatchSender(BusName)); err != nil {
		t.Fatal(err)
	}
	c := client{conn: conn, sigs: make(chan *dbus.Signal, 1024)}
	conn.Signal(c.sigs)
	return c
}

func (c client) call(t *testing.T, path dbus.ObjectPath, method string, args ...any) *dbus.Call {
	t.Helper()
	return c.conn.Object(BusName, path).Call(method, 0, args...)
}

func (c client) getAll(t *testing.T, path dbus.ObjectPath, iface string) map[string]dbus.Variant {
	t.Helper()
	var m map[string]dbus.Variant
	if err := c.call(t, path, PropertiesIface+".GetAll", iface).Store(&m); err != nil {
		t.Fatalf("GetAll %s %s: %v", path, iface, err)
	}
	return m
}

// nextState waits for the next Device.StateChanged on path.
func (c client) nextState(t *testing.T, path dbus.ObjectPath) [3]uint32 {
	t.Helper()
	timeout := time.After(5 * time.Second)
	for {
		select {
		case s := <-c.sigs:
			if s.Path != path || s.Name != DeviceIface+".StateChanged" {
				continue
			}
			var v [3]uint32
			if err := dbus.Store(s.Body, &v[0], &v[1], &v[2]); err != nil {
				t.Fatal(err)
			}
			return v
		case <-timeout:
			t.Fatalf("no StateChanged on %s", path)
		}
	}
}

// TestFakeNMAnswersLikeNM reads the fake the way mac-nmguard reads NM and
// drives the calls the service makes: the objects, their types, the
// recorded calls and the state changes NM would make.
func TestFakeNMAnswersLikeNM(t *testing.T) {
	addr := privateBus(t)
	k := kernelLog{ops: make(chan string, 16)}
	nm, err := Start(addr, Options{Kernel: k})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nm.Close() })
	if _, err := Start(addr, Options{}); err == nil || !strings.Contains(err.Error(), "primary owner") {
		t.Errorf("a second fake on the same bus: %v, want refused", err)
	}
	c := newClient(t, addr)

	dev, err := nm.AddWifiDevice(WifiDevice{Interface: "wlx0", HwAddress: "00:1b:21:aa:bb:cc", PermHwAddress: "00:1b:21:aa:bb:cc", State: detect.StateUnmanaged})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nm.AddWifiDevice(WifiDevice{Interface: "wlx0", HwAddress: "00:1b:21:aa:bb:cc", State: detect.StateUnmanaged}); err == nil {
		t.Error("a second device with the same interface was accepted")
	}
	if _, err := nm.AddWifiDevice(WifiDevice{Interface: "wlx1", HwAddress: "nonsense", State: 7}); err == nil ||
		!strings.Contains(err.Error(), "not a 6-byte MAC") || !strings.Contains(err.Error(), "state 7") {
		t.Errorf("bad device: %v, want both errors named", err)
	}
	var devs []dbus.ObjectPath
	if err := c.call(t, ManagerPath, ManagerIface+".GetAllDevices").Store(&devs); err != nil || len(devs) != 1 || devs[0] != dev {
		t.Fatalf("GetAllDevices = %v, %v; want [%s]", devs, err, dev)
	}
	props := c.getAll(t, dev, DeviceIface)
	for k, want := range map[string]any{
		"Interface": "wlx0", "DeviceType": uint32(2), "State": uint32(detect.StateUnmanaged),
		"Managed": false, "HwAddress": "00:1B:21:AA:BB:CC", "ActiveConnection": dbus.ObjectPath("/"),
	} {
		if got := props[k].Value(); fmt.Sprint(got) != fmt.Sprint(want) || fmt.Sprintf("%T", got) != fmt.Sprintf("%T", want) {
			t.Errorf("Device.%s = %#v, want %#v", k, got, want)
		}
	}
	var perm dbus.Variant
	if err := c.call(t, dev, PropertiesIface+".Get", WirelessIface, "PermHwAddress").Store(&perm); err != nil || perm.Value() != "00:1B:21:AA:BB:CC" {
		t.Errorf("PermHwAddress = %v, %v", perm, err)
	}

	// Introspection names the interfaces and the children.
	var xml string
	if err := c.call(t, dev, introspectableIface+".Introspect").Store(&xml); err != nil {
		t.Fatal(err)
	}
	for _, want := range []string{`interface name="` + DeviceIface + `"`, `interface name="` + WirelessIface + `"`,
		`signal name="StateChanged"`, `property name="Managed" type="b" access="readwrite"`, `property name="PermHwAddress" type="s" access="read"`} {
		if !strings.Contains(xml, want) {
			t.Errorf("device introspection lacks %s:\n%s", want, xml)
		}
	}
	if err := c.call(t, ManagerPath+"/Devices", introspectableIface+".Introspect").Store(&xml); err != nil || !strings.Contains(xml, `node name="1"`) {
		t.Errorf("Devices node introspection (%v) lacks the child:\n%s", err, xml)
	}

	// Managed=true on an UNMANAGED device: UNAVAILABLE, then DISCONNECTED.
	if err := c.call(t, dev, PropertiesIface+".Set", DeviceIface, "Managed", dbus.MakeVariant(true)).Err; err != nil {
		t.Fatal(err)
	}
	if got := c.nextState(t, dev); got != [3]uint32{detect.StateUnavailable, detect.StateUnmanaged, ReasonNowManaged} {
		t.Errorf("after Managed=true: %v", got)
	}
	if got := c.nextState(t, dev); got != [3]uint32{detect.StateDisconnected, detect.StateUnavailable, ReasonSupplicantAvailable} {
		t.Errorf("after Managed=true: %v", got)
	}
	if err := c.call(t, dev, PropertiesIface+".Set", DeviceIface, "Managed", dbus.MakeVariant("yes")).Err; err == nil {
		t.Error("Managed set to a string was accepted")
	}
	if err := c.call(t, dev, PropertiesIface+".Set", DeviceIface, "State", dbus.MakeVariant(uint32(100))).Err; err == nil {
		t.Error("State (read-only) was set")
	}

	// A profile: listed, found by UUID, its settings as NM sends them.
	prof, err := nm.AddProfile(Profile{UUID: "u-1", ID: "Cafe", SSID: "Café", Interface: "wlx0", AssignedMAC: "00:1b:21:aa:bb:cc", KeyMgmt: "wpa-psk"})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := nm.AddProfile(Profile{UUID: "u-1", ID: "dup", SSID: "x"}); err == nil {
		t.Error("a duplicate uuid was accepted")
	}
	var byUUID dbus.ObjectPath
	if err := c.call(t, SettingsPath, SettingsIface+".GetConnectionByUuid", "u-1").Store(&byUUID); err != nil || byUUID != prof {
		t.Errorf("GetConnectionByUuid = %s, %v; want %s", byUUID, err, prof)
	}
	if err := c.call(t, SettingsPath, SettingsIface+".GetConnectionByUuid", "nope").Err; err == nil {
		t.Error("GetConnectionByUuid of an unknown uuid succeeded")
	}
	var settings map[string]map[string]dbus.Variant
	if err := c.call(t, prof, ConnectionIface+".GetSettings").Store(&settings); err != nil {
		t.Fatal(err)
	}
	if ssid, _ := settings["802-11-wireless"]["ssid"].Value().([]byte); string(ssid) != "Café" {
		t.Errorf("ssid = %#v", settings["802-11-wireless"]["ssid"].Value())
	}
	if typ := settings["connection"]["type"].Value(); typ != "802-11-wireless" {
		t.Errorf("type = %v", typ)
	}
	if a := settings["802-11-wireless"]["assigned-mac-address"].Value(); a != "00:1b:21:aa:bb:cc" {
		t.Errorf("assigned-mac-address = %v", a)
	}
	if avail, _ := c.getAll(t, dev, DeviceIface)["AvailableConnections"].Value().([]dbus.ObjectPath); len(avail) != 1 || avail[0] != prof {
		t.Errorf("AvailableConnections = %v", avail)
	}

	// Disconnect of an idle device: NotActive, as NM answers.
	if err := c.call(t, dev, DeviceIface+".Disconnect").Err; err == nil || !strings.Contains(err.Error(), "not active") {
		t.Errorf("Disconnect of an idle device: %v", err)
	}

	// An activation: the active connection points at the profile; stage 1
	// brings the link up and sets the profile's address.
	ac, err := nm.SetActiveConnection(dev, prof)
	if err != nil {
		t.Fatal(err)
	}
	var conn dbus.Variant
	if err := c.call(t, ac, PropertiesIface+".Get", ActiveIface, "Connection").Store(&conn); err != nil || conn.Value() != prof {
		t.Errorf("active connection's Connection = %v, %v", conn, err)
	}
	if err := nm.SetState(dev, detect.StatePrepare, 0); err != nil {
		t.Fatal(err)
	}
	if got := <-k.ops; got != "up wlx0" {
		t.Errorf("stage 1: %q", got)
	}
	if got := <-k.ops; got != "address wlx0 00:1b:21:aa:bb:cc" {
		t.Errorf("stage 1: %q", got)
	}
	if err := nm.SetState(dev, detect.StatePrepare, 0); err == nil {
		t.Error("a change to the same state was accepted")
	}
	if changed, err := nm.SetStateFrom(dev, detect.StateDisconnected, detect.StateConfig, 0); err != nil || changed {
		t.Errorf("SetStateFrom a state the device is not in: %t, %v", changed, err)
	}
	if changed, err := nm.SetStateFrom(dev, detect.StatePrepare, detect.StateConfig, 0); err != nil || !changed {
		t.Errorf("SetStateFrom PREPARE: %t, %v", changed, err)
	}

	// Disconnect while activating: DEACTIVATING, DISCONNECTED (user
	// request), autoconnect off, the active connection gone; recorded.
	if err := c.call(t, dev, DeviceIface+".Disconnect").Err; err != nil {
		t.Fatalf("Disconnect: %v", err)
	}
	for _, want := range [][3]uint32{
		{detect.StatePrepare, detect.StateDisconnected, 0},
		{detect.StateConfig, detect.StatePrepare, 0},
		{detect.StateDeactivating, detect.StateConfig, ReasonUserRequested},
		{detect.StateDisconnected, detect.StateDeactivating, ReasonUserRequested},
	} {
		if got := c.nextState(t, dev); got != want {
			t.Errorf("state change %v, want %v", got, want)
		}
	}
	props = c.getAll(t, dev, DeviceIface)
	if props["Autoconnect"].Value() != false || props["ActiveConnection"].Value() != dbus.ObjectPath("/") {
		t.Errorf("after Disconnect: Autoconnect %v, ActiveConnection %v", props["Autoconnect"], props["ActiveConnection"])
	}
	if err := c.call(t, ac, PropertiesIface+".Get", ActiveIface, "Connection").Err; err == nil {
		t.Error("the active connection is still exported after Disconnect")
	}
	if err := c.call(t, dev, PropertiesIface+".Set", DeviceIface, "Autoconnect", dbus.MakeVariant(true)).Err; err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if _, err := nm.WaitCall(ctx, IsCall(dev, DeviceIface, "Disconnect")); err != nil {
		t.Error(err)
	}
	set, err := nm.WaitCall(ctx, IsSet(dev, DeviceIface, "Autoconnect"))
	if v, _ := set.SetProperty(DeviceIface, "Autoconnect"); err != nil || v != true {
		t.Errorf("Autoconnect Set recorded as %v, %v", set, err)
	}
	var names []string
	for _, c := range nm.Calls() {
		names = append(names, c.Member)
	}
	// Managed=true, Disconnect (idle, refused), Disconnect, Autoconnect=true;
	// the rejected Sets (wrong type, read-only) never reached the fake.
	if got := strings.Join(names, " "); got != "Set Disconnect Disconnect Set" {
		t.Errorf("calls recorded: %s", got)
	}
	if err := nm.Err(); err != nil {
		t.Error(err)
	}
}
