// SPDX-License-Identifier: GPL-3.0-or-later

package inspect

import (
	"fmt"
	"sort"
	"strings"
)

// Kinds of what gives the machine away beside the Ethernet/Wi-Fi address:
// hidden networks probed by name, IPv6 without temporary addresses, a
// Bluetooth controller without privacy, the Wi-Fi P2P device name.
const (
	KindWifiHidden         = "wifi-hidden"
	KindIPv6PrivacyOff     = "ipv6-privacy-off"
	KindBluetoothPrivacy   = "bluetooth-privacy-off"
	KindBluetoothUnknown   = "bluetooth-unknown"
	KindWifiP2PName        = "wifi-p2p-device-name"
	KindWifiP2PNameUnknown = "wifi-p2p-device-name-unknown"
)

// DefaultBluetoothConf is BlueZ's main configuration file.
const DefaultBluetoothConf = "/etc/bluetooth/main.conf"

// bluetoothView is what check read about Bluetooth: BlueZ's main.conf,
// BlueZ's adapters over D-Bus when bluetoothd runs, and the kernel's
// controllers in sysfs.
type bluetoothView struct {
	ConfPath    string
	ConfExists  bool
	ConfErr     error  // main.conf exists but could not be read
	Privacy     string // [General] Privacy, "" when unset (BlueZ's default: off)
	PrivacyLine int    // its line in ConfPath, 0 when unset
	// Running: org.bluez has an owner on the system bus; BusErr why the
	// adapters could not be read (or nil).
	Running  bool
	BusErr   error
	Adapters []btAdapter
	// Sysfs are the controllers in /sys/class/bluetooth (hci0, ...).
	Sysfs []string
}

// btAdapter is one org.bluez.Adapter1 object.
type btAdapter struct {
	Name         string // hci0 (the object path's last element)
	Address      string
	AddressType  string
	Alias        string
	Powered      bool
	Discoverable bool
}

// p2pView is what check read about Wi-Fi P2P (Wi-Fi Direct): the names
// wpa_supplicant announces for its P2P devices.
type p2pView struct {
	// Running: fi.w1.wpa_supplicant1 has an owner on the system bus.
	Running bool
	Err     error // reading it failed (or nil)
	// Names are the P2PDeviceConfig DeviceName of each supplicant
	// interface that has one, by interface name ("" when unset).
	Names map[string]string
}

// bluetoothPrivacyOn reports whether a BlueZ Privacy value makes the
// controller use resolvable private addresses ("off" and unset do not).
func bluetoothPrivacyOn(v string) bool {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "network", "on", "device", "limited-network", "limited-device":
		return true
	}
	return false
}

// profileHidden reports a Wi-Fi profile that makes NetworkManager probe for
// its network by name.
func (b *builder) profileHidden(p *profileInfo, devs []*inspectDevice) {
	if !p.Hidden {
		return
	}
	b.add(Finding{Severity: SeverityFinding, Kind: KindWifiHidden, Devices: names(devs), Profile: p.ID, UUID: p.UUID,
		Message: fmt.Sprintf("profile %s is for a hidden network (802-11-wireless.hidden=yes): NetworkManager sends probe requests naming %q wherever it scans, so everyone in range anywhere learns which network this machine looks for, whatever its MAC address", p.label(), p.SSID),
		Fix:     fmt.Sprintf("have the network broadcast its name, then: nmcli connection modify %s 802-11-wireless.hidden no", p.nmcliRef())})
}

// profileIP6Privacy reports a profile that makes no IPv6 temporary
// addresses (ipv6.ip6-privacy off: the profile's, else NetworkManager.conf's
// default, else the kernel's), unless ipv6-addr-gen-eui64 already says so.
func (b *builder) profileIP6Privacy(p *profileInfo, devs []*inspectDevice) {
	if !ipv6On(p) {
		return
	}
	for _, f := range b.r.Findings {
		if f.Kind == KindIPv6AddrGenEUI64 && f.UUID == p.UUID && f.Profile == p.ID {
			return
		}
	}
	priv, from := b.ip6Privacy(p, devs)
	fix := fmt.Sprintf("nmcli connection modify %s ipv6.ip6-privacy 2, or for every profile: ipv6.ip6-privacy=2 in a [connection] section of NetworkManager.conf", p.nmcliRef())
	switch {
	case priv < 0:
		b.add(Finding{Severity: SeverityNote, Kind: KindIPv6PrivacyOff, Devices: names(devs), Profile: p.ID, UUID: p.UUID,
			Message: fmt.Sprintf("profile %s leaves ipv6.ip6-privacy to the kernel and %s: whether it makes IPv6 temporary addresses is not known", p.label(), from),
			Fix:     fix})
	case priv == 0:
		b.add(Finding{Severity: SeverityFinding, Kind: KindIPv6PrivacyOff, Devices: names(devs), Profile: p.ID, UUID: p.UUID,
			Message: fmt.Sprintf("profile %s makes no IPv6 temporary addresses (ipv6.ip6-privacy is 0, from %s): every connection uses the one address IPv6 autoconfiguration gives it on that network, the same at every visit, so servers can follow the machine there over time", p.label(), from),
			Fix:     fix})
	}
}

// bluetoothFindings reports a Bluetooth controller that announces its
// public address (BlueZ's Privacy off), or that this is not known. Nothing
// when the machine shows no sign of Bluetooth or the policy does not spoof.
func (b *builder) bluetoothFindings() {
	bt := b.s.Bluetooth
	if !b.pol.Spoof {
		return
	}
	const fixFmt = "set Privacy = device in the [General] section of %s and restart BlueZ (systemctl restart bluetooth); mac-nmguard does not control Bluetooth"
	fix := fmt.Sprintf(fixFmt, bt.ConfPath)
	setting := "BlueZ's Privacy is unset in " + bt.ConfPath + " (BlueZ's default is off)"
	if !bt.ConfExists {
		setting = bt.ConfPath + " does not exist, so BlueZ's Privacy is its default, off"
	}
	if bt.PrivacyLine > 0 {
		setting = fmt.Sprintf("Privacy = %s at %s:%d", bt.Privacy, bt.ConfPath, bt.PrivacyLine)
	}
	file := ""
	if bt.PrivacyLine > 0 {
		file = fmt.Sprintf("%s:%d", bt.ConfPath, bt.PrivacyLine)
	}
	if bt.ConfErr != nil {
		if bt.Running || len(bt.Sysfs) > 0 {
			b.add(Finding{Severity: SeverityNote, Kind: KindBluetoothUnknown,
				Message: fmt.Sprintf("could not read %s (%s): whether the Bluetooth controllers use a private address is not known", bt.ConfPath, bt.ConfErr),
				Fix:     fix})
		}
		return
	}
	if bluetoothPrivacyOn(bt.Privacy) {
		return
	}
	switch {
	case bt.Running && bt.BusErr == nil:
		if len(bt.Adapters) == 0 {
			return
		}
		var parts, devs []string
		for _, a := range bt.Adapters {
			st := "powered off"
			if a.Powered {
				st = "powered"
			}
			if a.Discoverable {
				st += ", discoverable"
			}
			if a.Alias != "" {
				st += fmt.Sprintf(", name %q", a.Alias)
			}
			parts = append(parts, fmt.Sprintf("%s (%s)", a.Name, st))
			devs = append(devs, a.Name)
		}
		b.add(Finding{Severity: SeverityFinding, Kind: KindBluetoothPrivacy, Devices: devs, File: file,
			Message: fmt.Sprintf("Bluetooth controller(s) %s use their public address, the same everywhere, in every advertisement, scan and connection: %s", strings.Join(parts, ", "), setting),
			Fix:     fix})
	case len(bt.Sysfs) > 0:
		why := "BlueZ (org.bluez) is not running on the system bus"
		if bt.BusErr != nil {
			why = "BlueZ's adapters could not be read over D-Bus (" + bt.BusErr.Error() + ")"
		}
		b.add(Finding{Severity: SeverityFinding, Kind: KindBluetoothPrivacy, Devices: bt.Sysfs, File: file,
			Message: fmt.Sprintf("Bluetooth controller(s) %s will use their public address when BlueZ runs: %s; %s, so whether a controller is powered now is not known", strings.Join(bt.Sysfs, ", "), setting, why),
			Fix:     fix})
	case bt.ConfExists || bt.BusErr != nil:
		why := "BlueZ (org.bluez) is not running on the system bus and the kernel shows no controller"
		if bt.BusErr != nil {
			why = "BlueZ's adapters could not be read over D-Bus (" + bt.BusErr.Error() + ")"
		}
		b.add(Finding{Severity: SeverityNote, Kind: KindBluetoothUnknown,
			Message: fmt.Sprintf("whether a Bluetooth controller announces its public address is not known: %s; %s", why, setting),
			Fix:     fix})
	}
}

// p2pFindings reports the name each Wi-Fi P2P device announces: a finding
// while a P2P device is connecting or connected (in use), a note otherwise
// (the name goes out only while P2P discovery or a group runs, which
// NetworkManager starts only when a program asks).
func (b *builder) p2pFindings() {
	var devs []string
	inUse := false
	for _, d := range b.s.NMDevices {
		if d.Type == p2pDeviceType && (b.selected == nil || b.selected[d.Interface]) {
			devs = append(devs, d.Interface)
			inUse = inUse || (d.State >= nmStatePrepare && d.State <= nmStateActivated)
		}
	}
	if len(devs) == 0 || !b.pol.Spoof {
		return
	}
	v := b.s.P2P
	const fix = "give the machine a host name that names no one (hostnamectl hostname localhost), or turn Wi-Fi P2P off where it is not used; mac-nmguard does not change it"
	if !v.Running || v.Err != nil || len(v.Names) == 0 {
		why := "wpa_supplicant (fi.w1.wpa_supplicant1) is not running on the system bus"
		if v.Err != nil {
			why = "wpa_supplicant's P2PDeviceConfig could not be read (" + v.Err.Error() + ")"
		} else if v.Running {
			why = "no wpa_supplicant interface reports a P2P device configuration"
		}
		b.add(Finding{Severity: SeverityNote, Kind: KindWifiP2PNameUnknown, Devices: devs,
			Message: fmt.Sprintf("the name the Wi-Fi P2P device(s) announce is not known: %s (it defaults to the host name, %q)", why, b.s.Hostname),
			Fix:     fix})
		return
	}
	ifaces := make([]string, 0, len(v.Names))
	for n := range v.Names {
		ifaces = append(ifaces, n)
	}
	sort.Strings(ifaces)
	var parts []string
	for _, n := range ifaces {
		name, from := v.Names[n], "wpa_supplicant's P2PDeviceConfig DeviceName"
		if name == "" {
			name, from = b.s.Hostname, "the host name: wpa_supplicant reports no DeviceName"
		}
		if genericHostname(name) {
			continue
		}
		parts = append(parts, fmt.Sprintf("%q on %s (%s)", name, n, from))
	}
	if len(parts) == 0 {
		return
	}
	sev, when := SeverityNote, "while P2P discovery or a P2P group runs (screen casting, printers; NetworkManager starts them only when a program asks, and none is connected now)"
	if inUse {
		sev, when = SeverityFinding, "now: a P2P device is connecting or connected"
	}
	b.add(Finding{Severity: sev, Kind: KindWifiP2PName, Devices: devs,
		Message: fmt.Sprintf("the Wi-Fi P2P (Wi-Fi Direct) device announces the name %s in its probe requests and responses to everyone in range, whatever its MAC address, %s", strings.Join(parts, ", "), when),
		Fix:     fix})
}

// p2pDeviceType is NetworkManager's device type name of a Wi-Fi P2P device
// (NM_DEVICE_TYPE_WIFI_P2P, as nm.Device.Type names it).
const p2pDeviceType = "wifip2p"

// NetworkManager's device states from PREPARE to ACTIVATED: in use.
const (
	nmStatePrepare   = 40
	nmStateActivated = 100
)
