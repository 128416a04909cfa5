// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"os"
	"testing"

	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// RequireEnv is the environment variable that turns a skipped integration
// test into a failed one when set to "1" (CI sets it).
const RequireEnv = testproc.RequireEnv

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
	testproc.Require(t, missing(tools))
}

// missing returns why a bed cannot run here, or "".
func missing(tools []string) string {
	if reason := testproc.Missing(append(baseTools(), tools...)...); reason != "" {
		return reason
	}
	if fi, err := os.Stat("/var/lib/NetworkManager"); err != nil || !fi.IsDir() {
		return "/var/lib/NetworkManager is missing (install network-manager)"
	}
	if _, err := os.Stat("/proc/self/ns/net"); err != nil {
		return "no network namespaces: " + err.Error()
	}
	return ""
}
