// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/nm"
)

// The Wi-Fi bed's agent-story (2026-12-07, NetworkManager 1.42.4): the
// client's real address (hwsim's), the allow-list profile "acl", and the
// scan address NetworkManager set when it ended the refused activation.
const (
	devWlan0   = dbus.ObjectPath("/org/freedesktop/NetworkManager/Devices/3")
	profACL    = dbus.ObjectPath("/org/freedesktop/NetworkManager/Settings/5")
	acACL      = dbus.ObjectPath("/org/freedesktop/NetworkManager/ActiveConnection/28")
	uuidBedACL = "68f15a87-3cbb-4e86-ba69-57706019d1b1"
	bedReal    = "02:00:00:00:00:00"
	bedScan    = "5e:72:6b:73:3e:4d"
)

// wifiBed: wlan0, a Wi-Fi card NetworkManager manages, disconnected, with
// the profile "acl" bound to it (no address of its own: the service gives
// it a private one in memory).
func wifiBed(t *testing.T) *nmBed {
	t.Helper()
	f := newFakeNM()
	f.devices[devWlan0] = nm.Device{Path: devWlan0, Interface: "wlan0", Type: "wifi", Driver: "mac80211_hwsim", State: detect.StateDisconnected,
		HwAddress: bedReal, PermHwAddress: bedReal, Autoconnect: true, ActiveConnection: "/"}
	f.addProfile(profACL, nm.ConnTypeWifi, uuidBedACL, "wlan0", "")
	real := mustHW(bedReal)
	return newNMBed(t, "", f, links.Link{Index: 3, Name: "wlan0", Kind: "device", Addr: real, PermAddr: real, Up: true})
}

// setAddr is an address change of the card seen by netlink (the kernel's
// link changed first, as NetworkManager's netlink call does).
func (b *nmBed) setAddr(name, mac string) {
	b.t.Helper()
	b.k.mu.Lock()
	l := b.k.links[name]
	l.Addr = mustHW(mac)
	b.k.links[name] = l
	b.k.mu.Unlock()
	b.svc.onLink(b.ctx, links.Event{Link: l}, time.Now())
}

// activateACL runs the refused activation of "acl" as the bed saw it, up
// to the refusal: PREPARE (the profile's address on the card), CONFIG,
// NEED_AUTH (NetworkManager's secrets check), PREPARE, CONFIG, where
// wpa_supplicant's authentications are refused until NetworkManager gives
// up.
func activateACL(t *testing.T, b *nmBed) {
	t.Helper()
	b.f.activate(devWlan0, acACL, profACL, detect.StatePrepare)
	b.state(devWlan0, detect.StatePrepare, 0)
	cloned := b.dev("wlan0").cloned
	if cloned == "" {
		t.Fatal("acl has no address in memory at PREPARE")
	}
	b.setAddr("wlan0", cloned)
	for _, st := range []uint32{detect.StateConfig, detect.StateNeedAuth, detect.StatePrepare, detect.StateConfig} {
		b.state(devWlan0, st, 0)
	}
	if d := b.dev("wlan0"); d.gate == gateBlocked || len(b.svc.violations) != 0 {
		t.Fatalf("acl refused in flight with its own private address: gate %q, violations %+v", d.gate, b.svc.violations)
	}
	b.kernelCalls()
	b.f.takeCalls()
}

// endActivation is NetworkManager failing the activation (reason 53,
// ssid-not-found) and going DISCONNECTED without the service having its
// signals yet: NetworkManager's own state only.
func endActivation(b *nmBed) {
	d := b.f.devices[devWlan0]
	d.State, d.ActiveConnection = detect.StateDisconnected, "/"
	b.f.devices[devWlan0] = d
	delete(b.f.active, acACL)
}

// TestScanAddressAtTheEndOfAnActivation: NetworkManager ends a refused
// Wi-Fi activation and sets its random scan address on the card before its
// FAILED and DISCONNECTED signals reach the service, which still has the
// card in CONFIG. That address is NetworkManager's scan address, not the
// activation's: no violation, no disconnect, the card left up (the Wi-Fi
// bed's agent-story showed "does not keep the real vendor prefix" and the
// agent's "not connected" notice next to the offer). While the activation
// is really in flight, an address of the same pattern, the real address,
// or an address of another pattern is still refused.
func TestScanAddressAtTheEndOfAnActivation(t *testing.T) {
	cases := []struct {
		name   string
		ended  bool   // NetworkManager ended the activation before the address
		addr   string // the card's new address
		failNM bool   // NetworkManager cannot be asked its state
		refuse bool
	}{
		{name: "NetworkManager's scan address after the activation ended: left alone", ended: true, addr: bedScan},
		{name: "the same address while NetworkManager is still in CONFIG: refused", addr: bedScan, refuse: true},
		{name: "the same address, NetworkManager's state unreadable: refused", ended: true, addr: bedScan, failNM: true, refuse: true},
		{name: "the real address after the activation ended: refused", ended: true, addr: bedReal, refuse: true},
		{name: "a universally administered address after the activation ended: refused", ended: true, addr: "00:11:22:33:44:55", refuse: true},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			b := wifiBed(t)
			activateACL(t, b)
			if tc.ended {
				endActivation(b)
			}
			b.f.fail["DeviceState"] = tc.failNM
			b.setAddr("wlan0", tc.addr)
			kc, nc := b.kernelCalls(), b.f.takeCalls()
			d := b.dev("wlan0")
			refused := len(b.svc.violations) > 0
			if refused != tc.refuse {
				t.Fatalf("refused %t, want %t: violations %+v, gate %q, kernel calls %q, NetworkManager calls %q",
					refused, tc.refuse, b.svc.violations, d.gate, kc, nc)
			}
			if tc.refuse {
				if len(b.svc.violations) != 1 || b.svc.violations[0].Action != "refused" || d.gate != gateBlocked {
					t.Errorf("violations %+v, gate %q: want one refusal", b.svc.violations, d.gate)
				}
				return
			}
			if hasCall(kc, "up wlan0 false") || countCalls(kc, "setaddr wlan0") != 0 || countCalls(nc, "disconnect ") != 0 {
				t.Errorf("the scan address was fought: kernel calls %q, NetworkManager calls %q", kc, nc)
			}
			// The signals arrive late: FAILED (ssid-not-found), DISCONNECTED.
			b.state(devWlan0, detect.StateFailed, 53)
			b.state(devWlan0, detect.StateDisconnected, 0)
			kc, nc = b.kernelCalls(), b.f.takeCalls()
			if len(b.svc.violations) != 0 || d.gate == gateBlocked || countCalls(kc, "setaddr wlan0") != 0 || hasCall(kc, "up wlan0 false") {
				t.Errorf("after NetworkManager's signals: violations %+v, gate %q, kernel calls %q, NetworkManager calls %q",
					b.svc.violations, d.gate, kc, nc)
			}
			if got := d.link.Addr.String(); got != bedScan {
				t.Errorf("card address %s, want NetworkManager's scan address %s", got, bedScan)
			}
		})
	}
}
