// SPDX-License-Identifier: GPL-3.0-or-later

//go:build linux

package test

import (
	"bytes"
	"encoding/json"
	"errors"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// checkArgs are the arguments that point `mac-nmguard check` at the bed:
// its own policy and state dirs (the bed's cards rule only, no state) and
// the bed NetworkManager's configuration files instead of the host's.
func checkArgs(t testing.TB, b *bed.Bed, args ...string) []string {
	dir := filepath.Join(b.Dir, "check")
	writeBedCards(t, filepath.Join(dir, "policy.d"))
	return append([]string{binPath, "check",
		"--policy", filepath.Join(dir, "policy.toml"),
		"--policy-dir", filepath.Join(dir, "policy.d"),
		"--state-dir", filepath.Join(dir, "state"),
		"--runtime-dir", filepath.Join(dir, "run"),
		"--nm-conf", filepath.Join(b.Dir, "NetworkManager.conf"),
		"--nm-conf-dir", filepath.Join(b.Dir, "nm-sysconf.d"),
		"--nm-conf-dir", filepath.Join(b.Dir, "nm-conf.d"),
	}, args...)
}

// runCheck runs `mac-nmguard check args...` in the bed's client namespace on
// the bed's bus (bed.StartProcess), waits for it and returns its exit code
// and its output (stdout, then stderr: they share the log).
func runCheck(t *testing.T, b *bed.Bed, args ...string) (int, string) {
	t.Helper()
	p := b.StartProcess(t, b.ClientNS, nil, checkArgs(t, b, args...)...)
	err := p.Wait(60 * time.Second)
	code := 0
	if err != nil {
		var ee *exec.ExitError
		if !errors.As(err, &ee) {
			t.Fatalf("check did not finish: %v\n%s", err, p.Log())
		}
		code = ee.ExitCode()
	}
	return code, p.Log()
}

// decodeReport parses the JSON report at the start of out (stderr follows).
func decodeReport(t *testing.T, out string) inspect.CheckReport {
	t.Helper()
	var r inspect.CheckReport
	dec := json.NewDecoder(strings.NewReader(out))
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("check --json output does not parse: %v\n%s", err, out)
	}
	return r
}

func reportDevice(r inspect.CheckReport, name string) (inspect.CheckDevice, bool) {
	for _, d := range r.Devices {
		if d.Interface == name {
			return d, true
		}
	}
	return inspect.CheckDevice{}, false
}

// TestIntegrationCheckProfilePermanent: a profile with
// cloned-mac-address=permanent on a device contradicts the default policy
// (keep-vendor): check exits 1 and names the profile, in text and JSON.
func TestIntegrationCheckProfilePermanent(t *testing.T) {
	bed.Require(t)
	b := bed.New(t, bed.Options{Devices: 2})
	uuid := b.AddProfile(t, bed.Profile{Name: "chk-permanent", Interface: "nmt0", ClonedMAC: "permanent"})
	b.AddProfile(t, bed.Profile{Name: "chk-preserve", Interface: "nmt1", ClonedMAC: "preserve"})

	code, out := runCheck(t, b, "--json")
	if code != inspect.CheckExitFindings {
		t.Fatalf("check --json exit code = %d, want %d\n%s", code, inspect.CheckExitFindings, out)
	}
	r := decodeReport(t, out)
	if r.Format != inspect.CheckFormat || r.ExitCode != code || r.Compliant {
		t.Errorf("report format %d exit_code %d compliant %t; want %d, %d, false", r.Format, r.ExitCode, r.Compliant, inspect.CheckFormat, code)
	}
	if !r.NM.Running || r.NM.Version == "" || r.NM.Profiles < 2 {
		t.Errorf("networkmanager = %+v, want running with a version and >= 2 profiles", r.NM)
	}
	var named []inspect.Finding
	for _, f := range r.Findings {
		if f.Kind == inspect.KindProfileCloned {
			named = append(named, f)
		}
	}
	if len(named) != 1 || named[0].Profile != "chk-permanent" || named[0].UUID != uuid ||
		named[0].Severity != inspect.SeverityViolation || !slices.Equal(named[0].Devices, []string{"nmt0"}) ||
		!strings.Contains(named[0].Fix, uuid) {
		t.Errorf("profile findings = %+v, want one violation naming chk-permanent (%s) on nmt0 with a fix naming it", named, uuid)
	}
	for i, name := range []string{"nmt0", "nmt1"} {
		d, ok := reportDevice(r, name)
		if !ok {
			t.Fatalf("device %s missing from the report: %+v", name, r.Devices)
		}
		if d.NMType != "veth" || d.NMState != "disconnected" || d.Address != bed.DeviceMAC(i).String() || d.Mode != "keep-vendor" {
			t.Errorf("%s = %+v, want NM veth, disconnected, address %s, mode keep-vendor", name, d, bed.DeviceMAC(i))
		}
		// A veth has no permanent address and this bed has no service state.
		if d.RealSource != "unknown" || d.Verdict != inspect.VerdictViolation {
			t.Errorf("%s real source %q verdict %q, want unknown / violation (fail closed)", name, d.RealSource, d.Verdict)
		}
	}

	// The same in text, for people, with the profile named.
	code, out = runCheck(t, b, "nmt0")
	if code != inspect.CheckExitFindings {
		t.Fatalf("check nmt0 exit code = %d, want 1\n%s", code, out)
	}
	for _, want := range []string{"DEVICE", "nmt0", `"chk-permanent"`, "cloned-mac-address=permanent", "violation(s)"} {
		if !strings.Contains(out, want) {
			t.Errorf("check nmt0 output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "nmt1") {
		t.Errorf("check nmt0 shows nmt1:\n%s", out)
	}
	if strings.Contains(out, "\x1b[") {
		t.Errorf("check wrote colour to a file:\n%q", out)
	}
}

// TestIntegrationCheckUnknownInterface: a name that is no device is a
// clear error (exit 2), not an empty report.
func TestIntegrationCheckUnknownInterface(t *testing.T) {
	bed.Require(t)
	b := bed.New(t, bed.Options{Devices: 1})
	code, out := runCheck(t, b, "nosuch0")
	if code != inspect.CheckExitNoCheck || !strings.Contains(out, "unknown interface: nosuch0") {
		t.Errorf("check nosuch0: exit %d, output:\n%s\nwant exit 2 and \"unknown interface: nosuch0\"", code, out)
	}
}

// TestIntegrationCheckNMStopped: with NetworkManager stopped, check exits
// 2, says why on stderr, and still lists the kernel's devices.
func TestIntegrationCheckNMStopped(t *testing.T) {
	bed.Require(t)
	b := bed.New(t, bed.Options{Devices: 2})
	b.StopNM(t)

	code, out := runCheck(t, b)
	if code != inspect.CheckExitNoCheck {
		t.Fatalf("exit code = %d, want %d\n%s", code, inspect.CheckExitNoCheck, out)
	}
	if !strings.Contains(out, "mac-nmguard: could not check: NetworkManager is not running") {
		t.Errorf("output does not say NetworkManager is not running:\n%s", out)
	}
	for _, d := range b.Devices() {
		if !strings.Contains(out, d.Name) || !strings.Contains(out, d.MAC.String()) {
			t.Errorf("output does not list kernel device %s (%s):\n%s", d.Name, d.MAC, out)
		}
	}

	code, out = runCheck(t, b, "--json")
	if code != inspect.CheckExitNoCheck {
		t.Fatalf("--json exit code = %d, want %d\n%s", code, inspect.CheckExitNoCheck, out)
	}
	r := decodeReport(t, out)
	if r.NM.Running || r.NM.Error == "" || r.ExitCode != inspect.CheckExitNoCheck || r.Compliant {
		t.Errorf("report networkmanager %+v exit %d compliant %t; want not running with an error, 2, false", r.NM, r.ExitCode, r.Compliant)
	}
	for i, d := range b.Devices() {
		cd, ok := reportDevice(r, d.Name)
		if !ok || cd.Address != bed.DeviceMAC(i).String() || cd.Index == 0 || cd.NMType != "" {
			t.Errorf("device %s = %+v (found %t), want its kernel view (address %s, ifindex, no NM type)", d.Name, cd, ok, bed.DeviceMAC(i))
		}
	}
}

// BenchmarkCheckVsNmcli times one `mac-nmguard check` and one
// `nmcli -t -f all device show` on a bed with 50 devices, side by side in
// the same loop, both started the same way (ip netns exec). Goal: check
// under 50 ms wall and never slower than nmcli: it reports the mean of
// each, their ratio, check's 95th percentile and slowest run and how many pairs check lost
// (figures only, never asserted). Both go through ip netns exec on purpose: it also gives
// them the namespace's own /sys, as on a real machine (nmcli reads the
// devices there through udev; started from a thread that is only in the
// network namespace, it sees the host's /sys and runs faster than it would
// on a machine with 50 cards).
func BenchmarkCheckVsNmcli(b *testing.B) {
	bed.Require(b)
	tb := bed.New(b, bed.Options{Devices: 50})
	check := append([]string{"netns", "exec", tb.ClientNS}, checkArgs(b, tb, "--json")...)
	nmcli := []string{"netns", "exec", tb.ClientNS, "nmcli", "-t", "-f", "all", "device", "show"}
	env := "DBUS_SYSTEM_BUS_ADDRESS=" + tb.BusAddress
	var out bytes.Buffer
	run := func(args []string, okCodes ...int) time.Duration {
		cmd := exec.Command("ip", args...)
		cmd.Env = append(cmd.Environ(), env)
		out.Reset()
		cmd.Stdout, cmd.Stderr = &out, &out
		t0 := time.Now()
		err := cmd.Run()
		d := time.Since(t0)
		code := 0
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			code = ee.ExitCode()
		} else if err != nil {
			b.Fatalf("%s: %v", strings.Join(args, " "), err)
		}
		if !slices.Contains(okCodes, code) {
			b.Fatalf("%s: exit %d\n%s", strings.Join(args, " "), code, out.String())
		}
		return d
	}
	// Warm up both (page cache), and check that check sees all 50.
	run(nmcli, 0)
	run(check, inspect.CheckExitCompliant, inspect.CheckExitFindings)
	var r inspect.CheckReport
	if err := json.NewDecoder(&out).Decode(&r); err != nil {
		b.Fatalf("check --json: %v", err)
	}
	if len(r.Devices) != 50 || !r.NM.Running {
		b.Fatalf("check saw %d devices (NM running %t), want 50", len(r.Devices), r.NM.Running)
	}
	var tCheck, tNmcli, maxCheck time.Duration
	checks := make([]time.Duration, 0, b.N)
	lost := 0
	b.ResetTimer()
	for range b.N {
		c := run(check, inspect.CheckExitCompliant, inspect.CheckExitFindings)
		m := run(nmcli, 0)
		tCheck += c
		tNmcli += m
		maxCheck = max(maxCheck, c)
		checks = append(checks, c)
		if c > m {
			lost++
		}
	}
	b.StopTimer()
	n := float64(b.N)
	b.ReportMetric(float64(tCheck.Nanoseconds())/n, "check-ns/op")
	b.ReportMetric(float64(tNmcli.Nanoseconds())/n, "nmcli-ns/op")
	b.ReportMetric(float64(tNmcli)/float64(tCheck), "nmcli/check")
	b.ReportMetric(float64(maxCheck.Nanoseconds()), "check-max-ns")
	// The 95th percentile, nearest rank: with 20 pairs, the second slowest.
	slices.Sort(checks)
	b.ReportMetric(float64(checks[(len(checks)*95+99)/100-1].Nanoseconds()), "check-p95-ns")
	b.ReportMetric(float64(lost), "check-slower-pairs")
}

// TestIntegrationCheckActiveConnection: check reads NetworkManager's
// devices, profiles and active connections in one read (GetManagedObjects
// and the profiles' settings): on a bed with profiles, an active connection
// and idle devices, the report names the active connection on its device
// and no connection on the others.
func TestIntegrationCheckActiveConnection(t *testing.T) {
	bed.Require(t)
	b := bed.New(t, bed.Options{Devices: 4})
	b.AddProfile(t, bed.Profile{Name: "cmp-permanent", Interface: "nmt0", ClonedMAC: "permanent"})
	b.AddProfile(t, bed.Profile{Name: "cmp-preserve", Interface: "nmt1", ClonedMAC: "preserve"})
	up := b.AddProfile(t, bed.Profile{Name: "cmp-up", Interface: "nmt2", IPv4Method: "disabled"})
	if err := b.Activate(t, up, "nmt2"); err != nil {
		t.Fatalf("activate cmp-up: %v", err)
	}
	b.WaitState(t, "nmt2", 100, 30*time.Second)

	code, out := runCheck(t, b, "--json")
	r := decodeReport(t, out)
	if code != r.ExitCode {
		t.Fatalf("check: exit %d, report says %d", code, r.ExitCode)
	}
	if !r.NM.Running || r.NM.Version == "" || r.NM.Profiles < 3 || r.NM.Error != "" {
		t.Errorf("networkmanager = %+v, want running with a version, >= 3 profiles and no error", r.NM)
	}
	for i, name := range []string{"nmt0", "nmt1", "nmt2", "nmt3"} {
		d, ok := reportDevice(r, name)
		if !ok {
			t.Fatalf("device %s missing from the report: %+v", name, r.Devices)
		}
		want := inspect.CheckDevice{NMType: "veth", NMState: "disconnected", Address: bed.DeviceMAC(i).String()}
		if name == "nmt2" {
			want.NMState, want.Connection, want.UUID = "activated", "cmp-up", up
		}
		got := inspect.CheckDevice{NMType: d.NMType, NMState: d.NMState, Address: d.Address, Connection: d.Connection, UUID: d.UUID}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("%s (-want +got):\n%s", name, diff)
		}
	}
}
