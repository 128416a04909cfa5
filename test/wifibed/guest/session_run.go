// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/godbus/dbus/v5"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// The runner's side of the users' sessions (session.go).

var cmdSeq atomic.Int64

// userDir is the session helper's folder of user.
func userDir(user string) string { return filepath.Join("/home", user, sessionDir) }

// waitSessionReady waits until user's session helper serves commands.
func waitSessionReady(ctx context.Context, user string, timeout time.Duration) error {
	err := waitFor(ctx, timeout, user+"'s session", func() bool {
		_, err := os.Stat(filepath.Join(userDir(user), "ready"))
		return err == nil
	})
	if err != nil {
		b, _ := os.ReadFile(filepath.Join(userDir(user), "failed"))
		return fmt.Errorf("%w %s", err, b)
	}
	return nil
}

// inSession runs cmd (sh -c) in user's login session, as user.
func inSession(ctx context.Context, user, cmd string, timeout time.Duration) (cmdResult, error) {
	var res cmdResult
	base := filepath.Join(userDir(user), fmt.Sprintf("%04d", cmdSeq.Add(1)))
	if err := os.WriteFile(base+".new", []byte(cmd), 0o644); err != nil {
		return res, err
	}
	if err := os.Rename(base+".new", base+".cmd"); err != nil {
		return res, err
	}
	var b []byte
	if err := waitFor(ctx, timeout, fmt.Sprintf("%q in %s's session", cmd, user), func() bool {
		var err error
		b, err = os.ReadFile(base + ".out")
		return err == nil
	}); err != nil {
		return res, err
	}
	err := json.Unmarshal(b, &res)
	return res, err
}

// loginSession returns logind's properties of user's session on tty.
func loginSession(ctx context.Context, user, tty string) (map[string]string, error) {
	out, err := run(ctx, "loginctl", "list-sessions", "--no-legend")
	if err != nil {
		return nil, err
	}
	for _, l := range strings.Split(out, "\n") {
		f := strings.Fields(l)
		if len(f) < 3 || f[2] != user {
			continue
		}
		p, err := run(ctx, "loginctl", "show-session", f[0], "-p", "Id", "-p", "Name", "-p", "Seat", "-p", "TTY", "-p", "Active", "-p", "Remote", "-p", "Type", "-p", "State")
		if err != nil {
			return nil, err
		}
		m := map[string]string{}
		for _, kv := range strings.Split(p, "\n") {
			if k, v, ok := strings.Cut(kv, "="); ok {
				m[k] = v
			}
		}
		if m["TTY"] == tty {
			return m, nil
		}
	}
	return nil, fmt.Errorf("no session of %s on %s: %s", user, tty, out)
}

// systemNameHasOwner says whether name has an owner on the system bus now
// (without starting it).
func systemNameHasOwner(name string) (bool, error) {
	conn, err := dbus.ConnectSystemBus()
	if err != nil {
		return false, err
	}
	defer conn.Close()
	var has bool
	err = conn.BusObject().Call("org.freedesktop.DBus.NameHasOwner", 0, name).Store(&has)
	return has, err
}

// copySessionLogs copies the helpers' logs to the shared folder.
func copySessionLogs() {
	for _, u := range []string{sessionUser, otherUser} {
		logs, _ := filepath.Glob(filepath.Join(userDir(u), "*.log"))
		for _, l := range logs {
			_ = copyFile(l, logPath(u+"-"+strings.TrimSuffix(filepath.Base(l), ".log")))
		}
	}
}

// refused requires a command's answer to be polkit's refusal.
func refused(what string, r cmdResult) error {
	if r.Exit == 0 {
		return fmt.Errorf("%s was allowed: %s", what, strings.TrimSpace(r.Output))
	}
	if !strings.Contains(r.Output, "not authorised") && !strings.Contains(r.Output, "needs authentication") {
		return fmt.Errorf("%s failed, but not as refused by polkit (exit %d): %s", what, r.Exit, strings.TrimSpace(r.Output))
	}
	return nil
}

// waitReal waits until the client is connected with its real address and
// an IPv4 lease.
func (s *sc) waitReal(timeout time.Duration) error {
	return waitFor(s.ctx, timeout, client+" connected with its real address", func() bool {
		out, err := s.nmcli("-t", "-f", "GENERAL.STATE", "device", "show", client)
		return err == nil && strings.Contains(out, "100 (connected)") &&
			strings.EqualFold(s.address(), s.g.res.Real) && s.ipv4() != ""
	})
}

// sessionStory is issue 20's story in a real session: "aclreal" refuses
// the private address; the service raises a suspicion; the agent, started
// from its autostart file in alice's session on tty1, shows the
// notification; its "Use real address this time" (through dunst's menu,
// dunstctl context) makes the agent call Restore; polkit, not running
// until then, is started by D-Bus and allows it without an administrator
// (alice's session is active and local, the suspicion pending); the card
// reconnects with its real address; the next network is private again.
// Then the refusals, on a suspicion pending on "aclreal2": "always" from alice's session
// (an administrator's), and "this time" from bob's inactive session on
// tty2 and from bob's session without a seat (runuser -l).
func sessionStory(s *sc) error {
	var alice map[string]string
	err := waitFor(s.ctx, 90*time.Second, "logind's sessions", func() bool {
		_, err1 := loginSession(s.ctx, sessionUser, "tty1")
		_, err2 := loginSession(s.ctx, otherUser, "tty2")
		return err1 == nil && err2 == nil
	})
	if err == nil {
		alice, err = loginSession(s.ctx, sessionUser, "tty1")
	}
	if err != nil {
		for _, c := range [][]string{{"loginctl", "--no-pager"}, {"systemctl", "status", "--no-pager", "getty@tty1", "getty@tty2"},
			{"ps", "-eo", "pid,user,tty,args"}, {"ls", "-la", "/etc/systemd/system/getty.target.wants", "/etc/systemd/system/getty@tty1.service.d"}} {
			out, _ := run(s.ctx, c...)
			s.logf("%s:\n%s", strings.Join(c, " "), out)
		}
		return err
	}
	s.logf("logind: %s's session %v", sessionUser, alice)
	if alice["Seat"] != "seat0" || alice["Active"] != "yes" || alice["Remote"] != "no" {
		return fmt.Errorf("%s's session on tty1 is not active and local on seat0: %v", sessionUser, alice)
	}
	bob, err := loginSession(s.ctx, otherUser, "tty2")
	if err != nil {
		return err
	}
	s.logf("logind: %s's session %v", otherUser, bob)
	if bob["Seat"] != "seat0" || bob["Active"] != "no" {
		return fmt.Errorf("%s's session on tty2 is not an inactive one of seat0: %v", otherUser, bob)
	}
	for _, u := range []string{sessionUser, otherUser} {
		if err := waitSessionReady(s.ctx, u, 90*time.Second); err != nil {
			return err
		}
	}
	if out, err := run(s.ctx, "pgrep", "-u", sessionUser, "-f", "mac-nmguard agent"); err != nil {
		return fmt.Errorf("the agent is not running in %s's session: %w", sessionUser, err)
	} else {
		s.logf("agent running (pid %s), started from %s", strings.TrimSpace(out), autostart)
	}
	if has, err := systemNameHasOwner("org.freedesktop.PolicyKit1"); err != nil || has {
		return fmt.Errorf("polkit is running before anyone asked it (%v): the test cannot show it started on demand", err)
	}
	if err := s.addProfile("acl", "aclreal"); err != nil {
		return err
	}
	if err := s.refuse("acl"); err != nil {
		return err
	}
	if err := waitFor(s.ctx, 30*time.Second, "the notification", func() bool {
		r, err := inSession(s.ctx, sessionUser, "dunstctl count displayed", 10*time.Second)
		n, _ := strconv.Atoi(strings.TrimSpace(r.Output))
		return err == nil && n > 0
	}); err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(userDir(sessionUser), "want-action"), []byte("restore"), 0o644); err != nil {
		return err
	}
	s.logf("%s: the notification's \"this time\" (dunstctl context)", wifibed.RestoreOpen)
	t := time.Now()
	if r, err := inSession(s.ctx, sessionUser, "dunstctl context", 30*time.Second); err != nil || r.Exit != 0 {
		return fmt.Errorf("dunstctl context: %v %+v", err, r)
	}
	// dunst runs the dmenu script after dunstctl returns.
	var menu []byte
	_ = waitFor(s.ctx, 30*time.Second, "dunst's menu", func() bool {
		menu, _ = os.ReadFile(filepath.Join(userDir(sessionUser), "menu.txt"))
		return strings.Contains(string(menu), "]")
	})
	s.logf("dunst's menu: %q", menu)
	if !strings.Contains(string(menu), ",restore]") || !strings.Contains(string(menu), ",restore-always]") {
		return fmt.Errorf("the notification's menu lacks the restore actions: %q", menu)
	}
	if err := s.waitReal(90 * time.Second); err != nil {
		s.logf("%s", wifibed.RestoreClosed)
		return err
	}
	s.logf("%s %.3f s: %s connected with its real address %s, %s", wifibed.RestoreTook, time.Since(t).Seconds(), client, s.address(), s.ipv4())
	if has, err := systemNameHasOwner("org.freedesktop.PolicyKit1"); err != nil || !has {
		return fmt.Errorf("polkit is not running after the restore (%v)", err)
	}
	s.logf("polkit running: started on demand")
	if err := s.down(); err != nil {
		return err
	}
	time.Sleep(time.Second) // the service makes acl private again
	s.logf("%s", wifibed.RestoreClosed)
	if err := s.upOK(bootProfile); err != nil {
		return err
	}
	if err := s.private(bootProfile); err != nil {
		return err
	}
	s.logf("next network private: %s", s.address())
	if err := s.down(); err != nil {
		return err
	}

	// The refusals, with a suspicion pending on another network.
	if err := s.addProfile("acl2", "aclreal2"); err != nil {
		return err
	}
	if err := s.refuse("acl2"); err != nil {
		return err
	}
	restore := "mac-nmguard restore " + client + " --connection acl2 --timeout 30s"
	r, err := inSession(s.ctx, sessionUser, restore+" --always", 60*time.Second)
	if err != nil {
		return err
	}
	s.logf("%s (active session): \"always\": exit %d: %s", sessionUser, r.Exit, strings.TrimSpace(r.Output))
	if err := refused("always from the active session", r); err != nil {
		return err
	}
	r, err = inSession(s.ctx, otherUser, restore, 60*time.Second)
	if err != nil {
		return err
	}
	s.logf("%s (inactive session on tty2): exit %d: %s", otherUser, r.Exit, strings.TrimSpace(r.Output))
	if err := refused("this time from an inactive session", r); err != nil {
		return err
	}
	out, err := run(s.ctx, "runuser", "-l", otherUser, "-c", restore)
	r = cmdResult{Output: out}
	if err != nil {
		r.Exit = 1
	}
	s.logf("%s (runuser -l: a session without a seat): %v: %s", otherUser, err, strings.TrimSpace(out))
	if err := refused("this time from another user's session without a seat", r); err != nil {
		return err
	}
	if strings.EqualFold(s.address(), s.g.res.Real) {
		return errors.New("the client has its real address after the refusals")
	}
	return nil
}

// refuse has profile refused (a second time, as NetworkManager's
// autoconnect would retry, when the first raised nothing) and waits for the
// service's suspicion.
func (s *sc) refuse(profile string) error {
	_, ns := s.g.rec.mark()
	for range 2 {
		if err := s.upFails(profile); err != nil {
			return err
		}
		if _, sus := s.g.rec.since(0, ns); len(sus) > 0 {
			break
		}
	}
	return s.waitSuspicion(ns, 60*time.Second)
}
