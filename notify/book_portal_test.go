// SPDX-License-Identifier: GPL-3.0-or-later

package notify

import (
	"strings"
	"testing"
)

// TestBookPortal: a captive portal that forgets the private address is
// offered the same private address, never the real one; the choice calls
// KeepPrivate and its outcome says how to undo it. A refusal is never
// answered by KeepPrivate.
func TestBookPortal(t *testing.T) {
	p := susp("wlan0/1/1", "wlan0", cafeUUID, "cafe-wifi", KindPortalForgets)
	k := Key{Slot: SlotNetwork, Device: "wlan0", Network: cafeUUID}
	keep := Call{Key: k, Method: MethodKeepPrivate, Device: "wlan0", UUID: cafeUUID}
	none := []Effect(nil)

	runSteps(t, []step{
		{func(b *Book) []Effect { return b.Suspicion(p) }, []Effect{Show{k, PortalMessage(en, p)}}},
		{func(b *Book) []Effect { return b.Action(k, ActionRestore) }, none},
		{func(b *Book) []Effect { return b.Action(k, ActionRestoreAlways) }, none},
		{func(b *Book) []Effect { return b.Action(k, ActionKeepSame) }, []Effect{Show{k, RestoringMessage(en, p, ScopeStable)}, keep}},
		{func(b *Book) []Effect { return b.Action(k, ActionKeepSame) }, none},
		{func(b *Book) []Effect { return b.Restored("wlan0", cafeUUID) }, []Effect{Show{k, RestoredMessage(en, "cafe-wifi", "wlan0", cafeUUID, ScopeStable)}}},
	})
	runSteps(t, []step{
		{func(b *Book) []Effect { return b.Suspicion(p) }, []Effect{Show{k, PortalMessage(en, p)}}},
		{func(b *Book) []Effect { return b.Action(k, ActionKeepSame) }, []Effect{Show{k, RestoringMessage(en, p, ScopeStable)}, keep}},
		{func(b *Book) []Effect { return b.CallFailed(keep, "not authorised") },
			[]Effect{Show{k, KeepFailedMessage(en, "cafe-wifi", "wlan0", "not authorised")}}},
	})
	r := susp("wlan0/2/2", "wlan0", cafeUUID, "cafe-wifi", "auth-rejected")
	runSteps(t, []step{
		{func(b *Book) []Effect { return b.Suspicion(r) }, []Effect{Show{k, SuspicionMessage(en, r)}}},
		{func(b *Book) []Effect { return b.Action(k, ActionKeepSame) }, none},
	})
}

func TestPortalMessages(t *testing.T) {
	p := susp("wlan0/1/1", "wlan0", cafeUUID, "cafe-wifi", KindPortalForgets)
	m := SuspicionMessage(en, p)
	if len(m.Actions) != 2 || m.Actions[0].Key != ActionKeepSame || m.Actions[0].Label != "Keep the same private address for this network" || m.Actions[1].Key != ActionKeep {
		t.Errorf("actions = %+v, want keep-same and keep", m.Actions)
	}
	all := m.Summary + "\n" + m.Body + "\n" + m.NoActions
	for _, want := range []string{"“cafe-wifi” forgets this computer", "never sees the real address", "mac-nmguard restore wlan0 --keep-private", "(Network card wlan0)"} {
		if !strings.Contains(all, want) {
			t.Errorf("offer lacks %q:\n%s", want, all)
		}
	}
	if strings.Contains(all, "Use real address") {
		t.Errorf("the portal offer names the real address choice:\n%s", all)
	}
	done := RestoredMessage(en, "cafe-wifi", "wlan0", cafeUUID, ScopeStable)
	if !strings.Contains(done.Summary, "same private address") || !strings.Contains(done.Body, UndoCommand+" "+cafeUUID) {
		t.Errorf("outcome = %+v", done)
	}
	de, err := LoadCatalog([]string{"de"})
	if err != nil {
		t.Fatal(err)
	}
	if m := SuspicionMessage(de, p); m.Actions[0].Label != "Dieselbe private Adresse für dieses Netzwerk behalten" || !strings.Contains(m.Summary, "„cafe-wifi“") {
		t.Errorf("German offer = %+v", m)
	}
}
