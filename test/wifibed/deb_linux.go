// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// DebEnv names a .deb the systemd boot installs instead of building one (to
// iterate on the bed without rebuilding the package).
const DebEnv = "MAC_NMGUARD_BOOTBED_DEB"

// SystemdMissing says why the systemd boot cannot run here, or "".
func SystemdMissing() string {
	if m := Missing(); m != "" {
		return m
	}
	if m := testproc.Missing("dpkg-buildpackage", "dpkg", "useradd", "agetty", "Xvfb", "dunst", "dunstctl"); m != "" {
		return m
	}
	for _, f := range []string{"/lib/systemd/systemd", "/lib/systemd/systemd-logind", "/usr/lib/systemd/user/dbus.socket", "/usr/lib/polkit-1/polkitd"} {
		if _, err := os.Stat(f); err != nil {
			return "no " + f + " (systemd, dbus-user-session, polkitd: test/install-deps.sh)"
		}
	}
	return ""
}

// BuildDeb builds the project's .deb from the tracked files of this source
// tree, as `make deb` does (without its unit tests and lintian, which
// TestIntegrationDebPackage runs), in dir, and returns its path; DebEnv
// names one to use instead.
func BuildDeb(t testing.TB, dir string) string {
	t.Helper()
	if d := os.Getenv(DebEnv); d != "" {
		return d
	}
	start := time.Now()
	deb, err := buildDeb(dir)
	if err != nil {
		t.Fatalf("wifibed: %v", err)
	}
	t.Logf("wifibed: built %s in %v", filepath.Base(deb), time.Since(start).Round(time.Second))
	return deb
}

func buildDeb(dir string) (string, error) {
	out, err := exec.Command("go", "env", "GOMOD", "GOCACHE").Output()
	if err != nil {
		return "", fmt.Errorf("go env: %w", err)
	}
	env := strings.Fields(string(out))
	if len(env) != 2 {
		return "", fmt.Errorf("go env: %q", out)
	}
	root, cache := filepath.Dir(env[0]), env[1]
	files, err := exec.Command("git", "-C", root, "ls-files", "-z").Output()
	if err != nil {
		return "", fmt.Errorf("git ls-files: %w", err)
	}
	src := filepath.Join(dir, "src")
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		fi, err := os.Stat(filepath.Join(root, f))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			return "", err
		}
		b, err := os.ReadFile(filepath.Join(root, f))
		if err != nil {
			return "", err
		}
		if err := os.MkdirAll(filepath.Dir(filepath.Join(src, f)), 0o755); err != nil {
			return "", err
		}
		if err := os.WriteFile(filepath.Join(src, f), b, fi.Mode().Perm()); err != nil {
			return "", err
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		return "", err
	}
	cmd := exec.Command("dpkg-buildpackage", "-us", "-uc", "-b", "-d")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(goBin)+":"+os.Getenv("PATH"),
		"GOFLAGS=-buildvcs=false", "GOCACHE="+cache, "DEB_BUILD_OPTIONS=nocheck")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("dpkg-buildpackage: %w\n%s", err, out)
	}
	debs, _ := filepath.Glob(filepath.Join(dir, "mac-nmguard_*.deb"))
	if len(debs) != 1 {
		return "", fmt.Errorf("dpkg-buildpackage built %v, want one .deb", debs)
	}
	return debs[0], nil
}
