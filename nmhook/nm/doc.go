// SPDX-License-Identifier: GPL-3.0-or-later

// Package nm is mac-nmguard's one NetworkManager client, over godbus, for
// the service and for check: devices, profiles and their settings,
// ObjectManager.GetManagedObjects, Disconnect, Activate, autoconnect,
// managed and in-memory profile updates; the match rules of the signals the
// service listens to and the sender check that drops every signal not sent
// by NetworkManager (or wpa_supplicant) itself; NetworkManager's names and
// enums, from github.com/Wifx/gonetworkmanager/v2. It holds no state and
// makes no decision.
package nm
