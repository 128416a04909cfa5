// SPDX-License-Identifier: GPL-3.0-or-later

// Package fakenm is a FAKE, scriptable NetworkManager for tests: it owns
// org.freedesktop.NetworkManager on a (private) D-Bus bus and exports the
// objects mac-nmguard reads — the manager, Wi-Fi devices (Device and
// Device.Wireless), settings connections and active connections — with
// introspection, but it runs no activation of its own. A test scripts what
// NetworkManager would do: add a Wi-Fi device, add a profile, set the active
// connection, emit a state change, or replay a detect.Trace.
//
// It exists because the test machines' kernel has no Wi-Fi (no cfg80211):
// the real NetworkManager cannot be shown a Wi-Fi device there. Everything
// it does is built from NetworkManager's documented behaviour and source
// (NM 1.42: nm-device.c, nm-device-wifi.c, the D-Bus API reference), not
// recorded; tests that use it say so in their names ("FakeNM").
//
// What it emulates, beyond answering reads: a Device.Disconnect of an active
// device (DEACTIVATING then DISCONNECTED with reason USER_REQUESTED, and the
// device's Autoconnect turned off, as NM blocks autoconnect on a user
// disconnect; NotActive for an idle device); Managed set to true on an
// UNMANAGED device (UNAVAILABLE with reason NOW_MANAGED, then DISCONNECTED
// with SUPPLICANT_AVAILABLE); Managed set to false (UNMANAGED); and, when
// the test gives it a Kernel, stage 1 of an activation (the link brought up
// and a profile's explicit assigned-mac-address set on it, after PREPARE is
// announced, as NM does). Every method call and property Set is recorded
// (Calls, WaitCall) so a test can assert what its client did.
package fakenm
