// SPDX-License-Identifier: GPL-3.0-or-later

package notifytest

import (
	"testing"

	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// RequireEnv turns a skipped integration test into a failed one when "1"
// (CI sets it).
const RequireEnv = testproc.RequireEnv

// DesktopTools are the programs StartDesktop runs.
var DesktopTools = []string{"dbus-daemon", "Xvfb", "dunst", "dunstctl", "import", "grep"}

// Require skips t (with the reason) unless it runs as root with every
// program in tools on PATH; with MAC_NMGUARD_REQUIRE_INTEGRATION=1 it fails
// t instead. In -short mode it skips, unless that variable is "1".
func Require(t testing.TB, tools ...string) {
	t.Helper()
	testproc.Require(t, testproc.Missing(tools...))
}
