// SPDX-License-Identifier: GPL-3.0-or-later

package testproc

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

// Require skips t with reason when reason is not "", or fails it when
// RequireEnv is "1"; in -short mode it skips t anyway, unless RequireEnv is
// "1".
func Require(t testing.TB, reason string) {
	t.Helper()
	if reason != "" {
		Skip(t, reason)
		return
	}
	if testing.Short() && os.Getenv(RequireEnv) != "1" {
		t.Skip("integration test skipped in -short mode")
	}
}

// Skip skips t because of reason, or fails it when RequireEnv is "1".
func Skip(t testing.TB, reason string) {
	t.Helper()
	if os.Getenv(RequireEnv) == "1" {
		t.Fatalf("integration test cannot run (%s=1): %s", RequireEnv, reason)
		return
	}
	t.Skipf("integration test skipped: %s (set %s=1 to make this a failure)", reason, RequireEnv)
}

// Missing returns why a root-only test cannot run here (not root, or a
// program in tools not on PATH), or "".
func Missing(tools ...string) string {
	if os.Geteuid() != 0 {
		return fmt.Sprintf("needs root (euid %d)", os.Geteuid())
	}
	return MissingPrograms(tools...)
}

// MissingPrograms names the programs in tools that are not on PATH, or
// returns "".
func MissingPrograms(tools ...string) string {
	var absent []string
	for _, tool := range tools {
		if _, err := exec.LookPath(tool); err != nil {
			absent = append(absent, tool)
		}
	}
	if len(absent) > 0 {
		return "missing programs: " + strings.Join(absent, ", ") + " (run test/install-deps.sh)"
	}
	return ""
}
