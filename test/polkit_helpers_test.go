// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// polkitdPath is where Debian installs the polkit daemon.
const polkitdPath = "/usr/lib/polkit-1/polkitd"

// nobodyUID is the unprivileged caller of the authorisation tests.
const nobodyUID = 65534

// polkitScript runs polkitd in a mount namespace of its own (unshare -m,
// private propagation), where the bed's directories are bound over
// /usr/share/polkit-1/actions (the project's action file only) and over
// /run/systemd/sessions and /run/systemd/users (where sd-login, which polkitd
// asks about sessions, reads them). So the test installs nothing on the host:
// no action file in /usr/share, no fake session in /run; the binds vanish
// with the process. polkitd has no option to read actions from elsewhere
// (`polkitd --help`: only --replace and --no-debug). `mount -n`: no utab
// entry on the host's /run. $1 is the directory holding the three dirs.
const polkitScript = `set -e
mount -n --bind "$1/actions" /usr/share/polkit-1/actions
mount -n --bind "$1/sessions" /run/systemd/sessions
mount -n --bind "$1/users" /run/systemd/users
exec ` + polkitdPath + ` --no-debug
`

// polkit is a polkitd on a bed's bus, started by the bus on demand.
type polkit struct {
	dir string // actions/, sessions/, users/ as polkitd sees them
}

// requirePolkit skips (or, with MAC_NMGUARD_REQUIRE_INTEGRATION=1, fails)
// t when polkitd or the tools the authorisation tests use are missing.
func requirePolkit(t *testing.T) {
	t.Helper()
	var absent []string
	if _, err := os.Stat(polkitdPath); err != nil {
		absent = append(absent, polkitdPath)
	}
	for _, tool := range []string{"unshare", "setpriv", "dbus-send", "busctl"} {
		if _, err := exec.LookPath(tool); err != nil {
			absent = append(absent, tool)
		}
	}
	for _, d := range []string{"/usr/share/polkit-1/actions", "/run/systemd/sessions", "/run/systemd/users"} {
		if fi, err := os.Stat(d); err != nil || !fi.IsDir() {
			absent = append(absent, d+" (bind target)")
		}
	}
	if len(absent) == 0 {
		return
	}
	reason := "missing: " + strings.Join(absent, ", ")
	if os.Getenv(bed.RequireEnv) == "1" {
		t.Fatalf("authorisation test cannot run (%s=1): %s", bed.RequireEnv, reason)
	}
	t.Skipf("authorisation test skipped: %s (set %s=1 to make this a failure)", reason, bed.RequireEnv)
}

// polkitDir makes the directory whose actions/ (the project's polkit action
// file, cmd/mac-nmguard/dist/io.github.macnmguard.policy, only), sessions/
// and users/ polkitScript binds for polkitd.
func polkitDir(t *testing.T, b *bed.Bed) string {
	t.Helper()
	dir := filepath.Join(b.Dir, "polkit")
	for _, d := range []string{"actions", "sessions", "users"} {
		// polkitd drops to its own user: it must be able to read these.
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	action, err := os.ReadFile(filepath.Join("..", "cmd", "mac-nmguard", "dist", "io.github.macnmguard.policy"))
	if err != nil {
		t.Fatalf("polkit action file: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "actions", "io.github.macnmguard.policy"), action, 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

// polkitName is polkit's well-known bus name.
const polkitName = "org.freedesktop.PolicyKit1"

// activatablePolkit makes polkitd D-Bus activatable on b's bus, as a
// desktop's system bus has it (the stock
// /usr/share/dbus-1/system-services/org.freedesktop.PolicyKit1.service:
// Exec=/usr/lib/polkit-1/polkitd --no-debug, User=root), without starting
// it: a .service file in b.BusServiceDir whose Exec runs polkitScript (the
// same polkitd, in its own mount namespace with the bed's actions and
// sessions) on b's bus. The bus starts it on the first call to
// org.freedesktop.PolicyKit1. In t.Cleanup the polkitd the bus started, if
// any, is ended by PID (asked of the bus, checked in /proc).
func activatablePolkit(t *testing.T, b *bed.Bed) *polkit {
	t.Helper()
	dir := polkitDir(t, b)
	unshare, err := exec.LookPath("unshare")
	if err != nil {
		t.Fatal(err)
	}
	script := filepath.Join(dir, "activate.sh")
	// The bus puts its address in DBUS_STARTER_ADDRESS; polkitd (GLib)
	// connects to DBUS_SYSTEM_BUS_ADDRESS.
	text := "export DBUS_SYSTEM_BUS_ADDRESS=\"$DBUS_STARTER_ADDRESS\"\n" + polkitScript
	if err := os.WriteFile(script, []byte(text), 0o755); err != nil {
		t.Fatal(err)
	}
	service := fmt.Sprintf("[D-BUS Service]\nName=%s\nExec=%s --mount --propagation private /bin/sh %s %s\nUser=root\n",
		polkitName, unshare, script, dir)
	file := filepath.Join(b.BusServiceDir(), polkitName+".service")
	if err := os.WriteFile(file, []byte(service), 0o644); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		os.Remove(file)
		stopActivatedPolkit(t, b)
	})
	return &polkit{dir: dir}
}

// polkitOwnerPID is the PID of the process owning polkit's name on b's
// bus, 0 when none does.
func polkitOwnerPID(t *testing.T, b *bed.Bed) int {
	t.Helper()
	conn := b.Dial(t)
	defer conn.Close()
	var pid uint32
	if err := conn.BusObject().Call("org.freedesktop.DBus.GetConnectionUnixProcessID", 0, polkitName).Store(&pid); err != nil {
		return 0
	}
	return int(pid)
}

// stopActivatedPolkit ends the polkitd b's bus started (SIGTERM, SIGKILL
// after 5s), by the PID the bus gives for polkit's name, after checking
// that this PID runs polkitd.
func stopActivatedPolkit(t *testing.T, b *bed.Bed) {
	t.Helper()
	pid := polkitOwnerPID(t, b)
	if pid <= 1 {
		return
	}
	exe, err := os.Readlink(fmt.Sprintf("/proc/%d/exe", pid))
	if err != nil || exe != polkitdPath {
		t.Errorf("polkit's owner, PID %d, runs %q (%v), not %s: not ended", pid, exe, err, polkitdPath)
		return
	}
	// dbus-daemon's babysitter, or init once it has left, reaps it: gone
	// when /proc/PID is, or is a zombie.
	gone := func() bool {
		stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
		if err != nil {
			return true
		}
		_, rest, _ := strings.Cut(string(stat), ") ")
		return strings.HasPrefix(rest, "Z")
	}
	for _, sig := range []syscall.Signal{syscall.SIGTERM, syscall.SIGKILL} {
		if err := syscall.Kill(pid, sig); err != nil {
			return
		}
		for deadline := time.Now().Add(5 * time.Second); time.Now().Before(deadline); time.Sleep(50 * time.Millisecond) {
			if gone() {
				return
			}
		}
	}
	t.Errorf("activated polkitd (PID %d) did not exit", pid)
}

// session is a faked active local session (seat0) of a uid, seen by the
// polkitd of one bed only: its sd-login files are in that polkitd's private
// /run/systemd. The session's cgroup is real (polkit reads
// /proc/PID/cgroup): a caller is put in it by writing its PID to procs.
type session struct {
	id    string
	procs string // cgroup.procs of the session's scope
}

// unifiedCgroup is the cgroup2 hierarchy systemd (and sd-login) use on this
// hybrid-cgroup host; on a pure cgroup2 host it is /sys/fs/cgroup.
func unifiedCgroup(t *testing.T) string {
	t.Helper()
	for _, d := range []string{"/sys/fs/cgroup/unified", "/sys/fs/cgroup"} {
		if _, err := os.Stat(filepath.Join(d, "cgroup.procs")); err == nil {
			return d
		}
	}
	t.Fatal("no cgroup2 hierarchy at /sys/fs/cgroup/unified or /sys/fs/cgroup")
	return ""
}

// fakeActiveSession makes uid's active session for pk's polkitd: the cgroup
// user.slice/user-UID.slice/session-ID.scope (created here, each directory
// this made removed in t.Cleanup: the callers put in it have exited by
// then) and the sd-login files /run/systemd/sessions/ID and
// /run/systemd/users/UID in pk's private view.
func fakeActiveSession(t *testing.T, b *bed.Bed, pk *polkit, uid int) *session {
	t.Helper()
	// Session ids are alphanumeric; one per bed so parallel beds differ.
	id := "c" + strings.TrimPrefix(b.Name, "nb")
	root := unifiedCgroup(t)
	scope := filepath.Join(root, "user.slice", fmt.Sprintf("user-%d.slice", uid), "session-"+id+".scope")
	var made []string
	t.Cleanup(func() {
		for i := len(made) - 1; i >= 0; i-- {
			// rmdir only: a cgroup with processes, or another bed's
			// session under user.slice, stays (EBUSY).
			if err := os.Remove(made[i]); err != nil && !errors.Is(err, os.ErrNotExist) {
				if i == len(made)-1 {
					t.Errorf("remove session cgroup: %v", err)
				} else {
					t.Logf("leave cgroup %s: %v", made[i], err)
				}
			}
		}
	})
	rel, err := filepath.Rel(root, scope)
	if err != nil {
		t.Fatal(err)
	}
	cur := root
	for _, part := range strings.Split(rel, string(filepath.Separator)) {
		cur = filepath.Join(cur, part)
		err := os.Mkdir(cur, 0o755)
		if err == nil {
			made = append(made, cur)
			continue
		}
		if !errors.Is(err, os.ErrExist) {
			t.Fatalf("create session cgroup: %v", err)
		}
		if cur == scope {
			t.Fatalf("session cgroup %s exists already: not this test's", scope)
		}
	}
	sess := fmt.Sprintf("UID=%d\nUSER=nobody\nACTIVE=1\nIS_DISPLAY=1\nSTATE=active\nREMOTE=0\nTYPE=x11\nCLASS=user\nSEAT=seat0\nVTNR=1\nLEADER=1\n", uid)
	if err := os.WriteFile(filepath.Join(pk.dir, "sessions", id), []byte(sess), 0o644); err != nil {
		t.Fatal(err)
	}
	user := fmt.Sprintf("NAME=nobody\nSTATE=active\nSESSIONS=%s\nONLINE_SESSIONS=%s\nACTIVE_SESSIONS=%s\nDISPLAY=%s\n", id, id, id, id)
	if err := os.WriteFile(filepath.Join(pk.dir, "users", strconv.Itoa(uid)), []byte(user), 0o644); err != nil {
		t.Fatal(err)
	}
	// The files are in the bed's dir, removed with it; the cgroup above.
	return &session{id: id, procs: filepath.Join(scope, "cgroup.procs")}
}

// caller is who makes a D-Bus call: a uid, optionally inside a session.
type caller struct {
	uid  int
	sess *session
}

var rootCaller = caller{uid: 0}

func (c caller) String() string {
	if c.sess != nil {
		return fmt.Sprintf("uid %d (active session %s)", c.uid, c.sess.id)
	}
	return fmt.Sprintf("uid %d", c.uid)
}

// run runs a program as c: sh (root) first moves itself into c's session
// cgroup, then becomes c.uid with setpriv and execs the program (same PID,
// so polkit sees the program in the session). It returns stdout, stderr
// and the exit error.
func (c caller) run(t *testing.T, args ...string) (stdout, stderr string, err error) {
	t.Helper()
	procs := ""
	if c.sess != nil {
		procs = c.sess.procs
	}
	script := `if [ -n "$1" ]; then echo $$ > "$1" || exit 97; fi; shift; exec "$@"`
	argv := []string{"sh", "-c", script, "sh", procs}
	if c.uid != 0 {
		argv = append(argv, "setpriv", "--reuid="+strconv.Itoa(c.uid), "--regid="+strconv.Itoa(c.uid), "--clear-groups")
	}
	argv = append(argv, args...)
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	// CommandContext ends only this child, by PID, on timeout.
	cmd := exec.CommandContext(ctx, argv[0], argv[1:]...)
	cmd.Dir = "/"
	var o, e bytes.Buffer
	cmd.Stdout, cmd.Stderr = &o, &e
	err = cmd.Run()
	return o.String(), e.String(), err
}

// callResult is the outcome of one dbus-send call.
type callResult struct {
	ErrName string // "" on success
	ErrMsg  string
	Reply   string // --print-reply=literal output on success
}

func (r callResult) String() string {
	if r.ErrName == "" {
		return "success: " + strings.TrimSpace(r.Reply)
	}
	return r.ErrName + ": " + r.ErrMsg
}

// call calls method (e.g. api.Restore) on the service as c with
// dbus-send; args are dbus-send typed arguments ("string:nmt0").
func (c caller) call(t *testing.T, b *bed.Bed, dest, path, method string, args ...string) callResult {
	t.Helper()
	argv := append([]string{"dbus-send", "--bus=" + b.BusAddress, "--print-reply=literal",
		"--reply-timeout=60000", "--dest=" + dest, path, method}, args...)
	out, errOut, err := c.run(t, argv...)
	if err == nil {
		return callResult{Reply: out}
	}
	// dbus-send prints "Error NAME: MESSAGE" on a D-Bus error reply.
	line := strings.TrimSpace(errOut)
	if rest, ok := strings.CutPrefix(line, "Error "); ok {
		name, msg, _ := strings.Cut(rest, ": ")
		return callResult{ErrName: name, ErrMsg: msg}
	}
	t.Fatalf("%s: %s: %v: %s%s", c, strings.Join(argv, " "), err, out, errOut)
	return callResult{}
}

// requestName asks the bus, as c, to own name (DO_NOT_QUEUE) and returns the
// outcome; the name is released when dbus-send exits.
func (c caller) requestName(t *testing.T, b *bed.Bed, name string) callResult {
	t.Helper()
	return c.call(t, b, "org.freedesktop.DBus", "/org/freedesktop/DBus", "org.freedesktop.DBus.RequestName",
		"string:"+name, "uint32:"+strconv.Itoa(int(dbus.NameFlagDoNotQueue)))
}
