// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"bytes"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// docsRun runs the CLI with args and returns standard output and the error.
func docsRun(t *testing.T, args ...string) (string, error) {
	t.Helper()
	root := newRootCmd()
	var out, errOut bytes.Buffer
	root.SetOut(&out)
	root.SetErr(&errOut)
	root.SetArgs(args)
	err := root.Execute()
	return out.String(), err
}

// docsVisiblePaths lists the man page names GenManTree must write: one per
// visible command, the hidden ones (docs) and help left out.
func docsVisiblePaths(c *cobra.Command) []string {
	if !c.IsAvailableCommand() && c.HasParent() {
		return nil
	}
	out := []string{strings.ReplaceAll(c.CommandPath(), " ", "-") + "." + manSectionOf(c)}
	for _, sub := range c.Commands() {
		out = append(out, docsVisiblePaths(sub)...)
	}
	return out
}

func TestDocsManWritesOnePagePerVisibleCommand(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000") // Nov 2023
	dir := filepath.Join(t.TempDir(), "new", "man")
	if _, err := docsRun(t, "docs", "man", dir); err != nil {
		t.Fatalf("docs man: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, e := range entries {
		got = append(got, e.Name())
	}
	// The tree as Execute leaves it (help and completion commands added).
	root := newRootCmd()
	root.InitDefaultHelpCmd()
	root.InitDefaultCompletionCmd()
	want := append(docsVisiblePaths(root), policyManName+".5")
	sort.Strings(want)
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Errorf("man pages:\n got %v\nwant %v", got, want)
	}
	for _, name := range []string{"mac-nmguard.1", "mac-nmguard-run.8", "mac-nmguard-version.1", "mac-nmguard.toml.5"} {
		data, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("%s: %v", name, err)
			continue
		}
		page := string(data)
		sec := name[strings.LastIndexByte(name, '.')+1:]
		title := strings.ToUpper(strings.TrimSuffix(name, "."+sec))
		if !strings.Contains(page, `.TH "`+title+`" "`+sec+`" "Nov 2023" "mac-nmguard `+version+`" "mac-nmguard manual"`) {
			t.Errorf("%s: unexpected .TH header:\n%s", name, firstLines(page, 3))
		}
		if strings.Contains(page, "Auto generated") {
			t.Errorf("%s: carries cobra's auto-generated tag (not reproducible)", name)
		}
		if strings.Contains(page, "docs") && name == "mac-nmguard.1" {
			t.Errorf("%s mentions the hidden docs command", name)
		}
	}
	for _, e := range entries {
		if strings.Contains(e.Name(), "docs") {
			t.Errorf("hidden docs command got a man page: %s", e.Name())
		}
	}
}

func firstLines(s string, n int) string {
	lines := strings.SplitN(s, "\n", n+1)
	if len(lines) > n {
		lines = lines[:n]
	}
	return strings.Join(lines, "\n")
}

func TestDocsManRejectsAFile(t *testing.T) {
	f := filepath.Join(t.TempDir(), "file")
	if err := os.WriteFile(f, []byte("keep me"), 0o644); err != nil {
		t.Fatal(err)
	}
	_, err := docsRun(t, "docs", "man", f)
	if err == nil {
		t.Fatal("docs man into a regular file: no error")
	}
	if data, _ := os.ReadFile(f); string(data) != "keep me" {
		t.Errorf("file changed to %q", data)
	}
}

func TestDocsCompletion(t *testing.T) {
	for _, tc := range []struct {
		shell, marker, checker string
	}{
		{"bash", "complete -o default -F __start_mac-nmguard mac-nmguard", "bash"},
		{"zsh", "#compdef mac-nmguard", "zsh"},
		{"fish", "complete -c mac-nmguard ", "fish"},
	} {
		t.Run(tc.shell, func(t *testing.T) {
			out, err := docsRun(t, "docs", "completion", tc.shell)
			if err != nil {
				t.Fatalf("docs completion %s: %v", tc.shell, err)
			}
			if !strings.Contains(out, tc.marker) {
				t.Errorf("%s script lacks %q:\n%s", tc.shell, tc.marker, firstLines(out, 5))
			}
			sh, err := exec.LookPath(tc.checker)
			if err != nil {
				testproc.Skip(t, tc.checker+" not installed (test/install-deps.sh installs it): syntax of the script not checked")
			}
			f := filepath.Join(t.TempDir(), "script")
			if err := os.WriteFile(f, []byte(out), 0o644); err != nil {
				t.Fatal(err)
			}
			if msg, err := exec.Command(sh, "-n", f).CombinedOutput(); err != nil {
				t.Errorf("%s -n: %v\n%s", tc.checker, err, msg)
			}
		})
	}
}

func TestDocsCompletionRejectsUnknownShell(t *testing.T) {
	for _, args := range [][]string{
		{"docs", "completion", "tcsh"},
		{"docs", "completion"},
		{"docs", "completion", "bash", "zsh"},
	} {
		out, err := docsRun(t, args...)
		if err == nil {
			t.Errorf("%v: no error", args)
		}
		if out != "" {
			t.Errorf("%v: wrote %d bytes to standard output", args, len(out))
		}
	}
}

func TestDocsIsHidden(t *testing.T) {
	out, err := docsRun(t, "--help")
	if err != nil {
		t.Fatal(err)
	}
	if strings.Contains(out, "docs") {
		t.Errorf("root help lists the hidden docs command:\n%s", out)
	}
}

// TestDocsManRendersCleanly renders every page with groff's man macros and
// every warning on but "cannot break/adjust line", which is about the
// terminal's width (-ww -Wbreak): no warning, and the text says what the command
// tree says (names, flags with plain ASCII dashes, defaults, see-also).
func TestDocsManRendersCleanly(t *testing.T) {
	groff, err := exec.LookPath("groff")
	if err != nil {
		testproc.Skip(t, "groff not installed (test/install-deps.sh installs groff-base): pages not rendered")
	}
	t.Setenv("SOURCE_DATE_EPOCH", "1700000000")
	dir := t.TempDir()
	if _, err := docsRun(t, "docs", "man", dir); err != nil {
		t.Fatalf("docs man: %v", err)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	rendered := map[string]string{}
	for _, e := range entries {
		if strings.HasPrefix(e.Name(), ".") {
			t.Errorf("left behind: %s", e.Name())
			continue
		}
		cmd := exec.Command(groff, "-man", "-Tutf8", "-ww", filepath.Join(dir, e.Name()))
		cmd.Env = append(os.Environ(), "GROFF_NO_SGR=1")
		var stdout, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &stdout, &stderr
		if err := cmd.Run(); err != nil || stderr.Len() > 0 {
			t.Errorf("groff %s: %v\n%s", e.Name(), err, stderr.String())
		}
		// Undo overstriking (bold, underline) for the comparisons below.
		var plain strings.Builder
		b := stdout.Bytes()
		for i := 0; i < len(b); i++ {
			if i+1 < len(b) && b[i+1] == '\b' {
				i++
				continue
			}
			plain.WriteByte(b[i])
		}
		rendered[e.Name()] = strings.Join(strings.Fields(plain.String()), " ")
	}
	check := rendered["mac-nmguard-check.1"]
	for _, want := range []string{"mac-nmguard-check - ", "mac-nmguard check [IFACE...]", "--json", "--state-dir", "OPTIONS INHERITED FROM PARENT COMMANDS", "mac-nmguard(1)"} {
		if !strings.Contains(check, want) {
			t.Errorf("mac-nmguard-check.1 rendered lacks %q:\n%s", want, check)
		}
	}
	for page, wants := range map[string][]string{
		"mac-nmguard.1":      {"COMMANDS", "mac-nmguard check", "FILES", "/var/lib/mac-nmguard/state.json", "ENVIRONMENT", "DBUS_SYSTEM_BUS_ADDRESS", "EXIT STATUS", "mac-nmguard-run(8)", "mac-nmguard.toml(5)"},
		"mac-nmguard-run.8":  {"SIGNALS", "SIGHUP", "mac-nmguard(1)"},
		"mac-nmguard.toml.5": {"/etc/mac-nmguard/policy.d/*.toml", "spoof = true", `mode = "keep-vendor"`, "enforcement", "mac-nmguard-run(8)"},
	} {
		for _, want := range wants {
			if !strings.Contains(rendered[page], want) {
				t.Errorf("%s rendered lacks %q:\n%s", page, want, rendered[page])
			}
		}
	}
	if root := rendered["mac-nmguard.1"]; !strings.Contains(root, "mac-nmguard-check(1)") || !strings.Contains(root, "(default \"/etc/mac-nmguard/policy.toml\")") {
		t.Errorf("mac-nmguard.1 rendered lacks the see-also of check or the policy default:\n%s", root)
	}
}

func TestManEscape(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{`a-b`, `a\-b`},
		{`C:\dir`, `C:\edir`},
		{`.starts with a dot`, `\&.starts with a dot`},
		{`'quote`, `\&'quote`},
		{`plain`, `plain`},
	} {
		if got := manLine(tc.in); got != tc.want {
			t.Errorf("manLine(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
	if got := manQuote(`say "hi" \ now-ish`); got != `"say ""hi"" \e now-ish"` {
		t.Errorf("manQuote = %s", got)
	}
}

func TestManDateRejectsGarbage(t *testing.T) {
	t.Setenv("SOURCE_DATE_EPOCH", "yesterday")
	dir := t.TempDir()
	if _, err := docsRun(t, "docs", "man", dir); err == nil || !strings.Contains(err.Error(), "SOURCE_DATE_EPOCH") {
		t.Errorf("SOURCE_DATE_EPOCH=yesterday: err %v, want one naming it", err)
	}
	if entries, _ := os.ReadDir(dir); len(entries) != 0 {
		t.Errorf("wrote %d files anyway", len(entries))
	}
}
