// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// A desktop user's session in the guest, for the agent-story scenario: a
// local, active session of an unprivileged uid as polkit sees it through
// sd-login (a cgroup scope and the files logind would write, no logind),
// and in it a session bus, Xvfb, dunst and `mac-nmguard agent`, every one
// running as that uid, as the XDG autostart file starts the agent in a
// real session. Everything is ended by PID and removed at the scenario's
// end.

const (
	deskUID     = 65534 // nobody: the desktop's user
	deskSession = "c1"  // the session id
	deskDir     = "/tmp/wifibed-desktop"
	deskDisplay = ":7"
	deskX       = "/tmp/.X11-unix/X7"
)

// deskBusConf is the session bus: a path socket, EXTERNAL auth, anything
// goes between the session's programs, and no service directories (the
// stock session.conf would start a notification server of its own).
const deskBusConf = `<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:path=` + deskDir + `/bus</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
`

// deskDunstrc: notifications stay until acted on; the action menu (right
// click, dunstctl context) goes to the dmenu script; no "default" action.
const deskDunstrc = `[global]
    font = DejaVu Sans 10
    format = "<b>%%s</b>\n%%b"
    mouse_left_click = do_action, close_current
    mouse_right_click = context
    dmenu = %s
[urgency_low]
    timeout = 0
[urgency_normal]
    timeout = 0
[urgency_critical]
    timeout = 0
`

// deskDmenu stands in for dmenu: it logs the menu dunst offers and picks
// the first line containing the text of the file next to it, as a user
// picking that entry would.
const deskDmenu = `#!/bin/sh
menu=$(cat)
printf '%s\n--\n' "$menu" >> "$0.log"
want=$(cat "$0.want" 2>/dev/null)
[ -n "$want" ] || exit 1
printf '%s\n' "$menu" | grep -F -m 1 -- "$want"
`

// desktop is the running session.
type desktop struct {
	g       *guest
	scope   string // the session's cgroup
	made    []string
	daemons []*daemon
	agent   string // the agent's log
}

func deskPath(name string) string { return filepath.Join(deskDir, name) }

// startDesktop fakes the user's active session and starts its programs;
// on error what was started is stopped.
func startDesktop(s *sc) (d *desktop, err error) {
	d = &desktop{g: s.g, agent: logPath("agent")}
	defer func() {
		if err != nil {
			d.stop()
			d = nil
		}
	}()
	if err := d.session(); err != nil {
		return d, err
	}
	if err := os.MkdirAll(deskDir, 0o700); err != nil {
		return d, err
	}
	if err := os.MkdirAll("/tmp/.X11-unix", 0o777); err != nil {
		return d, err
	}
	_ = os.Chmod("/tmp/.X11-unix", 0o777|os.ModeSticky)
	files := map[string]string{
		"bus.conf": deskBusConf,
		"dunstrc":  fmt.Sprintf(deskDunstrc, deskPath("dmenu.sh")),
		"dmenu.sh": deskDmenu,
	}
	for name, text := range files {
		if err := os.WriteFile(deskPath(name), []byte(text), 0o755); err != nil {
			return d, err
		}
	}
	if err := os.MkdirAll(deskPath("runtime"), 0o700); err != nil {
		return d, err
	}
	if err := chownTree(deskDir, deskUID); err != nil {
		return d, err
	}
	if err := d.run("session-bus", "dbus-daemon", "--config-file="+deskPath("bus.conf"), "--nofork", "--nopidfile", "--nosyslog"); err != nil {
		return d, err
	}
	if err := waitFor(s.ctx, 20*time.Second, "session bus", func() bool { return exists(deskPath("bus")) }); err != nil {
		return d, err
	}
	if err := d.run("xvfb", "Xvfb", deskDisplay, "-screen", "0", "1280x800x24", "-nolisten", "tcp"); err != nil {
		return d, err
	}
	if err := waitFor(s.ctx, 30*time.Second, "Xvfb", func() bool { return exists(deskX) }); err != nil {
		return d, err
	}
	if err := d.run("dunst", "dunst", "-config", deskPath("dunstrc")); err != nil {
		return d, err
	}
	if err := waitFor(s.ctx, 30*time.Second, "dunst on the session bus", func() bool {
		_, err := d.ctl(s.ctx, "is-paused")
		return err == nil
	}); err != nil {
		return d, err
	}
	// The agent, in English whatever the guest's locale (the texts the
	// scenario looks for are English).
	if err := d.run("agent", "env", "LC_ALL=C.UTF-8", "LANGUAGE=",
		filepath.Join(wifibed.GuestMount, wifibed.ServiceBin), "agent", "--log-level", "debug"); err != nil {
		return d, err
	}
	if _, err := d.waitAgent(s.ctx, 0, 30*time.Second, "agent: the mac-nmguard service is running"); err != nil {
		return d, err
	}
	if _, err := d.waitAgent(s.ctx, 0, 30*time.Second, "agent: notification server", "dunst"); err != nil {
		return d, err
	}
	return d, nil
}

// session makes the user's session as polkit reads it: the cgroup
// user.slice/user-UID.slice/session-ID.scope (its programs are put in it)
// and sd-login's files /run/systemd/sessions/ID and /run/systemd/users/UID
// as logind writes them for an active local session on seat0.
func (d *desktop) session() error {
	root := "/sys/fs/cgroup"
	if !exists(filepath.Join(root, "cgroup.procs")) {
		if err := mount("cgroup2", root, "cgroup2"); err != nil {
			return err
		}
	}
	cur := root
	for _, part := range []string{"user.slice", fmt.Sprintf("user-%d.slice", deskUID), "session-" + deskSession + ".scope"} {
		cur = filepath.Join(cur, part)
		if err := os.Mkdir(cur, 0o755); err != nil {
			if !errors.Is(err, os.ErrExist) {
				return fmt.Errorf("session cgroup: %w", err)
			}
			continue
		}
		d.made = append(d.made, cur)
	}
	d.scope = cur
	for _, dir := range []string{"/run/systemd/sessions", "/run/systemd/users", "/run/systemd/seats"} {
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return err
		}
	}
	sess := fmt.Sprintf("UID=%d\nUSER=nobody\nACTIVE=1\nIS_DISPLAY=1\nSTATE=active\nREMOTE=0\nTYPE=x11\nCLASS=user\nSEAT=seat0\nVTNR=7\nLEADER=1\n", deskUID)
	user := fmt.Sprintf("NAME=nobody\nSTATE=active\nSESSIONS=%[1]s\nONLINE_SESSIONS=%[1]s\nACTIVE_SESSIONS=%[1]s\nDISPLAY=%[1]s\n", deskSession)
	if err := os.WriteFile("/run/systemd/sessions/"+deskSession, []byte(sess), 0o644); err != nil {
		return err
	}
	return os.WriteFile(fmt.Sprintf("/run/systemd/users/%d", deskUID), []byte(user), 0o644)
}

// userEnv is the session's environment.
func userEnv() []string {
	return []string{"HOME=" + deskDir, "USER=nobody", "LOGNAME=nobody", "DISPLAY=" + deskDisplay,
		"DBUS_SESSION_BUS_ADDRESS=unix:path=" + deskPath("bus"), "XDG_RUNTIME_DIR=" + deskPath("runtime"),
		"XDG_SESSION_ID=" + deskSession}
}

// asUser is the command line running args as the desktop's user inside
// its session: sh (root) moves itself into the session's cgroup, then
// setpriv becomes the user and execs args (same PID).
func (d *desktop) asUser(args ...string) []string {
	argv := []string{"sh", "-c", `echo $$ > "$1" || exit 97; shift; exec "$@"`, "sh", filepath.Join(d.scope, "cgroup.procs"),
		"setpriv", fmt.Sprintf("--reuid=%d", deskUID), fmt.Sprintf("--regid=%d", deskUID), "--clear-groups", "env"}
	argv = append(argv, userEnv()...)
	return append(argv, args...)
}

// run starts a program of the session as a daemon (log logs/NAME.txt).
func (d *desktop) run(name string, args ...string) error {
	p, err := d.g.start(name, d.asUser(args...)...)
	if err != nil {
		return err
	}
	d.daemons = append(d.daemons, p)
	return nil
}

// ctl runs dunstctl as the user.
func (d *desktop) ctl(ctx context.Context, args ...string) (string, error) {
	return run(ctx, d.asUser(append([]string{"dunstctl"}, args...)...)...)
}

// displayed is how many notifications dunst shows.
func (d *desktop) displayed(ctx context.Context) (int, error) {
	out, err := d.ctl(ctx, "count", "displayed")
	if err != nil {
		return 0, err
	}
	return strconv.Atoi(strings.TrimSpace(out))
}

// pick chooses the action keyed key of notification id as a user does
// without the body click: dunst's context menu (dunstctl context, as a
// right click) and the dmenu script picking the entry "[id,key]". It
// returns the menu dunst offered.
func (d *desktop) pick(ctx context.Context, id int, key string) (string, error) {
	want := fmt.Sprintf("[%d,%s]", id, key)
	logFile := deskPath("dmenu.sh.log")
	before, _ := os.ReadFile(logFile)
	if err := os.WriteFile(deskPath("dmenu.sh.want"), []byte(want), 0o644); err != nil {
		return "", err
	}
	if _, err := d.ctl(ctx, "context"); err != nil {
		return "", err
	}
	menu := ""
	err := waitFor(ctx, 30*time.Second, "dunst's menu", func() bool {
		after, _ := os.ReadFile(logFile)
		if len(after) > len(before) && strings.HasSuffix(string(after), "--\n") {
			menu = string(after[len(before):])
			return true
		}
		return false
	})
	if err != nil {
		return "", err
	}
	if !strings.Contains(menu, want) {
		return menu, fmt.Errorf("dunst's menu has no entry %q: %s", want, menu)
	}
	return menu, nil
}

// agentLines are the agent's complete log lines (a line being written is
// left for the next reading).
func (d *desktop) agentLines() []string {
	b, _ := os.ReadFile(d.agent)
	s := string(b)
	if i := strings.LastIndexByte(s, '\n'); i >= 0 {
		return strings.Split(s[:i], "\n")
	}
	return nil
}

// waitAgent waits for a line of the agent's log, after the first after
// lines, that contains every one of subs, and returns its index.
func (d *desktop) waitAgent(ctx context.Context, after int, timeout time.Duration, subs ...string) (int, error) {
	found := -1
	err := waitFor(ctx, timeout, fmt.Sprintf("agent log line with %q", subs), func() bool {
		lines := d.agentLines()
		for i := after; i < len(lines); i++ {
			ok := true
			for _, sub := range subs {
				ok = ok && strings.Contains(lines[i], sub)
			}
			if ok {
				found = i
				return true
			}
		}
		return false
	})
	return found, err
}

// shownRe is the agent's log line for a notification on the server.
var shownRe = regexp.MustCompile(`msg="agent: notification shown" id=(\d+) summary=("(?:[^"\\]|\\.)*"|\S+)`)

// shown is a notification the agent's log says dunst shows.
type shown struct {
	line    int
	id      int
	summary string
}

// shownSince are the notifications shown after the first after lines.
func (d *desktop) shownSince(after int) []shown {
	var out []shown
	for i, l := range d.agentLines() {
		if i < after {
			continue
		}
		m := shownRe.FindStringSubmatch(l)
		if m == nil {
			continue
		}
		id, _ := strconv.Atoi(m[1])
		sum := m[2]
		if u, err := strconv.Unquote(sum); err == nil {
			sum = u
		}
		out = append(out, shown{line: i, id: id, summary: sum})
	}
	return out
}

// waitShown waits for a notification shown after line after whose summary
// contains sub.
func (d *desktop) waitShown(ctx context.Context, after int, timeout time.Duration, sub string) (shown, error) {
	var got shown
	err := waitFor(ctx, timeout, fmt.Sprintf("notification %q on dunst", sub), func() bool {
		for _, n := range d.shownSince(after) {
			if strings.Contains(n.summary, sub) {
				got = n
				return true
			}
		}
		return false
	})
	return got, err
}

// agentRunning says whether the agent is still running.
func (d *desktop) agentRunning() bool {
	for _, p := range d.daemons {
		if p.name == "agent" {
			return !p.exited()
		}
	}
	return false
}

// stop ends the session's programs (by PID, the last started first) and
// removes the session.
func (d *desktop) stop() {
	for i := len(d.daemons) - 1; i >= 0; i-- {
		d.daemons[i].stop(5 * time.Second)
	}
	d.daemons = nil
	_ = os.Remove("/run/systemd/sessions/" + deskSession)
	_ = os.Remove(fmt.Sprintf("/run/systemd/users/%d", deskUID))
	for i := len(d.made) - 1; i >= 0; i-- {
		_ = os.Remove(d.made[i])
	}
	_ = os.RemoveAll(deskDir)
}

func exists(path string) bool {
	_, err := os.Stat(path)
	return err == nil
}

func chownTree(dir string, uid int) error {
	return filepath.Walk(dir, func(p string, _ os.FileInfo, err error) error {
		if err != nil {
			return err
		}
		return os.Chown(p, uid, uid)
	})
}

func mount(src, dst, fs string) error {
	if err := syscall.Mount(src, dst, fs, 0, ""); err != nil {
		return fmt.Errorf("mount %s: %w", dst, err)
	}
	return nil
}
