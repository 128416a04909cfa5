package notifytest

import (
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// RequireEnv turns a skipped integration test into a failed one when "1"
// (CI sets it).
const RequireEnv = "MAC_NMGUARD_REQUIRE_INTEGRATION"

// DesktopTools are the programs StartDesktop runs.
var DesktopTools = []string{"dbus-daemon", "Xvfb", "dunst", "dunstctl", "import", "grep"}

// Require skips t (with the reason) unless it runs as root with every
// program in tools on PATH; with MAC_NMGUARD_REQUIRE_INTEGRATION=1 it fails
// t instead. In -short mode it skips, unless that variable is "1".
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

func missing(tools []string) string {
	if os.Geteuid() != 0 {
		return fmt.Sprintf("needs root (euid %d)", os.Geteuid())
	}
	var absent []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			absent = append(absent, tool)
		}
	}
	if len(absent) > 0 {
		return "missing programs: " + strings.Join(absent, ", ") + " (test/install-deps.sh installs them)"
	}
	return ""
}
