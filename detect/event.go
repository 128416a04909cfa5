// SPDX-License-Identifier: GPL-3.0-or-later

package detect

import "time"

// NetworkManager device states (NMDeviceState).
const (
	StateUnknown      uint32 = 0
	StateUnmanaged    uint32 = 10
	StateUnavailable  uint32 = 20
	StateDisconnected uint32 = 30
	StatePrepare      uint32 = 40
	StateConfig       uint32 = 50
	StateNeedAuth     uint32 = 60
	StateIPConfig     uint32 = 70
	StateIPCheck      uint32 = 80
	StateSecondaries  uint32 = 90
	StateActivated    uint32 = 100
	StateDeactivating uint32 = 110
	StateFailed       uint32 = 120
)

// NetworkManager device state reasons (NMDeviceStateReason) that matter here.
const (
	ReasonNone                   uint32 = 0
	ReasonIPConfigUnavailable    uint32 = 5
	ReasonNoSecrets              uint32 = 7
	ReasonSupplicantDisconnect   uint32 = 8
	ReasonSupplicantConfigFailed uint32 = 9
	ReasonSupplicantFailed       uint32 = 10
	ReasonSupplicantTimeout      uint32 = 11
	ReasonCarrier                uint32 = 40
	ReasonUserRequested          uint32 = 39
	ReasonSSIDNotFound           uint32 = 53
)

// Connection identifies the network a device is activating: the NM profile
// (UUID and id) and, for Wi-Fi, the SSID.
type Connection struct {
	UUID string `json:"uuid,omitempty"`
	ID   string `json:"id,omitempty"`
	SSID string `json:"ssid,omitempty"`
}

// Event is one device state change as the service saw it, in order. It is
// also the line format of recorded traces (JSON lines, see trace.go).
type Event struct {
	Time       time.Time  `json:"time"`
	Device     string     `json:"device"`
	Connection Connection `json:"connection"`
	State      uint32     `json:"state"`
	Old        uint32     `json:"old"`
	Reason     uint32     `json:"reason"`
	Address    string     `json:"address,omitempty"` // address in use, aa:bb:cc:dd:ee:ff
	Real       string     `json:"real,omitempty"`    // real address, "" when unknown
	Spoofed    bool       `json:"spoofed"`           // the address in use is not the real one
	Carrier    bool       `json:"carrier"`
	Exempt     bool       `json:"exempt,omitempty"` // the network is exempt (real address by the user's choice)
	// Supplicant is set on events that are not NM state changes but a
	// change of a wpa_supplicant interface property (State and Old are
	// then the device's current NM state).
	Supplicant *SupplicantSignal `json:"supplicant,omitempty"`
	// Connectivity is the device's Ip4Connectivity (ConnectivityUnknown
	// ... ConnectivityFull) when the event was seen; ConnectivityChange is
	// set on events that are not NM state changes but a change of it
	// (State and Old are then the device's current NM state).
	Connectivity       uint32 `json:"connectivity,omitempty"`
	ConnectivityChange bool   `json:"connectivity_change,omitempty"`
	// Generation names the service's address generation the private
	// address in use belongs to: an opaque token that changes whenever
	// the service may have drawn a new private address for the
	// connection (each run of the service); "" when the address does not
	// change from one generation to the next (mode stable) or is unknown.
	// It is never derived from an address.
	Generation string `json:"generation,omitempty"`
}

// SupplicantSignal is a change of a property of wpa_supplicant's interface
// (fi.w1.wpa_supplicant1.Interface) that says why an attempt failed.
type SupplicantSignal struct {
	Property string `json:"property"` // "AuthStatusCode" or "DisconnectReason"
	Value    int32  `json:"value"`
}
