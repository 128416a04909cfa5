// SPDX-License-Identifier: GPL-3.0-or-later

package profile

import (
	"slices"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// Profile is what matters to the gate of one NM connection profile.
type Profile struct {
	Path        string
	UUID        string
	ID          string
	SSID        string
	Autoconnect bool
	// InterfaceName binds the profile to one device ("" any device).
	InterfaceName string
	// Type is connection.type: "802-3-ethernet", "802-11-wireless", ...
	Type string
	// AutoconnectPriority and Timestamp (last successful activation, Unix
	// seconds, 0 never) order autoconnect candidates as NM does.
	AutoconnectPriority int32
	Timestamp           uint64
	// ClonedMAC is what the profile asks NM to set: "" (NM's default,
	// preserve), "preserve", "permanent", "random", "stable", "stable-ssid"
	// or an explicit address.
	ClonedMAC string
	// KeyMgmt is 802-11-wireless-security.key-mgmt ("" when the profile has
	// no such setting: an open network). See OpenWiFi.
	KeyMgmt string
	// Unavailable: the profile carries the service's mark (nm's refusal.go),
	// so NetworkManager does not activate it: on any device, or, when
	// RefusedOn is not empty, on those devices only.
	Unavailable bool
	RefusedOn   []string
	// IdentsHidden: every identifier property (nm.Idents) has a value that
	// hides it.
	IdentsHidden bool
}

// Refusal is the mark a profile carries, or should carry: none, on every
// device (All), or on the devices named in On only.
type Refusal struct {
	All bool
	On  []string // sorted; ignored when All
}

// Any reports whether r keeps the profile from any device.
func (r Refusal) Any() bool { return r.All || len(r.On) > 0 }

// Equal reports whether r and o are the same mark.
func (r Refusal) Equal(o Refusal) bool {
	if r.All || o.All {
		return r.All == o.All
	}
	return slices.Equal(r.On, o.On)
}

// Refusal is the service's mark the profile carries.
func (p Profile) Refusal() Refusal {
	if !p.Unavailable {
		return Refusal{}
	}
	if len(p.RefusedOn) > 0 {
		return Refusal{On: p.RefusedOn}
	}
	return Refusal{All: true}
}

// WithRefusal returns p recorded as carrying the mark r.
func (p Profile) WithRefusal(r Refusal) Profile {
	p.Unavailable, p.RefusedOn = r.Any(), nil
	if !r.All {
		p.RefusedOn = slices.Clone(r.On)
	}
	return p
}

// Network is the detect.Connection this profile identifies.
func (p Profile) Network() detect.Connection {
	return detect.Connection{UUID: p.UUID, ID: p.ID, SSID: p.SSID}
}

// AppliesTo reports whether NM could activate the profile on a device of
// this interface name and NM type. Unknown types are taken to apply (the
// gate errs on the side of checking).
func (p Profile) AppliesTo(iface, devType string) bool {
	if p.InterfaceName != "" && p.InterfaceName != iface {
		return false
	}
	switch p.Type {
	case "802-3-ethernet":
		return devType == "" || devType == "ethernet" || devType == "veth" || devType == "macvlan"
	case "802-11-wireless":
		return devType == "" || devType == "wifi"
	case "":
		return true
	}
	return false
}

// NetworkManager's connection types (connection.type) the gate knows.
const (
	ConnTypeEthernet = "802-3-ethernet"
	ConnTypeWifi     = "802-11-wireless"
	ConnTypeVeth     = "veth"
)

// MACSetting is the nmcli name (and NetworkManager.conf key) of the
// profile's cloned-mac-address.
func (p Profile) MACSetting() string {
	if p.Type == ConnTypeWifi {
		return "wifi.cloned-mac-address"
	}
	return "ethernet.cloned-mac-address"
}

// OpenWiFi reports whether the profile is a Wi-Fi network whose access
// point anyone can imitate without knowing a secret: no security setting,
// key-mgmt "none" (static WEP: the access point lets anyone associate, the
// key is only checked on data, so DHCP is what fails) or "owe" (encrypted,
// not authenticated).
func (p Profile) OpenWiFi() bool {
	if p.Type != ConnTypeWifi && (p.Type != "" || p.SSID == "") {
		return false
	}
	switch p.KeyMgmt {
	case "", "none", "owe":
		return true
	}
	return false
}
