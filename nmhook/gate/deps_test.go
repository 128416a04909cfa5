// SPDX-License-Identifier: GPL-3.0-or-later

package gate

import (
	"os/exec"
	"strings"
	"testing"
)

// TestGateLinksNoIO: the gate is pure; it must not link a D-Bus client,
// netlink or nftables (as it did while it read nm.Profile).
func TestGateLinksNoIO(t *testing.T) {
	goCmd, err := exec.LookPath("go")
	if err != nil {
		t.Fatalf("the go command is needed to list the gate's dependencies: %v", err)
	}
	out, err := exec.Command(goCmd, "list", "-deps", ".").CombinedOutput()
	if err != nil {
		t.Fatalf("go list -deps: %v\n%s", err, out)
	}
	for _, dep := range strings.Fields(string(out)) {
		for _, banned := range []string{
			"github.com/godbus/",
			"github.com/Wifx/gonetworkmanager",
			"github.com/vishvananda/",
			"github.com/mdlayher/",
			"github.com/google/nftables",
			"github.com/mac-nmguard/mac-nmguard/nmhook/nm",
		} {
			if dep == banned || strings.HasPrefix(dep, banned) && (strings.HasSuffix(banned, "/") || strings.HasPrefix(dep[len(banned):], "/")) {
				t.Errorf("package gate links %s", dep)
			}
		}
	}
}
