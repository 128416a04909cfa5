// SPDX-License-Identifier: GPL-3.0-or-later

package notifytest

import (
	"bufio"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// dmenuScript stands in for dmenu in dunst's context menu: it logs the menu
// dunst offers and picks the first line that contains the text in the file
// next to it (written by InvokeAction), as a user picking that entry would.
const dmenuScript = `#!/bin/sh
menu=$(cat)
printf '%s\n--\n' "$menu" >> "$0.log"
want=$(cat "$0.want" 2>/dev/null)
[ -n "$want" ] || exit 1
printf '%s\n' "$menu" | grep -F -m 1 -- "$want"
`

// dunstrc makes every notification stay until acted on (no timeouts), puts
// the action menu behind the right click and dunstctl context, with the
// script as dmenu. No "default" action is configured anywhere: a left click
// invokes only an action keyed "default".
const dunstrc = `[global]
    width = 720
    height = 760
    origin = top-right
    offset = 20x20
    font = DejaVu Sans 11
    markup = full
    format = "<b>%%s</b>\n%%b"
    padding = 10
    horizontal_padding = 12
    frame_width = 2
    show_indicators = yes
    ellipsize = end
    mouse_left_click = do_action, close_current
    mouse_middle_click = close_current
    mouse_right_click = context
    dmenu = %s
    history_length = 50
[urgency_low]
    timeout = 0
[urgency_normal]
    background = "#285577"
    foreground = "#ffffff"
    timeout = 0
[urgency_critical]
    background = "#900000"
    foreground = "#ffffff"
    timeout = 0
`

// Desktop is an X display (Xvfb), a private session bus and a notification
// server (dunst) on it, owned by a test.
type Desktop struct {
	Display string // X display, ":N"
	Bus     *Bus   // the session bus; Bus.Address for DBUS_SESSION_BUS_ADDRESS
	Dir     string
	dmenu   string
	xvfb    *testproc.Process
	dunst   *testproc.Process
}

// StartDesktop starts Xvfb (on a free display, chosen by Xvfb), a private
// session bus and dunst, and returns when dunst owns
// org.freedesktop.Notifications. Call Require(t, DesktopTools...) first.
func StartDesktop(t testing.TB) *Desktop {
	t.Helper()
	dir, err := os.MkdirTemp("", "nmguard-desktop-")
	if err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	d := &Desktop{Dir: dir, dmenu: filepath.Join(dir, "dmenu.sh")}
	d.startX(t)
	d.Bus = SessionBus(t)
	if err := os.WriteFile(d.dmenu, []byte(dmenuScript), 0o755); err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	if err := os.WriteFile(filepath.Join(dir, "dunstrc"), fmt.Appendf(nil, dunstrc, d.dmenu), 0o644); err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	d.StartServer(t)
	return d
}

// startX starts Xvfb on a display it picks itself (-displayfd), so that
// tests running side by side do not collide.
func (d *Desktop) startX(t testing.TB) {
	t.Helper()
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	defer r.Close()
	d.xvfb = testproc.StartTest(t, testproc.Spec{Dir: d.Dir, Name: "Xvfb", ExtraFiles: []*os.File{w}, Args: []string{
		"Xvfb", "-displayfd", "3", "-screen", "0", "1280x800x24", "-nolisten", "tcp", "-nolisten", "unix",
	}})
	w.Close()
	line := make(chan string, 1)
	go func() {
		s, _ := bufio.NewReader(r).ReadString('\n')
		line <- strings.TrimSpace(s)
	}()
	select {
	case s := <-line:
		if _, err := strconv.Atoi(s); err != nil {
			t.Fatalf("notifytest: Xvfb gave no display (%q): %s", s, d.xvfb.Log())
		}
		d.Display = ":" + s
	case <-time.After(15 * time.Second):
		t.Fatalf("notifytest: Xvfb not ready after 15s: %s", d.xvfb.Log())
	}
}

// Env is the environment for programs of this desktop session.
func (d *Desktop) Env() []string {
	return []string{"DISPLAY=" + d.Display, "DBUS_SESSION_BUS_ADDRESS=" + d.Bus.Address}
}

// StartServer starts dunst (again, after StopServer) and waits until it owns
// org.freedesktop.Notifications.
func (d *Desktop) StartServer(t testing.TB) {
	t.Helper()
	d.dunst = testproc.StartTest(t, testproc.Spec{Dir: d.Dir, Name: "dunst", Env: d.Env(), Args: []string{
		"dunst", "-config", filepath.Join(d.Dir, "dunstrc"),
	}})
	d.Bus.WaitOwner(t, "org.freedesktop.Notifications", true, 15*time.Second)
}

// StopServer ends dunst (by PID) and waits until the name is released.
func (d *Desktop) StopServer(t testing.TB) {
	t.Helper()
	d.dunst.Stop(5 * time.Second)
	d.Bus.WaitOwner(t, "org.freedesktop.Notifications", false, 10*time.Second)
}

// Dunstctl runs dunstctl on this desktop and returns its output.
func (d *Desktop) Dunstctl(t testing.TB, args ...string) string {
	t.Helper()
	cmd := exec.Command("dunstctl", args...)
	cmd.Env = append(os.Environ(), d.Env()...)
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("notifytest: dunstctl %s: %v: %s", strings.Join(args, " "), err, out)
	}
	return strings.TrimSpace(string(out))
}

// Displayed is how many notifications dunst shows now.
func (d *Desktop) Displayed(t testing.TB) int {
	t.Helper()
	out := d.Dunstctl(t, "count", "displayed")
	n, err := strconv.Atoi(out)
	if err != nil {
		t.Fatalf("notifytest: dunstctl count displayed: %q", out)
	}
	return n
}

// InvokeAction picks the action keyed key of notification id (0: of any
// notification shown) the way a user does without the default click: it
// opens dunst's context menu (dunstctl context, like a right click) and the
// scripted dmenu picks the entry "[id,key]". It returns the menu dunst
// offered once dunst has read the pick.
func (d *Desktop) InvokeAction(t testing.TB, id uint32, key string) string {
	t.Helper()
	want := "," + key + "]"
	if id != 0 {
		want = fmt.Sprintf("[%d,%s]", id, key)
	}
	logPath := d.dmenu + ".log"
	before, _ := os.ReadFile(logPath)
	if err := os.WriteFile(d.dmenu+".want", []byte(want), 0o644); err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	d.Dunstctl(t, "context")
	deadline := time.Now().Add(10 * time.Second)
	for {
		after, _ := os.ReadFile(logPath)
		if len(after) > len(before) {
			menu := string(after[len(before):])
			if !strings.Contains(menu, want) {
				t.Fatalf("notifytest: dunst's menu has no entry %q:\n%s", want, menu)
			}
			return menu
		}
		if time.Now().After(deadline) {
			t.Fatalf("notifytest: dunst did not open its menu (dunst log: %s)", d.dunst.Log())
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// Screenshot saves the whole screen as a PNG at path (directories made).
func (d *Desktop) Screenshot(t testing.TB, path string) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	cmd := exec.Command("import", "-display", d.Display, "-window", "root", path)
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("notifytest: screenshot: %v: %s", err, out)
	}
}
