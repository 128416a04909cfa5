// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/bed"
	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// KeepEnv keeps the bed's temp dir (share, console, capture, logs) when
// "1", for debugging; qemu is stopped anyway.
const KeepEnv = "MAC_NMGUARD_KEEP_WIFIBED"

// Busybox is the static busybox the initramfs is made of (busybox-static).
const Busybox = "/bin/busybox"

// Options say what one boot runs.
type Options struct {
	Plan Plan
	// Timeout bounds the whole boot; 0: 150 s plus Plan.ScenarioTimeout
	// per scenario.
	Timeout time.Duration
	// Deb is the project's .deb, copied to the share as DebFile (the
	// systemd boot installs it).
	Deb string
	// Keep is a host folder shared writable with the guest, which mounts it
	// on /var/lib/mac-nmguard before systemd starts: the service's state
	// outlives the boot ("" none).
	Keep string
}

// Run is one finished boot.
type Run struct {
	Dir      string  // the shared folder (results, capture, logs)
	Results  Results // what the guest reported
	Frames   []Frame // the whole hwsim0 capture
	Wall     time.Duration
	Console  string // the guest's console (kernel and runner output)
	Kernel   Kernel
	qemuArgs []string
}

// Missing says why the bed cannot run here, or "".
func Missing() string {
	if m := testproc.Missing("qemu-system-x86_64", "NetworkManager", "hostapd", "wpa_supplicant",
		"dnsmasq", "tcpdump", "iw", "nmcli", "dbus-daemon", "go"); m != "" {
		return m
	}
	if _, err := os.Stat(Busybox); err != nil {
		return "no static busybox at " + Busybox + " (install busybox-static: test/install-deps.sh)"
	}
	if _, err := FindKernel(); err != nil {
		return err.Error()
	}
	return ""
}

// Require skips (or, under MAC_NMGUARD_REQUIRE_INTEGRATION=1, fails) t when
// the bed cannot run here, and in -short mode.
func Require(t testing.TB) {
	t.Helper()
	testproc.Require(t, Missing())
}

// Boot builds the initramfs, the guest runner and the service, boots the
// guest, waits for it to power off (at most o.Timeout) and returns what it
// reported. It fails t, with the console and the guest's logs, when the
// boot hangs or reports no results. qemu is killed by PID in t.Cleanup and
// the temp dir removed (unless KeepEnv).
func Boot(t testing.TB, o Options) *Run {
	t.Helper()
	k, err := FindKernel()
	if err != nil {
		t.Fatalf("wifibed: %v", err)
	}
	root, err := os.MkdirTemp("", "mac-nmguard-wifibed-")
	if err != nil {
		t.Fatalf("wifibed: %v", err)
	}
	t.Cleanup(func() {
		if os.Getenv(KeepEnv) == "1" {
			t.Logf("wifibed: kept %s", root)
			return
		}
		os.RemoveAll(root)
	})
	share := filepath.Join(root, "share")
	for _, d := range []string{share, filepath.Join(share, LogDir)} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatalf("wifibed: %v", err)
		}
	}
	initrd := filepath.Join(root, "initramfs.cpio")
	if err := k.WriteInitramfs(initrd, Busybox); err != nil {
		t.Fatalf("wifibed: %v", err)
	}
	for _, b := range []struct{ out, pkg string }{
		{GuestBinary, "github.com/mac-nmguard/mac-nmguard/test/wifibed/guest"},
		{ServiceBin, "github.com/mac-nmguard/mac-nmguard/cmd/mac-nmguard"},
	} {
		cmd := exec.Command("go", "build", "-trimpath", "-o", filepath.Join(share, b.out), b.pkg)
		cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("wifibed: build %s: %v\n%s", b.pkg, err, out)
		}
	}
	if o.Deb != "" {
		b, err := os.ReadFile(o.Deb)
		if err != nil {
			t.Fatalf("wifibed: %v", err)
		}
		if err := os.WriteFile(filepath.Join(share, DebFile), b, 0o644); err != nil {
			t.Fatalf("wifibed: %v", err)
		}
	}
	if err := copyDist(share); err != nil {
		t.Fatalf("wifibed: %v", err)
	}
	if err := bed.WriteCerts(filepath.Join(share, "ca.pem"), filepath.Join(share, "server.pem"), filepath.Join(share, "server.key")); err != nil {
		t.Fatalf("wifibed: %v", err)
	}
	if o.Plan.ScenarioTimeout == 0 {
		o.Plan.ScenarioTimeout = 2 * time.Minute
	}
	pb, _ := json.Marshal(o.Plan)
	if err := os.WriteFile(filepath.Join(share, PlanFile), pb, 0o644); err != nil {
		t.Fatalf("wifibed: %v", err)
	}
	if o.Timeout == 0 {
		o.Timeout = 150*time.Second + time.Duration(len(o.Plan.Scenarios))*o.Plan.ScenarioTimeout
	}

	r := &Run{Dir: share, Kernel: k}
	r.qemuArgs = []string{"qemu-system-x86_64",
		"-accel", "tcg,thread=multi", "-cpu", "max", "-m", "2G", "-smp", "2",
		"-display", "none", "-serial", "stdio", "-monitor", "none", "-no-reboot", "-nic", "none",
		"-kernel", k.Image, "-initrd", initrd,
		"-append", "console=ttyS0 panic=-1 loglevel=4 rw",
		"-virtfs", "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap",
		"-virtfs", "local,path=" + share + ",mount_tag=share,security_model=none,multidevs=remap",
	}
	if o.Keep != "" {
		r.qemuArgs = append(r.qemuArgs, "-virtfs", "local,path="+o.Keep+",mount_tag="+KeepTag+",security_model=none,multidevs=remap")
	}
	start := time.Now()
	q, err := testproc.Start(testproc.Spec{Dir: root, Name: "qemu", Args: r.qemuArgs})
	if err != nil {
		t.Fatalf("wifibed: %v", err)
	}
	t.Cleanup(func() { q.Stop(2 * time.Second) })
	t.Logf("wifibed: booting %s (qemu pid %d), %d scenarios, timeout %v", k.Version, q.PID(), len(o.Plan.Scenarios), o.Timeout)
	waitErr := q.Wait(o.Timeout)
	hung := !q.Exited()
	q.Stop(2 * time.Second) // by PID; nothing the guest started outlives it
	r.Wall = time.Since(start)
	r.Console = q.Log()
	if hung {
		r.dumpLogs(t)
		t.Fatalf("wifibed: the guest did not power off within %v (%v); killed qemu", o.Timeout, waitErr)
	}
	b, err := os.ReadFile(filepath.Join(share, ResultsFile))
	if err != nil {
		r.dumpLogs(t)
		t.Fatalf("wifibed: the guest wrote no results (qemu: %v): %v", waitErr, err)
	}
	if err := json.Unmarshal(b, &r.Results); err != nil {
		r.dumpLogs(t)
		t.Fatalf("wifibed: results: %v", err)
	}
	if r.Results.SetupErr != "" {
		r.dumpLogs(t)
		t.Fatalf("wifibed: the guest could not set up the bed: %s", r.Results.SetupErr)
	}
	frames, err := ReadCapture(filepath.Join(share, CaptureFile))
	if err != nil {
		r.dumpLogs(t)
		t.Fatalf("wifibed: %v", err)
	}
	r.Frames = frames
	t.Logf("wifibed: %s, NetworkManager %s: runner at %.1f s guest uptime, bed ready at %.1f s, %d scenarios in %v wall, %d frames",
		r.Results.Kernel, r.Results.NMVersion, r.Results.Uptime, r.Results.ReadyAt, len(r.Results.Scenarios), r.Wall.Round(time.Second), len(frames))
	return r
}

// copyDist copies the service's D-Bus policy and NetworkManager snippet
// from the source tree (cmd/mac-nmguard/dist) to the share.
func copyDist(share string) error {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return fmt.Errorf("go env GOMOD: %w", err)
	}
	dist := filepath.Join(filepath.Dir(strings.TrimSpace(string(out))), "cmd", "mac-nmguard", "dist")
	for _, f := range []string{"io.github.macnmguard.Guard1.conf", "90-mac-nmguard.conf", "io.github.macnmguard.policy"} {
		b, err := os.ReadFile(filepath.Join(dist, f))
		if err != nil {
			return fmt.Errorf("copy dist: %w", err)
		}
		if err := os.WriteFile(filepath.Join(share, f), b, 0o644); err != nil {
			return fmt.Errorf("copy dist: %w", err)
		}
	}
	return nil
}

// dumpLogs logs the console's tail and every guest log to t.
func (r *Run) dumpLogs(t testing.TB) {
	t.Helper()
	t.Logf("wifibed: qemu: %s", strings.Join(r.qemuArgs, " "))
	t.Logf("wifibed: guest console:\n%s", tail(r.Console, 64<<10))
	logs, _ := filepath.Glob(filepath.Join(r.Dir, LogDir, "*"))
	sort.Strings(logs)
	for _, l := range logs {
		b, err := os.ReadFile(l)
		if err != nil {
			continue
		}
		t.Logf("wifibed: guest log %s:\n%s", filepath.Base(l), tail(string(b), 32<<10))
	}
}

// DumpLogs logs the console and the guest's logs (for a failed check).
func (r *Run) DumpLogs(t testing.TB) { r.dumpLogs(t) }

// Log returns one guest log (logs/NAME.txt), "" when absent.
func (r *Run) Log(name string) string {
	b, err := os.ReadFile(filepath.Join(r.Dir, LogDir, name+".txt"))
	if err != nil {
		return ""
	}
	return string(b)
}

func tail(s string, max int) string {
	if len(s) > max {
		return "...\n" + s[len(s)-max:]
	}
	return s
}

// Scenario returns the named scenario's result.
func (r *Run) Scenario(name string) (Scenario, error) {
	for _, s := range r.Results.Scenarios {
		if s.Name == name {
			return s, nil
		}
	}
	return Scenario{}, errors.New("scenario " + name + " did not run")
}

// Classifier classes addresses: the client's real address (and hotplugged
// radios'), the access points'.
func (r *Run) Classifier() Classifier {
	c := Classifier{Real: []string{r.Results.Real}}
	for _, a := range r.Results.Hotplugged {
		c.Real = append(c.Real, a)
	}
	for _, n := range r.Results.Networks {
		c.AP = append(c.AP, n.BSSID)
	}
	return c
}

// Frames of scenario s (inside its time window).
func (r *Run) FramesOf(s Scenario) []Frame { return Between(r.Frames, s.Start, s.End) }

// String describes the scenario for a failure message.
func (s Scenario) String() string {
	return fmt.Sprintf("%s (%v): %s", s.Name, s.End.Sub(s.Start).Round(100*time.Millisecond), strings.Join(s.Log, "; "))
}
