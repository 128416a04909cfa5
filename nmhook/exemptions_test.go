// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

const (
	exUUID1 = "11111111-1111-4111-8111-111111111111"
	exUUID2 = "22222222-2222-4222-8222-222222222222"
)

func inLoop(t *testing.T, svc *Service, fn func()) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.do(ctx, fn); err != nil {
		t.Fatal(err)
	}
}

// TestAnswersSuspicion: only "once" for a connection with a suspicion
// pending on that device is the active session's; "always", another
// connection, another device or no suspicion is the administrator's.
func TestAnswersSuspicion(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	svc := startService(t, k, "")
	inLoop(t, svc, func() {
		if _, ok := svc.answersSuspicion("eth0", "", policy.ScopeOnce); ok {
			t.Error("no suspicion: answers")
		}
		svc.suspicions = append(svc.suspicions, detect.Suspicion{ID: "s1", Device: "eth0", Connection: detect.Connection{UUID: exUUID1}, Kind: detect.KindDHCPFailure})
		for _, c := range []struct {
			dev, uuid string
			scope     policy.Scope
			want      bool
		}{
			{"eth0", exUUID1, policy.ScopeOnce, true},
			{"eth0", strings.ToUpper(exUUID1), policy.ScopeOnce, true},
			{"eth0", "", policy.ScopeOnce, true},
			{"eth0", exUUID1, policy.ScopeAlways, false},
			{"eth0", "", policy.ScopeAlways, false},
			{"eth0", exUUID2, policy.ScopeOnce, false},
			{"eth1", exUUID1, policy.ScopeOnce, false},
			{"eth1", "", policy.ScopeOnce, false},
		} {
			got, ok := svc.answersSuspicion(c.dev, c.uuid, c.scope)
			if ok != c.want || (ok && got != exUUID1) {
				t.Errorf("answersSuspicion(%s, %q, %s) = %q, %v; want %v", c.dev, c.uuid, c.scope, got, ok, c.want)
			}
		}
	})
}

// TestAnswersPortal: a captive portal that forgets the private address is
// answered by keeping the same private address (the active session's), and
// never by the real address "this time" without an administrator; a
// rejection is not answered by keeping the address.
func TestAnswersPortal(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	svc := startService(t, k, "")
	inLoop(t, svc, func() {
		if _, ok := svc.answersPortal("eth0", ""); ok {
			t.Error("no suspicion: answers")
		}
		svc.suspicions = append(svc.suspicions,
			detect.Suspicion{ID: "p1", Device: "eth0", Connection: detect.Connection{UUID: exUUID1}, Kind: detect.KindPortalForgets},
			detect.Suspicion{ID: "r1", Device: "eth1", Connection: detect.Connection{UUID: exUUID2}, Kind: detect.KindAuthRejected})
		for _, c := range []struct {
			dev, uuid          string
			portal, restoreNow bool
		}{
			{"eth0", exUUID1, true, false},
			{"eth0", "", true, false},
			{"eth0", exUUID2, false, false},
			{"eth1", exUUID2, false, true},
			{"eth1", "", false, true},
			{"eth1", exUUID1, false, false},
		} {
			got, ok := svc.answersPortal(c.dev, c.uuid)
			if ok != c.portal || (ok && got != exUUID1) {
				t.Errorf("answersPortal(%s, %q) = %q, %v; want %v", c.dev, c.uuid, got, ok, c.portal)
			}
			if _, ok := svc.answersSuspicion(c.dev, c.uuid, policy.ScopeOnce); ok != c.restoreNow {
				t.Errorf("answersSuspicion(%s, %q, once) = %v; want %v", c.dev, c.uuid, ok, c.restoreNow)
			}
		}
	})
}

// TestForgetExemptions: forgetting by id drops the lasting and "this time"
// exemptions of that connection, saves the state, and the others stay;
// forgetting all empties both.
func TestForgetExemptions(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	k := newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true})
	svc := startService(t, k, "")
	inLoop(t, svc, func() {
		svc.state.Exemptions = []policy.Exemption{{UUID: exUUID1, Scope: policy.ScopeAlways}, {UUID: exUUID2, SSID: "Cafe", Scope: policy.ScopeAlways}}
		svc.onceEx = []policy.Exemption{{UUID: exUUID1, Interface: "eth0", Scope: policy.ScopeOnce}}
		if got := svc.apiExemptions(); len(got) != 3 || got[0].ID != exUUID1 || got[1].SSID != "Cafe" || got[2].Scope != "once" {
			t.Errorf("apiExemptions = %+v", got)
		}
		n, err := svc.forgetExemptions(context.Background(), exUUID1)
		if err != nil || n != 2 {
			t.Fatalf("forget %s = %d, %v; want 2", exUUID1, n, err)
		}
		if len(svc.state.Exemptions) != 1 || svc.state.Exemptions[0].UUID != exUUID2 || len(svc.onceEx) != 0 {
			t.Errorf("after forget: always %+v once %+v", svc.state.Exemptions, svc.onceEx)
		}
		if n, err := svc.forgetExemptions(context.Background(), "no-such"); n != 0 || err != nil {
			t.Errorf("forget of an unknown id = %d, %v", n, err)
		}
		if n, err := svc.forgetExemptions(context.Background(), ""); n != 1 || err != nil {
			t.Errorf("forget all = %d, %v; want 1", n, err)
		}
		if len(svc.exemptions()) != 0 {
			t.Errorf("after forget all: %+v", svc.exemptions())
		}
	})
	data, err := os.ReadFile(svc.cfg.StatePath)
	if err != nil || strings.Contains(string(data), exUUID1) || strings.Contains(string(data), exUUID2) {
		t.Fatalf("state file after forget all: %v\n%s", err, data)
	}
}
