// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/policy"
)

// runCLI runs the root command with args and returns stdout, stderr and
// the exit code main would use.
func runCLI(t *testing.T, args ...string) (string, string, int) {
	t.Helper()
	var out, errb bytes.Buffer
	root := newRootCmd()
	root.SetArgs(args)
	root.SetOut(&out)
	root.SetErr(&errb)
	code := 0
	if err := root.Execute(); err != nil {
		code = exitCode(err)
		errb.WriteString("mac-nmguard: " + err.Error() + "\n")
	}
	return out.String(), errb.String(), code
}

// policyTree writes files under a fresh temporary directory (removed by
// the test) and returns the --policy / --policy-dir flags for it.
func policyTree(t *testing.T, files map[string]string) (string, []string) {
	t.Helper()
	dir := t.TempDir()
	for name, content := range files {
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return dir, []string{"--policy", filepath.Join(dir, "policy.toml"), "--policy-dir", filepath.Join(dir, "policy.d")}
}

const goodMain = `[default]
mode = "random"

[[device]]
name = "dock"
interface = "enx*"
mode = "permanent"
`

func TestPolicyValidateConfigured(t *testing.T) {
	dir, flags := policyTree(t, map[string]string{
		"policy.toml":        goodMain,
		"policy.d/10-a.toml": "[[network]]\nssid = \"Home\"\nmode = \"permanent\"\n",
	})
	out, errOut, code := runCLI(t, append([]string{"policy", "validate"}, flags...)...)
	if code != 0 || errOut != "" {
		t.Fatalf("exit %d, stderr %q", code, errOut)
	}
	for _, want := range []string{filepath.Join(dir, "policy.toml") + ": ok", filepath.Join(dir, "policy.d/10-a.toml") + ": ok", "2 files: ok together"} {
		if !strings.Contains(out, want) {
			t.Errorf("stdout lacks %q:\n%s", want, out)
		}
	}
}

func TestPolicyValidateNoFiles(t *testing.T) {
	_, flags := policyTree(t, nil)
	out, _, code := runCLI(t, append([]string{"policy", "validate"}, flags...)...)
	if code != 0 || !strings.Contains(out, "the built-in default applies") {
		t.Fatalf("exit %d, stdout %q", code, out)
	}
}

func TestPolicyValidateInvalid(t *testing.T) {
	dir, flags := policyTree(t, map[string]string{
		"policy.toml":        goodMain,
		"policy.d/10-a.toml": "[default]\nmode = \"sometimes\"\n\n[detect]\nauth_failures = -2\n",
		"policy.d/20-b.toml": "spoof = \n",
	})
	out, errOut, code := runCLI(t, append([]string{"policy", "validate"}, flags...)...)
	if code != 1 {
		t.Fatalf("exit %d; want 1\nstderr: %s", code, errOut)
	}
	a, b := filepath.Join(dir, "policy.d/10-a.toml"), filepath.Join(dir, "policy.d/20-b.toml")
	for _, want := range []string{
		a + `:2:8: default.mode: unknown mode "sometimes"`,
		a + ":5:17: detect.auth_failures: must be at least 1, got -2",
		b + ":1:9: spoof: expected value",
		"mac-nmguard: 2 of 3 policy files not valid",
	} {
		if !strings.Contains(errOut, want) {
			t.Errorf("stderr lacks %q:\n%s", want, errOut)
		}
	}
	if !strings.Contains(out, filepath.Join(dir, "policy.toml")+": ok") || strings.Contains(out, "together") {
		t.Errorf("stdout:\n%s", out)
	}
}

func TestPolicyValidateFiles(t *testing.T) {
	dir, _ := policyTree(t, map[string]string{"good.toml": goodMain, "bad.toml": "[[device]]\ninterface = \"eth[\"\nmode = \"random\"\n"})
	good, bad := filepath.Join(dir, "good.toml"), filepath.Join(dir, "bad.toml")
	if _, errOut, code := runCLI(t, "policy", "validate", good); code != 0 {
		t.Fatalf("valid file: exit %d, %s", code, errOut)
	}
	_, errOut, code := runCLI(t, "policy", "validate", good, bad)
	if code != 1 || !strings.Contains(errOut, bad+`:2:13: device.interface: invalid glob "eth["`) {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
	missing := filepath.Join(dir, "missing.toml")
	_, errOut, code = runCLI(t, "policy", "validate", missing)
	if code != 1 || !strings.Contains(errOut, missing) {
		t.Fatalf("missing file: exit %d, stderr:\n%s", code, errOut)
	}
}

func TestPolicyValidateUnreadableDir(t *testing.T) {
	dir, _ := policyTree(t, map[string]string{"file": "x"})
	_, errOut, code := runCLI(t, "policy", "validate", "--policy", filepath.Join(dir, "none.toml"), "--policy-dir", filepath.Join(dir, "file"))
	if code != 1 || !strings.Contains(errOut, "policy drop-in directory") {
		t.Fatalf("exit %d, stderr:\n%s", code, errOut)
	}
}

func TestPolicyShowTOML(t *testing.T) {
	dir, flags := policyTree(t, map[string]string{
		"policy.toml":        goodMain,
		"policy.d/10-a.toml": "[default]\nmode = \"vendor\"\n",
	})
	out, errOut, code := runCLI(t, append([]string{"policy", "show"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	for _, want := range []string{
		"#   " + filepath.Join(dir, "policy.toml") + "\n#   " + filepath.Join(dir, "policy.d/10-a.toml") + "\n",
		"# Precedence:",
		"the last matching one wins",
		"mode = \"vendor\"  # " + filepath.Join(dir, "policy.d/10-a.toml") + ":2 [default]",
		"interface = \"enx*\"",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("show lacks %q:\n%s", want, out)
		}
	}
	// What show prints is itself a valid policy with the same effect.
	p, err := policy.Parse("shown.toml", []byte(out))
	if err != nil || p.Default.Mode != policy.ModeVendor || len(p.Devices) != 1 {
		t.Fatalf("show output reparsed: %+v, %v", p, err)
	}
}

func TestPolicyShowJSON(t *testing.T) {
	_, flags := policyTree(t, map[string]string{"policy.toml": goodMain})
	out, errOut, code := runCLI(t, append([]string{"policy", "show", "--json"}, flags...)...)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, errOut)
	}
	var got struct {
		Sources    []string `json:"sources"`
		Precedence string   `json:"precedence"`
		Default    struct{ Mode string }
		Devices    []struct{ Name, Mode string }
	}
	if err := json.Unmarshal([]byte(out), &got); err != nil {
		t.Fatalf("%v\n%s", err, out)
	}
	if len(got.Sources) != 1 || got.Precedence != policy.Precedence || got.Default.Mode != "random" || len(got.Devices) != 1 || got.Devices[0].Mode != "permanent" {
		t.Fatalf("JSON: %+v", got)
	}
}

func TestPolicyShowInvalid(t *testing.T) {
	dir, flags := policyTree(t, map[string]string{"policy.toml": "[default]\nmode = \"x\"\n"})
	out, errOut, code := runCLI(t, append([]string{"policy", "show"}, flags...)...)
	if code != 1 || out != "" || !strings.Contains(errOut, filepath.Join(dir, "policy.toml")+":2:8: default.mode") {
		t.Fatalf("exit %d, stdout %q, stderr:\n%s", code, out, errOut)
	}
}

func TestPolicyBadUsage(t *testing.T) {
	if _, _, code := runCLI(t, "policy", "show", "extra"); code != 2 {
		t.Fatalf("show with an argument: exit %d; want 2", code)
	}
	if _, _, code := runCLI(t, "policy", "show", "--no-such-flag"); code != 2 {
		t.Fatalf("unknown flag: exit %d; want 2", code)
	}
}

// TestPolicyValidateProcess runs the real binary entry point (this test
// binary re-executed as main) to check the process exit status and stderr.
func TestPolicyValidateProcess(t *testing.T) {
	if os.Getenv("MAC_NMGUARD_POLICY_CMD_MAIN") == "1" {
		os.Args = append([]string{"mac-nmguard"}, strings.Split(os.Getenv("MAC_NMGUARD_POLICY_CMD_ARGS"), "\x1f")...)
		main()
		os.Exit(0)
	}
	dir, _ := policyTree(t, map[string]string{"good.toml": goodMain, "bad.toml": "hold = \"yes\"\n"})
	for _, c := range []struct {
		file string
		code int
		err  string
	}{
		{"good.toml", 0, ""},
		{"bad.toml", 1, filepath.Join(dir, "bad.toml") + ":1:8: hold: want true or false, got a string"},
	} {
		cmd := exec.Command(os.Args[0], "-test.run=^TestPolicyValidateProcess$")
		cmd.Env = append(os.Environ(), "MAC_NMGUARD_POLICY_CMD_MAIN=1",
			"MAC_NMGUARD_POLICY_CMD_ARGS=policy\x1fvalidate\x1f"+filepath.Join(dir, c.file))
		var errb bytes.Buffer
		cmd.Stderr = &errb
		err := cmd.Run()
		code := 0
		if ee, ok := err.(*exec.ExitError); ok {
			code = ee.ExitCode()
		} else if err != nil {
			t.Fatal(err)
		}
		if code != c.code || !strings.Contains(errb.String(), c.err) {
			t.Errorf("%s: exit %d, stderr %q; want %d, %q", c.file, code, errb.String(), c.code, c.err)
		}
	}
}
