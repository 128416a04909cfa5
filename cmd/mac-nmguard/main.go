// SPDX-License-Identifier: GPL-3.0-or-later

// Command mac-nmguard is the MAC address guard for NetworkManager: the
// system service (run), its command-line tools (check, policy, version) and
// the desktop agent.
package main

import (
	"fmt"
	"os"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "dev"

func main() {
	if err := newRootCmd().Execute(); err != nil {
		fmt.Fprintln(os.Stderr, "mac-nmguard:", err)
		os.Exit(exitCode(err))
	}
}
