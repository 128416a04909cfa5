// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import "github.com/mac-nmguard/mac-nmguard/nmhook/api"

// Slot says what a notification is about; one slot is one notification on
// screen at most (a newer message for the same slot replaces it).
type Slot string

// The slots.
const (
	// SlotNetwork: a suspicion for one device and one network, and what
	// became of the user's choice about it.
	SlotNetwork Slot = "network"
	// SlotDevice: the gate kept a device down.
	SlotDevice Slot = "device"
)

// Key names one notification slot.
type Key struct {
	Slot    Slot
	Device  string // interface name
	Network string // network identity (see networkIdentity); "" for SlotDevice
}

// suspicionKey is the slot of a suspicion: its device and network.
func suspicionKey(s api.Suspicion) Key {
	return Key{Slot: SlotNetwork, Device: s.Device, Network: networkIdentity(s.Connection.UUID, s.Connection.SSID, s.Connection.ID)}
}

// networkIdentity names a network for bookkeeping: the profile UUID when
// known (what the service's Restored and RestoreFailed signals carry), else
// the SSID, else the profile id.
func networkIdentity(uuid, ssid, id string) string {
	switch {
	case uuid != "":
		return uuid
	case ssid != "":
		return "ssid:" + ssid
	case id != "":
		return "id:" + id
	}
	return ""
}
