// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"testing"

	"github.com/mac-nmguard/mac-nmguard/detect"
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
	net := policy.Network{UUID: uuidCafe, ID: "cafe"}
	tests := []struct {
		name string
		view deviceView
		want decision
	}{
		{"idle Wi-Fi, scan address: left alone", deviceView{Device: dev("wifi", scan), State: detect.StateDisconnected}, decision{Guard: true}},
		{"unavailable Wi-Fi, scan address: left alone", deviceView{Device: dev("wifi", scan), State: detect.StateUnavailable}, decision{Guard: true}},
		{"idle Wi-Fi, real address: spoofed", deviceView{Device: dev("wifi", real), State: detect.StateDisconnected}, decision{Guard: true, Spoof: true}},
		{"idle Wi-Fi, universally administered foreign address: spoofed",
			deviceView{Device: dev("wifi", mustPMAC(t, "00:11:22:33:44:55")), State: detect.StateDisconnected}, decision{Guard: true, Spoof: true}},
		{"Wi-Fi before NetworkManager (hotplug): spoofed", deviceView{Device: dev("wifi", scan)}, decision{Guard: true, Spoof: true}},
		{"idle Ethernet, same address: spoofed", deviceView{Device: dev("ethernet", scan), State: detect.StateDisconnected}, decision{Guard: true, Spoof: true}},
		{"Wi-Fi connecting with it: refused", deviceView{Device: dev("wifi", scan), State: detect.StateConfig, Network: net}, decision{Guard: true, Block: true, Disconnect: true}},
		{"idle Wi-Fi, scan address, a profile that sets permanent: blocked",
			deviceView{Device: dev("wifi", scan), State: detect.StateDisconnected,
				Profiles: []NMProfile{{ID: "p", UUID: uuidACL, Autoconnect: true, ClonedMAC: "permanent"}}}, decision{Guard: true, Block: true}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(policy.Default(), tc.view, nil, make([]byte, 32))
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
	v := deviceView{Device: policy.Device{Interface: "wlan0", Type: "wifi", Current: mustPMAC(t, "ca:5e:11:22:33:44"), Real: real, RealKnown: true},
		State: detect.StateDisconnected, Network: policy.Network{UUID: uuidACL, ID: "acl"}}
	got := decide(policy.Default(), v, []policy.Exemption{{UUID: uuidACL, Scope: policy.ScopeOnce}}, make([]byte, 32))
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
		view  deviceView
		spoof bool
	}{
		{"idle Wi-Fi, scan address: left alone", deviceView{Device: dev("wifi", scan), State: detect.StateDisconnected}, false},
		{"unavailable Wi-Fi, scan address: left alone", deviceView{Device: dev("wifi", scan), State: detect.StateUnavailable}, false},
		{"idle Wi-Fi, restoring acl: real address set", deviceView{Device: dev("wifi", scan), State: detect.StateDisconnected,
			Network: policy.Network{UUID: uuidACL, ID: "acl"}}, true},
		{"idle Ethernet, same address: real address set", deviceView{Device: dev("ethernet", scan), State: detect.StateDisconnected}, true},
		{"Wi-Fi before NetworkManager: real address set", deviceView{Device: dev("wifi", scan)}, true},
		{"idle Wi-Fi, universally administered foreign address: real address set",
			deviceView{Device: dev("wifi", mustPMAC(t, "00:11:22:33:44:55")), State: detect.StateDisconnected}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got := decide(pol, tc.view, nil, make([]byte, 32))
			if got.Verdict.Mode != policy.ModePermanent {
				t.Fatalf("verdict %+v: want permanent (spoof = false)", got.Verdict)
			}
			if got.Spoof != tc.spoof || got.Block || got.Disconnect {
				t.Errorf("decide = %+v, want Spoof %v and nothing else", got, tc.spoof)
			}
		})
	}
}
