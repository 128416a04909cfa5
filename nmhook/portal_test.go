// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// TestKeepPrivateAnswersPortal: a captive portal reported again (the
// device's Ip4Connectivity) after the private address changed raises
// portal-forgets; it does not let the active session use the real address
// "this time", it lets it keep the same private address: a lasting choice
// with mode stable, the card reconnected with a stable private address
// that is neither the real one nor the one before, and forgotten like an
// exemption.
func TestKeepPrivateAnswersPortal(t *testing.T) {
	b := wiredBed(t, "")
	d := b.dev("eth0")
	ac := []dbus.ObjectPath{acFirst, acSecond}
	behindPortal := func(i int, addr string) {
		t.Helper()
		b.k.mu.Lock()
		l := b.k.links["eth0"]
		l.Addr = mustHW(addr)
		b.k.links["eth0"] = l
		b.k.mu.Unlock()
		d.link.Addr = mustHW(addr)
		b.f.activate(devEth0, ac[i], profGood, detect.StatePrepare)
		for _, st := range []uint32{detect.StatePrepare, detect.StateConfig, detect.StateIPConfig, detect.StateActivated} {
			b.state(devEth0, st, 0)
		}
		b.svc.onConnectivity(devEth0, dbus.MakeVariant(detect.ConnectivityPortal), time.Now())
	}
	behindPortal(0, "00:1b:21:11:22:33")
	if len(b.svc.suspicions) != 0 {
		t.Fatalf("one portal: suspicions %+v", b.svc.suspicions)
	}
	b.state(devEth0, detect.StateDeactivating, detect.ReasonUserRequested)
	b.state(devEth0, detect.StateDisconnected, detect.ReasonUserRequested)
	behindPortal(1, "00:1b:21:44:55:66")
	if len(b.svc.suspicions) != 1 || b.svc.suspicions[0].Kind != detect.KindPortalForgets || b.svc.suspicions[0].Connection.UUID != uuidGood {
		t.Fatalf("portal again with another address: suspicions %+v, want one portal-forgets for %s", b.svc.suspicions, uuidGood)
	}
	if _, ok := b.svc.answersSuspicion("eth0", "", policy.ScopeOnce); ok {
		t.Error("a portal suspicion lets the active session use the real address")
	}
	if u, ok := b.svc.answersPortal("eth0", ""); !ok || u != uuidGood {
		t.Errorf("answersPortal = %q, %t; want %s", u, ok, uuidGood)
	}

	b.f.takeCalls()
	if err := b.svc.startKeepPrivate(b.ctx, "eth0", ""); err != nil {
		t.Fatal(err)
	}
	want := policy.Exemption{UUID: uuidGood, Scope: policy.ScopeAlways, Mode: policy.ModeStable}
	if len(b.svc.state.Exemptions) != 1 || b.svc.state.Exemptions[0] != want {
		t.Fatalf("exemptions %+v, want %+v", b.svc.state.Exemptions, want)
	}
	if len(b.svc.suspicions) != 0 || d.restoring == nil || !d.restoring.keep {
		t.Fatalf("suspicions %+v restoring %+v: want none pending and a reconnection with the same private address", b.svc.suspicions, d.restoring)
	}
	for _, st := range []uint32{detect.StateDeactivating, detect.StateDisconnected, detect.StateUnavailable, detect.StateDisconnected} {
		b.state(devEth0, st, 0)
	}
	if n := countCalls(b.f.takeCalls(), "activate "+string(profGood)); n != 1 {
		t.Errorf("%d activations of the profile, want 1", n)
	}
	stable := d.link.Addr.String()
	m, _ := policy.ParseMAC(stable)
	if stable == "00:1b:21:aa:bb:00" || stable == "00:1b:21:44:55:66" || !m.IsLocal() {
		t.Errorf("card address %s: want a locally administered (stable) private address", stable)
	}
	if v := d.verdict; v.Mode != policy.ModeStable || !v.Allowed || v.Exempt {
		t.Errorf("verdict %+v, want mode stable, allowed, not exempt", v)
	}
	b.f.activate(devEth0, acFirst, profGood, detect.StatePrepare)
	for _, st := range []uint32{detect.StatePrepare, detect.StateConfig, detect.StateIPConfig, detect.StateActivated} {
		b.state(devEth0, st, 0)
	}
	if d.restoring != nil {
		t.Errorf("still restoring after ACTIVATED: %+v", d.restoring)
	}
	if got := b.svc.apiExemptions(); len(got) != 1 || got[0].Mode != "stable" || got[0].ID != uuidGood {
		t.Errorf("ListExemptions %+v, want the stable choice by UUID", got)
	}
	// The same address at the next connection: generated again, the same.
	again, err := b.svc.effectivePolicy().GenerateWith(d.policyDevice(), policy.Network{UUID: uuidGood}, b.svc.exemptions(), b.svc.state.SecretBytes())
	if err != nil || !strings.EqualFold(again.String(), stable) {
		t.Errorf("stable address regenerated: %s, %v; want %s", again, err, stable)
	}
	if n, err := b.svc.forgetExemptions(b.ctx, uuidGood); n != 1 || err != nil || len(b.svc.state.Exemptions) != 0 {
		t.Errorf("forget: %d, %v, left %+v", n, err, b.svc.state.Exemptions)
	}
}
