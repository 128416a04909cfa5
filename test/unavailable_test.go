// SPDX-License-Identifier: GPL-3.0-or-later

package test

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/detect"
	"github.com/mac-nmguard/mac-nmguard/test/bed"
)

// refusalMark is the service's mark on a profile it refuses
// (nmhook/unavailable.go), as NetworkManager names it.
const refusalMark = "mac-nmguard.refused"

// profileMatchCmdline reads a profile's match.kernel-command-line as
// NetworkManager holds it (in memory).
func profileMatchCmdline(t testing.TB, b *bed.Bed, uuid string) string {
	t.Helper()
	out, err := b.Nmcli(t, "-g", "match.kernel-command-line", "connection", "show", "uuid", uuid)
	if err != nil {
		t.Fatalf("read match.kernel-command-line of %s: %v", uuid, err)
	}
	return strings.TrimSpace(out)
}

// waitMarked waits until the profile carries the service's mark (on) or
// not.
func waitMarked(t testing.TB, b *bed.Bed, uuid string, on bool, timeout time.Duration) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for strings.Contains(profileMatchCmdline(t, b, uuid), refusalMark) != on {
		if time.Now().After(deadline) {
			t.Fatalf("profile %s: marked %t after %s; want %t", uuid, !on, timeout, on)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// keyfileWith returns the name and content of a keyfile on disk that
// contains s ("" none).
func keyfileWith(t testing.TB, b *bed.Bed, s string) (string, string) {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(b.Dir, "system-connections", "*"))
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range files {
		data, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		if strings.Contains(string(data), s) {
			return filepath.Base(f), string(data)
		}
	}
	return "", ""
}

// keyfilesMention fails t when a keyfile on disk contains s.
func keyfilesMention(t testing.TB, b *bed.Bed, s string) {
	t.Helper()
	if name, data := keyfileWith(t, b, s); name != "" {
		t.Errorf("keyfile %s on disk has %q:\n%s", name, s, data)
	}
}

// TestIntegrationGateRefusedProfileUnavailable: a profile that sets the real
// address is refused by NetworkManager itself (issue 18, item 4): nmcli
// fails at once, naming the service's mark, at every attempt, and the card
// never leaves DISCONNECTED; the user is told (a violation naming the
// profile); the keyfile on disk never keeps the mark, even when the user
// saves the profile with it. Fixed by the user, the
// profile activates with a private address; the service's clean stop
// leaves no mark.
func TestIntegrationGateRefusedProfileUnavailable(t *testing.T) {
	gb := newGuardedBed(t, "")
	b, dev, capt, g := gb.b, gb.dev, gb.capt, gb.g
	rec := b.Recorder(t)

	// No DHCP to wait for: NetworkManager would reach ACTIVATED within
	// milliseconds of PREPARE, before any refusal in flight lands.
	uuid := b.AddProfile(t, bed.Profile{Name: "reveal", Interface: dev.Name, ClonedMAC: dev.MAC.String(), IPv4Method: "disabled"})
	waitMarked(t, b, uuid, true, 10*time.Second)
	line := g.waitLog(t, 10*time.Second, "violation: refused", "device="+dev.Name, `profile \"reveal\"`, refusalMark)
	t.Logf("reported: %s", line)
	const attempts = 5
	for i := range attempts {
		err := b.Activate(t, uuid, dev.Name)
		if err == nil {
			t.Fatalf("attempt %d: nmcli reported the refused profile as activated", i+1)
		}
		if !strings.Contains(err.Error(), refusalMark) {
			t.Fatalf("attempt %d: nmcli failed without naming the refusal: %v", i+1, err)
		}
	}
	t.Logf("nmcli: %v", b.Activate(t, uuid, dev.Name))
	for _, ev := range rec.Transitions() {
		if ev.Device == dev.Name && ev.State >= detect.StatePrepare && ev.State <= detect.StateActivated {
			t.Fatalf("NetworkManager started an activation of the refused profile:\n%s", bed.FormatEvents(rec.Transitions()))
		}
	}
	keyfilesMention(t, b, refusalMark)

	// Saved by the user (any property, without --temporary: the whole
	// profile goes to disk, the mark included): written back to disk
	// without it, and still refused.
	if _, err := b.Nmcli(t, "connection", "modify", "uuid", uuid, "connection.autoconnect-priority", "5"); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(10 * time.Second)
	for name, _ := keyfileWith(t, b, refusalMark); name != ""; name, _ = keyfileWith(t, b, refusalMark) {
		if time.Now().After(deadline) {
			t.Fatalf("keyfile %s keeps the mark the user's save wrote; log:\n%s", name, tail(g.p.Log(), 30))
		}
		time.Sleep(50 * time.Millisecond)
	}
	waitMarked(t, b, uuid, true, 10*time.Second)
	if err := b.Activate(t, uuid, dev.Name); err == nil || !strings.Contains(err.Error(), refusalMark) {
		t.Fatalf("after the user's save: nmcli %v; want the refusal", err)
	}
	if _, data := keyfileWith(t, b, "autoconnect-priority=5"); data == "" {
		t.Error("the user's change is not on disk")
	}

	// `check` tells why too.
	_, out := runCheck(t, b, dev.Name, "--runtime-dir", g.runtimeDir)
	if !strings.Contains(out, `"reveal"`) || !strings.Contains(out, "kept from activating it") {
		t.Errorf("check does not say the profile is kept from activating:\n%s", out)
	}

	// The user fixes it (in memory, as a settings dialog's "apply" would
	// not, but without a keyfile write to compare): available again, and
	// it comes up with a private address.
	if _, err := b.Nmcli(t, "connection", "modify", "--temporary", "uuid", uuid, "802-3-ethernet.cloned-mac-address", "preserve"); err != nil {
		t.Fatal(err)
	}
	waitMarked(t, b, uuid, false, 10*time.Second)
	waitProfileCloned(t, b, uuid, isAddress, 10*time.Second)
	if err := b.Activate(t, uuid, dev.Name); err != nil {
		t.Fatalf("the fixed profile does not activate: %v", err)
	}
	compliant(t, dev.Name, linkAddr(t, b, dev.Name), dev.MAC)

	// Another refused profile, then the service stops cleanly: no mark
	// left behind.
	other := b.AddProfile(t, bed.Profile{Name: "reveal-too", Interface: dev.Name, ClonedMAC: dev.MAC.String(), IPv4Method: "disabled"})
	waitMarked(t, b, other, true, 10*time.Second)
	g.p.Stop(10 * time.Second)
	if m := profileMatchCmdline(t, b, other); strings.Contains(m, refusalMark) {
		t.Errorf("the mark outlived the service's clean stop: %q", m)
	}
	keyfilesMention(t, b, refusalMark)
	noRealFrames(t, capt, dev.MAC)
}

// TestIntegrationGateRefusedOnlyWhereItViolates: a profile with no
// interface-name that sets cloned-mac-address=permanent violates on a
// spoofed card but not on a card whose device rule keeps its real address
// (issue 18). NetworkManager refuses it at once on the first card (never
// starting the activation) and activates it on the second. Before, the
// service's mark kept it from both.
func TestIntegrationGateRefusedOnlyWhereItViolates(t *testing.T) {
	bed.Require(t, "tcpdump", "nft")
	b := bed.New(t, guardOptions(t, bed.Options{Devices: 2}))
	devs := b.Devices()
	spoofed, kept := devs[0], devs[1]
	dir := filepath.Join(b.Dir, "guard", "policy.d")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	rule := "[[device]]\nname = \"keeps its real address\"\ninterface = \"" + kept.Name + "\"\nguard = \"always\"\nmode = \"permanent\"\n"
	if err := os.WriteFile(filepath.Join(dir, "50-keep.toml"), []byte(rule), 0o644); err != nil {
		t.Fatal(err)
	}
	capt := b.StartCapture(t)
	g := startGuard(t, b, "")
	waitAddrNot(t, b, spoofed.Name, spoofed.MAC.String(), 10*time.Second)
	rec := b.Recorder(t)

	uuid := b.AddProfile(t, bed.Profile{Name: "any-card-permanent", ClonedMAC: "permanent", IPv4Method: "disabled"})
	waitMarked(t, b, uuid, true, 10*time.Second)
	g.waitLog(t, 10*time.Second, "violation: refused", "device="+spoofed.Name, `profile \"any-card-permanent\"`)
	err := b.Activate(t, uuid, spoofed.Name)
	if err == nil {
		t.Fatalf("nmcli activated the profile on %s, where it sets the real address", spoofed.Name)
	}
	t.Logf("on %s: %v", spoofed.Name, err)
	if err := b.Activate(t, uuid, kept.Name); err != nil {
		t.Fatalf("on %s, whose real address the policy keeps, the profile is refused: %v\nmatch: %s", kept.Name, err, profileMatchCmdline(t, b, uuid))
	}
	b.WaitState(t, kept.Name, detect.StateActivated, 30*time.Second)
	for _, ev := range rec.Transitions() {
		if ev.Device == spoofed.Name && ev.State >= detect.StatePrepare && ev.State <= detect.StateActivated {
			t.Fatalf("NetworkManager started an activation of the profile on %s:\n%s", spoofed.Name, bed.FormatEvents(rec.Transitions()))
		}
	}
	keyfilesMention(t, b, refusalMark)
	g.p.Stop(10 * time.Second)
	if m := profileMatchCmdline(t, b, uuid); strings.Contains(m, refusalMark) {
		t.Errorf("the mark outlived the service's clean stop: %q", m)
	}
	noRealFrames(t, capt, spoofed.MAC)
}
