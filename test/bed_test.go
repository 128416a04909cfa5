//go:build linux

package test

import (
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// TestIntegrationBedDisconnected: NM manages the veth without udev and
// brings it to DISCONNECTED; its NM state stays in the bed's dir.
func TestIntegrationBedDisconnected(t *testing.T) {
	bed.Require(t)
	b := bed.New(t, bed.Options{Devices: 1})
	d := b.Devices()[0]
	b.WaitState(t, d.Name, detect.StateDisconnected, 10*time.Second)
	out, err := b.Nmcli(t, "-t", "-f", "DEVICE,TYPE,STATE", "device")
	if err != nil {
		t.Fatal(err)
	}
	if want := d.Name + ":ethernet:disconnected"; !containsLine(out, want) {
		t.Errorf("nmcli device = %q, want a line %q", out, want)
	}
}

// containsLine reports whether s has a line equal to want.
func containsLine(s, want string) bool {
	for _, l := range strings.Split(s, "\n") {
		if strings.TrimSpace(l) == want {
			return true
		}
	}
	return false
}
