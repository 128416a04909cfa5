// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/wifibed"
)

// runUnderSystemd is the runner started by systemd (bootRunUnit): it waits
// until the system is up, runs the plan's scenarios, copies the capture and
// the journal to the shared folder, writes the results and powers off.
func runUnderSystemd() int {
	res := &wifibed.Results{Uptime: uptime()}
	g := &guest{res: res, systemd: true}
	defer func() {
		if r := recover(); r != nil {
			res.SetupErr = fmt.Sprintf("guest runner panicked: %v", r)
		}
		g.finishSystemd()
	}()
	fmt.Printf("wifibed-guest: started by systemd at %.1f s\n", res.Uptime)
	plan, err := readPlan()
	if err != nil {
		res.SetupErr = err.Error()
		return 1
	}
	if err := g.systemdReady(); err != nil {
		res.SetupErr = err.Error()
		return 1
	}
	res.ReadyAt = uptime()
	fmt.Printf("wifibed-guest: bed ready at %.1f s\n", res.ReadyAt)
	for _, name := range plan.Scenarios {
		res.Scenarios = append(res.Scenarios, g.runScenario(name, plan.ScenarioTimeout))
		g.writeResults()
	}
	return 0
}

// systemdReady waits until systemd has reached its default target and the
// bed's parts are there, and fills in the results' description of the bed.
func (g *guest) systemdReady() error {
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	state := ""
	if err := waitFor(ctx, 150*time.Second, "systemd running", func() bool {
		out, _ := run(ctx, "systemctl", "is-system-running")
		state = strings.TrimSpace(out)
		return state == "running" || state == "degraded"
	}); err != nil {
		out, _ := run(ctx, "systemctl", "list-jobs", "--no-pager")
		return fmt.Errorf("%w (state %q; jobs: %s)", err, state, out)
	}
	if state == "degraded" {
		out, _ := run(ctx, "systemctl", "--failed", "--no-legend", "--no-pager")
		return fmt.Errorf("systemd is degraded: %s", strings.TrimSpace(out))
	}
	if err := g.basics(ctx); err != nil {
		return err
	}
	real, err := permAddr(ctx, client)
	if err != nil {
		return err
	}
	if real != hwsimPerm(0) {
		return fmt.Errorf("%s's permanent address is %s, the access points' allow-lists have %s", client, real, hwsimPerm(0))
	}
	g.res.Client, g.res.Real = client, real
	for _, n := range bootNetworks() {
		if n.BSSID, err = permAddr(ctx, n.Iface); err != nil {
			return err
		}
		g.res.Networks = append(g.res.Networks, n)
	}
	return g.startRecorder(ctx)
}

// finishSystemd stops the capture (tcpdump flushes when stopped), copies it
// and the journal to the shared folder, writes the results and powers off.
func (g *guest) finishSystemd() {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if out, err := run(ctx, "systemctl", "stop", captureUnit); err != nil {
		fmt.Println("wifibed-guest: stop capture:", err, out)
	}
	if err := copyFile(filepath.Join(runDir, wifibed.CaptureFile), filepath.Join(wifibed.GuestMount, wifibed.CaptureFile)); err != nil {
		fmt.Println("wifibed-guest: capture:", err)
	}
	saveJournal(ctx)
	copySessionLogs()
	g.writeResults()
	fmt.Println("wifibed-guest: power off")
	if out, err := run(ctx, "systemctl", "poweroff"); err != nil {
		fmt.Println("wifibed-guest: poweroff:", err, out)
		poweroff()
	}
}

// saveJournal copies this boot's journal to logs/journal.txt.
func saveJournal(ctx context.Context) {
	out, err := run(ctx, "journalctl", "-b", "--no-pager", "-o", "short-monotonic")
	if err != nil {
		fmt.Println("wifibed-guest: journal:", err)
	}
	_ = os.WriteFile(logPath("journal"), []byte(out), 0o644)
}

// unitsRunning fails when NetworkManager, or the service while its package
// is installed (purge removes it), is not active.
func unitsRunning(ctx context.Context) error {
	var errs []error
	units := []string{"NetworkManager.service"}
	if out, err := run(ctx, "dpkg-query", "-W", "-f=${Status}", "mac-nmguard"); err == nil && strings.HasPrefix(out, "install ok installed") {
		units = append(units, "mac-nmguard.service")
	}
	for _, u := range units {
		if out, err := run(ctx, "systemctl", "is-active", u); err != nil {
			errs = append(errs, fmt.Errorf("%s is %s at the end", u, strings.TrimSpace(out)))
		}
	}
	return errors.Join(errs...)
}

// unitProps returns systemctl show's properties of unit.
func unitProps(ctx context.Context, unit string, props ...string) (map[string]string, error) {
	out, err := run(ctx, "systemctl", "show", unit, "-p", strings.Join(props, ","))
	if err != nil {
		return nil, err
	}
	m := map[string]string{}
	for _, l := range strings.Split(out, "\n") {
		if k, v, ok := strings.Cut(l, "="); ok {
			m[k] = v
		}
	}
	return m, nil
}

// monotonic is a systemctl *TimestampMonotonic property in seconds (0 when
// the event did not happen).
func monotonic(m map[string]string, prop string) float64 {
	us, _ := strconv.ParseInt(m[prop], 10, 64)
	return float64(us) / 1e6
}

// systemdScenarios are the scenarios of the systemd boot.
func systemdScenarios() map[string]func(*sc) error {
	return map[string]func(*sc) error{
		"boot-installed": bootInstalled,
		"session-story":  sessionStory,
		// Two boots with the state kept.
		"state-first-boot":  stateFirstBoot,
		"state-second-boot": stateSecondBoot,
		// The package on a running system.
		"purge":                     purge,
		"install-running":           installRunning,
		"hotplug-installed":         hotplugInstalled,
		"refusal-warning":           refusalWarning,
		"sigkill":                   sigkill,
		"restart-during-activation": restartDuringActivation,
	}
}

// bootInstalled: the machine booted with the package installed and its
// unit enabled, the radios present from early boot and an autoconnect
// profile. The client connects with a private address; the unit was
// active before NetworkManager started, the capture before the service;
// `mac-nmguard check` from a root shell says compliant. Its frames are
// judged from the start of the boot (its window starts at boot).
func bootInstalled(s *sc) error {
	s.since = time.Now().Add(-time.Duration(uptime() * float64(time.Second)))
	if out, err := run(s.ctx, "dpkg-query", "-W", "-f=${Status} ${Version}", "mac-nmguard"); err != nil || !strings.HasPrefix(out, "install ok installed") {
		return fmt.Errorf("mac-nmguard not installed from the package: %q %v", out, err)
	}
	if out, err := run(s.ctx, "systemctl", "is-enabled", "mac-nmguard.service"); err != nil {
		return fmt.Errorf("mac-nmguard.service is not enabled: %s", strings.TrimSpace(out))
	}
	if err := s.waitAutoconnect(); err != nil {
		return err
	}
	addr := s.address()
	s.logf("%s connected by autoconnect (%s) with %s, %s", client, bootProfile, addr, s.ipv4())
	if addr == s.g.res.Real {
		return fmt.Errorf("%s connected with its real address %s", client, addr)
	}
	if s.ipv4() == "" {
		return fmt.Errorf("%s connected without an IPv4 address", client)
	}
	p := []string{"ActiveState", "InactiveExitTimestampMonotonic", "ExecMainStartTimestampMonotonic", "ActiveEnterTimestampMonotonic"}
	svc, err := unitProps(s.ctx, "mac-nmguard.service", p...)
	if err != nil {
		return err
	}
	nm, err := unitProps(s.ctx, "NetworkManager.service", p...)
	if err != nil {
		return err
	}
	capt, err := unitProps(s.ctx, captureUnit, p...)
	if err != nil {
		return err
	}
	s.logf("monotonic s: capture active %.2f; service started %.2f, active %.2f; NetworkManager started %.2f, active %.2f",
		monotonic(capt, "ActiveEnterTimestampMonotonic"), monotonic(svc, "ExecMainStartTimestampMonotonic"), monotonic(svc, "ActiveEnterTimestampMonotonic"),
		monotonic(nm, "ExecMainStartTimestampMonotonic"), monotonic(nm, "ActiveEnterTimestampMonotonic"))
	switch {
	case svc["ActiveState"] != "active":
		return fmt.Errorf("mac-nmguard.service is %s", svc["ActiveState"])
	case monotonic(svc, "ActiveEnterTimestampMonotonic") == 0 || monotonic(nm, "ExecMainStartTimestampMonotonic") == 0:
		return fmt.Errorf("no start times: service %v, NetworkManager %v", svc, nm)
	case monotonic(svc, "ActiveEnterTimestampMonotonic") > monotonic(nm, "ExecMainStartTimestampMonotonic"):
		return errors.New("NetworkManager started before the service was active")
	case monotonic(capt, "ActiveEnterTimestampMonotonic") == 0 || monotonic(capt, "ActiveEnterTimestampMonotonic") > monotonic(svc, "ExecMainStartTimestampMonotonic"):
		return errors.New("the capture was not listening before the service started")
	}
	return checkCompliant(s)
}

// waitAutoconnect waits until the autoconnect profile has connected the
// client. Under TCG an access point may take a late association retry for
// a new association and time the handshake out (seen: reason 15 right
// after "handshake completed"); NetworkManager then asks for secrets no
// one gives and blocks the profile. A user would connect again: so does
// this, once, and says so.
func (s *sc) waitAutoconnect() error {
	// Connected: done. An attempt that ended (connecting, then
	// disconnected for 5 s) is not retried by NetworkManager when it
	// wanted secrets: connect by hand then, not after the whole wait.
	tried, connected := false, false
	var since time.Time
	err := waitFor(s.ctx, 100*time.Second, "autoconnect", func() bool {
		out, err := s.nmcli("-g", "GENERAL.STATE", "device", "show", client)
		st := strings.TrimSpace(out)
		switch {
		case err != nil:
		case strings.HasPrefix(st, "100"):
			connected = true
			return true
		case strings.HasPrefix(st, "30"): // disconnected
			if since.IsZero() {
				since = time.Now()
			}
			return tried && time.Since(since) > 5*time.Second
		default:
			tried, since = true, time.Time{}
		}
		return false
	})
	if connected {
		return nil
	}
	s.logf("autoconnect did not connect (%v)%s; connecting %s by hand", err, s.apRepeats(), bootProfile)
	if _, err := s.nmcli("--wait", "90", "connection", "up", bootProfile); err != nil {
		return fmt.Errorf("the autoconnect profile did not connect: %w", err)
	}
	return nil
}

// checkCompliant runs `mac-nmguard check` as root (a root shell's PATH) and
// requires it to say compliant: no violation, no finding, exit status 0.
func checkCompliant(s *sc) error {
	out, err := runStdout(s.ctx, "mac-nmguard", "check", "--json")
	var rep struct {
		Compliant bool `json:"compliant"`
		ExitCode  int  `json:"exit_code"`
		Devices   []struct {
			Interface, Verdict, Backstop string
		} `json:"devices"`
		Findings []struct {
			Severity, Kind, Message string
		} `json:"findings"`
	}
	if jerr := json.Unmarshal([]byte(out), &rep); jerr != nil {
		return fmt.Errorf("mac-nmguard check --json: %w: %s", jerr, out)
	}
	s.logf("mac-nmguard check (root): compliant=%v exit=%d devices %+v findings %+v", rep.Compliant, rep.ExitCode, rep.Devices, rep.Findings)
	if !rep.Compliant || rep.ExitCode != 0 || err != nil {
		return fmt.Errorf("mac-nmguard check does not say compliant (exit %d)", rep.ExitCode)
	}
	return nil
}

// apRepeats says what the access points' journal tells of a failed
// autoconnect: the stations hostapd saw associate again without a new
// authentication (the late association retry under TCG), "" when none or
// when the journal cannot be read.
func (s *sc) apRepeats() string {
	out, err := runStdout(s.ctx, "journalctl", "-u", apUnit, "-o", "cat", "--no-pager")
	if err != nil {
		return ""
	}
	var parts []string
	for sta, n := range repeatedAssociations(out) {
		parts = append(parts, fmt.Sprintf("%s %d time(s)", sta, n))
	}
	if len(parts) == 0 {
		return " (hostapd saw no repeated association)"
	}
	sort.Strings(parts)
	return " (hostapd saw a station associate again without authenticating: " + strings.Join(parts, ", ") + ")"
}
