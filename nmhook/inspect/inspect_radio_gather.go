// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path"
	"sort"
	"strings"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// Names of BlueZ's and wpa_supplicant's D-Bus APIs read by check.
const (
	bluezName         = "org.bluez"
	bluezAdapterIface = "org.bluez.Adapter1"
	supplicantName    = "fi.w1.wpa_supplicant1"
	supplicantPath    = dbus.ObjectPath("/fi/w1/wpa_supplicant1")
	supplicantIface   = "fi.w1.wpa_supplicant1.Interface"
	supplicantP2P     = "fi.w1.wpa_supplicant1.Interface.P2PDevice"
	bluetoothSysfs    = "/sys/class/bluetooth"
)

// readBluetoothConf reads [General] Privacy from BlueZ's main.conf.
func readBluetoothConf(bt *bluetoothView, name string) {
	bt.ConfPath = name
	data, err := readLimitedFile(name, 1<<20)
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	bt.ConfExists = true
	if err != nil {
		bt.ConfErr = err
		return
	}
	bt.Privacy, bt.PrivacyLine = parseBluetoothPrivacy(data)
}

// parseBluetoothPrivacy finds the last Privacy key of the [General] section
// (BlueZ's parser, GKeyFile, keeps the last one): its value and line.
func parseBluetoothPrivacy(data []byte) (string, int) {
	sc := bufio.NewScanner(bytes.NewReader(data))
	sect, val, at := "", "", 0
	for n := 1; sc.Scan(); n++ {
		l := strings.TrimSpace(sc.Text())
		switch {
		case l == "" || l[0] == '#' || l[0] == ';':
		case l[0] == '[':
			sect = strings.TrimSpace(strings.Trim(l, "[]"))
		case sect == "General":
			k, v, ok := strings.Cut(l, "=")
			if ok && strings.TrimSpace(k) == "Privacy" {
				val, at = strings.TrimSpace(v), n
			}
		}
	}
	return val, at
}

// readBluetoothSysfs lists the kernel's Bluetooth controllers.
func readBluetoothSysfs(bt *bluetoothView) {
	ents, err := os.ReadDir(bluetoothSysfs)
	if err != nil {
		return
	}
	for _, e := range ents {
		if n := e.Name(); strings.HasPrefix(n, "hci") && !strings.Contains(n, ":") {
			bt.Sysfs = append(bt.Sysfs, n)
		}
	}
	sort.Strings(bt.Sysfs)
}

// hasOwner asks the bus whether name has an owner, without starting it
// (check starts nothing through D-Bus activation).
func hasOwner(ctx context.Context, conn *dbus.Conn, name string) (bool, error) {
	cctx, cancel := context.WithTimeout(ctx, nm.CallTimeout)
	defer cancel()
	var has bool
	if err := conn.BusObject().CallWithContext(cctx, nm.DBusName+".NameHasOwner", 0, name).Store(&has); err != nil {
		return false, fmt.Errorf("ask the bus for %s: %w", name, err)
	}
	return has, nil
}

// readBluez reads BlueZ's adapters (org.bluez.Adapter1) when bluetoothd runs.
func readBluez(ctx context.Context, conn *dbus.Conn, bt *bluetoothView) {
	has, err := hasOwner(ctx, conn, bluezName)
	if err != nil || !has {
		bt.BusErr = err
		return
	}
	bt.Running = true
	cctx, cancel := context.WithTimeout(ctx, nm.CallTimeout)
	defer cancel()
	var objs map[dbus.ObjectPath]map[string]map[string]dbus.Variant
	if err := conn.Object(bluezName, "/").CallWithContext(cctx, "org.freedesktop.DBus.ObjectManager.GetManagedObjects", 0).Store(&objs); err != nil {
		bt.BusErr = fmt.Errorf("GetManagedObjects: %w", err)
		return
	}
	for p, ifaces := range objs {
		props, ok := ifaces[bluezAdapterIface]
		if !ok {
			continue
		}
		a := btAdapter{Name: path.Base(string(p))}
		a.Address, _ = props["Address"].Value().(string)
		a.AddressType, _ = props["AddressType"].Value().(string)
		a.Alias, _ = props["Alias"].Value().(string)
		a.Powered, _ = props["Powered"].Value().(bool)
		a.Discoverable, _ = props["Discoverable"].Value().(bool)
		bt.Adapters = append(bt.Adapters, a)
	}
	sort.Slice(bt.Adapters, func(i, j int) bool { return bt.Adapters[i].Name < bt.Adapters[j].Name })
}

// readP2P reads the P2P device name of each of wpa_supplicant's interfaces
// that has a P2P device configuration, when wpa_supplicant runs.
func readP2P(ctx context.Context, conn *dbus.Conn) p2pView {
	var v p2pView
	has, err := hasOwner(ctx, conn, supplicantName)
	if err != nil || !has {
		v.Err = err
		return v
	}
	v.Running = true
	get := func(p dbus.ObjectPath, iface, prop string) (dbus.Variant, error) {
		cctx, cancel := context.WithTimeout(ctx, nm.CallTimeout)
		defer cancel()
		var out dbus.Variant
		err := conn.Object(supplicantName, p).CallWithContext(cctx, "org.freedesktop.DBus.Properties.Get", 0, iface, prop).Store(&out)
		return out, err
	}
	ifv, err := get(supplicantPath, supplicantName, "Interfaces")
	if err != nil {
		v.Err = fmt.Errorf("read wpa_supplicant's interfaces: %w", err)
		return v
	}
	paths, _ := ifv.Value().([]dbus.ObjectPath)
	var errs []error
	for _, p := range paths {
		cfg, err := get(p, supplicantP2P, "P2PDeviceConfig")
		if err != nil {
			// An interface without P2P has no such interface; the
			// getter also fails on some drivers: not a name.
			var de dbus.Error
			if errors.As(err, &de) && (de.Name == "org.freedesktop.DBus.Error.UnknownInterface" || de.Name == "org.freedesktop.DBus.Error.InvalidArgs" || de.Name == "org.freedesktop.DBus.Error.UnknownProperty") {
				continue
			}
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		m, _ := cfg.Value().(map[string]dbus.Variant)
		name, _ := m["DeviceName"].Value().(string)
		ifn := string(p)
		if n, err := get(p, supplicantIface, "Ifname"); err == nil {
			if s, ok := n.Value().(string); ok && s != "" {
				ifn = s
			}
		}
		if v.Names == nil {
			v.Names = map[string]string{}
		}
		v.Names[ifn] = name
	}
	if len(v.Names) == 0 {
		v.Err = errors.Join(errs...)
	}
	return v
}
