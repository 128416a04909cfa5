// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
)

// binPath is the mac-nmguard binary built for this test run (TestMain).
var binPath string

func TestMain(m *testing.M) {
	os.Exit(run(m))
}

func run(m *testing.M) int {
	dir, err := os.MkdirTemp("", "mac-nmguard-bin-")
	if err != nil {
		fmt.Fprintln(os.Stderr, "test: temp dir:", err)
		return 1
	}
	defer os.RemoveAll(dir)
	binPath = filepath.Join(dir, "mac-nmguard")
	// Built as `make build` builds it (static, CGO_ENABLED=0), except for
	// the race detector, which needs cgo.
	args := []string{"build", "-trimpath", "-o", binPath}
	cgo := "CGO_ENABLED=0"
	if os.Getenv("MAC_NMGUARD_RACE_BINARY") == "1" {
		args = append(args, "-race")
		cgo = "CGO_ENABLED=1"
	}
	build := exec.Command("go", append(args, "../cmd/mac-nmguard")...)
	build.Env = append(os.Environ(), cgo)
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	if err := build.Run(); err != nil {
		fmt.Fprintln(os.Stderr, "test: build mac-nmguard:", err)
		return 1
	}
	return m.Run()
}
