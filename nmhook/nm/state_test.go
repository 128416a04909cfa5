// SPDX-License-Identifier: GPL-3.0-or-later

package nm

import (
	"testing"

	gonm "github.com/Wifx/gonetworkmanager/v2"

	"github.com/mac-nmguard/mac-nmguard/detect"
)

// TestStateName: gonetworkmanager's names turned into nmcli's, for every
// state NetworkManager has, and detect's numbers agree with its enum.
func TestStateName(t *testing.T) {
	for _, tc := range []struct {
		st     uint32
		detect uint32
		want   string
	}{
		{uint32(gonm.NmDeviceStateUnknown), 0, "unknown"},
		{uint32(gonm.NmDeviceStateUnmanaged), detect.StateUnmanaged, "unmanaged"},
		{uint32(gonm.NmDeviceStateUnavailable), detect.StateUnavailable, "unavailable"},
		{uint32(gonm.NmDeviceStateDisconnected), detect.StateDisconnected, "disconnected"},
		{uint32(gonm.NmDeviceStatePrepare), detect.StatePrepare, "prepare"},
		{uint32(gonm.NmDeviceStateConfig), detect.StateConfig, "config"},
		{uint32(gonm.NmDeviceStateNeedAuth), detect.StateNeedAuth, "need-auth"},
		{uint32(gonm.NmDeviceStateIpConfig), detect.StateIPConfig, "ip-config"},
		{uint32(gonm.NmDeviceStateIpCheck), detect.StateIPCheck, "ip-check"},
		{uint32(gonm.NmDeviceStateSecondaries), detect.StateSecondaries, "secondaries"},
		{uint32(gonm.NmDeviceStateActivated), detect.StateActivated, "activated"},
		{uint32(gonm.NmDeviceStateDeactivating), detect.StateDeactivating, "deactivating"},
		{uint32(gonm.NmDeviceStateFailed), detect.StateFailed, "failed"},
		{77, 77, "state-77"},
	} {
		if got := StateName(tc.st); got != tc.want {
			t.Errorf("StateName(%d) = %q, want %q", tc.st, got, tc.want)
		}
		if tc.st != tc.detect {
			t.Errorf("detect's number for %s is %d, NetworkManager's %d", tc.want, tc.detect, tc.st)
		}
	}
}
