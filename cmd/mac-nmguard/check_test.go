// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/nmhook/inspect"
)

func sampleReport() inspect.CheckReport {
	return inspect.CheckReport{
		Format: inspect.CheckFormat,
		Policy: inspect.CheckPolicy{BuiltinDefault: true, Spoof: true},
		NM:     inspect.CheckNM{Running: true, Version: "1.42.4"},
		Devices: []inspect.CheckDevice{
			{Interface: "eth0", NMType: "ethernet", NMState: "disconnected", Address: "00:1b:21:11:22:33", Real: "00:1b:21:aa:bb:cc",
				RealSource: "kernel permanent address", Mode: "keep-vendor", Enforcement: "refuse", Rule: "built-in default",
				Verdict: inspect.VerdictCompliant, Reason: "fine", Gate: "allows it", Backstop: "guarding 00:1b:21:aa:bb:cc", Dropped: 3},
			{Interface: "enx00e04c680001", Address: "00:e0:4c:68:00:01", RealSource: "unknown", Mode: "keep-vendor",
				Enforcement: "refuse", Rule: "built-in default", Verdict: inspect.VerdictViolation, Reason: "unknown real", Gate: "keeps it down", Backstop: "none"},
		},
		Findings: []inspect.Finding{{Severity: inspect.SeverityViolation, Kind: inspect.KindRealUnknown, Message: "the real address is unknown", Fix: "run the service"}},
		ExitCode: inspect.CheckExitFindings,
	}
}

func TestCheckTextIsAligned(t *testing.T) {
	var b bytes.Buffer
	if err := writeCheckText(&b, sampleReport(), false); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	if strings.Contains(out, "\x1b[") {
		t.Errorf("colour without a terminal:\n%s", out)
	}
	lines := strings.Split(out, "\n")
	var header string
	var rows []string
	for i, l := range lines {
		if strings.HasPrefix(l, "DEVICE") {
			header, rows = l, lines[i+1:i+3]
		}
	}
	if header == "" {
		t.Fatalf("no device table:\n%s", out)
	}
	col := strings.Index(header, "VERDICT")
	for _, r := range rows {
		if len(r) <= col || (r[col:] != "compliant" && r[col:] != "violation") {
			t.Errorf("row %q: verdict not under the header at column %d\n%s", r, col, out)
		}
	}
	for _, want := range []string{"Policy:", "built-in default", "NetworkManager:  running, version 1.42.4", "Service:",
		"  real address:  00:1b:21:aa:bb:cc (kernel permanent address)", "backstop:      guarding 00:1b:21:aa:bb:cc, 3 frame(s) dropped",
		"VIOLATION [real-address-unknown] the real address is unknown", "fix: run the service"} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

func TestCheckTextColour(t *testing.T) {
	var b bytes.Buffer
	if err := writeCheckText(&b, sampleReport(), true); err != nil {
		t.Fatal(err)
	}
	out := b.String()
	for _, want := range []string{ansiRed + "violation" + ansiReset, ansiGreen + "compliant" + ansiReset, ansiRed + "VIOLATION" + ansiReset} {
		if !strings.Contains(out, want) {
			t.Errorf("coloured output lacks %q:\n%q", want, out)
		}
	}
	// Colour only ends lines in the table, so the columns stay aligned.
	for _, l := range strings.Split(out, "\n") {
		if strings.HasPrefix(l, "eth0 ") && !strings.HasSuffix(l, ansiReset) {
			t.Errorf("colour inside a table row: %q", l)
		}
	}
}

func TestCheckTextNoFindings(t *testing.T) {
	r := sampleReport()
	r.Devices, r.Findings = r.Devices[:1], nil
	var b bytes.Buffer
	if err := writeCheckText(&b, r, false); err != nil {
		t.Fatal(err)
	}
	if !strings.Contains(b.String(), "No findings: every device complies.") {
		t.Errorf("output:\n%s", b.String())
	}
}

type failWriter struct{}

func (failWriter) Write([]byte) (int, error) { return 0, errors.New("disk full") }

func TestCheckTextWriteError(t *testing.T) {
	if err := writeCheckText(failWriter{}, sampleReport(), false); err == nil || !strings.Contains(err.Error(), "disk full") {
		t.Errorf("writeCheckText to a failing writer = %v, want the write error", err)
	}
}

func TestCheckExit(t *testing.T) {
	r := sampleReport()
	r.ExitCode = inspect.CheckExitCompliant
	if err := checkExit(r); err != nil {
		t.Errorf("compliant: %v", err)
	}
	r.ExitCode = inspect.CheckExitFindings
	r.Findings = append(r.Findings, inspect.Finding{Severity: inspect.SeverityFinding}, inspect.Finding{Severity: inspect.SeverityNote})
	err := checkExit(r)
	if exitCode(err) != 1 || err.Error() != "1 violation(s), 1 finding(s)" {
		t.Errorf("findings: %v (exit %d)", err, exitCode(err))
	}
	r.ExitCode = inspect.CheckExitNoCheck
	r.NM.Error = "NetworkManager is not running"
	err = checkExit(r)
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "could not check: NetworkManager is not running") {
		t.Errorf("no check: %v (exit %d)", err, exitCode(err))
	}
}

func TestUseColour(t *testing.T) {
	t.Setenv("NO_COLOR", "")
	if useColour(&bytes.Buffer{}) {
		t.Error("colour for a buffer")
	}
	r, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { r.Close(); w.Close() })
	if useColour(w) {
		t.Error("colour for a pipe")
	}
	pty, err := os.OpenFile("/dev/ptmx", os.O_RDWR, 0)
	if err != nil {
		t.Logf("no pseudo-terminal to test the positive case: %v", err)
		return
	}
	t.Cleanup(func() { pty.Close() })
	if !useColour(pty) {
		t.Error("no colour for a terminal")
	}
	t.Setenv("NO_COLOR", "1")
	if useColour(pty) {
		t.Error("colour despite NO_COLOR")
	}
}

// TestCheckCommandWithoutBus runs the command against a bus that does not
// exist: exit 2, stated on the error, and the JSON still parses and lists
// what netlink shows; an invalid policy file is reported, not fatal.
func TestCheckCommandWithoutBus(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(dir, "no-bus"))
	pol := filepath.Join(dir, "policy.toml")
	if err := os.WriteFile(pol, []byte("[default]\nmode = \"spoofy\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	root := newRootCmd()
	var out bytes.Buffer
	root.SetOut(&out)
	root.SetArgs([]string{"check", "--json", "--policy", pol, "--policy-dir", filepath.Join(dir, "policy.d"),
		"--state-dir", filepath.Join(dir, "state"), "--nm-conf", filepath.Join(dir, "nm.conf"), "--nm-conf-dir", filepath.Join(dir, "conf.d")})
	err := root.Execute()
	if exitCode(err) != 2 || !strings.Contains(err.Error(), "could not check: cannot connect to the system bus") {
		t.Errorf("err = %v (exit %d), want exit 2 saying the bus could not be reached", err, exitCode(err))
	}
	var r inspect.CheckReport
	dec := json.NewDecoder(&out)
	dec.DisallowUnknownFields()
	if err := dec.Decode(&r); err != nil {
		t.Fatalf("--json output does not parse: %v\n%s", err, out.String())
	}
	if r.ExitCode != 2 || r.NM.Running || !r.Policy.BuiltinDefault || !strings.Contains(r.Policy.Error, "policy.toml:2") {
		t.Errorf("report: exit %d nm %+v policy %+v", r.ExitCode, r.NM, r.Policy)
	}
	if r.Kernel.Error != "" {
		t.Errorf("netlink could not be read here: %s", r.Kernel.Error)
	}
	if _, err := os.Stat(filepath.Join(dir, "state")); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("check created the state dir: %v", err)
	}
}

func TestCheckCommandUnknownInterface(t *testing.T) {
	dir := t.TempDir()
	t.Setenv("DBUS_SYSTEM_BUS_ADDRESS", "unix:path="+filepath.Join(dir, "no-bus"))
	root := newRootCmd()
	root.SetOut(&bytes.Buffer{})
	root.SetArgs([]string{"check", "--policy", filepath.Join(dir, "p.toml"), "--state-dir", dir, "no-such-dev0"})
	err := root.Execute()
	if exitCode(err) != 2 || !errors.Is(err, inspect.ErrUnknownInterface) || !strings.Contains(err.Error(), "no-such-dev0") {
		t.Errorf("err = %v (exit %d)", err, exitCode(err))
	}
}

// TestCheckJSONIsDocumented: every field of the --json format is named in
// README.md's "check" section.
func TestCheckJSONIsDocumented(t *testing.T) {
	data, err := os.ReadFile(filepath.Join("..", "..", "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	_, sect, ok := strings.Cut(string(data), "\n## check\n")
	if !ok {
		t.Fatal("README.md has no \"## check\" section")
	}
	sect, _, _ = strings.Cut(sect, "\n## ")
	seen := map[reflect.Type]bool{}
	var walk func(reflect.Type)
	walk = func(ty reflect.Type) {
		for ty.Kind() == reflect.Pointer || ty.Kind() == reflect.Slice {
			ty = ty.Elem()
		}
		// The service's own types (APIStatus, ...) are documented with its API.
		ours := strings.HasPrefix(ty.Name(), "Check") || ty.Name() == "Finding"
		if ty.Kind() != reflect.Struct || ty.PkgPath() != reflect.TypeOf(inspect.CheckReport{}).PkgPath() || !ours || seen[ty] {
			return
		}
		seen[ty] = true
		for i := range ty.NumField() {
			f := ty.Field(i)
			name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
			if name == "" || name == "-" {
				continue
			}
			if !strings.Contains(sect, "`"+name+"`") {
				t.Errorf("README's check section does not document %s.%s (`%s`)", ty.Name(), f.Name, name)
			}
			walk(f.Type)
		}
	}
	walk(reflect.TypeOf(inspect.CheckReport{}))
	for _, k := range []string{inspect.KindPolicyInvalid, inspect.KindStateUnreadable, inspect.KindNMUnavailable, inspect.KindKernelUnavailable,
		inspect.KindServiceDown, inspect.KindServiceError, inspect.KindDeviceViolation, inspect.KindRealUnknown, inspect.KindBackstopMissing,
		inspect.KindBackstopUnknown, inspect.KindProfileCloned, inspect.KindConfCloned, inspect.KindScanRandOff, inspect.KindConfUnreadable,
		inspect.KindDHCPHostname, inspect.KindDHCPClientID, inspect.KindIPv6EUI64Address, inspect.KindIPv6AddrGenEUI64, inspect.KindDHCPv6DUID,
		inspect.KindWifiManagement, inspect.KindSuspicion} {
		if !strings.Contains(sect, "`"+k+"`") {
			t.Errorf("README's check section does not list finding kind %q", k)
		}
	}
}
