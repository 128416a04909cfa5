// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"os"
	"os/exec"
	"strings"
	"testing"
)

// TestBinaryKeepsDeadCodeElimination: nothing linked into mac-nmguard
// finds methods by reflection (reflect.Value.Method, MethodByName on a
// method set: godbus's Export, text/template's execution). One such call
// makes the linker keep every exported method of every type in the binary:
// it did, through godbus's Export, and the binary was 12.9 MB instead of
// 9.3, most of it in the service's memory. The linker's dependency dump
// marks such a function <ReflectMethod>.
func TestBinaryKeepsDeadCodeElimination(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary again with the linker's dependency dump")
	}
	cmd := exec.Command("go", "build", "-trimpath", "-ldflags=-dumpdep", "-o", os.DevNull, "../cmd/mac-nmguard")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	out, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("go build -ldflags=-dumpdep: %v\n%.2000s", err, out)
	}
	if !strings.Contains(string(out), "main.main") {
		t.Fatalf("no dependency dump in the linker's output (%d bytes): the check would prove nothing", len(out))
	}
	for _, line := range strings.Split(string(out), "\n") {
		if strings.Contains(line, "<ReflectMethod>") {
			t.Errorf("reflective method lookup linked in, dead-code elimination of methods is off: %s", line)
		}
	}
}
