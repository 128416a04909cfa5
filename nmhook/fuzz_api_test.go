// SPDX-License-Identifier: GPL-3.0-or-later

package nmhook

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"github.com/godbus/dbus/v5"
	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/nmhook/api"
	"github.com/mac-nmguard/mac-nmguard/nmhook/links"
	"github.com/mac-nmguard/mac-nmguard/nmhook/state"
	"github.com/mac-nmguard/mac-nmguard/policy"
	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// startPrivateBus starts a session-type dbus-daemon on a socket of the
// test's own and returns its address: anyone may own names and call
// anything, so the API's own checks (argument validation, authorize) are
// what answers. No polkit runs on it, so authorize falls back to "root
// only". The daemon is stopped (by PID) in t.Cleanup. Without dbus-daemon
// the test is skipped, or fails under MAC_NMGUARD_REQUIRE_INTEGRATION=1.
func startPrivateBus(t testing.TB) string {
	t.Helper()
	if reason := testproc.MissingPrograms("dbus-daemon"); reason != "" {
		testproc.Skip(t, reason)
	}
	return testproc.StartTestBus(t, testproc.BusConfig{Type: testproc.SessionBus, Dir: t.TempDir()}).Address
}

// apiFuzzBed is a service on a fake kernel with its API on a private bus.
type apiFuzzBed struct {
	svc    *Service
	k      *fakeKernel
	addr   string
	conn   *dbus.Conn
	isRoot bool // the caller is root: authorize lets it through
}

// fuzzSuspicionID is a pending suspicion the seeds can dismiss.
const fuzzSuspicionID = "eth0/2b4f6c1e-0000-4000-8000-00000000cafe/1700000000/1"

func newAPIFuzzBed(t testing.TB) *apiFuzzBed {
	t.Helper()
	addr := startPrivateBus(t)
	real0 := hwTB(t, "00:1b:21:aa:bb:00")
	first := hwTB(t, "02:00:00:00:01:01")
	k := newFakeKernel(
		links.Link{Index: 2, Name: "eth0", Kind: "device", Addr: real0, PermAddr: real0, Up: true},
		links.Link{Index: 3, Name: "veth1", Kind: "veth", Addr: first, Up: true},
	)
	dir := t.TempDir()
	svc, err := New(Config{
		PolicyFile: filepath.Join(dir, "policy.toml"), PolicyDir: filepath.Join(dir, "policy.d"),
		StatePath: filepath.Join(dir, "state.json"), BootStatePath: filepath.Join(dir, "run", "boot.json"),
		Dial: func() (*dbus.Conn, error) {
			return dbus.Connect(addr, dbus.WithSignalHandler(dbus.NewSequentialSignalHandler()))
		},
		Links: k, Backstop: backstopView{k},
		Log: slog.New(slog.NewTextHandler(io.Discard, nil)),
	})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- svc.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("Run: %v", err)
		}
	})
	conn, err := dbus.Connect(addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { conn.Close() })
	fb := &apiFuzzBed{svc: svc, k: k, addr: addr, conn: conn, isRoot: os.Geteuid() == 0}
	// Wait until the API owns its name and both devices are spoofed.
	deadline := time.Now().Add(10 * time.Second)
	for {
		var has bool
		_ = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, api.BusName).Store(&has)
		g0, _ := fb.gates(t)
		if has && g0["eth0"] == gateSpoofed && g0["veth1"] == gateSpoofed {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("API not on the private bus or devices not spoofed: owner %t, gates %v", has, g0)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return fb
}

func hwTB(t testing.TB, s string) []byte {
	t.Helper()
	m, err := policy.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m.HardwareAddr()
}

// gates reads every device's gate state in the service loop.
func (fb *apiFuzzBed) gates(t testing.TB) (map[string]gateState, error) {
	t.Helper()
	out := map[string]gateState{}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	err := fb.svc.do(ctx, func() {
		for n, d := range fb.svc.devs {
			out[n] = d.gate
		}
	})
	return out, err
}

// apiSnapshot is everything an API call could change: the service's
// devices, status and suspicions as the API reports them, its state file,
// and the fake kernel's links and backstop rules.
type apiSnapshot struct {
	Devices    []api.Device
	Status     api.Status
	Suspicions []api.Suspicion
	State      string
	BootState  string
	Links      map[string]string
	Rules      map[string]string
}

func (fb *apiFuzzBed) snapshot(t testing.TB) apiSnapshot {
	t.Helper()
	var s apiSnapshot
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fb.svc.do(ctx, func() {
		s.Devices, s.Status, s.Suspicions = fb.svc.apiDevices(), fb.svc.apiStatus(), fb.svc.apiSuspicions()
	}); err != nil {
		t.Fatalf("service loop does not answer: %v", err)
	}
	st, err := os.ReadFile(fb.svc.cfg.StatePath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	s.State = string(st)
	bs, err := os.ReadFile(fb.svc.cfg.BootStatePath)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		t.Fatal(err)
	}
	s.BootState = string(bs)
	s.Links, s.Rules = map[string]string{}, map[string]string{}
	all, _ := fb.k.List()
	for _, l := range all {
		s.Links[l.Name] = fmt.Sprintf("%s up=%t", l.Addr, l.Up)
	}
	for n, r := range fb.k.List2() {
		s.Rules[n] = fmt.Sprintf("real=%s hold=%t", r.Real, r.Hold)
	}
	return s
}

// ensureSuspicion puts the known suspicion back when a seed dismissed it, so
// that Dismiss with a valid id keeps being exercised.
func (fb *apiFuzzBed) ensureSuspicion(t testing.TB) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	if err := fb.svc.do(ctx, func() {
		for _, sp := range fb.svc.suspicions {
			if sp.ID == fuzzSuspicionID {
				return
			}
		}
		now := time.Unix(1700000000, 0).UTC()
		fb.svc.suspicions = append(fb.svc.suspicions, detect.Suspicion{
			ID: fuzzSuspicionID, Device: "eth0",
			Connection: detect.Connection{UUID: "2b4f6c1e-0000-4000-8000-00000000cafe", ID: "office"},
			Kind:       detect.KindDHCPFailure, FirstSeen: now, LastSeen: now, Reason: "seeded by the fuzz test",
		})
	}); err != nil {
		t.Fatal(err)
	}
}

// busString reports whether s can travel in a D-Bus string at all (valid
// UTF-8, no NUL). The bus daemon drops a connection that sends anything
// else, before the service sees it.
func busString(s string) bool {
	return utf8.ValidString(s) && !strings.ContainsRune(s, 0)
}

// FuzzAPIArgs calls Restore, Dismiss and SetSpoofing with fuzzed arguments
// over a real (private) bus, through the exported object. The service must
// never panic, always answer with success or a D-Bus error, and leave every
// device, rule, exemption and its state file untouched when the answer is an
// error. As root the calls pass authorize (no polkit on the bus: root only),
// so the argument checks and the service's own handling are exercised; as
// another user every call must be AccessDenied and change nothing.
//
// No NetworkManager runs on the private bus: a Restore with valid arguments
// ends in "not managed by NetworkManager". The restore path with NM is
// covered by test/detect_restore_test.go on the real-NM bed.
func FuzzAPIArgs(f *testing.F) {
	for _, s := range []struct {
		op      uint8
		a, b, c string
		spoof   bool
	}{
		{0, "eth0", "", "once", false},
		{0, "eth0", "2b4f6c1e-0000-4000-8000-00000000cafe", "always", false},
		{0, "veth1", "2B4F6C1E-0000-4000-8000-00000000CAFE", "once", false},
		{0, "nosuch0", "", "always", false},
		{0, "", "", "", false},
		{0, "eth0", "not-a-uuid", "once", false},
		{0, "eth0", "", "forever", false},
		{0, "eth0\x1b[2J", "", "once", false},
		{0, "0123456789abcdef", "", "once", false},
		{0, "nm\xe9t", "", "once", false},
		{0, "eth0\x00", "", "always", false},
		{0, "../../etc", "", "always", false},
		{0, "eth0", "2b4f6c1e-0000-4000-8000-00000000cafe\n", "once", false},
		{1, fuzzSuspicionID, "", "", false},
		{1, "", "", "", false},
		{1, "nope", "", "", false},
		{1, strings.Repeat("x", 513), "", "", false},
		{1, fuzzSuspicionID + "\u202e", "", "", false},
		{2, "", "", "", true},
		{2, "", "", "", false},
	} {
		f.Add(s.op, s.a, s.b, s.c, s.spoof)
	}
	fb := newAPIFuzzBed(f)
	f.Fuzz(func(t *testing.T, op uint8, a, b, c string, spoof bool) {
		fb.ensureSuspicion(t)
		// SetSpoofing(false) legitimately puts the real addresses back:
		// start every input from the spoofing state.
		if err := fb.call(t, fb.conn, api.SetSpoofing, true); fb.isRoot && err != nil {
			t.Fatalf("SetSpoofing(true) as root: %v", err)
		}
		before := fb.snapshot(t)
		var method string
		var args []any
		switch op % 3 {
		case 0:
			method, args = api.Restore, []any{a, b, c}
		case 1:
			method, args = api.Dismiss, []any{a}
		default:
			method, args = api.SetSpoofing, []any{spoof}
		}
		conn, valid := fb.conn, true
		for _, v := range args {
			if s, ok := v.(string); ok && !busString(s) {
				valid = false
			}
		}
		if !valid {
			// A connection of its own: the bus daemon may drop it.
			var err error
			if conn, err = dbus.Connect(fb.addr); err != nil {
				t.Fatal(err)
			}
			defer conn.Close()
		}
		err := fb.call(t, conn, method, args...)
		var derr dbus.Error
		switch {
		case err == nil:
		case errors.As(err, &derr):
		case !valid:
			// The daemon refused the message (or dropped the caller):
			// nothing reached the service.
		default:
			t.Fatalf("%s%q: not a D-Bus error nor success: %T %v", method, args, err, err)
		}
		after := fb.snapshot(t)
		if err != nil {
			// Arguments are checked before the caller is: InvalidArgs
			// tells an unprivileged caller nothing about the service.
			if !fb.isRoot && valid && derr.Name != apiErrAccessDenied && derr.Name != apiErrInvalidArgs {
				t.Errorf("%s%q as uid %d: %s, want AccessDenied or InvalidArgs", method, args, os.Geteuid(), derr.Name)
			}
			if d := cmp.Diff(before, after); d != "" {
				t.Fatalf("%s%q failed (%v) but changed the service (-before +after):\n%s", method, args, err, d)
			}
		}
		if !fb.isRoot && err == nil {
			t.Fatalf("%s%q succeeded for uid %d without polkit", method, args, os.Geteuid())
		}
		// Whatever happened, the real addresses stay hidden unless the call
		// was a successful SetSpoofing(false).
		if !(method == api.SetSpoofing && !spoof && err == nil) {
			for _, dv := range after.Devices {
				if dv.Address == dv.Real {
					t.Fatalf("%s%q: %s has its real address %s", method, args, dv.Interface, dv.Real)
				}
			}
		}
	})
}

// call makes one method call with a deadline; a service that hangs fails.
func (fb *apiFuzzBed) call(t *testing.T, conn *dbus.Conn, method string, args ...any) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	err := conn.Object(api.BusName, api.Path).CallWithContext(ctx, method, 0, args...).Err
	if errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("%s%q: no answer within 20s", method, args)
	}
	return err
}

// TestAPIFuzzSnapshotSeesChanges shows the fuzz target's "nothing changed"
// check can fail: a successful SetSpoofing(false) changes the snapshot.
func TestAPIFuzzSnapshotSeesChanges(t *testing.T) {
	if os.Geteuid() != 0 {
		testproc.Skip(t, "needs root: authorize lets only root through without polkit")
	}
	fb := newAPIFuzzBed(t)
	before := fb.snapshot(t)
	if err := fb.call(t, fb.conn, api.SetSpoofing, false); err != nil {
		t.Fatalf("SetSpoofing(false): %v", err)
	}
	after := fb.snapshot(t)
	if cmp.Equal(before, after) {
		t.Fatal("SetSpoofing(false) left the snapshot unchanged: the fuzz target's check is blind")
	}
	var st state.BootState
	if err := json.Unmarshal([]byte(after.BootState), &st); err != nil || st.Spoof == nil || *st.Spoof {
		t.Fatalf("per-boot state after SetSpoofing(false): %v %s", err, after.BootState)
	}
}

// TestAPIMethodTableIsComplete: the method table exports every exported
// method of apiObject (a method added without its table entry would be
// unreachable over the bus), and introspection declares exactly these.
func TestAPIMethodTableIsComplete(t *testing.T) {
	table := apiObject{}.methods()
	ty := reflect.TypeOf(apiObject{})
	var exported []string
	for i := range ty.NumMethod() {
		exported = append(exported, ty.Method(i).Name)
	}
	var inTable []string
	for name, fn := range table {
		inTable = append(inTable, name)
		ft := reflect.TypeOf(fn)
		if ft.Kind() != reflect.Func || ft.NumOut() == 0 || ft.Out(ft.NumOut()-1) != reflect.TypeOf((*dbus.Error)(nil)) {
			t.Errorf("%s: %v does not end in *dbus.Error (godbus would ignore it)", name, ft)
		}
	}
	sort.Strings(exported)
	sort.Strings(inTable)
	if diff := cmp.Diff(exported, inTable); diff != "" {
		t.Errorf("exported methods vs method table (-methods +table):\n%s", diff)
	}
	for _, name := range inTable {
		if !strings.Contains(api.Introspection, `<method name="`+name+`">`) {
			t.Errorf("introspection lacks method %s", name)
		}
	}
	if n := strings.Count(api.Introspection, "<method "); n != len(inTable) {
		t.Errorf("introspection declares %d methods, the table has %d", n, len(inTable))
	}
}
