// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"bytes"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// guardOptions are bed options with the service's own D-Bus bus policy (the
// file `make install` installs) in place, so that it can own its name.
func guardOptions(t testing.TB, o bed.Options) bed.Options {
	t.Helper()
	conf, err := os.ReadFile(filepath.Join("..", "cmd", "mac-nmguard", "dist", "io.github.macnmguard.Guard1.conf"))
	if err != nil {
		t.Fatalf("bus policy of the service: %v", err)
	}
	o.BusPolicy = append(o.BusPolicy, string(conf))
	// NM gets the snippet `make install` installs (hotplug gate included);
	// the bed's client devices are veths standing in for Ethernet cards, so
	// the gate covers type:veth too here.
	nmConf, err := os.ReadFile(filepath.Join("..", "cmd", "mac-nmguard", "dist", "90-mac-nmguard.conf"))
	if err != nil {
		t.Fatalf("NetworkManager snippet: %v", err)
	}
	o.NMConf += string(nmConf) + "\n[device-mac-nmguard-gate-test-veth]\nmatch-device=type:veth\nmanaged=0\n"
	o.NMGated = true
	return o
}

// bedCardsPolicy is the policy drop-in every service (and check) started on
// a bed reads: the bed's network cards are veths, virtual devices that the
// built-in guard = "auto" leaves alone, and every link in the bed's client
// namespace but lo is one of its cards (nmt0..., and the ones tests
// hotplug under other names). So the bed guards every device by a rule, as
// a real machine guards its cards. A test that wants guard = "auto" on some
// of its own devices overrides this rule in a later drop-in (see
// hwguard_test.go).
const bedCardsPolicy = `# The bed's cards are veths: guard them as cards (test/service_helpers_test.go).
[[device]]
name = "bed cards (veths)"
interface = "*"
guard = "always"
`

// bedCardsFile is where writeBedCards puts bedCardsPolicy in a policy.d.
const bedCardsFile = "00-bed-cards.toml"

// writeBedCards writes bedCardsPolicy into the drop-in directory policyDir.
func writeBedCards(t testing.TB, policyDir string) {
	t.Helper()
	if err := os.MkdirAll(policyDir, 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(policyDir, bedCardsFile), []byte(bedCardsPolicy), 0o644); err != nil {
		t.Fatal(err)
	}
}

// guard is one running mac-nmguard service in a bed's client namespace.
type guard struct {
	b        *bed.Bed
	p        *bed.Process
	dir      string // policy, state
	notify   *net.UnixConn
	stateDir string
	level    string // --log-level ("" debug)
	// runtimeDir stands for /run/mac-nmguard (per boot); kept across the
	// service's restarts in a test, as /run is across restarts in a boot.
	runtimeDir string
	extra      []string // more arguments of `mac-nmguard run`
}

// startGuard writes policyText (empty: no file, the built-in default) and
// the bed's cards rule (bedCardsPolicy, a drop-in) and starts `mac-nmguard
// run` in the client namespace on the bed's bus, then waits for its
// sd_notify READY=1 on a socket of the test's own.
func startGuard(t testing.TB, b *bed.Bed, policyText string) *guard {
	t.Helper()
	return startGuardAt(t, b, policyText, "debug")
}

// startGuardAt is startGuard with the service logging at level.
func startGuardAt(t testing.TB, b *bed.Bed, policyText, level string) *guard {
	t.Helper()
	dir := filepath.Join(b.Dir, "guard")
	writeBedCards(t, filepath.Join(dir, "policy.d"))
	if policyText != "" {
		if err := os.WriteFile(filepath.Join(dir, "policy.toml"), []byte(policyText), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	g := &guard{b: b, dir: dir, stateDir: filepath.Join(dir, "state"), level: level, runtimeDir: filepath.Join(dir, "run")}
	g.start(t)
	return g
}

func (g *guard) start(t testing.TB) {
	t.Helper()
	sock := filepath.Join(g.dir, "notify.sock")
	os.Remove(sock)
	conn, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatalf("notify socket: %v", err)
	}
	t.Cleanup(func() { conn.Close(); os.Remove(sock) })
	g.notify = conn
	level := g.level
	if level == "" {
		level = "debug"
	}
	args := append([]string{binPath, "run", "--log-level", level,
		"--policy", filepath.Join(g.dir, "policy.toml"),
		"--policy-dir", filepath.Join(g.dir, "policy.d"),
		"--state-dir", g.stateDir, "--runtime-dir", g.runtimeDir,
		// What the bed's NetworkManager reads (bed/nm_linux.go), not the host's.
		"--nm-conf", filepath.Join(g.b.Dir, "NetworkManager.conf"),
		"--nm-conf-dir", filepath.Join(g.b.Dir, "nm-sysconf.d"), "--nm-conf-dir", filepath.Join(g.b.Dir, "nm-conf.d")}, g.extra...)
	g.p = g.b.StartProcess(t, g.b.ClientNS, []string{"NOTIFY_SOCKET=" + sock}, args...)
	buf := make([]byte, 4096)
	conn.SetReadDeadline(time.Now().Add(20 * time.Second))
	for {
		n, err := conn.Read(buf)
		if err != nil {
			t.Fatalf("mac-nmguard did not report READY: %v\n%s", err, g.p.Log())
		}
		if bytes.Contains(buf[:n], []byte("READY=1")) {
			return
		}
	}
}

// waitLog waits until the service's log contains every one of subs on one
// line, and returns that line.
func (g *guard) waitLog(t testing.TB, timeout time.Duration, subs ...string) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		for _, line := range strings.Split(g.p.Log(), "\n") {
			ok := true
			for _, s := range subs {
				if !strings.Contains(line, s) {
					ok = false
					break
				}
			}
			if ok {
				return line
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no log line with %q within %s; log:\n%s", subs, timeout, tail(g.p.Log(), 60))
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func tail(s string, n int) string {
	lines := strings.Split(s, "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// linkAddr reads a client device's current address.
func linkAddr(t testing.TB, b *bed.Bed, dev string) string {
	t.Helper()
	out, err := exec.Command("ip", "-n", b.ClientNS, "-br", "link", "show", "dev", dev).CombinedOutput()
	if err != nil {
		t.Fatalf("ip link show %s: %v: %s", dev, err, out)
	}
	f := strings.Fields(string(out))
	if len(f) < 3 {
		t.Fatalf("ip link show %s: unexpected %q", dev, out)
	}
	return strings.ToLower(f[2])
}

// waitAddrNot waits until dev's address differs from not, returns it.
func waitAddrNot(t testing.TB, b *bed.Bed, dev, not string, timeout time.Duration) string {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		a := linkAddr(t, b, dev)
		if a != strings.ToLower(not) {
			return a
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s still has %s after %s", dev, not, timeout)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// ipClient runs ip with args in the client namespace.
func ipClient(t testing.TB, b *bed.Bed, args ...string) {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"-n", b.ClientNS}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip %s: %v: %s", strings.Join(args, " "), err, out)
	}
}

// nftDropped sums the drop counters of the backstop in the client namespace.
func nftRuleset(t testing.TB, b *bed.Bed) string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "exec", b.ClientNS, "nft", "list", "table", "netdev", "mac_nmguard").CombinedOutput()
	if err != nil {
		return ""
	}
	return string(out)
}
