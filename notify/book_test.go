// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
)

const cafeUUID = "3f2504e0-4f89-11d3-9a0c-0305e82c3301"

func susp(id, device, uuid, ssid, kind string) api.Suspicion {
	return api.Suspicion{ID: id, Device: device, Kind: kind, Connection: detect.Connection{UUID: uuid, SSID: ssid, ID: ssid}}
}

// step is one event fed to a Book and the effects it must produce.
type step struct {
	do   func(b *Book) []Effect
	want []Effect
}

func runSteps(t *testing.T, steps []step) {
	t.Helper()
	b := NewBook(English())
	for i, st := range steps {
		got := st.do(b)
		if diff := cmp.Diff(st.want, got); diff != "" {
			t.Fatalf("step %d: effects (-want +got):\n%s", i, diff)
		}
	}
}

func TestBook(t *testing.T) {
	s1 := susp("wlan0/1/1", "wlan0", cafeUUID, "cafe-wifi", "auth-loop")
	s2 := susp("wlan0/2/2", "wlan0", cafeUUID, "cafe-wifi", "auth-failure") // same device+network, new episode
	other := susp("eth0/3/3", "eth0", "", "", "dhcp-failure")
	other.Connection.ID = "Office"
	k1 := Key{Slot: SlotNetwork, Device: "wlan0", Network: cafeUUID}
	kOther := Key{Slot: SlotNetwork, Device: "eth0", Network: "id:Office"}
	restore := Call{Key: k1, Method: MethodRestore, Device: "wlan0", UUID: cafeUUID, Scope: "once"}
	always := Call{Key: k1, Method: MethodRestore, Device: "wlan0", UUID: cafeUUID, Scope: "always"}
	none := []Effect(nil)

	tests := []struct {
		name  string
		steps []step
	}{
		{"restore this time: progress, call with scope once, then the outcome replaces the same slot", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { return b.Action(k1, ActionRestore) }, []Effect{Show{k1, RestoringMessage(en, s1, "once")}, restore}},
			{func(b *Book) []Effect { return b.Action(k1, ActionRestore) }, none}, // a second click does nothing
			{func(b *Book) []Effect { return b.Action(k1, ActionRestoreAlways) }, none},
			{func(b *Book) []Effect { return b.Restored("wlan0", cafeUUID) }, []Effect{Show{k1, RestoredMessage(en, "cafe-wifi", "wlan0", cafeUUID, "once")}}},
			{func(b *Book) []Effect { return b.Restored("wlan0", cafeUUID) }, none},
		}},
		{"restore always: its own choice, scope always, the outcome says how to undo", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { return b.Action(k1, ActionRestoreAlways) }, []Effect{Show{k1, RestoringMessage(en, s1, "always")}, always}},
			{func(b *Book) []Effect { return b.Action(k1, ActionRestore) }, none},
			{func(b *Book) []Effect { return b.Restored("wlan0", cafeUUID) }, []Effect{Show{k1, RestoredMessage(en, "cafe-wifi", "wlan0", cafeUUID, "always")}}},
		}},
		{"restore failure by signal, then the call's error is not told twice", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { return b.Action(k1, ActionRestore) }, []Effect{Show{k1, RestoringMessage(en, s1, "once")}, restore}},
			{func(b *Book) []Effect { return b.RestoreFailed("wlan0", cafeUUID, "no carrier") },
				[]Effect{Show{k1, RestoreFailedMessage(en, "cafe-wifi", "wlan0", "no carrier")}}},
			{func(b *Book) []Effect { return b.CallFailed(restore, "no carrier") }, none},
		}},
		{"restore failure by the call's error", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { return b.Action(k1, ActionRestore) }, []Effect{Show{k1, RestoringMessage(en, s1, "once")}, restore}},
			{func(b *Book) []Effect { return b.CallFailed(restore, "the real address of wlan0 is unknown") },
				[]Effect{Show{k1, RestoreFailedMessage(en, "cafe-wifi", "wlan0", "the real address of wlan0 is unknown")}}},
			{func(b *Book) []Effect { return b.RestoreFailed("wlan0", cafeUUID, "x") }, none},
		}},
		{"keep: dismiss and close", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { return b.Action(k1, ActionKeep) }, []Effect{Call{Key: k1, Method: MethodDismiss, ID: s1.ID}, Close{k1}}},
			{func(b *Book) []Effect { return b.Action(k1, ActionRestore) }, none}, // too late
		}},
		{"a click on the body (default) or an unknown key changes nothing", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { return b.Action(k1, "default") }, none},
			{func(b *Book) []Effect { return b.Action(k1, "Restore") }, none},
			{func(b *Book) []Effect { return b.Action(Key{Slot: SlotNetwork, Device: "wlan9"}, ActionRestore) }, none},
		}},
		{"two suspicions for the same device+network share one slot; others get their own", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { return b.Suspicion(s2) }, []Effect{Show{k1, SuspicionMessage(en, s2)}}},
			{func(b *Book) []Effect { return b.Suspicion(other) }, []Effect{Show{kOther, SuspicionMessage(en, other)}}},
			{func(b *Book) []Effect { return b.Action(k1, ActionKeep) }, []Effect{Call{Key: k1, Method: MethodDismiss, ID: s2.ID}, Close{k1}}},
		}},
		{"pending on reconnect: known ones left alone, new ones offered, stale ones withdrawn", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { b.Shown(k1, true); return nil }, none},
			{func(b *Book) []Effect { return b.Pending([]api.Suspicion{s1}) }, none},
			{func(b *Book) []Effect { return b.Pending([]api.Suspicion{other}) },
				[]Effect{Close{k1}, Show{kOther, SuspicionMessage(en, other)}}},
		}},
		{"an offer the user closed is not shown again for the same suspicion, but is for a new one", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { b.Shown(k1, true); b.Closed(k1); return nil }, none},
			{func(b *Book) []Effect { return b.Pending([]api.Suspicion{s1}) }, none},
			{func(b *Book) []Effect { return b.ServerUp() }, none},
			{func(b *Book) []Effect { return b.Pending([]api.Suspicion{s2}) }, []Effect{Show{k1, SuspicionMessage(en, s2)}}},
		}},
		{"no server: what was not shown is shown when a server appears", []step{
			{func(b *Book) []Effect { return b.Suspicion(s1) }, []Effect{Show{k1, SuspicionMessage(en, s1)}}},
			{func(b *Book) []Effect { b.Shown(k1, false); return b.Violation("eth1", "refused", "r") },
				[]Effect{Show{Key{Slot: SlotDevice, Device: "eth1"}, ViolationMessage(en, "eth1", "refused", "r")}}},
			{func(b *Book) []Effect { return b.ServerUp() }, []Effect{
				Show{Key{Slot: SlotDevice, Device: "eth1"}, ViolationMessage(en, "eth1", "refused", "r")},
				Show{k1, SuspicionMessage(en, s1)},
			}},
		}},
		{"violations: one slot per device, a closed notice is forgotten", []step{
			{func(b *Book) []Effect { return b.Violation("eth1", "refused", "a") },
				[]Effect{Show{Key{Slot: SlotDevice, Device: "eth1"}, ViolationMessage(en, "eth1", "refused", "a")}}},
			{func(b *Book) []Effect { return b.Violation("eth1", "kept down: address could not be set", "b") },
				[]Effect{Show{Key{Slot: SlotDevice, Device: "eth1"}, ViolationMessage(en, "eth1", "kept down: address could not be set", "b")}}},
			{func(b *Book) []Effect { b.Closed(Key{Slot: SlotDevice, Device: "eth1"}); return b.ServerUp() }, none},
			{func(b *Book) []Effect { return b.Violation("", "refused", "a") }, none},
		}},
		{"a restore the agent did not start is still told", []step{
			{func(b *Book) []Effect { return b.Restored("eth0", cafeUUID) }, []Effect{Show{Key{Slot: SlotNetwork, Device: "eth0", Network: cafeUUID}, RestoredMessage(en, "", "eth0", cafeUUID, "")}}},
		}},
		{"a suspicion known by SSID only: the outcome (with the profile's UUID) finds the restoring slot", []step{
			{func(b *Book) []Effect { return b.Suspicion(susp("w/1", "wlan0", "", "cafe-wifi", "auth-loop")) },
				[]Effect{Show{Key{Slot: SlotNetwork, Device: "wlan0", Network: "ssid:cafe-wifi"}, SuspicionMessage(en, susp("w/1", "wlan0", "", "cafe-wifi", "auth-loop"))}}},
			{func(b *Book) []Effect {
				return b.Action(Key{Slot: SlotNetwork, Device: "wlan0", Network: "ssid:cafe-wifi"}, ActionRestore)
			}, []Effect{
				Show{Key{Slot: SlotNetwork, Device: "wlan0", Network: "ssid:cafe-wifi"}, RestoringMessage(en, susp("w/1", "wlan0", "", "cafe-wifi", "auth-loop"), "once")},
				Call{Key: Key{Slot: SlotNetwork, Device: "wlan0", Network: "ssid:cafe-wifi"}, Method: MethodRestore, Device: "wlan0", Scope: "once"},
			}},
			{func(b *Book) []Effect { return b.Restored("wlan0", cafeUUID) },
				[]Effect{Show{Key{Slot: SlotNetwork, Device: "wlan0", Network: "ssid:cafe-wifi"}, RestoredMessage(en, "cafe-wifi", "wlan0", cafeUUID, "once")}}},
		}},
		{"suspicions without id or device are ignored", []step{
			{func(b *Book) []Effect { return b.Suspicion(susp("", "wlan0", cafeUUID, "x", "auth-loop")) }, none},
			{func(b *Book) []Effect { return b.Suspicion(susp("id", "", cafeUUID, "x", "auth-loop")) }, none},
		}},
		{"a failed dismiss changes nothing", []step{
			{func(b *Book) []Effect {
				return b.CallFailed(Call{Key: k1, Method: MethodDismiss, ID: "x"}, "no pending suspicion")
			}, none},
		}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) { runSteps(t, tc.steps) })
	}
}
