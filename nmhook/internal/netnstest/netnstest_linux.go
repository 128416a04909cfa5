// SPDX-License-Identifier: GPL-3.0-or-later

package netnstest

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
)

// RequireRoot skips an integration test unless it runs as root and finds
// the given tools on PATH. With MAC_NMGUARD_REQUIRE_INTEGRATION=1 (CI) a
// test that cannot run fails instead.
func RequireRoot(t testing.TB, tools ...string) {
	t.Helper()
	reason := ""
	if os.Geteuid() != 0 {
		reason = "needs root (network namespaces, netlink, nftables)"
	}
	for _, tool := range tools {
		if reason != "" {
			break
		}
		if _, err := exec.LookPath(tool); err != nil {
			reason = fmt.Sprintf("needs %s: %v", tool, err)
		}
	}
	if reason == "" {
		return
	}
	if os.Getenv("MAC_NMGUARD_REQUIRE_INTEGRATION") == "1" {
		t.Fatalf("integration test cannot run: %s (MAC_NMGUARD_REQUIRE_INTEGRATION=1)", reason)
	}
	t.Skipf("skipping integration test: %s", reason)
}

// EnterTestNetns locks the calling goroutine to its thread and moves the
// thread into a new, named network namespace; it returns the name (for
// `ip netns exec`). t.Cleanup moves the thread back, unlocks it and deletes
// the namespace. If the thread cannot be moved back it stays locked, so the
// runtime discards it when the goroutine ends instead of reusing a thread
// in the wrong namespace (pattern of containernetworking/plugins pkg/ns).
//
// Only the test goroutine is in the namespace: code under test that runs
// elsewhere must bind to it by handle, as links.New and backstop.New do.
func EnterTestNetns(t testing.TB) string {
	t.Helper()
	runtime.LockOSThread()
	orig, err := netns.Get()
	if err != nil {
		runtime.UnlockOSThread()
		t.Fatalf("get current netns: %v", err)
	}
	name := fmt.Sprintf("mngk-%d-%d", os.Getpid(), time.Now().UnixNano())
	created, err := netns.NewNamed(name)
	if err != nil {
		// NewNamed may have unshared already and left a file behind.
		_ = os.Remove(filepath.Join("/run/netns", name))
		if serr := netns.Set(orig); serr != nil {
			t.Fatalf("create netns %s: %v; restoring the thread failed too: %v", name, err, serr)
		}
		orig.Close()
		runtime.UnlockOSThread()
		t.Fatalf("create netns %s: %v", name, err)
	}
	t.Cleanup(func() {
		if err := netns.Set(orig); err != nil {
			t.Errorf("restore netns: %v (thread stays locked and is discarded)", err)
		} else {
			runtime.UnlockOSThread()
		}
		orig.Close()
		created.Close()
		if err := netns.DeleteNamed(name); err != nil {
			t.Errorf("delete netns %s: %v", name, err)
		}
	})
	return name
}

// DisableIPv6 stops the kernel's own IPv6 traffic (DAD, MLD, RS) on links
// created afterwards in the current thread's namespace, so frame counts in
// tests are exact. /proc/sys/net follows the opening thread's namespace.
func DisableIPv6(t testing.TB) {
	t.Helper()
	for _, k := range []string{"all", "default"} {
		p := "/proc/sys/net/ipv6/conf/" + k + "/disable_ipv6"
		if _, err := os.Stat(p); os.IsNotExist(err) {
			return // no IPv6 in this kernel: nothing to silence
		}
		if err := os.WriteFile(p, []byte("1"), 0o644); err != nil {
			t.Fatalf("disable IPv6 (%s): %v", p, err)
		}
	}
}

// AddVeth creates a veth pair in the current thread's namespace and
// returns both ends; the namespace's deletion removes them.
func AddVeth(t testing.TB, name, peer string) (netlink.Link, netlink.Link) {
	t.Helper()
	v := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: name}, PeerName: peer}
	if err := netlink.LinkAdd(v); err != nil {
		t.Fatalf("add veth %s/%s: %v", name, peer, err)
	}
	a, err := netlink.LinkByName(name)
	if err != nil {
		t.Fatalf("veth %s: %v", name, err)
	}
	b, err := netlink.LinkByName(peer)
	if err != nil {
		t.Fatalf("veth %s: %v", peer, err)
	}
	return a, b
}

// IPNetns runs `ip netns exec NAME args...` and returns its output.
func IPNetns(t testing.TB, ns string, args ...string) string {
	t.Helper()
	out, err := exec.Command("ip", append([]string{"netns", "exec", ns}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns exec %s %v: %v\n%s", ns, args, err, out)
	}
	return string(out)
}

// MustMAC parses a test address.
func MustMAC(t testing.TB, s string) net.HardwareAddr {
	t.Helper()
	m, err := net.ParseMAC(s)
	if err != nil {
		t.Fatal(err)
	}
	return m
}
