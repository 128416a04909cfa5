// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// The Debian package's layout (debian/rules: PREFIX=/usr).
const (
	debBin     = "/usr/bin/mac-nmguard"
	debUnit    = "/lib/systemd/system/mac-nmguard.service"
	debPolicy  = "/etc/mac-nmguard/policy.toml"
	debState   = "/var/lib/mac-nmguard"
	debZshComp = "/usr/share/zsh/vendor-completions/_mac-nmguard"
)

// TestIntegrationDebPackage builds the Debian package from this tree with
// dpkg-buildpackage, checks it with lintian, installs it on this machine with
// dpkg, checks every file, runs the installed `mac-nmguard check` against a
// real NetworkManager, purges it and finds nothing left: no file, no state,
// no kernel backstop.
//
// Not shown here: the service started by the package's postinst. This
// machine's PID 1 is not systemd (deb-systemd-invoke skips the start), so
// the unit is checked as a file; the real boot is another bed's job.
func TestIntegrationDebPackage(t *testing.T) {
	bed.Require(t, "nft")
	for _, tool := range []string{"dpkg-buildpackage", "dpkg", "dpkg-deb", "dpkg-query", "lintian", "dh", "git"} {
		installTool(t, tool)
	}
	if out, err := exec.Command("dpkg-query", "-W", "-f=${Status}", "mac-nmguard").Output(); err == nil && strings.Contains(string(out), "installed") {
		t.Fatalf("the mac-nmguard package is installed on this machine (%s); this test installs and purges it, so it will not run over it", out)
	}
	for _, p := range []string{debBin, debPolicy, debState} {
		if _, err := os.Lstat(p); err == nil {
			t.Fatalf("%s exists on this machine (another install?): this test installs and purges the package and will not overwrite it", p)
		}
	}

	work := t.TempDir()
	deb, changes := buildDeb(t, work)
	t.Run("lintian", func(t *testing.T) { checkLintian(t, changes) })

	paths := debContents(t, deb)
	for _, must := range []string{debBin, debUnit, debPolicy, debZshComp, instDir(instBusConf), instDir(instPolkit),
		instDir(instDesktop), instDir(instNMConf), "/usr/share/doc/mac-nmguard/copyright",
		"/usr/share/bash-completion/completions/mac-nmguard", "/usr/share/fish/vendor_completions.d/mac-nmguard.fish"} {
		if !paths[must] {
			t.Errorf("the package has no %s", must)
		}
	}
	for _, page := range expectedManPages(t) {
		sec := page[strings.LastIndexByte(page, '.')+1:]
		if p := "/usr/share/man/man" + sec + "/" + page + ".gz"; !paths[p] {
			t.Errorf("the package has no man page %s", p)
		}
	}
	for p := range paths {
		if strings.HasPrefix(p, "/usr/local/") || strings.HasPrefix(p, "/usr/share/zsh/site-functions/") {
			t.Errorf("%s: not a Debian path", p)
		}
	}
	conf, err := exec.Command("dpkg-deb", "--info", deb, "conffiles").Output()
	if err != nil || !strings.Contains(string(conf), debPolicy) {
		t.Errorf("conffiles = %q (%v), want %s among them", conf, err, debPolicy)
	}

	// dpkg runs in the bed's client namespace, so the maintainer scripts'
	// `mac-nmguard release` acts on the bed's nftables, not the host's.
	b := bed.New(t, bed.Options{Devices: 2})
	dpkg := func(args ...string) (string, error) {
		cmd := exec.Command("ip", append([]string{"netns", "exec", b.ClientNS, "dpkg"}, args...)...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		out, err := cmd.CombinedOutput()
		return string(out), err
	}
	installed := false
	t.Cleanup(func() {
		if installed {
			if out, err := dpkg("--purge", "mac-nmguard"); err != nil {
				t.Errorf("cleanup: dpkg --purge: %v\n%s", err, out)
			}
		}
	})
	if out, err := dpkg("-i", deb); err != nil {
		installed = true // half-installed: purge it
		t.Fatalf("dpkg -i: %v\n%s", err, out)
	}
	installed = true
	for p := range paths {
		if _, err := os.Lstat(p); err != nil {
			t.Errorf("installed package: %v", err)
		}
	}
	if out, err := exec.Command(debBin, "policy", "validate", debPolicy).CombinedOutput(); err != nil {
		t.Errorf("mac-nmguard policy validate %s: %v\n%s", debPolicy, err, out)
	}
	checkInstalledDeb(t, b)

	// What a service that ran leaves behind: state and a backstop.
	if err := os.MkdirAll(debState, 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(debState, "state.json"), []byte(`{"version":1}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("ip", "netns", "exec", b.ClientNS, "nft", "add", "table", "netdev", "mac_nmguard").CombinedOutput(); err != nil {
		t.Fatalf("make a backstop table: %v\n%s", err, out)
	}

	if out, err := dpkg("--purge", "mac-nmguard"); err != nil {
		t.Fatalf("dpkg --purge: %v\n%s", err, out)
	}
	installed = false
	var left []string
	for p := range paths {
		if fi, err := os.Lstat(p); err == nil && !fi.IsDir() {
			left = append(left, p)
		}
	}
	for _, p := range []string{debState, "/etc/mac-nmguard"} {
		if _, err := os.Lstat(p); err == nil {
			left = append(left, p)
		}
	}
	sort.Strings(left)
	if len(left) > 0 {
		t.Errorf("left after purge: %v", left)
	}
	if out, err := exec.Command("ip", "netns", "exec", b.ClientNS, "nft", "list", "table", "netdev", "mac_nmguard").CombinedOutput(); err == nil {
		t.Errorf("the backstop table is still there after purge:\n%s", out)
	}
}

// instDir turns an install-layout path (relative to DESTDIR) into an
// absolute one.
func instDir(rel string) string { return "/" + rel }

// buildDeb copies the tracked files of this tree into work/src, builds the
// binary package there and returns the .deb and .changes paths. Debian 12's
// own Go is too old for go.mod, so the build takes the Go of this test run
// (first on PATH) and skips the build-dependency check (-d), as the README
// says.
func buildDeb(t *testing.T, work string) (deb, changes string) {
	t.Helper()
	src := filepath.Join(work, "src")
	files, err := exec.Command("git", "-C", "..", "ls-files", "-z").Output()
	if err != nil {
		t.Fatalf("git ls-files: %v", err)
	}
	for _, f := range strings.Split(strings.TrimRight(string(files), "\x00"), "\x00") {
		data, err := os.ReadFile(filepath.Join("..", f))
		if errors.Is(err, os.ErrNotExist) {
			continue // deleted in the work tree, not yet committed
		}
		if err != nil {
			t.Fatal(err)
		}
		fi, err := os.Stat(filepath.Join("..", f))
		if err != nil {
			t.Fatal(err)
		}
		dst := filepath.Join(src, f)
		if err := os.MkdirAll(filepath.Dir(dst), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(dst, data, fi.Mode().Perm()); err != nil {
			t.Fatal(err)
		}
	}
	goBin, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("go: %v", err)
	}
	cmd := exec.Command("dpkg-buildpackage", "-us", "-uc", "-b", "-d")
	cmd.Dir = src
	cmd.Env = append(os.Environ(), "PATH="+filepath.Dir(goBin)+":"+os.Getenv("PATH"), "GOFLAGS=-buildvcs=false")
	start := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("dpkg-buildpackage: %v\n%s", err, out)
	}
	t.Logf("dpkg-buildpackage: %s", time.Since(start).Round(time.Second))
	debs, _ := filepath.Glob(filepath.Join(work, "mac-nmguard_*.deb"))
	chs, _ := filepath.Glob(filepath.Join(work, "mac-nmguard_*.changes"))
	if len(debs) != 1 || len(chs) != 1 {
		t.Fatalf("built %v and %v, want one .deb and one .changes\n%s", debs, chs, out)
	}
	return debs[0], chs[0]
}

// checkLintian fails on every error or warning lintian reports (what the
// package keeps on purpose is in debian/mac-nmguard.lintian-overrides, with
// the reason), and logs the rest.
func checkLintian(t *testing.T, changes string) {
	out, err := exec.Command("lintian", "--pedantic", "-I", "--fail-on", "none", changes).CombinedOutput()
	if err != nil {
		t.Fatalf("lintian: %v\n%s", err, out)
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		line := sc.Text()
		sev, _, ok := strings.Cut(line, ": ")
		if !ok {
			continue
		}
		switch sev {
		case "E", "W":
			t.Errorf("lintian: %s", line)
		default:
			t.Logf("lintian: %s", line)
		}
	}
}

// debContents lists the paths a .deb installs (directories included).
func debContents(t *testing.T, deb string) map[string]bool {
	t.Helper()
	out, err := exec.Command("dpkg-deb", "--fsys-tarfile", deb).Output()
	if err != nil {
		t.Fatalf("dpkg-deb: %v", err)
	}
	tar := exec.Command("tar", "-t")
	tar.Stdin = bytes.NewReader(out)
	list, err := tar.Output()
	if err != nil {
		t.Fatalf("tar -t: %v", err)
	}
	paths := map[string]bool{}
	for _, p := range strings.Split(strings.TrimSpace(string(list)), "\n") {
		p = strings.TrimSuffix(strings.TrimPrefix(p, "."), "/")
		if p != "" {
			paths[p] = true
		}
	}
	// Directories shared with other packages are not the package's to
	// check or remove.
	for p := range paths {
		if fi, err := os.Stat(p); err == nil && fi.IsDir() {
			delete(paths, p)
		}
	}
	return paths
}

// checkInstalledDeb runs the installed binary: version, then check against
// the bed's NetworkManager with the installed policy.
func checkInstalledDeb(t *testing.T, b *bed.Bed) {
	t.Helper()
	if out, err := exec.Command(debBin, "version").CombinedOutput(); err != nil || !strings.Contains(string(out), "0.") {
		t.Errorf("mac-nmguard version: %v\n%s", err, out)
	}
	p := b.StartProcess(t, b.ClientNS, nil, debBin, "check", "--json",
		"--nm-conf", filepath.Join(b.Dir, "NetworkManager.conf"),
		"--nm-conf-dir", filepath.Join(b.Dir, "nm-sysconf.d"),
		"--nm-conf-dir", filepath.Join(b.Dir, "nm-conf.d"))
	err := p.Wait(60 * time.Second)
	var ee *exec.ExitError
	if err != nil && (!errors.As(err, &ee) || ee.ExitCode() > 1) {
		t.Fatalf("installed check: %v\n%s", err, p.Log())
	}
	var r struct {
		Policy struct {
			Sources []string `json:"sources"`
		} `json:"policy"`
		NM struct {
			Running bool `json:"running"`
		} `json:"networkmanager"`
		Devices []struct {
			Interface string `json:"interface"`
		} `json:"devices"`
	}
	if err := json.NewDecoder(strings.NewReader(p.Log())).Decode(&r); err != nil {
		t.Fatalf("installed check --json: %v\n%s", err, p.Log())
	}
	if !r.NM.Running || len(r.Devices) < 2 {
		t.Errorf("installed check saw NetworkManager running=%t and %d devices, want the bed's", r.NM.Running, len(r.Devices))
	}
	found := false
	for _, s := range r.Policy.Sources {
		found = found || s == debPolicy
	}
	if !found {
		t.Errorf("installed check read the policy from %v, want %s", r.Policy.Sources, debPolicy)
	}
}
