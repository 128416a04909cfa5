package bed

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireEnv is the environment variable that turns a skipped integration
// test into a failed one when set to "1" (CI sets it).
const RequireEnv = "MAC_NMGUARD_REQUIRE_INTEGRATION"

// baseTools returns the programs every bed needs.
func baseTools() []string {
	return []string{"ip", "dbus-daemon", "NetworkManager", "nmcli", "mount", "sh"}
}

// Require skips t (with the reason) when the bed cannot run here: not root, or
// a needed program missing (ip, dbus-daemon, NetworkManager, nmcli, and every
// program named in tools, e.g. "dnsmasq", "hostapd", "wpa_supplicant",
// "tcpdump"). With MAC_NMGUARD_REQUIRE_INTEGRATION=1 it fails t instead. In
// -short mode it skips, unless MAC_NMGUARD_REQUIRE_INTEGRATION=1.
func Require(t testing.TB, tools ...string) {
	t.Helper()
	if reason := missing(tools); reason != "" {
		if os.Getenv(RequireEnv) == "1" {
			t.Fatalf("integration test cannot run (%s=1): %s", RequireEnv, reason)
		}
		t.Skipf("integration test skipped: %s (set %s=1 to make this a failure)", reason, RequireEnv)
	}
	if testing.Short() && os.Getenv(RequireEnv) != "1" {
		t.Skip("integration test skipped in -short mode")
	}
}

// missing returns why a bed cannot run here, or "".
func missing(tools []string) string {
	if os.Geteuid() != 0 {
		return fmt.Sprintf("needs root (euid %d)", os.Geteuid())
	}
	var absent []string
	for _, tool := range append(baseTools(), tools...) {
		if _, err := exec.LookPath(tool); err != nil {
			absent = append(absent, tool)
		}
	}
	if len(absent) > 0 {
		return "missing programs: " + strings.Join(absent, ", ") + " (run test/install-deps.sh)"
	}
	if fi, err := os.Stat("/var/lib/NetworkManager"); err != nil || !fi.IsDir() {
		return "/var/lib/NetworkManager is missing (install network-manager)"
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return "no network namespaces: " + err.Error()
	}
	return ""
}
