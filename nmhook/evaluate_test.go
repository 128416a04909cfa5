// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/profile"
	"github.com/mac-nmguard/mac-nmguard/policy"
)

// actionNames name the action kinds in the table below.
var actionNames = map[actionKind]string{
	actSetGate: "gate", actRecordVerdict: "verdict", actGuard: "guard", actRestore: "restore",
	actUnblock: "unblock", actAuditWarn: "audit-warn", actSpoof: "spoof", actLinkDown: "down",
	actMarkRefused: "mark-refused", actDisconnect: "disconnect", actAutoconnectOff: "autoconnect-off",
	actViolation: "violation", actRelease: "release", actReconnect: "reconnect",
}

// describe renders a plan's actions as "kind[ detail]" words.
func describe(acts []action) string {
	var out []string
	for _, a := range acts {
		w, ok := actionNames[a.kind]
		if !ok {
			w = fmt.Sprintf("kind%d", a.kind)
		}
		switch a.kind {
		case actSetGate:
			w += " " + string(a.gate)
		case actUnblock:
			if a.stopOnFail {
				w += " or-stop"
			}
		case actAutoconnectOff:
			if a.warnOnFail {
				w += " warn"
			}
		case actSpoof:
			if a.reportFailure {
				w += " report"
			}
			if a.unblockAfter {
				w += " then-unblock"
			}
		}
		out = append(out, w)
	}
	return strings.Join(out, ", ")
}

// TestPlan: the pure decision evaluate carries out, from a snapshot to the
// actions: refusal and its de-duplication, the boot-time hold, the restore
// follow-up, the reconnect of an exempt network the backstop caught, lifting
// a block, audit and ignore. No root, no bus.
func TestPlan(t *testing.T) {
	real := policy.MAC{0x00, 0x1b, 0x21, 0xaa, 0xbb, 0xcc}
	private := policy.MAC{0x00, 0x1b, 0x21, 0x12, 0x34, 0x56} // keep-vendor compliant
	parse := func(text string) *policy.Policy {
		p, err := policy.Parse("test.toml", []byte(text))
		if err != nil {
			t.Fatalf("parse policy: %v", err)
		}
		return p
	}
	def := policy.Default()
	perm := parse("[default]\nmode = \"permanent\"\n")
	audit := parse("[default]\nmode = \"keep-vendor\"\nenforcement = \"audit\"\n")
	ignore := parse("[default]\nmode = \"ignore\"\n")
	now := time.Date(2026, 12, 7, 4, 0, 0, 0, time.UTC)
	const ac, ac2 = dbus.ObjectPath("/ac/1"), dbus.ObjectPath("/ac/2")
	conn := detect.Connection{UUID: "0b3e5e2c-1111-4a4a-9b9b-000000000001", ID: "cafe"}
	snap := func(pol *policy.Policy, cur policy.MAC, state uint32, from gateState) evalSnapshot {
		view := gate.View{Device: policy.Device{Interface: "eth0", Type: "ethernet", Current: cur, Real: real, RealKnown: true}, State: state}
		if gate.Activating(state) {
			view.Network = policy.Network{UUID: conn.UUID, ID: conn.ID}
		}
		return evalSnapshot{cause: "test", now: now, pol: pol, view: view, gate: from, nmReachable: true,
			network: conn, profile: "/p/1", activeConn: ac, guarded: true, realKnown: true}
	}
	with := func(sn evalSnapshot, f func(*evalSnapshot)) evalSnapshot { f(&sn); return sn }
	refused := func(at dbus.ObjectPath, ago time.Duration) func(*evalSnapshot) {
		return func(sn *evalSnapshot) { sn.refusedAC, sn.refusedAt = at, now.Add(-ago) }
	}
	const refuse = "verdict, guard, down, mark-refused, disconnect, autoconnect-off warn, violation, gate blocked, release, reconnect"
	const repeat = "verdict, guard, down, release, reconnect"

	tests := []struct {
		name string
		sn   evalSnapshot
		want string
		// askBackstop: the plan asks for the backstop's counters first.
		askBackstop bool
	}{
		{name: "in flight with the real address: refused, one violation",
			sn: snap(def, real, detect.StateConfig, gateSpoofed), want: refuse},
		{name: "the same activation again within 3 s: only the link down",
			sn:   with(snap(def, real, detect.StateIPConfig, gateBlocked), refused(ac, time.Second)),
			want: repeat},
		{name: "the same activation after 3 s: refused again",
			sn:   with(snap(def, real, detect.StateIPConfig, gateBlocked), refused(ac, 4*time.Second)),
			want: refuse},
		{name: "the activation ended (no active connection) within 3 s: the same episode",
			sn: with(snap(def, real, detect.StateConfig, gateBlocked), func(sn *evalSnapshot) {
				refused(ac, time.Second)(sn)
				sn.activeConn = "/"
			}),
			want: repeat},
		{name: "refused at PREPARE, then its next state: the same episode",
			sn:   with(snap(def, real, detect.StateConfig, gateSpoofed), refused(refusedAtPrepare, time.Second)),
			want: repeat},
		{name: "another activation within 3 s: refused again",
			sn: with(snap(def, real, detect.StateConfig, gateBlocked), func(sn *evalSnapshot) {
				refused(ac, time.Second)(sn)
				sn.activeConn = ac2
			}),
			want: refuse},
		{name: "without NetworkManager the kernel refuses alone",
			sn:   with(snap(def, real, detect.StateConfig, gateSpoofed), func(sn *evalSnapshot) { sn.nmReachable = false }),
			want: "verdict, guard, down, mark-refused, disconnect, violation, gate blocked, release, reconnect"},
		{name: "autoconnect already off: not again",
			sn:   with(snap(def, real, detect.StateConfig, gateSpoofed), func(sn *evalSnapshot) { sn.autoconnOff = true }),
			want: "verdict, guard, down, mark-refused, disconnect, violation, gate blocked, release, reconnect"},
		{name: "at rest, an autoconnect profile sets the real address: blocked, no violation",
			sn: with(snap(def, private, detect.StateDisconnected, gateSpoofed), func(sn *evalSnapshot) {
				sn.view.Profiles = []profile.Profile{{ID: "p", UUID: conn.UUID, Autoconnect: true, ClonedMAC: "permanent"}}
			}),
			want: "verdict, guard, down, autoconnect-off warn, gate blocked, release, reconnect"},
		{name: "boot-time hold: silent until the decision",
			sn: with(snap(def, real, detect.StateConfig, gateNew), func(sn *evalSnapshot) {
				sn.held, sn.view.Hold = true, true
			}),
			want: "verdict, guard, down, disconnect, autoconnect-off, gate held, release, reconnect"},
		{name: "NetworkManager tears the connection down: guard only",
			sn: snap(def, real, detect.StateDeactivating, gateSpoofed), want: "verdict, guard"},
		{name: "failed: guard only",
			sn: snap(def, real, detect.StateFailed, gateSpoofed), want: "verdict, guard"},
		{name: "the real address is wanted in flight: the restore follow-up",
			sn: snap(perm, private, detect.StateConfig, gateSpoofed), want: "verdict, guard, gate remediating, restore"},
		{name: "the real address is wanted, a restore under way: nothing more",
			sn:   with(snap(perm, private, detect.StateConfig, gateRemediating), func(sn *evalSnapshot) { sn.restoring = true }),
			want: "verdict, guard"},
		{name: "a network that uses the real address starts on a guarded card: ask the backstop",
			sn: snap(perm, real, detect.StateConfig, gateNew), askBackstop: true},
		{name: "the backstop dropped its first frames: reconnect",
			sn: with(snap(perm, real, detect.StateConfig, gateNew), func(sn *evalSnapshot) {
				sn.backstopRead, sn.backstopDropped = true, true
			}),
			want: "gate remediating, guard, restore"},
		{name: "the backstop dropped nothing: allowed",
			sn: with(snap(perm, real, detect.StateConfig, gateNew), func(sn *evalSnapshot) {
				sn.backstopRead = true
			}),
			want: "verdict, guard, gate allowed, release, reconnect"},
		{name: "not guarded after a block: unblock or stay, then ignored",
			sn: snap(ignore, real, detect.StateDisconnected, gateBlocked), want: "verdict, guard, unblock or-stop, gate ignored, release, reconnect"},
		{name: "not guarded: ignored",
			sn: snap(ignore, real, detect.StateDisconnected, gateNew), want: "verdict, guard, gate ignored, release, reconnect"},
		{name: "audit: logged, not enforced",
			sn: snap(audit, real, detect.StateConfig, gateNew), want: "verdict, guard, audit-warn, gate audit, release, reconnect"},
		{name: "the real address at rest: spoof, a failure is a violation",
			sn: snap(def, real, detect.StateDisconnected, gateNew), want: "verdict, guard, spoof report, release, reconnect"},
		{name: "the real address at rest, kept down already: no second violation",
			sn: snap(def, real, detect.StateDisconnected, gateFailed), want: "verdict, guard, spoof, release, reconnect"},
		{name: "the hold ends with the real address: spoof, then give the card back",
			sn: snap(def, real, detect.StateDisconnected, gateHeld), want: "verdict, guard, spoof report then-unblock, release, reconnect"},
		{name: "compliant at rest after a block: unblock or stay, then allowed",
			sn: snap(def, private, detect.StateDisconnected, gateBlocked), want: "verdict, guard, unblock or-stop, gate allowed, release, reconnect"},
		{name: "compliant in flight after a block: no unblock in flight",
			sn: snap(def, private, detect.StateConfig, gateBlocked), want: "verdict, guard, gate allowed, release, reconnect"},
		{name: "compliant in flight after the hold: allowed, then given back",
			sn: snap(def, private, detect.StateConfig, gateHeld), want: "verdict, guard, gate allowed, unblock, release, reconnect"},
		{name: "compliant and spoofed already: no transition",
			sn: snap(def, private, detect.StateDisconnected, gateSpoofed), want: "verdict, guard, release, reconnect"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			p := plan(tc.sn)
			if p.needBackstopDrops != tc.askBackstop {
				t.Errorf("asks for the backstop's counters: %t, want %t", p.needBackstopDrops, tc.askBackstop)
			}
			if got := describe(p.actions); got != tc.want {
				t.Errorf("actions (decision %+v):\n got %s\nwant %s", p.dec, got, tc.want)
			}
			if p.cause != tc.sn.cause {
				t.Errorf("cause %q, want %q", p.cause, tc.sn.cause)
			}
		})
	}
}
