// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"encoding/json"
	"errors"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/gate"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
)

// machine is one computer across boots and service restarts for the unit
// tests: its state dir (/var/lib/mac-nmguard) outlives boots; its boot id
// file and runtime dir are those of the current boot. The runtime dir is
// kept across a simulated boot on purpose (a /run that is not a tmpfs, or
// the test's worst case): only the boot id tells the boots apart.
type machine struct {
	dir     string
	policy  string // policy.toml
	bootID  string // boot id file
	cmdline string // kernel command line file
	log     *syncBuffer
	rfkill  func() (RfkillConn, error)
}

func newMachine(t *testing.T, policyText string) *machine {
	t.Helper()
	dir := t.TempDir()
	m := &machine{dir: dir, policy: filepath.Join(dir, "policy.toml"), bootID: filepath.Join(dir, "boot_id"),
		cmdline: filepath.Join(dir, "cmdline"), log: &syncBuffer{}, rfkill: noRfkill}
	if err := os.WriteFile(m.policy, []byte(policyText), 0o644); err != nil {
		t.Fatal(err)
	}
	m.boot(t, "boot-1", "quiet")
	return m
}

// boot starts a new boot: a new boot id and kernel command line.
func (m *machine) boot(t *testing.T, id, cmdline string) {
	t.Helper()
	if err := os.WriteFile(m.bootID, []byte(id+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(m.cmdline, []byte(cmdline+"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
}

func (m *machine) statePath() string     { return filepath.Join(m.dir, "state", "state.json") }
func (m *machine) bootStatePath() string { return filepath.Join(m.dir, "run", "boot.json") }

// start runs the service on k until the returned stop is called (or the
// test ends).
func (m *machine) start(t *testing.T, k *fakeKernel) (*Service, func()) {
	t.Helper()
	svc, err := New(Config{
		PolicyFile: m.policy, PolicyDir: filepath.Join(m.dir, "policy.d"),
		StatePath: m.statePath(), BootStatePath: m.bootStatePath(),
		BootIDPath: m.bootID, CmdlinePath: m.cmdline, Rfkill: m.rfkill,
		Dial:  func() (*dbus.Conn, error) { return nil, errors.New("no bus in this test") },
		Links: k, Backstop: backstopView{k},
		Log: slog.New(slog.NewTextHandler(m.log, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	var once sync.Once
	stop := func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				t.Errorf("Run: %v", err)
			}
		})
	}
	t.Cleanup(stop)
	return svc, stop
}

// syncBuffer is a log sink shared by the service's goroutines.
type syncBuffer struct {
	mu sync.Mutex
	b  strings.Builder
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

var _ io.Writer = (*syncBuffer)(nil)

// realOf reads what the service takes for a device's real address.
func realOf(t *testing.T, svc *Service, iface string) (string, string) {
	t.Helper()
	var real, src string
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.do(ctx, func() {
		if d, ok := svc.devs[iface]; ok {
			real, src = d.real.String(), d.realSource
		}
	}); err != nil {
		t.Fatal(err)
	}
	return real, src
}

func setSpoofing(t *testing.T, svc *Service, spoof bool) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.do(ctx, func() { svc.setSpoofing(ctx, spoof, "test") }); err != nil {
		t.Fatal(err)
	}
}

// stateFile is the persistent state file's content, as JSON fields.
func stateFile(t *testing.T, m *machine) map[string]json.RawMessage {
	t.Helper()
	data, err := os.ReadFile(m.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		t.Fatal(err)
	}
	var f map[string]json.RawMessage
	if err := json.Unmarshal(data, &f); err != nil {
		t.Fatalf("state file: %v", err)
	}
	return f
}

// TestRuntimeSwitchLastsOneBoot: SetSpoofing(false) (what decide
// --no-spoof and a login screen call) holds across a restart of the
// service in the same boot, never into the next boot: there a policy's
// spoof = true applies again. Nothing of it is on disk.
func TestRuntimeSwitchLastsOneBoot(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	card := links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true}
	m := newMachine(t, "spoof = true\n")

	k := newFakeKernel(card)
	svc, stop := m.start(t, k)
	waitGate(t, svc, "eth0", gateSpoofed)
	setSpoofing(t, svc, false)
	if g, addr := snapshot(t, svc, "eth0"); g != gateAllowed || addr != real0.String() {
		t.Fatalf("after SetSpoofing(false): gate %s addr %s, want allowed with the real address", g, addr)
	}
	stop()
	if f := stateFile(t, m); f["spoof"] != nil || f["decided_boot"] != nil {
		t.Errorf("the runtime switch is in the persistent state: %s / %s", f["spoof"], f["decided_boot"])
	}

	// A restart in the same boot keeps the decision.
	svc, stop = m.start(t, k)
	if g, addr := waitGateAddr(t, svc, "eth0", gateAllowed); addr != real0.String() {
		t.Fatalf("restart in the same boot: gate %s addr %s, want the real address kept", g, addr)
	}
	stop()

	// The next boot: the card comes up with its real address; the policy
	// says spoof, and so it is.
	m.boot(t, "boot-2", "quiet")
	k = newFakeKernel(card)
	svc, _ = m.start(t, k)
	addr := waitGate(t, svc, "eth0", gateSpoofed)
	if addr == real0.String() {
		t.Fatal("the next boot kept the real address: the switch of the earlier boot outlived it")
	}
	if st := statusOf(t, svc); !st.Spoof {
		t.Error("Status.spoof is false in the next boot")
	}
}

// TestCmdlineSpoofIsNotSaved: mac-nmguard.spoof=0 applies in its boot
// (also after a restart, the command line being read again) and is never
// saved: the next boot, with a plain command line, spoofs.
func TestCmdlineSpoofIsNotSaved(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	card := links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true}
	m := newMachine(t, "")
	m.boot(t, "boot-1", "quiet mac-nmguard.spoof=0")
	k := newFakeKernel(card)
	svc, stop := m.start(t, k)
	if g, addr := waitGateAddr(t, svc, "eth0", gateAllowed); addr != real0.String() {
		t.Fatalf("spoof=0: gate %s addr %s, want the real address", g, addr)
	}
	stop()
	for _, p := range []string{m.statePath(), m.bootStatePath()} {
		data, _ := os.ReadFile(p)
		if strings.Contains(string(data), `"spoof"`) {
			t.Errorf("the command line's decision was saved in %s:\n%s", p, data)
		}
	}
	m.boot(t, "boot-2", "quiet")
	k = newFakeKernel(card)
	svc, _ = m.start(t, k)
	if addr := waitGate(t, svc, "eth0", gateSpoofed); addr == real0.String() {
		t.Fatal("the next boot kept the real address")
	}
}

// TestLegacyStaleSwitchIsDropped: a state file of an earlier version with
// spoof=false decided in another boot does not override the policy; one
// decided in this boot still holds; either way it leaves the state file.
func TestLegacyStaleSwitchIsDropped(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	card := links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true}
	for _, tc := range []struct {
		decided  string
		wantReal bool
	}{{"boot-0", false}, {"boot-1", true}} {
		m := newMachine(t, "spoof = true\n")
		st, err := state.New()
		if err != nil {
			t.Fatal(err)
		}
		off := false
		st.Spoof, st.DecidedBoot = &off, tc.decided
		if err := st.Save(m.statePath()); err != nil {
			t.Fatal(err)
		}
		svc, stop := m.start(t, newFakeKernel(card))
		var addr string
		if tc.wantReal {
			_, addr = waitGateAddr(t, svc, "eth0", gateAllowed)
		} else {
			addr = waitGate(t, svc, "eth0", gateSpoofed)
		}
		if (addr == real0.String()) != tc.wantReal {
			t.Errorf("spoof=false decided in %s, now boot-1: address %s, want real %t", tc.decided, addr, tc.wantReal)
		}
		stop()
		if f := stateFile(t, m); f["spoof"] != nil || f["decided_boot"] != nil {
			t.Errorf("decided in %s: the switch is still in the state file", tc.decided)
		}
	}
}

// waitGateAddr waits for a gate state and returns it with the address.
func waitGateAddr(t *testing.T, svc *Service, iface string, want gateState) (gateState, string) {
	t.Helper()
	return want, waitGate(t, svc, iface, want)
}

func statusOf(t *testing.T, svc *Service) api.Status {
	t.Helper()
	var st api.Status
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := svc.do(ctx, func() { st = svc.apiStatus() }); err != nil {
		t.Fatal(err)
	}
	return st
}

// TestFirstSeenIsPerBoot: a card with no permanent address seen in one boot
// does not lend its first address to another card with the same name and
// index in the next boot: that card's own first address is its real one,
// and it is spoofed.
func TestFirstSeenIsPerBoot(t *testing.T) {
	first := hw(t, "02:00:00:00:01:01")
	other := hw(t, "02:00:00:00:02:02") // another card, next boot
	m := newMachine(t, "")
	k := newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first, Up: true})
	svc, stop := m.start(t, k)
	waitGate(t, svc, "veth1", gateSpoofed)
	if real, _ := realOf(t, svc, "veth1"); real != first.String() {
		t.Fatalf("boot 1: real %s, want the first address %s", real, first)
	}
	stop()

	m.boot(t, "boot-2", "quiet")
	k = newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: other, Up: true})
	svc, _ = m.start(t, k)
	addr := waitGate(t, svc, "veth1", gateSpoofed)
	if real, src := realOf(t, svc, "veth1"); real != other.String() || src != gate.RealFromFirstSeen {
		t.Fatalf("boot 2: real %s (%s), want this boot's first address %s", real, src, other)
	}
	if addr == other.String() {
		t.Fatal("boot 2: the other card kept its real address")
	}
	if r := k.List2()["veth1"]; r.Real.String() != other.String() {
		t.Fatalf("boot 2: the backstop drops %s, want %s", r.Real, other)
	}
	if data, _ := os.ReadFile(m.statePath()); strings.Contains(string(data), first.String()) || strings.Contains(string(data), other.String()) {
		t.Errorf("a real address is in the persistent state file:\n%s", data)
	}
}

// TestCorruptStateMidBootKeepsFirstSeen: the persistent state file turns
// corrupt while the service has already put a private address on a card
// without a permanent address; restarted, the service still knows the
// card's real address and does not take the private one for it.
func TestCorruptStateMidBootKeepsFirstSeen(t *testing.T) {
	first := hw(t, "02:00:00:00:01:01")
	m := newMachine(t, "")
	k := newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first, Up: true})
	svc, stop := m.start(t, k)
	private := waitGate(t, svc, "veth1", gateSpoofed)
	stop()
	if err := state.WriteFileAtomic(m.statePath(), []byte(`{"version": 1, "secr`), 0o600); err != nil {
		t.Fatal(err)
	}
	svc, _ = m.start(t, k)
	// The private address it carries is compliant: left as it is.
	waitGate(t, svc, "veth1", gateAllowed)
	if real, _ := realOf(t, svc, "veth1"); real != first.String() {
		t.Fatalf("after a corrupt state file: real %s, want %s (the private address was %s)", real, first, private)
	}
	if r := k.List2()["veth1"]; r.Real.String() != first.String() {
		t.Fatalf("the backstop drops %s, want the real %s", r.Real, first)
	}
}

// TestLostBootStateFailsClosed: when the per-boot file itself is corrupt
// mid-boot, a card present at start with no permanent address may carry a
// private address: its real address is unknown for this boot and it is
// kept down, also after another restart; a card plugged in afterwards is
// learned as usual.
func TestLostBootStateFailsClosed(t *testing.T) {
	first := hw(t, "02:00:00:00:01:01")
	m := newMachine(t, "")
	k := newFakeKernel(links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: first, Up: true})
	svc, stop := m.start(t, k)
	waitGate(t, svc, "veth1", gateSpoofed)
	stop()
	if err := os.WriteFile(m.bootStatePath(), []byte(`{"version": 1, "boot_`), 0o600); err != nil {
		t.Fatal(err)
	}
	for i := range 2 {
		svc, stop = m.start(t, k)
		waitGate(t, svc, "veth1", gateBlocked)
		if real, src := realOf(t, svc, "veth1"); real != "" || src != gate.RealUnknown {
			t.Fatalf("start %d after the per-boot file was lost: real %q (%s), want unknown", i+1, real, src)
		}
		if l, _ := k.Get("veth1"); l.Up {
			t.Fatalf("start %d: veth1 is up with an unknown real address", i+1)
		}
		if i == 0 {
			if !strings.Contains(m.log.String(), "cannot be known in this boot") {
				t.Errorf("the service did not say why veth1 is kept down:\n%s", m.log)
			}
			stop()
		}
	}
	// Hotplug after the start: its first address is its real one.
	fresh := hw(t, "02:00:00:00:03:03")
	l := links.Link{Index: 9, Name: "veth2", Kind: "veth", Addr: fresh, Up: true}
	k.mu.Lock()
	k.links["veth2"] = l
	k.mu.Unlock()
	k.events <- links.Event{Link: l}
	waitGate(t, svc, "veth2", gateSpoofed)
	if real, _ := realOf(t, svc, "veth2"); real != fresh.String() {
		t.Fatalf("hotplugged veth2: real %s, want %s", real, fresh)
	}
}

// TestLegacyFirstSeenMigratesOnlyThisBoot: first-seen addresses an earlier
// version kept in the persistent state are used only when written after
// this boot started, and leave the state file.
func TestLegacyFirstSeenMigratesOnlyThisBoot(t *testing.T) {
	thisBoot := hw(t, "02:00:00:00:01:01")
	earlier := hw(t, "02:00:00:00:02:02")
	private := hw(t, "02:00:00:00:0e:0e") // what the old version had set
	m := newMachine(t, "")
	st, err := state.New()
	if err != nil {
		t.Fatal(err)
	}
	st.FirstSeen = map[string]state.FirstSeen{
		"veth1": {Index: 7, Addr: thisBoot.String(), Time: time.Now().Add(-time.Second)},
		"veth2": {Index: 8, Addr: earlier.String(), Time: bootStarted().Add(-time.Hour)},
	}
	if err := st.Save(m.statePath()); err != nil {
		t.Fatal(err)
	}
	cur := hw(t, "02:00:00:00:03:03") // veth2's own address in this boot
	k := newFakeKernel(
		links.Link{Index: 7, Name: "veth1", Kind: "veth", Addr: private, Up: true},
		links.Link{Index: 8, Name: "veth2", Kind: "veth", Addr: cur, Up: true},
	)
	svc, stop := m.start(t, k)
	// veth1's private address is compliant (allowed), veth2's own is not.
	waitGate(t, svc, "veth1", gateAllowed)
	waitGate(t, svc, "veth2", gateSpoofed)
	if real, _ := realOf(t, svc, "veth1"); real != thisBoot.String() {
		t.Errorf("veth1: real %s, want %s (recorded in this boot)", real, thisBoot)
	}
	if real, _ := realOf(t, svc, "veth2"); real != cur.String() {
		t.Errorf("veth2: real %s, want %s (its entry is of an earlier boot)", real, cur)
	}
	stop()
	if f := stateFile(t, m); f["first_seen"] != nil {
		t.Errorf("first_seen is still in the state file: %s", f["first_seen"])
	}
}

func TestLoadBootState(t *testing.T) {
	dir := t.TempDir()
	p := filepath.Join(dir, "boot.json")
	bs, stale, err := state.LoadBoot(p, "b1")
	if err != nil || stale || bs.BootID != "b1" {
		t.Fatalf("missing: %+v %v %v", bs, stale, err)
	}
	on := true
	bs.Spoof = &on
	bs.FirstSeen["veth1"] = state.FirstSeen{Index: 3, Addr: "02:00:00:00:00:01"}
	if err := bs.Save(p); err != nil {
		t.Fatal(err)
	}
	if fi, err := os.Stat(p); err != nil || fi.Mode().Perm() != 0o600 {
		t.Fatalf("per-boot file mode: %v %v", fi, err)
	}
	back, stale, err := state.LoadBoot(p, "b1")
	if err != nil || stale || back.Spoof == nil || back.FirstSeen["veth1"].Index != 3 {
		t.Fatalf("same boot: %+v %v %v", back, stale, err)
	}
	back, stale, err = state.LoadBoot(p, "b2")
	if err != nil || !stale || back.Spoof != nil || len(back.FirstSeen) != 0 || back.BootID != "b2" {
		t.Fatalf("other boot: %+v %v %v", back, stale, err)
	}
	if _, _, err := state.LoadBoot(p, ""); !errors.Is(err, state.ErrBootLost) {
		t.Fatalf("unknown boot id: %v, want lost", err)
	}
	if err := os.WriteFile(p, []byte("{"), 0o600); err != nil {
		t.Fatal(err)
	}
	if _, _, err := state.LoadBoot(p, "b1"); !errors.Is(err, state.ErrBootLost) {
		t.Fatalf("corrupt: %v, want lost", err)
	}
	if m, _ := filepath.Glob(p + ".corrupt-*"); len(m) != 1 {
		t.Fatalf("corrupt file not moved aside: %v", m)
	}
}

// TestFreshStateIsSaved: the persistent state (its stable-mode secret) is
// written at the first start, not only when something else is recorded
// (first-seen addresses no longer go there), and a restart keeps the secret.
func TestFreshStateIsSaved(t *testing.T) {
	real0 := hw(t, "00:1b:21:aa:bb:00")
	m := newMachine(t, "")
	svc, stop := m.start(t, newFakeKernel(links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true}))
	secret := svc.state.Secret
	stop()
	st, warn, err := state.Load(m.statePath())
	if err != nil || warn != nil {
		t.Fatalf("state after the first start: %v %v", err, warn)
	}
	if st.Secret != secret {
		t.Fatal("the stable-mode secret in use was not saved")
	}
}
