// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"encoding/json"
	"errors"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/policy"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// TestIntegrationRestoreNeedsAReason runs Restore against a real polkitd
// (D-Bus activated, the shipped actions) with a real suspicion: a network
// whose DHCP server admits only the real address. The active session (a
// faked one of uid 65534) may use the real address this time for that
// network on that card; a lasting exemption, or the real address for a
// network with no pending suspicion, needs an administrator (denied without
// an authentication agent) and changes nothing. Then the way back: the
// exemptions listed and forgotten, through the CLI as root.
func TestIntegrationRestoreNeedsAReason(t *testing.T) {
	bed.Require(t, "dnsmasq", "nft")
	requirePolkit(t)
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	dev := b.Devices()[0]
	b.StartDHCP(t, []net.HardwareAddr{dev.MAC})
	g := startGuard(t, b, "")
	waitAddrNot(t, b, dev.Name, dev.MAC.String(), 10*time.Second)
	pk := activatablePolkit(t, b)
	active := caller{uid: nobodyUID, sess: fakeActiveSession(t, b, pk, nobodyUID)}
	conn := b.Dial(t)
	t.Cleanup(func() { conn.Close() })

	office := b.AddProfile(t, bed.Profile{Name: "office", Interface: dev.Name, DHCPTimeout: 4})
	cafe := b.AddProfile(t, bed.Profile{Name: "cafe", Interface: dev.Name, IPv4Method: "disabled"})
	restore := func(uuid, scope string) apiCall {
		return apiCall{api.Restore, []string{"string:" + dev.Name, "string:" + uuid, "string:" + scope}}
	}
	needsAdmin := func(what string, c apiCall) {
		t.Helper()
		before := settledView(t, b, g, conn, dev.Name)
		wantErr(t, what, c.as(t, b, active), errAccessDenied, api.PolkitActionRestoreAlways+" needs authentication")
		unchanged(t, what, before, viewOf(t, b, g, conn, dev.Name))
	}

	needsAdmin("no suspicion: Restore(office, once)", restore(office, "once"))
	needsAdmin("no suspicion: Restore(suspected, once)", restore("", "once"))

	for i := range 2 {
		if err := b.Activate(t, office, dev.Name); err == nil {
			t.Fatalf("attempt %d: activation with the private address succeeded on an allow-list network", i+1)
		}
	}
	g.waitLog(t, 20*time.Second, "detect: the network may be rejecting", "kind=dhcp-failure")
	if sus := suspicions(t, b); len(sus) != 1 || sus[0].Connection.UUID != office {
		t.Fatalf("pending suspicions %+v, want one for office", sus)
	}

	needsAdmin("pending suspicion: Restore(office, always)", restore(office, "always"))
	needsAdmin("pending suspicion: Restore(suspected, always)", restore("", "always"))
	needsAdmin("pending suspicion for office: Restore(cafe, once)", restore(cafe, "once"))

	// This time, for office: allowed without an administrator.
	if r := restore(office, "once").as(t, b, active); r.ErrName != "" {
		t.Fatalf("Restore(office, once) as %s with a pending suspicion: %s", active, r)
	}
	isReal := func(a string) bool { return a == strings.ToLower(dev.MAC.String()) }
	waitConnected(t, b, dev.Name, "office", isReal, 30*time.Second)
	st := status(t, b)
	if len(st.Exemptions) != 1 || st.Exemptions[0].UUID != office || st.Exemptions[0].Scope != policy.ScopeOnce {
		t.Fatalf("exemptions after the restore: %+v, want office once", st.Exemptions)
	}
	if data := viewOf(t, b, g, conn, dev.Name).State; len(stateExemptions(t, data)) != 0 {
		t.Fatalf("a once-restore was written to the state file:\n%s", data)
	}

	// The way back, through the CLI as root: the list shows it; forgetting
	// it takes the card off its real address.
	listed := func() map[string]string {
		t.Helper()
		out, err := cli(t, b, "exemptions", "list", "--json")
		if err != nil {
			t.Fatalf("exemptions list: %v: %s", err, out)
		}
		var list []api.Exemption
		if err := json.Unmarshal([]byte(out), &list); err != nil {
			t.Fatalf("exemptions list --json: %v: %s", err, out)
		}
		scopes := map[string]string{}
		for _, e := range list {
			scopes[e.ID] = e.Scope
		}
		return scopes
	}
	leavesReal := func(what string) {
		t.Helper()
		deadline := time.Now().Add(20 * time.Second)
		for isReal(linkAddr(t, b, dev.Name)) {
			if time.Now().After(deadline) {
				t.Fatalf("%s: %s still has its real address after 20s (NM state %d)", what, dev.Name, b.State(t, dev.Name))
			}
			time.Sleep(100 * time.Millisecond)
		}
	}
	if got := listed(); len(got) != 1 || got[office] != "once" {
		t.Fatalf("exemptions list: %v, want office once", got)
	}
	if out, err := cli(t, b, "exemptions", "forget", office); err != nil || !strings.Contains(out, "forgot "+office) {
		t.Fatalf("exemptions forget %s: %v: %s", office, err, out)
	}
	leavesReal("office forgotten")

	// Root makes a lasting exemption for cafe.
	if r := restore(cafe, "always").as(t, b, rootCaller); r.ErrName != "" {
		t.Fatalf("Restore(cafe, always) as root: %s", r)
	}
	waitConnected(t, b, dev.Name, "cafe", isReal, 30*time.Second)
	if got := listed(); len(got) != 1 || got[cafe] != "always" {
		t.Fatalf("exemptions list: %v, want cafe always", got)
	}
	out, err := cli(t, b, "exemptions", "list")
	if err != nil || !strings.Contains(out, cafe) || !strings.Contains(out, "always") {
		t.Fatalf("exemptions list (text): %v: %s", err, out)
	}
	t.Logf("exemptions list:\n%s", out)
	out, err = cli(t, b, "exemptions", "forget", unknownUUID)
	var ee *exec.ExitError
	if !errors.As(err, &ee) || ee.ExitCode() != 10 || !strings.Contains(out, "no exemption") {
		t.Fatalf("exemptions forget of an unknown id: %v: %s, want exit 10 and \"no exemption\"", err, out)
	}
	if out, err := cli(t, b, "exemptions", "forget", "--all"); err != nil || !strings.Contains(out, "forgot 1 exemption") {
		t.Fatalf("exemptions forget --all: %v: %s", err, out)
	}
	if st := status(t, b); len(st.Exemptions) != 0 {
		t.Fatalf("exemptions after forget --all: %+v", st.Exemptions)
	}
	if data := viewOf(t, b, g, conn, dev.Name).State; len(stateExemptions(t, data)) != 0 {
		t.Fatalf("the forgotten exemption is still in the state file:\n%s", data)
	}
	leavesReal("everything forgotten")
}
