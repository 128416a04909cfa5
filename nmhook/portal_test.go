// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
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

// restartNMBed stops b's service (as a clean stop leaves its state file)
// and starts another on the same state file, fake kernel and fake
// NetworkManager: a new run of the service, a new address generation.
func restartNMBed(t *testing.T, b *nmBed) *nmBed {
	t.Helper()
	svc, err := New(b.svc.cfg)
	if err != nil {
		t.Fatal(err)
	}
	nb := &nmBed{t: t, ctx: b.ctx, svc: svc, k: b.k, f: b.f}
	t.Cleanup(func() { close(svc.stopped) })
	b.k.mu.Lock()
	var ls []links.Link
	for _, l := range b.k.links {
		ls = append(ls, l)
	}
	b.k.mu.Unlock()
	slices.SortFunc(ls, func(a, c links.Link) int { return a.Index - c.Index })
	for _, l := range ls {
		svc.onLink(nb.ctx, links.Event{Link: l}, time.Now())
	}
	svc.markReady()
	svc.nm = b.f
	svc.resyncNM(nb.ctx, "test")
	b.f.takeCalls()
	svc.violations = nil
	return nb
}

// TestPortalForgetsAcrossRestart: with the default mode (keep-vendor) the
// service keeps one private address per profile for a whole run, so a
// portal that forgets the address is seen across a restart of the service
// (a reboot on Tails): a sighting in run 1, the service restarted, a
// sighting in run 2 with its new address raises portal-forgets. The state
// file holds the connection and the run's generation, never the address.
// Within one run the same address behind the portal again raises nothing,
// and once the network keeps one private address (KeepPrivate) its record
// is dropped.
func TestPortalForgetsAcrossRestart(t *testing.T) {
	const addr1, addr2 = "00:1b:21:11:22:33", "00:1b:21:44:55:66"
	behindPortal := func(b *nmBed, ac dbus.ObjectPath, addr string) {
		t.Helper()
		b.k.mu.Lock()
		l := b.k.links["eth0"]
		l.Addr = mustHW(addr)
		b.k.links["eth0"] = l
		b.k.mu.Unlock()
		b.dev("eth0").link.Addr = mustHW(addr)
		b.f.activate(devEth0, ac, profGood, detect.StatePrepare)
		for _, st := range []uint32{detect.StatePrepare, detect.StateConfig, detect.StateIPConfig, detect.StateActivated} {
			b.state(devEth0, st, 0)
		}
		b.svc.onConnectivity(devEth0, dbus.MakeVariant(detect.ConnectivityPortal), time.Now())
		b.state(devEth0, detect.StateDeactivating, detect.ReasonUserRequested)
		b.state(devEth0, detect.StateDisconnected, detect.ReasonUserRequested)
	}
	noAddress := func(b *nmBed) {
		t.Helper()
		data, err := os.ReadFile(b.svc.cfg.StatePath)
		if err != nil {
			t.Fatal(err)
		}
		low := strings.ToLower(string(data))
		if !strings.Contains(low, uuidGood) || !strings.Contains(low, b.svc.generation) {
			t.Errorf("state file has no portal sighting of %s in generation %s:\n%s", uuidGood, b.svc.generation, data)
		}
		for _, a := range []string{addr1, addr2} {
			for _, form := range []string{a, strings.ReplaceAll(a, ":", ""), strings.ReplaceAll(a, ":", "-")} {
				if strings.Contains(low, form) {
					t.Errorf("state file holds the portal's address %s (as %q):\n%s", a, form, data)
				}
			}
		}
	}

	b := wiredBed(t, "")
	if m := b.dev("eth0").verdict.Mode; m != policy.ModeKeepVendor {
		t.Fatalf("default mode %s, want keep-vendor", m)
	}
	behindPortal(b, acFirst, addr1)
	behindPortal(b, acSecond, addr1)
	if len(b.svc.suspicions) != 0 {
		t.Fatalf("run 1, the same address behind the portal twice: suspicions %+v", b.svc.suspicions)
	}
	noAddress(b)
	gen1 := b.svc.generation

	b2 := restartNMBed(t, b)
	if b2.svc.generation == gen1 || b2.svc.generation == "" {
		t.Fatalf("run 2 has generation %q, run 1 %q: want a new one", b2.svc.generation, gen1)
	}
	behindPortal(b2, acFirst, addr2)
	if len(b2.svc.suspicions) != 1 || b2.svc.suspicions[0].Kind != detect.KindPortalForgets || b2.svc.suspicions[0].Connection.UUID != uuidGood {
		t.Fatalf("run 2, behind the portal again: suspicions %+v, want one portal-forgets for %s", b2.svc.suspicions, uuidGood)
	}
	noAddress(b2)

	if err := b2.svc.startKeepPrivate(b2.ctx, "eth0", ""); err != nil {
		t.Fatal(err)
	}
	if len(b2.svc.state.Portals) != 0 {
		t.Errorf("portal sightings %+v after the network keeps one private address, want none", b2.svc.state.Portals)
	}
}

// TestPortalStateUnreadable: a state file that cannot be read as one is
// moved aside: no earlier sighting, so no evidence, and no crash.
func TestPortalStateUnreadable(t *testing.T) {
	b := wiredBed(t, "")
	b.svc.state.SeePortal(uuidGood, "an-earlier-run")
	b.svc.saveState()
	data, err := os.ReadFile(b.svc.cfg.StatePath)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(b.svc.cfg.StatePath, data[:len(data)/2], 0o600); err != nil {
		t.Fatal(err)
	}
	b2 := restartNMBed(t, b)
	b2.dev("eth0").link.Addr = mustHW("00:1b:21:44:55:66")
	b2.f.activate(devEth0, acFirst, profGood, detect.StatePrepare)
	for _, st := range []uint32{detect.StatePrepare, detect.StateConfig, detect.StateIPConfig, detect.StateActivated} {
		b2.state(devEth0, st, 0)
	}
	b2.svc.onConnectivity(devEth0, dbus.MakeVariant(detect.ConnectivityPortal), time.Now())
	if len(b2.svc.suspicions) != 0 {
		t.Errorf("suspicions %+v from a state file that could not be read", b2.svc.suspicions)
	}
}

// TestPortalConnectedAcrossRestart: a connection already under way when
// the service starts keeps the address an earlier run chose; seen behind
// the portal it is no evidence (its generation is unknown), and the
// earlier run's record stays for the next activation, which is of this
// run's generation.
func TestPortalConnectedAcrossRestart(t *testing.T) {
	const addr1, addr2 = "00:1b:21:11:22:33", "00:1b:21:44:55:66"
	b := wiredBed(t, "")
	setAddr := func(b *nmBed, addr string) {
		b.k.mu.Lock()
		l := b.k.links["eth0"]
		l.Addr = mustHW(addr)
		b.k.links["eth0"] = l
		b.k.mu.Unlock()
		b.dev("eth0").link.Addr = mustHW(addr)
	}
	setAddr(b, addr1)
	b.f.activate(devEth0, acFirst, profGood, detect.StatePrepare)
	for _, st := range []uint32{detect.StatePrepare, detect.StateConfig, detect.StateIPConfig, detect.StateActivated} {
		b.state(devEth0, st, 0)
	}
	b.svc.onConnectivity(devEth0, dbus.MakeVariant(detect.ConnectivityPortal), time.Now())
	gen1 := b.svc.generation

	b2 := restartNMBed(t, b)
	setAddr(b2, addr1)
	if d := b2.dev("eth0"); d.nm.State != detect.StateActivated {
		t.Fatalf("after the restart eth0 is in state %d, want the connection still up", d.nm.State)
	}
	b2.svc.onConnectivity(devEth0, dbus.MakeVariant(detect.ConnectivityPortal), time.Now())
	if len(b2.svc.suspicions) != 0 {
		t.Fatalf("the connection up across the restart, behind the portal with its address: suspicions %+v", b2.svc.suspicions)
	}
	if p := b2.svc.state.Portals; len(p) != 1 || p[0].UUID != uuidGood || p[0].Generation != gen1 {
		t.Fatalf("portal sightings %+v, want run 1's kept", p)
	}
	b2.state(devEth0, detect.StateDeactivating, detect.ReasonUserRequested)
	b2.state(devEth0, detect.StateDisconnected, detect.ReasonUserRequested)
	setAddr(b2, addr2)
	b2.f.activate(devEth0, acSecond, profGood, detect.StatePrepare)
	for _, st := range []uint32{detect.StatePrepare, detect.StateConfig, detect.StateIPConfig, detect.StateActivated} {
		b2.state(devEth0, st, 0)
	}
	b2.svc.onConnectivity(devEth0, dbus.MakeVariant(detect.ConnectivityPortal), time.Now())
	if len(b2.svc.suspicions) != 1 || b2.svc.suspicions[0].Kind != detect.KindPortalForgets {
		t.Fatalf("the next activation behind the portal with a new address: suspicions %+v, want portal-forgets", b2.svc.suspicions)
	}
}
