// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"io/fs"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/mac-nmguard/mac-nmguard/policy"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// The default install layout (PREFIX=/usr/local, SYSCONFDIR=/etc), relative
// to DESTDIR.
const (
	instBin      = "usr/local/bin/mac-nmguard"
	instUnit     = "usr/local/lib/systemd/system/mac-nmguard.service"
	instBusConf  = "usr/share/dbus-1/system.d/io.github.macnmguard.Guard1.conf"
	instPolkit   = "usr/share/polkit-1/actions/io.github.macnmguard.policy"
	instDesktop  = "etc/xdg/autostart/mac-nmguard-agent.desktop"
	instNMConf   = "usr/lib/NetworkManager/conf.d/90-mac-nmguard.conf"
	instPolicy   = "etc/mac-nmguard/policy.toml"
	instPolicyD  = "etc/mac-nmguard/policy.d"
	instManDir   = "usr/local/share/man" // man1, man5, man8
	instBashComp = "usr/local/share/bash-completion/completions/mac-nmguard"
	instZshComp  = "usr/local/share/zsh/site-functions/_mac-nmguard"
	instFishComp = "usr/local/share/fish/vendor_completions.d/mac-nmguard.fish"

	shippedPolicy = "../cmd/mac-nmguard/dist/policy.toml"

	// maxExposure is the highest `systemd-analyze security` exposure the
	// unit may have (1.5 when written; 10 is an unhardened root service).
	maxExposure = 2.0
)

// installTool returns the path of a program a check needs. When it is
// missing the check is skipped with the reason, or fails when
// MAC_NMGUARD_REQUIRE_INTEGRATION=1 (test/install-deps.sh installs them).
func installTool(t *testing.T, name string) string {
	t.Helper()
	p, err := exec.LookPath(name)
	if err == nil {
		return p
	}
	if os.Getenv(bed.RequireEnv) == "1" {
		t.Fatalf("%s is not installed (%s=1; run test/install-deps.sh)", name, bed.RequireEnv)
	}
	t.Skipf("check skipped: %s is not installed (run test/install-deps.sh; %s=1 makes this a failure)", name, bed.RequireEnv)
	return ""
}

// makeTarget runs `make -C .. target DESTDIR=dest` with the generated files
// and the binary kept in gen, so the test writes nothing into the tree.
func makeTarget(t *testing.T, target, dest, gen string) string {
	t.Helper()
	mk := installTool(t, "make")
	cmd := exec.Command(mk, "-C", "..", target, "DESTDIR="+dest, "GENDIR="+gen, "BIN="+filepath.Join(gen, "mac-nmguard"))
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("make %s: %v\n%s", target, err, out)
	}
	return string(out)
}

// treeFiles returns every non-directory under root (relative path -> mode).
func treeFiles(t *testing.T, root string) map[string]fs.FileMode {
	t.Helper()
	files := map[string]fs.FileMode{}
	err := filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() {
			return nil
		}
		fi, err := d.Info()
		if err != nil {
			return err
		}
		rel, err := filepath.Rel(root, p)
		if err != nil {
			return err
		}
		files[rel] = fi.Mode()
		return nil
	})
	if err != nil {
		t.Fatalf("walk %s: %v", root, err)
	}
	return files
}

// expectedManPages asks the binary built for this run which pages it writes.
func expectedManPages(t *testing.T) []string {
	t.Helper()
	dir := t.TempDir()
	if out, err := exec.Command(binPath, "docs", "man", dir).CombinedOutput(); err != nil {
		t.Fatalf("docs man: %v\n%s", err, out)
	}
	entries, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range entries {
		names = append(names, e.Name())
	}
	for _, must := range []string{"mac-nmguard.1", "mac-nmguard-run.8", "mac-nmguard.toml.5"} {
		if !contains(names, must) {
			t.Fatalf("docs man wrote no %s (got %v)", must, names)
		}
	}
	return names
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// TestInstall installs into a temporary DESTDIR, checks every file, checks
// the unit, the XML, the desktop file, the NetworkManager snippet and the
// policy with the tools that read them, then uninstalls and finds nothing
// left.
func TestInstall(t *testing.T) {
	dest, gen := t.TempDir(), t.TempDir()
	makeTarget(t, "install", dest, gen)

	want := map[string]fs.FileMode{
		instBin:      0o755,
		instUnit:     0o644,
		instBusConf:  0o644,
		instPolkit:   0o644,
		instDesktop:  0o644,
		instNMConf:   0o644,
		instPolicy:   0o644,
		instBashComp: 0o644,
		instZshComp:  0o644,
		instFishComp: 0o644,
	}
	for _, page := range expectedManPages(t) {
		want[filepath.Join(instManDir, "man"+page[strings.LastIndexByte(page, '.')+1:], page)] = 0o644
	}
	got := treeFiles(t, dest)
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("installed files (-want +got):\n%s", diff)
	}
	if fi, err := os.Stat(filepath.Join(dest, instPolicyD)); err != nil || !fi.IsDir() {
		t.Errorf("policy drop-in directory %s not created: %v", instPolicyD, err)
	}
	if out, err := exec.Command(filepath.Join(dest, instBin), "version").CombinedOutput(); err != nil || !strings.HasPrefix(string(out), "mac-nmguard ") {
		t.Errorf("installed binary: version: %v: %s", err, out)
	}

	t.Run("unit directives", func(t *testing.T) { checkUnitDirectives(t, dest) })
	t.Run("systemd-analyze verify", func(t *testing.T) { checkUnitVerify(t, dest) })
	t.Run("systemd-analyze security", func(t *testing.T) { checkUnitSecurity(t, dest) })
	t.Run("polkit xml", func(t *testing.T) { checkPolkit(t, dest) })
	t.Run("dbus xml", func(t *testing.T) { checkBusPolicy(t, dest) })
	t.Run("desktop file", func(t *testing.T) { checkDesktop(t, dest) })
	t.Run("NetworkManager snippet", func(t *testing.T) { checkNMConf(t, dest) })
	t.Run("completion scripts", func(t *testing.T) { checkCompletion(t, dest) })
	t.Run("policy validate", func(t *testing.T) { checkPolicyValidate(t, dest) })

	makeTarget(t, "uninstall", dest, gen)
	if left := treeFiles(t, dest); len(left) != 0 {
		t.Errorf("uninstall left files behind: %v", left)
	}
	if _, err := os.Stat(filepath.Join(dest, "etc/mac-nmguard")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("uninstall left etc/mac-nmguard (empty): %v", err)
	}
}

// TestInstallKeepsExistingPolicy: install never overwrites a policy, puts
// the shipped one next to it as policy.toml.dist, and uninstall keeps the
// changed policy.
func TestInstallKeepsExistingPolicy(t *testing.T) {
	dest, gen := t.TempDir(), t.TempDir()
	mine := []byte("# mine\nspoof = false\n")
	if err := os.MkdirAll(filepath.Join(dest, "etc/mac-nmguard"), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dest, instPolicy), mine, 0o600); err != nil {
		t.Fatal(err)
	}
	out := makeTarget(t, "install", dest, gen)
	if !strings.Contains(out, "policy.toml.dist") {
		t.Errorf("install did not say where the shipped policy went:\n%s", out)
	}
	assertFile(t, filepath.Join(dest, instPolicy), mine)
	shipped, err := os.ReadFile(shippedPolicy)
	if err != nil {
		t.Fatal(err)
	}
	assertFile(t, filepath.Join(dest, instPolicy+".dist"), shipped)

	makeTarget(t, "uninstall", dest, gen)
	assertFile(t, filepath.Join(dest, instPolicy), mine)
	left := treeFiles(t, dest)
	if len(left) != 1 {
		t.Errorf("after uninstall want only %s, got %v", instPolicy, left)
	}
}

// TestInstallTwiceKeepsUnchangedPolicy: re-installing over an unchanged
// shipped policy writes no .dist file.
func TestInstallTwiceKeepsUnchangedPolicy(t *testing.T) {
	dest, gen := t.TempDir(), t.TempDir()
	makeTarget(t, "install", dest, gen)
	makeTarget(t, "install", dest, gen)
	if _, err := os.Stat(filepath.Join(dest, instPolicy+".dist")); !errors.Is(err, fs.ErrNotExist) {
		t.Errorf("second install over the unchanged policy wrote policy.toml.dist (%v)", err)
	}
	makeTarget(t, "uninstall", dest, gen)
	if left := treeFiles(t, dest); len(left) != 0 {
		t.Errorf("uninstall left files behind: %v", left)
	}
}

func assertFile(t *testing.T, path string, want []byte) {
	t.Helper()
	got, err := os.ReadFile(path)
	if err != nil {
		t.Errorf("%v", err)
		return
	}
	if !bytes.Equal(got, want) {
		t.Errorf("%s changed:\n got %q\nwant %q", path, got, want)
	}
}

// unitDirectives parses a systemd unit into "Section.Key" -> values.
func unitDirectives(t *testing.T, path string) map[string][]string {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	out := map[string][]string{}
	section := ""
	sc := bufio.NewScanner(bytes.NewReader(data))
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		switch {
		case line == "" || strings.HasPrefix(line, "#") || strings.HasPrefix(line, ";"):
		case strings.HasPrefix(line, "[") && strings.HasSuffix(line, "]"):
			section = strings.Trim(line, "[]")
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok {
				t.Fatalf("%s: not key=value: %q", path, line)
			}
			out[section+"."+k] = append(out[section+"."+k], v)
		}
	}
	return out
}

func checkUnitDirectives(t *testing.T, dest string) {
	d := unitDirectives(t, filepath.Join(dest, instUnit))
	want := map[string]string{
		"Unit.Before":                      "NetworkManager.service network-pre.target",
		"Unit.Wants":                       "network-pre.target modprobe@rfkill.service",
		"Unit.After":                       "dbus.service modprobe@rfkill.service",
		"Unit.StartLimitIntervalSec":       "0",
		"Service.Type":                     "notify",
		"Service.ExecStart":                "/usr/local/bin/mac-nmguard run --policy /etc/mac-nmguard/policy.toml --policy-dir /etc/mac-nmguard/policy.d --state-dir /var/lib/mac-nmguard --runtime-dir /run/mac-nmguard",
		"Service.ExecReload":               "/bin/kill -HUP $MAINPID",
		"Service.Restart":                  "always",
		"Service.CapabilityBoundingSet":    "CAP_NET_ADMIN CAP_SYS_NICE",
		"Service.NoNewPrivileges":          "yes",
		"Service.ProtectSystem":            "strict",
		"Service.StateDirectory":           "mac-nmguard",
		"Service.ProtectHome":              "yes",
		"Service.PrivateTmp":               "yes",
		"Service.ProtectKernelModules":     "yes",
		"Service.ProtectKernelTunables":    "yes",
		"Service.ProtectControlGroups":     "yes",
		"Service.RestrictNamespaces":       "yes",
		"Service.LockPersonality":          "yes",
		"Service.MemoryDenyWriteExecute":   "yes",
		"Service.SystemCallArchitectures":  "native",
		"Service.RestrictAddressFamilies":  "AF_UNIX AF_NETLINK",
		"Install.WantedBy":                 "multi-user.target",
		"Service.SystemCallFilter":         "@system-service ~@privileged",
		"Service.User":                     "",
		"Service.AmbientCapabilities":      "",
		"Service.ProtectKernelLogs":        "yes",
		"Service.RestrictSUIDSGID":         "yes",
		"Service.SystemCallErrorNumber":    "EPERM",
		"Service.IPAddressDeny":            "any",
		"Service.PrivateDevices":           "no",
		"Service.DevicePolicy":             "closed",
		"Service.DeviceAllow":              "/dev/rfkill rw",
		"Service.StateDirectoryMode":       "0700",
		"Service.RuntimeDirectory":         "mac-nmguard",
		"Service.RuntimeDirectoryMode":     "0700",
		"Service.RuntimeDirectoryPreserve": "yes",
		"Service.UMask":                    "0077",
		"Service.ProtectProc":              "invisible",
		"Service.RestrictRealtime":         "no",
		"Service.PrivateMounts":            "yes",
		"Service.ProtectHostname":          "yes",
		"Service.ProtectClock":             "yes",
		"Service.RemoveIPC":                "yes",
		"Service.RestartSec":               "2s",
		"Unit.Description":                 "MAC address guard for NetworkManager",
		"Unit.Documentation":               "man:mac-nmguard-run(8) man:mac-nmguard(1) man:mac-nmguard.toml(5)",
	}
	for key, v := range want {
		got := strings.Join(d[key], " ")
		if got != v {
			t.Errorf("%s = %q, want %q", key, got, v)
		}
	}
	for key := range d {
		if _, ok := want[key]; !ok {
			t.Errorf("unit has %s=%q, which this test does not know: add it to the expectations", key, d[key])
		}
	}
}

// unitCopyForVerify writes a copy of the installed unit whose ExecStart
// points at the binary in DESTDIR (verify checks that the program exists).
func unitCopyForVerify(t *testing.T, dest string) string {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(dest, instUnit))
	if err != nil {
		t.Fatal(err)
	}
	fixed := strings.ReplaceAll(string(data), "=/usr/local/bin/mac-nmguard ", "="+filepath.Join(dest, instBin)+" ")
	if fixed == string(data) {
		t.Fatalf("unit has no ExecStart=/usr/local/bin/mac-nmguard to redirect:\n%s", data)
	}
	p := filepath.Join(t.TempDir(), "mac-nmguard.service")
	if err := os.WriteFile(p, []byte(fixed), 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func checkUnitVerify(t *testing.T, dest string) {
	sa := installTool(t, "systemd-analyze")
	unit := unitCopyForVerify(t, dest)
	cmd := exec.Command(sa, "verify", "--man=no", unit)
	cmd.Dir = filepath.Dir(unit)
	out, err := cmd.CombinedOutput()
	if err != nil || len(bytes.TrimSpace(out)) != 0 {
		t.Errorf("systemd-analyze verify: %v\n%s", err, out)
	}
}

var exposureRE = regexp.MustCompile(`Overall exposure level for mac-nmguard\.service: ([0-9.]+)`)

func checkUnitSecurity(t *testing.T, dest string) {
	sa := installTool(t, "systemd-analyze")
	unit := unitCopyForVerify(t, dest)
	out, err := exec.Command(sa, "security", "--offline=yes", "--no-pager", unit).CombinedOutput()
	if err != nil {
		t.Fatalf("systemd-analyze security --offline=yes: %v\n%s", err, out)
	}
	m := exposureRE.FindSubmatch(out)
	if m == nil {
		t.Fatalf("no exposure level in:\n%s", out)
	}
	score, err := strconv.ParseFloat(string(m[1]), 64)
	if err != nil {
		t.Fatal(err)
	}
	t.Logf("systemd-analyze security exposure: %.1f", score)
	if score > maxExposure {
		t.Errorf("exposure %.1f is above %.1f: the unit lost hardening\n%s", score, maxExposure, out)
	}
}

func checkPolkit(t *testing.T, dest string) {
	xmllint := installTool(t, "xmllint")
	file := filepath.Join(dest, instPolkit)
	args := []string{"--noout", "--nonet"}
	const dtd = "/usr/share/polkit-1/policyconfig-1.dtd"
	if _, err := os.Stat(dtd); err == nil {
		args = append(args, "--dtdvalid", dtd)
	} else {
		t.Logf("%s not found: well-formedness checked, not validity", dtd)
	}
	if out, err := exec.Command(xmllint, append(args, file)...).CombinedOutput(); err != nil {
		t.Errorf("xmllint %v: %v\n%s", args, err, out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	// Defaults per action, in file order: any, inactive, active.
	want := map[string][3]string{
		"io.github.macnmguard.restore":          {"no", "auth_admin", "yes"},
		"io.github.macnmguard.dismiss":          {"no", "auth_admin", "yes"},
		"io.github.macnmguard.set-spoofing":     {"auth_admin", "auth_admin", "auth_admin"},
		"io.github.macnmguard.restore-always":   {"auth_admin_keep", "auth_admin_keep", "auth_admin_keep"},
		"io.github.macnmguard.forget-exemption": {"no", "auth_admin", "yes"},
	}
	actRE := regexp.MustCompile(`(?s)<action id="([^"]+)">.*?<allow_any>([^<]*)</allow_any>\s*<allow_inactive>([^<]*)</allow_inactive>\s*<allow_active>([^<]*)</allow_active>`)
	got := map[string][3]string{}
	for _, m := range actRE.FindAllStringSubmatch(string(data), -1) {
		got[m[1]] = [3]string{m[2], m[3], m[4]}
	}
	if diff := cmp.Diff(want, got); diff != "" {
		t.Errorf("polkit defaults (-want +got):\n%s", diff)
	}
}

func checkBusPolicy(t *testing.T, dest string) {
	xmllint := installTool(t, "xmllint")
	file := filepath.Join(dest, instBusConf)
	if out, err := exec.Command(xmllint, "--noout", "--nonet", file).CombinedOutput(); err != nil {
		t.Errorf("xmllint: %v\n%s", err, out)
	}
	// The busconfig DTD is not shipped offline; dbus-daemon itself is the
	// validator: it refuses to start on a config it cannot parse.
	daemon := installTool(t, "dbus-daemon")
	dir := t.TempDir()
	conf := filepath.Join(dir, "bus.conf")
	sock := filepath.Join(dir, "bus.sock")
	err := os.WriteFile(conf, []byte(`<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-BUS Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>system</type>
  <listen>unix:path=`+sock+`</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <deny own="*"/>
    <deny send_type="method_call"/>
    <allow send_destination="org.freedesktop.DBus"/>
  </policy>
  <include>`+file+`</include>
</busconfig>
`), 0o644)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, daemon, "--config-file="+conf, "--nofork", "--nopidfile", "--print-address")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatalf("start dbus-daemon: %v", err)
	}
	pid := cmd.Process.Pid
	t.Cleanup(func() {
		_ = syscall.Kill(pid, syscall.SIGTERM)
		_ = cmd.Wait()
	})
	line, err := bufio.NewReader(stdout).ReadString('\n')
	if err != nil || !strings.Contains(line, sock) {
		_ = cmd.Wait()
		t.Fatalf("dbus-daemon did not accept the bus policy: %v %q\n%s", err, line, stderr.String())
	}
}

func checkDesktop(t *testing.T, dest string) {
	data, err := os.ReadFile(filepath.Join(dest, instDesktop))
	if err != nil {
		t.Fatal(err)
	}
	keys := map[string]string{}
	group := ""
	for i, line := range strings.Split(strings.TrimRight(string(data), "\n"), "\n") {
		switch {
		case line == "" || strings.HasPrefix(line, "#"):
		case strings.HasPrefix(line, "["):
			if group != "" {
				t.Errorf("line %d: second group %s", i+1, line)
			}
			group = line
		default:
			k, v, ok := strings.Cut(line, "=")
			if !ok || group == "" {
				t.Errorf("line %d: %q is not key=value in a group", i+1, line)
				continue
			}
			if _, dup := keys[k]; dup {
				t.Errorf("line %d: duplicate key %s", i+1, k)
			}
			keys[k] = v
		}
	}
	if group != "[Desktop Entry]" {
		t.Errorf("group %q, want [Desktop Entry]", group)
	}
	for k, v := range map[string]string{
		"Type":    "Application",
		"Exec":    "/usr/local/bin/mac-nmguard agent",
		"TryExec": "/usr/local/bin/mac-nmguard",
		// GNOME Shell lists the agent in the notification settings.
		"X-GNOME-UsesNotifications": "true",
	} {
		if keys[k] != v {
			t.Errorf("%s=%q, want %q", k, keys[k], v)
		}
	}
	for _, k := range []string{"Name", "Comment"} {
		if keys[k] == "" {
			t.Errorf("no %s", k)
		}
	}
}

// checkNMConf asks NetworkManager for its merged configuration with the
// snippet next to the distribution's own conf.d files, so a packaged file
// that overrides ours is caught.
func checkNMConf(t *testing.T, dest string) {
	nm := installTool(t, "NetworkManager")
	dir := t.TempDir()
	sys := filepath.Join(dir, "lib")
	etc := filepath.Join(dir, "etc")
	for _, d := range []string{sys, etc} {
		if err := os.Mkdir(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	host, _ := filepath.Glob("/usr/lib/NetworkManager/conf.d/*.conf")
	for _, f := range append(host, filepath.Join(dest, instNMConf)) {
		if filepath.Dir(f) != filepath.Join(dest, filepath.Dir(instNMConf)) && filepath.Base(f) == filepath.Base(instNMConf) {
			continue // an installed copy on the host: use ours
		}
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(filepath.Join(sys, filepath.Base(f)), data, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	main := filepath.Join(dir, "NetworkManager.conf")
	if err := os.WriteFile(main, nil, 0o644); err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(nm, "--print-config", "--config="+main, "--config-dir="+etc,
		"--system-config-dir="+sys, "--intern-config="+filepath.Join(dir, "intern.conf")).CombinedOutput()
	if err != nil {
		t.Fatalf("NetworkManager --print-config: %v\n%s", err, out)
	}
	sections := map[string]map[string]string{}
	cur := ""
	for _, line := range strings.Split(string(out), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "["):
			cur = strings.Trim(line, "[]")
			sections[cur] = map[string]string{}
		case line == "" || strings.HasPrefix(line, "#"):
		default:
			if k, v, ok := strings.Cut(line, "="); ok && cur != "" {
				sections[cur][k] = v
			}
		}
	}
	for _, c := range []struct{ section, key, value string }{
		{"device", "wifi.scan-rand-mac-address", "yes"},
		{"connection", "ethernet.cloned-mac-address", "preserve"},
		{"connection", "wifi.cloned-mac-address", "preserve"},
	} {
		if got := sections[c.section][c.key]; got != c.value {
			t.Errorf("NetworkManager's effective [%s] %s = %q, want %q\n%s", c.section, c.key, got, c.value, out)
		}
	}
}

func checkCompletion(t *testing.T, dest string) {
	bash := installTool(t, "bash")
	if out, err := exec.Command(bash, "-n", filepath.Join(dest, instBashComp)).CombinedOutput(); err != nil {
		t.Errorf("bash -n: %v\n%s", err, out)
	}
	for file, marker := range map[string]string{
		instBashComp: "__start_mac-nmguard",
		instZshComp:  "#compdef mac-nmguard",
		instFishComp: "complete -c mac-nmguard",
	} {
		data, err := os.ReadFile(filepath.Join(dest, file))
		if err != nil {
			t.Fatal(err)
		}
		if !bytes.Contains(data, []byte(marker)) {
			t.Errorf("%s lacks %q", file, marker)
		}
	}
}

// checkPolicyValidate: the built binary accepts the installed policy; it
// changes nothing against the built-in default; and every setting shown
// commented out is valid once uncommented, and every key exists there.
func checkPolicyValidate(t *testing.T, dest string) {
	file := filepath.Join(dest, instPolicy)
	out, err := exec.Command(binPath, "policy", "validate", file).CombinedOutput()
	if err != nil {
		t.Errorf("mac-nmguard policy validate %s: %v\n%s", file, err, out)
	}
	data, err := os.ReadFile(file)
	if err != nil {
		t.Fatal(err)
	}
	p, err := policy.Parse(file, data)
	if err != nil {
		t.Fatalf("policy.Parse: %v", err)
	}
	def := policy.Default()
	type eff struct {
		Spoof, Hold bool
		HoldTimeout policy.Duration
		Mode        policy.Mode
		Enforcement policy.Enforcement
		Guard       policy.Guard
		Devices     int
		Networks    int
		Detect      policy.DetectSettings
		VendorsFile string
	}
	view := func(p *policy.Policy) eff {
		return eff{p.Spoof, p.Hold, p.HoldTimeout, p.Default.Mode, p.Default.Enforcement, p.Default.Guard, len(p.Devices), len(p.Networks), p.Detect, p.VendorsFile}
	}
	if diff := cmp.Diff(view(def), view(p)); diff != "" {
		t.Errorf("the shipped policy is not the built-in default (-default +shipped):\n%s", diff)
	}

	// "#key = value" and "#[table]" lines are settings; "# " lines prose.
	var full strings.Builder
	for _, line := range strings.Split(string(data), "\n") {
		if len(line) > 1 && line[0] == '#' && (line[1] == '[' || line[1] >= 'a' && line[1] <= 'z') {
			line = line[1:]
		}
		full.WriteString(line + "\n")
	}
	if _, err := policy.Parse("uncommented", []byte(full.String())); err != nil {
		t.Errorf("the commented-out settings are not valid once uncommented: %v\n%s", err, full.String())
	}
	set := map[string]bool{}
	table := ""
	for _, line := range strings.Split(full.String(), "\n") {
		line = strings.TrimSpace(line)
		switch {
		case strings.HasPrefix(line, "["):
			table = strings.Trim(line, "[]")
			set[table] = true
		case line != "" && !strings.HasPrefix(line, "#"):
			if k, _, ok := strings.Cut(line, "="); ok {
				set[strings.TrimSpace(k)] = true
				set[table+"."+strings.TrimSpace(k)] = true
			}
		}
	}
	for table, keys := range knownPolicyKeys(t) {
		for _, k := range keys {
			name := k
			if table != "" {
				name = table + "." + k
			}
			if !set[name] {
				t.Errorf("policy.toml does not document key %s", name)
			}
		}
	}
}

var knownKeysRE = regexp.MustCompile(`known keys: ([a-z_, ]+)\)`)

// knownPolicyKeys asks the parser which keys each table has, from its
// "unknown key" error, so a key added later must be documented too.
func knownPolicyKeys(t *testing.T) map[string][]string {
	t.Helper()
	out := map[string][]string{}
	for table, doc := range map[string]string{
		"":        "zz_unknown = 1\n",
		"default": "[default]\nzz_unknown = 1\n",
		"device":  "[[device]]\nzz_unknown = 1\n",
		"network": "[[network]]\nzz_unknown = 1\n",
		"detect":  "[detect]\nzz_unknown = 1\n",
	} {
		_, err := policy.Parse("probe", []byte(doc))
		if err == nil {
			t.Fatalf("parser accepted an unknown key in %q", doc)
		}
		m := knownKeysRE.FindStringSubmatch(err.Error())
		if m == nil {
			t.Fatalf("cannot find the known keys in the parser's error %q (its format changed?)", err)
		}
		keys := strings.Split(m[1], ", ")
		sort.Strings(keys)
		out[table] = keys
	}
	return out
}

// TestIntegrationInstalledUnitRuns runs the service the way the installed
// unit does, as far as it can be done without systemd as PID 1: with the
// unit's capability bounding set and no_new_privs, in a private network
// namespace, with NOTIFY_SOCKET set. It must report READY=1 (Type=notify),
// survive SIGHUP (ExecReload) and stop cleanly on SIGTERM. Not covered here:
// the file system, seccomp and namespace restrictions, which need systemd
// to apply them.
func TestIntegrationInstalledUnitRuns(t *testing.T) {
	bed.Require(t, "unshare", "setpriv", "make")
	dest, gen := t.TempDir(), t.TempDir()
	makeTarget(t, "install", dest, gen)
	d := unitDirectives(t, filepath.Join(dest, instUnit))
	var caps []string
	for _, c := range strings.Fields(strings.Join(d["Service.CapabilityBoundingSet"], " ")) {
		caps = append(caps, "+"+strings.ToLower(strings.TrimPrefix(c, "CAP_")))
	}
	if len(caps) == 0 {
		t.Fatal("unit sets no CapabilityBoundingSet")
	}
	exec0 := strings.Fields(strings.Join(d["Service.ExecStart"], " "))
	if len(exec0) < 2 || exec0[0] != "/usr/local/bin/mac-nmguard" || exec0[1] != "run" {
		t.Fatalf("unexpected ExecStart %q", exec0)
	}
	state, runtimeDir := t.TempDir(), t.TempDir()
	args := []string{"-n", "setpriv", "--bounding-set", "-all," + strings.Join(caps, ","), "--inh-caps", "-all", "--no-new-privs",
		filepath.Join(dest, instBin), "run",
		"--policy", filepath.Join(dest, instPolicy), "--policy-dir", filepath.Join(dest, instPolicyD), "--state-dir", state, "--runtime-dir", runtimeDir}

	sockDir := t.TempDir()
	notifyPath := filepath.Join(sockDir, "notify")
	notify, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: notifyPath, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { notify.Close() })

	cmd := exec.Command("unshare", args...)
	cmd.Env = append(os.Environ(), "NOTIFY_SOCKET="+notifyPath,
		"DBUS_SYSTEM_BUS_ADDRESS=unix:path="+filepath.Join(sockDir, "no-bus"))
	logs := &installLog{}
	cmd.Stdout, cmd.Stderr = logs, logs
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	pid := cmd.Process.Pid // unshare execs setpriv execs the service: one PID
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	t.Cleanup(func() {
		select {
		case <-exited:
		default:
			_ = syscall.Kill(pid, syscall.SIGKILL)
			<-exited
		}
	})

	ready := make(chan string, 1)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, _, err := notify.ReadFromUnix(buf)
			if err != nil {
				return
			}
			if msg := string(buf[:n]); strings.Contains(msg, "READY=1") {
				ready <- msg
				return
			}
		}
	}()
	select {
	case <-ready:
	case err := <-exited:
		exited <- err
		t.Fatalf("service exited before READY=1 under the unit's capabilities (%s): %v\n%s", strings.Join(caps, ","), err, logs.String())
	case <-time.After(60 * time.Second):
		t.Fatalf("no READY=1 within 60s\n%s", logs.String())
	}

	// ExecReload: SIGHUP must reload the policy and keep the service
	// running (without a handler it would end it with "signal: hangup").
	if err := syscall.Kill(pid, syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	if !logs.waitFor("policy: reloaded", exited, 60*time.Second) {
		t.Fatalf("no \"policy: reloaded\" after SIGHUP\n%s", logs.String())
	}
	if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
		t.Logf("SIGTERM: %v", err)
	}
	select {
	case err := <-exited:
		exited <- err
		if err != nil {
			t.Errorf("service did not stop cleanly on SIGTERM: %v\n%s", err, logs.String())
		}
	case <-time.After(60 * time.Second):
		t.Fatalf("service still running 60s after SIGTERM\n%s", logs.String())
	}
}

// installLog collects a process's output; safe for concurrent use.
type installLog struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (l *installLog) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.Write(p)
}

func (l *installLog) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.buf.String()
}

// waitFor polls the output for sub until the process exits or timeout.
func (l *installLog) waitFor(sub string, exited chan error, timeout time.Duration) bool {
	deadline := time.Now().Add(timeout)
	for time.Now().Before(deadline) {
		if strings.Contains(l.String(), sub) {
			return true
		}
		select {
		case err := <-exited:
			exited <- err
			return strings.Contains(l.String(), sub)
		case <-time.After(50 * time.Millisecond):
		}
	}
	return false
}
