// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/godbus/dbus/v5"
)

// A user's session in the systemd boot. getty logs sessionUser in on tty1
// (the active VT) and otherUser on tty2 (an inactive session of seat0);
// their ~/.profile starts `guest session` in the background, inside the
// login session logind made. For sessionUser it starts what a desktop
// session has: Xvfb, dunst (the notification server, on the session bus of
// dbus-user-session) and the entries of /etc/xdg/autostart the package
// installed (the agent). Then, for both, it runs the commands the runner
// (root) leaves in ~/.wifibed/N.cmd and answers in N.out: a command run
// that way runs in the user's session, as the user's desktop would.

const (
	sessionArg = "session"
	display    = ":1"
	// sessionDir is the helper's folder in the user's home.
	sessionDir = ".wifibed"
	autostart  = "/etc/xdg/autostart/mac-nmguard-agent.desktop"
)

// sessionProfile is the users' ~/.profile.
const sessionProfile = `case "$(tty)" in /dev/tty1|/dev/tty2)
	mkdir -p "$HOME/` + sessionDir + `"
	/mnt/wifibed/guest ` + sessionArg + ` >>"$HOME/` + sessionDir + `/session.log" 2>&1 &
esac
`

// autologin is getty's drop-in that logs user in on its VT.
func autologin(user string) string {
	return "[Service]\nExecStart=\nExecStart=-/sbin/agetty --autologin " + user + " --noclear %I $TERM\n"
}

// cmdResult is a command's answer (N.out).
type cmdResult struct {
	Exit   int    `json:"exit"`
	Output string `json:"output"`
}

// runSession is `guest session`, as the logged-in user.
func runSession() int {
	home, err := os.UserHomeDir()
	if err != nil {
		fmt.Println("session:", err)
		return 1
	}
	dir := filepath.Join(home, sessionDir)
	if os.Getenv("DBUS_SESSION_BUS_ADDRESS") == "" && os.Getenv("XDG_RUNTIME_DIR") != "" {
		os.Setenv("DBUS_SESSION_BUS_ADDRESS", "unix:path="+filepath.Join(os.Getenv("XDG_RUNTIME_DIR"), "bus"))
	}
	fmt.Printf("session: %s at %.1f s, XDG_SESSION_ID=%s, DBUS_SESSION_BUS_ADDRESS=%s\n", os.Getenv("USER"), uptime(), os.Getenv("XDG_SESSION_ID"), os.Getenv("DBUS_SESSION_BUS_ADDRESS"))
	if os.Getenv("USER") == sessionUser {
		if err := startSessionDesktop(dir); err != nil {
			fmt.Println("session: desktop:", err)
			_ = os.WriteFile(filepath.Join(dir, "failed"), []byte(err.Error()), 0o644)
			return 1
		}
	}
	_ = os.WriteFile(filepath.Join(dir, "ready"), nil, 0o644)
	fmt.Printf("session: ready at %.1f s\n", uptime())
	for {
		cmds, _ := filepath.Glob(filepath.Join(dir, "*.cmd"))
		sort.Strings(cmds)
		for _, c := range cmds {
			serveCmd(c)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// serveCmd runs one command file with sh -c and writes its answer.
func serveCmd(path string) {
	b, err := os.ReadFile(path)
	if err != nil {
		return
	}
	base := strings.TrimSuffix(path, ".cmd")
	if err := os.Rename(path, base+".running"); err != nil {
		return
	}
	cmd := exec.Command("sh", "-c", string(b))
	out, err := cmd.CombinedOutput()
	res := cmdResult{Output: string(out)}
	var ee *exec.ExitError
	switch {
	case errors.As(err, &ee):
		res.Exit = ee.ExitCode()
	case err != nil:
		res.Exit, res.Output = -1, err.Error()
	}
	jb, _ := json.Marshal(res)
	_ = os.WriteFile(base+".tmp", jb, 0o644)
	_ = os.Rename(base+".tmp", base+".out")
	fmt.Printf("session: %q: exit %d\n", b, res.Exit)
}

// dunstrc: actions through the menu (dunstctl context), which the dmenu
// script answers with the action named in ~/.wifibed/want-action.
const dunstrc = `[global]
dmenu = %s
mouse_left_click = do_action, close_current
mouse_right_click = context
[urgency_low]
timeout = 0
[urgency_normal]
timeout = 0
[urgency_critical]
timeout = 0
`

// dmenuScript keeps the menu it was given and picks the wanted action's
// line (lines end with "[ID,ACTION]").
const dmenuScript = `#!/bin/sh
cat > "$HOME/` + sessionDir + `/menu.txt"
grep -F ",$(cat "$HOME/` + sessionDir + `/want-action")]" "$HOME/` + sessionDir + `/menu.txt" | head -n 1
`

// startSessionDesktop starts Xvfb, dunst and the autostart entry.
func startSessionDesktop(dir string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	os.Setenv("DISPLAY", display)
	if err := startLogged(dir, "xvfb", "Xvfb", display, "-screen", "0", "1280x800x24", "-nolisten", "tcp"); err != nil {
		return err
	}
	if err := waitFor(ctx, 60*time.Second, "Xvfb", func() bool {
		_, err := os.Stat("/tmp/.X11-unix/X" + strings.TrimPrefix(display, ":"))
		return err == nil
	}); err != nil {
		return err
	}
	script := filepath.Join(dir, "dmenu.sh")
	if err := os.WriteFile(script, []byte(dmenuScript), 0o755); err != nil {
		return err
	}
	rc := filepath.Join(dir, "dunstrc")
	if err := os.WriteFile(rc, fmt.Appendf(nil, dunstrc, script), 0o644); err != nil {
		return err
	}
	if err := startLogged(dir, "dunst", "dunst", "-config", rc); err != nil {
		return err
	}
	if err := waitFor(ctx, 60*time.Second, "dunst on the session bus", func() bool {
		return sessionNameHasOwner("org.freedesktop.Notifications")
	}); err != nil {
		return err
	}
	args, err := autostartExec(autostart)
	if err != nil {
		return err
	}
	return startLogged(dir, "agent", args...)
}

// autostartExec is the command line of a desktop entry's Exec= (no field
// codes: the project's entry has none), after checking its TryExec=.
func autostartExec(path string) ([]string, error) {
	b, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("autostart entry: %w", err)
	}
	var execLine []string
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "TryExec="); ok {
			if _, err := exec.LookPath(v); err != nil {
				return nil, fmt.Errorf("autostart entry %s: TryExec %s: %w", path, v, err)
			}
		}
		if v, ok := strings.CutPrefix(l, "Exec="); ok {
			execLine = strings.Fields(v)
		}
	}
	if len(execLine) == 0 {
		return nil, fmt.Errorf("autostart entry %s has no Exec=", path)
	}
	return execLine, nil
}

// startLogged starts a program of the session with its output in
// ~/.wifibed/NAME.log.
func startLogged(dir, name string, args ...string) error {
	f, err := os.OpenFile(filepath.Join(dir, name+".log"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Stdout, cmd.Stderr = f, f
	if err := cmd.Start(); err != nil {
		f.Close()
		return fmt.Errorf("start %s: %w", name, err)
	}
	go func() { _ = cmd.Wait(); f.Close() }()
	fmt.Printf("session: started %s (pid %d): %s\n", name, cmd.Process.Pid, strings.Join(args, " "))
	return nil
}

func sessionNameHasOwner(name string) bool {
	conn, err := dbus.ConnectSessionBus()
	if err != nil {
		return false
	}
	defer conn.Close()
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
	return err == nil && has
}
