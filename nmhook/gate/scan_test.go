// SPDX-License-Identifier: GPL-3.0-or-later

package gate

import (
	"testing"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/profile"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// NetworkManager's random scan address on an idle Wi-Fi card is not a
// violation: the service leaves it alone (it fought it 8 times in 3
// minutes on a real radio). Anywhere else the same address is fixed or
// refused as before.
func TestDecideLeavesNMScanAddressAlone(t *testing.T) {
	real := mustPMAC(t, "00:1b:21:aa:bb:cc")
	scan := mustPMAC(t, "ca:5e:11:22:33:44") // random, locally administered
	dev := func(typ string, cur policy.MAC) policy.Device {
		return policy.Device{Interface: "wlan0", Type: typ, Current: cur, Real: real, RealKnown: true}
	}
	net := policy.Network{UUID: "0b3e5e2c-1111-4a4a-9b9b-000000000001", ID: "cafe"}
	tests := []struct {
		name string
		view View
		want Decision
	}{
		{"idle Wi-Fi, scan address: left alone", View{Device: dev("wifi", scan), State: detect.StateDisconnected}, Decision{Guard: true}},
		{"unavailable Wi-Fi, scan address: left alone", View{Device: dev("wifi", scan), State: detect.StateUnavailable}, Decision{Guard: true}},
		{"idle Wi-Fi, real address: spoofed", View{Device: dev("wifi", real), State: detect.StateDisconnected}, Decision{Guard: true, Spoof: true}},
		{"idle Wi-Fi, universally administered foreign address: spoofed",
			View{Device: dev("wifi", mustPMAC(t, "00:11:22:33:44:55")), State: detect.StateDisconnected}, Decision{Guard: true, Spoof: true}},
		{"Wi-Fi before NetworkManager (hotplug): spoofed", View{Device: dev("wifi", scan)}, Decision{Guard: true, Spoof: true}},
		{"idle Ethernet, same address: spoofed", View{Device: dev("ethernet", scan), State: detect.StateDisconnected}, Decision{Guard: true, Spoof: true}},
		{"Wi-Fi connecting with it: refused", View{Device: dev("wifi", scan), State: detect.StateConfig, Network: net}, Decision{Guard: true, Block: true, Disconnect: true}},
		{"idle Wi-Fi, scan address, a profile that sets permanent: blocked",
			View{Device: dev("wifi", scan), State: detect.StateDisconnected,
				Profiles: []profile.Profile{{ID: "p", UUID: "0b3e5e2c-1111-4a4a-9b9b-000000000002", Autoconnect: true, ClonedMAC: "permanent"}}}, Decision{Guard: true, Block: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(policy.Default(), tc.view, nil, make([]byte, 32))
			if got.Reason == "" {
				t.Error("no reason given")
			}
			got.Verdict, got.Reason = policy.Verdict{}, ""
			if got != tc.want {
				t.Errorf("decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}

// A restore at rest puts the real address on the card: NetworkManager's scan
// address is replaced then (the verdict wants the real address).
func TestDecideRestoreReplacesScanAddress(t *testing.T) {
	real := mustPMAC(t, "00:1b:21:aa:bb:cc")
	v := View{Device: policy.Device{Interface: "wlan0", Type: "wifi", Current: mustPMAC(t, "ca:5e:11:22:33:44"), Real: real, RealKnown: true},
		State: detect.StateDisconnected, Network: policy.Network{UUID: "0b3e5e2c-1111-4a4a-9b9b-000000000002", ID: "acl"}}
	got := Decide(policy.Default(), v, []policy.Exemption{{UUID: "0b3e5e2c-1111-4a4a-9b9b-000000000002", Scope: policy.ScopeOnce}}, make([]byte, 32))
	if !got.Spoof {
		t.Fatalf("decision %+v: want the real address set", got)
	}
}

// With spoof = false (the real address wanted for connections) the scan
// address is still NetworkManager's: the service does not put the real
// address on an idle card over it (it did, fighting every randomised scan).
// A restore in progress (the view has its network) still does.
func TestDecideSpoofOffLeavesNMScanAddressAlone(t *testing.T) {
	real := mustPMAC(t, "00:1b:21:aa:bb:cc")
	scan := mustPMAC(t, "ca:5e:11:22:33:44")
	pol := policy.Default()
	pol.Spoof = false
	dev := func(typ string, cur policy.MAC) policy.Device {
		return policy.Device{Interface: "wlan0", Type: typ, Current: cur, Real: real, RealKnown: true}
	}
	tests := []struct {
		name  string
		view  View
		spoof bool
	}{
		{"idle Wi-Fi, scan address: left alone", View{Device: dev("wifi", scan), State: detect.StateDisconnected}, false},
		{"unavailable Wi-Fi, scan address: left alone", View{Device: dev("wifi", scan), State: detect.StateUnavailable}, false},
		{"idle Wi-Fi, restoring acl: real address set", View{Device: dev("wifi", scan), State: detect.StateDisconnected,
			Network: policy.Network{UUID: "0b3e5e2c-1111-4a4a-9b9b-000000000002", ID: "acl"}}, true},
		{"idle Ethernet, same address: real address set", View{Device: dev("ethernet", scan), State: detect.StateDisconnected}, true},
		{"Wi-Fi before NetworkManager: real address set", View{Device: dev("wifi", scan)}, true},
		{"idle Wi-Fi, universally administered foreign address: real address set",
			View{Device: dev("wifi", mustPMAC(t, "00:11:22:33:44:55")), State: detect.StateDisconnected}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(pol, tc.view, nil, make([]byte, 32))
			if got.Verdict.Mode != policy.ModePermanent {
				t.Fatalf("verdict %+v: want permanent (spoof = false)", got.Verdict)
			}
			if got.Spoof != tc.spoof || got.Block || got.Disconnect {
				t.Errorf("decide = %+v, want Spoof %v and nothing else", got, tc.spoof)
			}
		})
	}
}

// NetworkManager's scan pattern (nm_utils_hw_addr_gen_random_eth with no
// wifi.scan-generate-mac-address-mask): random, locally administered,
// unicast, never the real address.
func TestNMScanPattern(t *testing.T) {
	real := mustPMAC(t, "02:00:00:00:00:00") // hwsim's, locally administered
	tests := []struct {
		cur       string
		realKnown bool
		want      bool
	}{
		{"5e:72:6b:73:3e:4d", true, true}, // the Wi-Fi bed's, 2026-12-07
		{"02:00:00:fd:44:b2", true, true}, // the pattern alone cannot tell the service's own from it
		{"02:00:00:00:00:00", true, false},
		{"5f:72:6b:73:3e:4d", true, false}, // multicast
		{"5c:72:6b:73:3e:4d", true, false}, // universally administered
		{"00:00:00:00:00:00", true, false},
		{"5e:72:6b:73:3e:4d", false, false}, // nothing to tell it from the real address
	}
	for _, tc := range tests {
		dev := policy.Device{Interface: "wlan0", Type: "wifi", Current: mustPMAC(t, tc.cur), Real: real, RealKnown: tc.realKnown}
		if got := NMScanPattern(dev); got != tc.want {
			t.Errorf("NMScanPattern(%s, real known %t) = %t, want %t", tc.cur, tc.realKnown, got, tc.want)
		}
	}
}

// The Wi-Fi bed's agent-story: NetworkManager's scan address (set when it
// ended the refused activation of "acl") is judged by NetworkManager's
// state. The state its signals last gave (CONFIG) makes it the
// activation's address, refused; the state NetworkManager reports when
// asked after the address appeared (DISCONNECTED, which the service reads:
// nmhook's TestScanAddressAtTheEndOfAnActivation) makes it the scan
// address, left alone.
func TestDecideScanAddressByNMState(t *testing.T) {
	dev := policy.Device{Interface: "wlan0", Type: "wifi", Driver: "mac80211_hwsim",
		Current: mustPMAC(t, "5e:72:6b:73:3e:4d"), Real: mustPMAC(t, "02:00:00:00:00:00"), RealKnown: true}
	acl := policy.Network{UUID: "68f15a87-3cbb-4e86-ba69-57706019d1b1", ID: "acl", SSID: "aclreal"}
	tests := []struct {
		name string
		view View
		want Decision
	}{
		{"in flight (CONFIG): refused", View{Device: dev, State: detect.StateConfig, Network: acl, ActiveClonedMAC: "02:00:00:fd:44:b2"},
			Decision{Guard: true, Block: true, Disconnect: true}},
		{"activation over (DISCONNECTED): left alone", View{Device: dev, State: detect.StateDisconnected}, Decision{Guard: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := Decide(policy.Default(), tc.view, nil, make([]byte, 32))
			got.Verdict, got.Reason = policy.Verdict{}, ""
			if got != tc.want {
				t.Errorf("decide = %+v, want %+v", got, tc.want)
			}
		})
	}
}
