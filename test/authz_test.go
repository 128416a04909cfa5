// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"
	"github.com/godbus/dbus/v5/introspect"
	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

const (
	errAccessDenied = "org.freedesktop.DBus.Error.AccessDenied"
	errInvalidArgs  = "org.freedesktop.DBus.Error.InvalidArgs"
	// unknownUUID is well formed, and no profile has it.
	unknownUUID = "00000000-0000-4000-8000-000000000000"
)

// apiView is everything a caller could change through the API: the
// service's answers, its state file and the device's address.
type apiView struct {
	Status, Devices, Suspicions string
	State, BootState            string
	Addr                        string
}

func viewOf(t *testing.T, b *bed.Bed, g *guard, conn *dbus.Conn, dev string) apiView {
	t.Helper()
	obj := conn.Object(api.BusName, api.Path)
	var v apiView
	for _, c := range []struct {
		method string
		out    *string
	}{{api.StatusMethod, &v.Status}, {api.ListDevices, &v.Devices}, {api.ListSuspicions, &v.Suspicions}} {
		if err := obj.Call(c.method, 0).Store(c.out); err != nil {
			t.Fatalf("%s: %v", c.method, err)
		}
	}
	st, err := os.ReadFile(filepath.Join(g.stateDir, "state.json"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	v.State = string(st)
	bs, err := os.ReadFile(filepath.Join(g.runtimeDir, "boot.json"))
	if err != nil && !os.IsNotExist(err) {
		t.Fatal(err)
	}
	v.BootState = string(bs)
	v.Addr = linkAddr(t, b, dev)
	return v
}

// settledView waits until the view stays the same for half a second (the
// gate has finished with the device) and returns it.
func settledView(t *testing.T, b *bed.Bed, g *guard, conn *dbus.Conn, dev string) apiView {
	t.Helper()
	deadline := time.Now().Add(20 * time.Second)
	prev := viewOf(t, b, g, conn, dev)
	for {
		time.Sleep(500 * time.Millisecond)
		cur := viewOf(t, b, g, conn, dev)
		if cmp.Equal(prev, cur) {
			return cur
		}
		if time.Now().After(deadline) {
			t.Fatalf("the service's view did not settle within 20s: %s", cmp.Diff(prev, cur))
		}
		prev = cur
	}
}

func statusOf(t *testing.T, v apiView) api.Status {
	t.Helper()
	var st api.Status
	if err := json.Unmarshal([]byte(v.Status), &st); err != nil {
		t.Fatalf("Status: %v: %s", err, v.Status)
	}
	return st
}

// wantErr fails t unless r is the D-Bus error name whose message contains
// every one of subs.
func wantErr(t *testing.T, what string, r callResult, name string, subs ...string) {
	t.Helper()
	if r.ErrName != name {
		t.Fatalf("%s: got %s, want the error %s", what, r, name)
	}
	for _, s := range subs {
		if !strings.Contains(r.ErrMsg, s) {
			t.Fatalf("%s: message %q does not say %q", what, r.ErrMsg, s)
		}
	}
	t.Logf("%s: %s", what, r)
}

// unchanged fails t when the view after differs from before.
func unchanged(t *testing.T, what string, before, after apiView) {
	t.Helper()
	if d := cmp.Diff(before, after); d != "" {
		t.Fatalf("%s changed the service (-before +after):\n%s", what, d)
	}
}

// apiCall is a call of one of the service's methods with dbus-send args.
type apiCall struct {
	method string
	args   []string
}

func (c apiCall) String() string {
	return strings.TrimPrefix(c.method, api.Interface+".") + "(" + strings.Join(c.args, ", ") + ")"
}

func (c apiCall) as(t *testing.T, b *bed.Bed, who caller) callResult {
	t.Helper()
	return who.call(t, b, api.BusName, string(api.Path), c.method, c.args...)
}

// changingCalls are the methods that change something, with valid
// arguments.
func changingCalls(dev string) []apiCall {
	return []apiCall{
		{api.Restore, []string{"string:" + dev, "string:" + unknownUUID, "string:once"}},
		{api.Restore, []string{"string:" + dev, "string:", "string:always"}},
		{api.KeepPrivate, []string{"string:" + dev, "string:" + unknownUUID}},
		{api.Dismiss, []string{"string:some-suspicion"}},
		{api.SetSpoofing, []string{"boolean:false"}},
		{api.SetSpoofing, []string{"boolean:true"}},
		{api.ForgetExemption, []string{"string:" + unknownUUID}},
		{api.ForgetAllExemptions, nil},
	}
}

// TestIntegrationAuthz runs the service's D-Bus API against the real bus
// policy (dist/io.github.macnmguard.Guard1.conf) and a real polkitd with
// the shipped actions (dist/io.github.macnmguard.policy): the root-only
// fallback while polkit is not installed, then polkitd installed as on a
// desktop (D-Bus activated) and started by the service's first question,
// then who may call what, argument
// validation, introspection, and who may own the name. Callers are
// dbus-send/busctl processes, as root or as uid 65534 (setpriv), the latter
// optionally in a faked active session (polkit's allow_active).
func TestIntegrationAuthz(t *testing.T) {
	bed.Require(t, "nft")
	requirePolkit(t)
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 1}))
	dev := b.Devices()[0]
	nobody := caller{uid: nobodyUID}

	t.Run("bus policy: only root may own the name", func(t *testing.T) {
		wantErr(t, "RequestName as uid 65534", nobody.requestName(t, b, api.BusName), errAccessDenied, api.BusName)
		// Control: the policy file is installed and lets root own it (the
		// name is released when dbus-send exits).
		if r := rootCaller.requestName(t, b, api.BusName); r.ErrName != "" || !strings.Contains(r.Reply, "uint32 1") {
			t.Fatalf("RequestName as root: %s, want reply 1 (primary owner)", r)
		}
	})

	g := startGuard(t, b, "")
	g.waitLog(t, 10*time.Second, "api: serving")
	waitAddrNot(t, b, dev.Name, dev.MAC.String(), 10*time.Second)
	conn := b.Dial(t)
	t.Cleanup(func() { conn.Close() })

	t.Run("bus policy: uid 65534 cannot take the name from the service", func(t *testing.T) {
		wantErr(t, "RequestName as uid 65534", nobody.requestName(t, b, api.BusName), errAccessDenied, api.BusName)
		var owner string
		if err := conn.BusObject().Call("org.freedesktop.DBus.GetNameOwner", 0, api.BusName).Store(&owner); err != nil {
			t.Fatalf("the service lost its name: %v", err)
		}
	})

	t.Run("no polkit: root only", func(t *testing.T) {
		before := settledView(t, b, g, conn, dev.Name)
		for _, c := range changingCalls(dev.Name) {
			wantErr(t, c.String()+" as uid 65534", c.as(t, b, nobody), errAccessDenied, "polkit is not installed", "uid 65534 is not root")
		}
		unchanged(t, "denied calls", before, viewOf(t, b, g, conn, dev.Name))
		// Root passes the authorisation and reaches the argument check.
		wantErr(t, "Dismiss as root", apiCall{api.Dismiss, []string{"string:some-suspicion"}}.as(t, b, rootCaller),
			errInvalidArgs, `no pending suspicion "some-suspicion"`)
	})

	// From here on polkitd is installed the way a desktop has it: D-Bus
	// activated, not running until the service's first question.
	pk := activatablePolkit(t, b)

	t.Run("polkit is started on demand", func(t *testing.T) {
		if pid := polkitOwnerPID(t, b); pid != 0 {
			t.Fatalf("polkitd runs (PID %d) before anyone asked it", pid)
		}
		before := settledView(t, b, g, conn, dev.Name)
		// Root's question starts polkitd, which authorises it: the call
		// reaches the argument check.
		wantErr(t, "Dismiss as root", apiCall{api.Dismiss, []string{"string:some-suspicion"}}.as(t, b, rootCaller),
			errInvalidArgs, `no pending suspicion "some-suspicion"`)
		pid := polkitOwnerPID(t, b)
		if pid == 0 {
			t.Fatal("root's call was answered, yet polkitd was not started: the service did not ask polkit")
		}
		if exe, err := os.Readlink(filepath.Join("/proc", strconv.Itoa(pid), "exe")); err != nil || exe != polkitdPath {
			t.Fatalf("polkit's name is owned by PID %d running %q (%v), want %s", pid, exe, err, polkitdPath)
		}
		t.Logf("polkitd started on demand, PID %d", pid)
		// Its answers, not the root-only fallback: an active session may
		// dismiss (allow_active), uid 65534 outside one may not.
		sess := fakeActiveSession(t, b, pk, nobodyUID)
		active := caller{uid: nobodyUID, sess: sess}
		wantErr(t, "Dismiss as "+active.String(),
			apiCall{api.Dismiss, []string{"string:no-such-suspicion"}}.as(t, b, active),
			errInvalidArgs, `no pending suspicion "no-such-suspicion"`)
		wantErr(t, "Dismiss as uid 65534",
			apiCall{api.Dismiss, []string{"string:no-such-suspicion"}}.as(t, b, nobody),
			errAccessDenied, "not authorised for "+api.PolkitActionDismiss)
		unchanged(t, "calls answered by the activated polkit", before, viewOf(t, b, g, conn, dev.Name))
	})

	t.Run("introspection", func(t *testing.T) {
		node, err := introspect.Call(conn.Object(api.BusName, api.Path))
		if err != nil {
			t.Fatalf("Introspect: %v", err)
		}
		var ifc *introspect.Interface
		for i := range node.Interfaces {
			if node.Interfaces[i].Name == api.Interface {
				ifc = &node.Interfaces[i]
			}
		}
		if ifc == nil {
			t.Fatalf("Introspect has no %s: %+v", api.Interface, node.Interfaces)
		}
		sig := func(args []introspect.Arg, dir string) string {
			var s string
			for _, a := range args {
				if a.Direction == dir || (dir == "out" && a.Direction == "") {
					s += a.Type
				}
			}
			return s
		}
		methods := map[string]string{}
		for _, m := range ifc.Methods {
			methods[m.Name] = sig(m.Args, "in") + "->" + sig(m.Args, "out")
		}
		wantMethods := map[string]string{
			"ListDevices": "->s", "ListSuspicions": "->s", "Status": "->s",
			"Restore": "sss->", "KeepPrivate": "ss->", "Dismiss": "s->", "SetSpoofing": "b->",
			"ListExemptions": "->s", "ForgetExemption": "s->", "ForgetAllExemptions": "->u",
		}
		if d := cmp.Diff(wantMethods, methods); d != "" {
			t.Fatalf("methods (-want +got):\n%s", d)
		}
		signals := map[string]string{}
		for _, s := range ifc.Signals {
			signals[s.Name] = sig(s.Args, "out")
		}
		wantSignals := map[string]string{
			api.SignalViolation: "ssss", api.SignalSuspicion: "s",
			api.SignalRestored: "sssu", api.SignalRestoreFailed: "sss",
		}
		if d := cmp.Diff(wantSignals, signals); d != "" {
			t.Fatalf("signals (-want +got):\n%s", d)
		}

		// busctl, as an unprivileged user: the bus policy lets anyone
		// introspect.
		out, errOut, err := nobody.run(t, "busctl", "--address="+b.BusAddress, "--no-pager", "--no-legend",
			"introspect", api.BusName, string(api.Path), api.Interface)
		if err != nil {
			t.Fatalf("busctl introspect as uid 65534: %v: %s", err, errOut)
		}
		rows := map[string]string{}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) >= 3 {
				rows[f[0]] = f[1] + " " + f[2]
			}
		}
		for name, want := range map[string]string{
			".Restore": "method sss", ".KeepPrivate": "method ss", ".Dismiss": "method s", ".SetSpoofing": "method b",
			".ListDevices": "method -", ".Status": "method -", ".ListSuspicions": "method -",
			".ListExemptions": "method -", ".ForgetExemption": "method s", ".ForgetAllExemptions": "method -",
			".Violation": "signal ssss", ".Suspicion": "signal s", ".Restored": "signal sssu", ".RestoreFailed": "signal sss",
		} {
			if rows[name] != want {
				t.Errorf("busctl introspect: %s is %q, want %q\n%s", name, rows[name], want, out)
			}
		}
	})

	t.Run("uid 65534 is denied and nothing changes", func(t *testing.T) {
		before := settledView(t, b, g, conn, dev.Name)
		// Control: the bus policy lets uid 65534 reach the service, so a
		// denial below is the service's polkit check, not the bus.
		if r := (apiCall{api.StatusMethod, nil}).as(t, b, nobody); r.ErrName != "" {
			t.Fatalf("Status as uid 65534: %s", r)
		}
		denials := strings.Count(g.p.Log(), "api: access denied")
		calls := changingCalls(dev.Name)
		for _, c := range calls {
			r := c.as(t, b, nobody)
			if c.method == api.SetSpoofing || c.method == api.Restore || c.method == api.KeepPrivate {
				// auth_admin(_keep) everywhere; no agent.
				wantErr(t, c.String()+" as uid 65534", r, errAccessDenied, policyActionOf(c)+" needs authentication")
			} else {
				// Not in an active session: allow_any is no.
				wantErr(t, c.String()+" as uid 65534", r, errAccessDenied, "not authorised for "+policyActionOf(c))
			}
		}
		if n := strings.Count(g.p.Log(), "api: access denied") - denials; n != len(calls) {
			t.Errorf("the service logged %d denials, want %d", n, len(calls))
		}
		unchanged(t, "denied calls", before, viewOf(t, b, g, conn, dev.Name))
	})

	t.Run("root may switch spoofing", func(t *testing.T) {
		settledView(t, b, g, conn, dev.Name)
		for _, on := range []bool{false, true} {
			arg := "boolean:false"
			if on {
				arg = "boolean:true"
			}
			if r := (apiCall{api.SetSpoofing, []string{arg}}).as(t, b, rootCaller); r.ErrName != "" {
				t.Fatalf("SetSpoofing(%v) as root: %s", on, r)
			}
			v := settledView(t, b, g, conn, dev.Name)
			if got := statusOf(t, v).Spoof; got != on {
				t.Fatalf("after SetSpoofing(%v): Status.spoof = %v", on, got)
			}
			var st state.BootState
			if err := json.Unmarshal([]byte(v.BootState), &st); err != nil {
				t.Fatalf("per-boot state file: %v", err)
			}
			if st.Spoof == nil || *st.Spoof != on {
				t.Fatalf("after SetSpoofing(%v): per-boot state spoof = %v", on, st.Spoof)
			}
		}
		// Spoofing is on again: the device got a private address back.
		waitAddrNot(t, b, dev.Name, dev.MAC.String(), 10*time.Second)
	})

	t.Run("arguments are validated", func(t *testing.T) {
		before := settledView(t, b, g, conn, dev.Name)
		for _, c := range []struct {
			call apiCall
			subs []string
		}{
			{apiCall{api.Restore, []string{"string:nosuchdev0", "string:", "string:once"}}, []string{`no device "nosuchdev0"`}},
			{apiCall{api.Restore, []string{"string:" + dev.Name, "string:not-a-uuid", "string:once"}}, []string{`connection "not-a-uuid" is not a UUID`}},
			{apiCall{api.Restore, []string{"string:" + dev.Name, "string:" + unknownUUID, "string:once"}}, []string{"no connection profile with UUID " + unknownUUID}},
			{apiCall{api.Restore, []string{"string:" + dev.Name, "string:", "string:forever"}}, []string{`scope "forever": use once or always`}},
			{apiCall{api.Restore, []string{"string:" + dev.Name, "string:", "string:"}}, []string{`scope "": use once or always`}},
			{apiCall{api.Restore, []string{"string:abcdefghijklmnop", "string:", "string:once"}}, []string{`device "abcdefghijklmnop" is not an interface name`}},
			{apiCall{api.Restore, []string{"string:", "string:", "string:once"}}, []string{`device "" is not an interface name`}},
			{apiCall{api.KeepPrivate, []string{"string:nosuchdev0", "string:"}}, []string{`no device "nosuchdev0"`}},
			{apiCall{api.KeepPrivate, []string{"string:" + dev.Name, "string:not-a-uuid"}}, []string{`connection "not-a-uuid" is not a UUID`}},
			{apiCall{api.KeepPrivate, []string{"string:" + dev.Name, "string:" + unknownUUID}}, []string{"no connection profile with UUID " + unknownUUID}},
			{apiCall{api.Dismiss, []string{"string:"}}, []string{`suspicion id "" is not valid`}},
			{apiCall{api.Dismiss, []string{"string:no-such-suspicion"}}, []string{`no pending suspicion "no-such-suspicion"`}},
			{apiCall{api.ForgetExemption, []string{"string:"}}, []string{`exemption id "" is not valid`}},
			{apiCall{api.ForgetExemption, []string{"string:" + unknownUUID}}, []string{`no exemption "` + unknownUUID + `"`}},
			// Wrong D-Bus signatures: godbus refuses them before the method.
			{apiCall{api.SetSpoofing, []string{"string:yes"}}, nil},
			{apiCall{api.Restore, []string{"string:" + dev.Name}}, nil},
		} {
			wantErr(t, c.call.String()+" as root", c.call.as(t, b, rootCaller), errInvalidArgs, c.subs...)
		}
		unchanged(t, "rejected calls", before, viewOf(t, b, g, conn, dev.Name))
	})

	t.Run("active session: dismiss allowed; restore without a suspicion and spoofing not", func(t *testing.T) {
		sess := fakeActiveSession(t, b, pk, nobodyUID)
		active := caller{uid: nobodyUID, sess: sess}
		uuid := b.AddProfile(t, bed.Profile{Name: "authz-wired", Interface: dev.Name, IPv4Method: "disabled"})
		before := settledView(t, b, g, conn, dev.Name)
		// No suspicion is pending: any restore is the administrator's.
		for _, args := range [][]string{
			{"string:" + dev.Name, "string:" + uuid, "string:once"},
			{"string:" + dev.Name, "string:" + uuid, "string:always"},
			{"string:" + dev.Name, "string:", "string:once"},
		} {
			wantErr(t, "Restore"+fmt.Sprint(args)+" as "+active.String(), apiCall{api.Restore, args}.as(t, b, active),
				errAccessDenied, api.PolkitActionRestoreAlways+" needs authentication")
		}
		// The same private address for a network without a pending
		// portal-forgets suspicion: the administrator's too.
		for _, args := range [][]string{{"string:" + dev.Name, "string:" + uuid}, {"string:" + dev.Name, "string:"}} {
			wantErr(t, "KeepPrivate"+fmt.Sprint(args)+" as "+active.String(), apiCall{api.KeepPrivate, args}.as(t, b, active),
				errAccessDenied, api.PolkitActionRestoreAlways+" needs authentication")
		}
		// Authorised: the call reaches the service's own checks.
		wantErr(t, "Dismiss as "+active.String(),
			apiCall{api.Dismiss, []string{"string:no-such-suspicion"}}.as(t, b, active),
			errInvalidArgs, `no pending suspicion "no-such-suspicion"`)
		// set-spoofing is auth_admin even in an active session; no agent.
		for _, arg := range []string{"boolean:false", "boolean:true"} {
			wantErr(t, "SetSpoofing as "+active.String(),
				apiCall{api.SetSpoofing, []string{arg}}.as(t, b, active),
				errAccessDenied, api.PolkitActionSetSpoofing)
		}
		unchanged(t, "calls in the active session", before, viewOf(t, b, g, conn, dev.Name))

		// Root may: the "always" exemption is recorded in the state file.
		if r := (apiCall{api.Restore, []string{"string:" + dev.Name, "string:" + uuid, "string:always"}}).as(t, b, rootCaller); r.ErrName != "" {
			t.Fatalf("Restore of profile %s as root: %s", uuid, r)
		}
		v := viewOf(t, b, g, conn, dev.Name)
		if !slices.ContainsFunc(statusOf(t, v).Exemptions, func(e policy.Exemption) bool {
			return e.UUID == uuid && e.Scope == policy.ScopeAlways
		}) {
			t.Fatalf("Status has no always-exemption for %s after the restore: %s", uuid, v.Status)
		}
		if !slices.ContainsFunc(stateExemptions(t, v.State), func(e policy.Exemption) bool { return e.UUID == uuid }) {
			t.Fatalf("the state file does not record the exemption for %s:\n%s", uuid, v.State)
		}

		// Undo: anyone may list; uid 65534 outside the session may not
		// forget; the active session may (allow_active).
		r := apiCall{api.ListExemptions, nil}.as(t, b, nobody)
		if r.ErrName != "" || !strings.Contains(r.Reply, uuid) {
			t.Fatalf("ListExemptions as uid 65534: %s, want the exemption %s", r, uuid)
		}
		wantErr(t, "ForgetExemption as uid 65534", apiCall{api.ForgetExemption, []string{"string:" + uuid}}.as(t, b, nobody),
			errAccessDenied, "not authorised for "+api.PolkitActionForgetExemption)
		if r := (apiCall{api.ForgetExemption, []string{"string:" + uuid}}).as(t, b, active); r.ErrName != "" {
			t.Fatalf("ForgetExemption as %s: %s", active, r)
		}
		v = viewOf(t, b, g, conn, dev.Name)
		if len(statusOf(t, v).Exemptions) != 0 || len(stateExemptions(t, v.State)) != 0 {
			t.Fatalf("after ForgetExemption: Status %s, state file:\n%s", v.Status, v.State)
		}
	})
}

// stateExemptions are the exemptions in a state file's text.
func stateExemptions(t *testing.T, text string) []policy.Exemption {
	t.Helper()
	if text == "" {
		return nil
	}
	var st state.State
	if err := json.Unmarshal([]byte(text), &st); err != nil {
		t.Fatalf("state file: %v\n%s", err, text)
	}
	return st.Exemptions
}

// policyActionOf is the polkit action the service asks about for c.
func policyActionOf(c apiCall) string {
	switch c.method {
	case api.Restore, api.KeepPrivate:
		return api.PolkitActionRestoreAlways // no suspicion is pending
	case api.ForgetExemption, api.ForgetAllExemptions:
		return api.PolkitActionForgetExemption
	case api.Dismiss:
		return api.PolkitActionDismiss
	default:
		return api.PolkitActionSetSpoofing
	}
}
