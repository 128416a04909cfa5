// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"encoding/json"
	"net"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/vishvananda/netlink"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// apiDevice asks the running service how it sees iface.
func apiDevice(t *testing.T, b *bed.Bed, iface string) api.Device {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	var js string
	if err := conn.Object(api.BusName, api.Path).Call(api.ListDevices, 0).Store(&js); err != nil {
		t.Fatalf("ListDevices: %v", err)
	}
	var devs []api.Device
	if err := json.Unmarshal([]byte(js), &devs); err != nil {
		t.Fatalf("ListDevices answer %q: %v", js, err)
	}
	for _, d := range devs {
		if d.Interface == iface {
			return d
		}
	}
	t.Fatalf("ListDevices has no %s: %s", iface, js)
	return api.Device{}
}

// nmAutoconnect reads NetworkManager's Autoconnect property of a device.
func nmAutoconnect(t *testing.T, b *bed.Bed, path dbus.ObjectPath) bool {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	v, err := conn.Object("org.freedesktop.NetworkManager", path).GetProperty("org.freedesktop.NetworkManager.Device.Autoconnect")
	if err != nil {
		t.Fatalf("read Autoconnect of %s: %v", path, err)
	}
	on, _ := v.Value().(bool)
	return on
}

// linkUp reports whether a client device is administratively up.
func linkUp(t *testing.T, b *bed.Bed, iface string) bool {
	t.Helper()
	var up bool
	if err := b.InClient(t, func() error {
		l, err := netlink.LinkByName(iface)
		if err != nil {
			return err
		}
		up = l.Attrs().Flags&net.FlagUp != 0
		return nil
	}); err != nil {
		t.Fatalf("link %s: %v", iface, err)
	}
	return up
}

// profilePath is the D-Bus path of the profile with uuid.
func profilePath(t *testing.T, b *bed.Bed, uuid string) dbus.ObjectPath {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	var p dbus.ObjectPath
	if err := conn.Object("org.freedesktop.NetworkManager", "/org/freedesktop/NetworkManager/Settings").
		Call("org.freedesktop.NetworkManager.Settings.GetConnectionByUuid", 0, uuid).Store(&p); err != nil {
		t.Fatalf("profile %s: %v", uuid, err)
	}
	return p
}

// TestIntegrationForgedNMSignalsAreIgnored: an unprivileged local user
// (uid 65534) sends the service, to its unique name, every signal it
// listens to, forged in NetworkManager's name (and the bus's): five state
// changes that look like authentication failures, an address change, a
// device removed and added, a profile added, changed and removed (the very
// cloned-mac-address=permanent profile that keeps the card blocked), and
// NetworkManager leaving the bus. The card stays blocked (autoconnect off,
// link down), the service still knows NetworkManager, it suspects nothing
// and emits no Suspicion or Violation, and it logs the forgeries.
func TestIntegrationForgedNMSignalsAreIgnored(t *testing.T) {
	bed.Require(t, "busctl", "setpriv")
	gb := newGuardedBed(t, "")
	b, dev, g := gb.b, gb.dev, gb.g
	devPath := b.DevicePath(t, dev.Name)

	// The card is blocked by an autoconnect profile that would set its
	// real address (at rest, or refused in flight when NM is quicker).
	uuid := b.AddProfile(t, bed.Profile{Name: "reveal", Interface: dev.Name, ClonedMAC: "permanent", Autoconnect: true, DHCPTimeout: 15})
	profPath := profilePath(t, b, uuid)
	deadline := time.Now().Add(20 * time.Second)
	for {
		st := b.State(t, dev.Name)
		if apiDevice(t, b, dev.Name).Gate == "blocked" && !nmAutoconnect(t, b, devPath) && !linkUp(t, b, dev.Name) &&
			st != detect.StateDeactivating && (st < detect.StatePrepare || st > detect.StateActivated) {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("the card was not blocked by the permanent profile (gate %s, NM state %d); log:\n%s",
				apiDevice(t, b, dev.Name).Gate, st, tail(g.p.Log(), 40))
		}
		time.Sleep(100 * time.Millisecond)
	}
	time.Sleep(time.Second) // let NM and the service settle
	before := apiDevice(t, b, dev.Name)
	if before.NMState == "" {
		t.Fatalf("the service does not know NetworkManager's view of %s: %+v", dev.Name, before)
	}

	// Watch the service's API signals from here on.
	watch := b.Dial(t)
	defer watch.Close()
	if err := watch.AddMatchSignal(dbus.WithMatchInterface(api.Interface)); err != nil {
		t.Fatal(err)
	}
	apiSigs := make(chan *dbus.Signal, 64)
	watch.Signal(apiSigs)
	var svcName string
	if err := watch.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, api.BusName).Store(&svcName); err != nil {
		t.Fatalf("the service's unique name: %v", err)
	}
	var nmName string
	if err := watch.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, "org.freedesktop.NetworkManager").Store(&nmName); err != nil {
		t.Fatalf("NetworkManager's unique name: %v", err)
	}
	logStart := len(g.p.Log())

	nobody := caller{uid: nobodyUID}
	emit := func(path dbus.ObjectPath, iface, member string, sigArgs ...string) {
		t.Helper()
		argv := append([]string{"busctl", "--address=" + b.BusAddress, "emit", "--destination=" + svcName, string(path), iface, member}, sigArgs...)
		if out, errOut, err := nobody.run(t, argv...); err != nil {
			t.Fatalf("%s as uid %d: %v: %s%s", strings.Join(argv, " "), nobodyUID, err, out, errOut)
		}
	}
	const nmIface = "org.freedesktop.NetworkManager"
	// Five state changes: an activation that fails for want of secrets
	// (what raises an auth-failure suspicion), then back at rest.
	for _, st := range [][3]string{{"40", "30", "0"}, {"50", "40", "0"}, {"60", "50", "0"}, {"120", "60", "7"}, {"30", "120", "0"}} {
		emit(devPath, nmIface+".Device", "StateChanged", "uuu", st[0], st[1], st[2])
	}
	emit(devPath, "org.freedesktop.DBus.Properties", "PropertiesChanged", "sa{sv}as", nmIface+".Device", "1", "HwAddress", "s", dev.MAC.String(), "0")
	emit("/org/freedesktop/NetworkManager", nmIface, "DeviceRemoved", "o", string(devPath))
	emit("/org/freedesktop/NetworkManager", nmIface, "DeviceAdded", "o", string(devPath))
	emit("/org/freedesktop/NetworkManager/Settings", nmIface+".Settings", "NewConnection", "o", string(profPath))
	emit(profPath, nmIface+".Settings.Connection", "Updated")
	emit("/org/freedesktop/NetworkManager/Settings", nmIface+".Settings", "ConnectionRemoved", "o", string(profPath))
	emit("/org/freedesktop/DBus", "org.freedesktop.DBus", "NameOwnerChanged", "sss", nmIface, nmName, "")

	// Give the service (and NM, were autoconnect back on) time to act.
	time.Sleep(3 * time.Second)

	after := apiDevice(t, b, dev.Name)
	if after.Gate != "blocked" {
		t.Errorf("gate %s after the forged signals, want blocked", after.Gate)
	}
	if nmAutoconnect(t, b, devPath) {
		t.Errorf("NetworkManager's autoconnect is back on for %s", dev.Name)
	}
	if linkUp(t, b, dev.Name) {
		t.Errorf("%s's link is up", dev.Name)
	}
	if after.NMState == "" {
		t.Errorf("the service forgot NetworkManager (a forged NameOwnerChanged was obeyed): %+v", after)
	}
	if st := b.State(t, dev.Name); st >= detect.StatePrepare && st <= detect.StateActivated {
		t.Errorf("NetworkManager is activating %s (state %d)", dev.Name, st)
	}
	if sp := suspicions(t, b); len(sp) != 0 {
		t.Errorf("suspicions after forged signals: %+v", sp)
	}
	for {
		select {
		case sig := <-apiSigs:
			if sig.Sender == svcName {
				t.Errorf("the service emitted %s %v after the forged signals", sig.Name, sig.Body)
			}
			continue
		default:
		}
		break
	}
	log := g.p.Log()[logStart:]
	for _, bad := range []string{"gate: blocked ->", "NetworkManager left the bus", "detect: the network may be rejecting"} {
		if strings.Contains(log, bad) {
			t.Errorf("the service obeyed a forged signal: its log has %q:\n%s", bad, tail(log, 40))
		}
	}
	if !strings.Contains(log, "bus: dropped a signal not sent by NetworkManager") {
		t.Errorf("the service did not log the forged signals it dropped")
	}
	if t.Failed() {
		t.Logf("service log since the forged signals:\n%s", tail(log, 60))
	}
}
