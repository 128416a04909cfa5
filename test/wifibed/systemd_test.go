// SPDX-License-Identifier: GPL-3.0-or-later

package wifibed

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// systemdBoots are the scenarios of the systemd boots, in order, one list
// per boot (see guest/systemd_run.go). Both boots share
// /var/lib/mac-nmguard (Options.Keep). boot-installed judges the frames
// from the start of its boot.
func systemdBoots() [][]string {
	return [][]string{
		{"boot-installed", "session-story", "state-first-boot"},
		{"state-second-boot", "purge", "install-running", "hotplug-installed", "refusal-warning", "sigkill", "restart-during-activation"},
	}
}

// windowed are the systemd scenarios in which the real address is wanted
// between their restore markers (or from the opening one to their end:
// state-first-boot turns spoofing off).
var windowed = map[string]bool{"session-story": true, "state-first-boot": true}

// TestIntegrationBoot boots the guest with systemd as PID 1 and the
// project installed from its .deb (issue 20), twice with the service's
// state folder kept: every scenario must go as planned, and no frame of
// any type may carry a guarded radio's real address (outside the restore
// window of session-story).
func TestIntegrationBoot(t *testing.T) {
	testproc.Require(t, SystemdMissing())
	boots := systemdBoots()
	if only := os.Getenv(ScenariosEnv); only != "" {
		want := strings.Split(only, ",")
		for i, b := range boots {
			boots[i] = slices.DeleteFunc(b, func(n string) bool { return !slices.Contains(want, n) })
		}
	}
	deb := BuildDeb(t, t.TempDir())
	keep := t.TempDir()
	for i, names := range boots {
		if len(names) == 0 {
			continue
		}
		r := Boot(t, Options{Deb: deb, Keep: keep, Plan: Plan{Boot: BootSystemd, Scenarios: names, ScenarioTimeout: 4 * time.Minute}})
		t.Logf("systemd boot %d: runner started by systemd at %.1f s uptime, %d scenarios, %v wall", i+1, r.Results.Uptime, len(names), r.Wall.Round(time.Second))
		judgeSystemd(t, r, names)
		if i == 0 {
			checkKept(t, keep, r.Results.Real)
		}
	}
}

func judgeSystemd(t *testing.T, r *Run, names []string) {
	cl := r.Classifier()
	failed := false
	for _, name := range names {
		ok := t.Run(name, func(t *testing.T) {
			s, err := r.Scenario(name)
			if err != nil {
				t.Fatal(err)
			}
			frames := r.FramesOf(s)
			counts := cl.Counts(frames)
			t.Logf("%s\nframes: %s", s, FormatCounts(counts))
			if s.Err != "" {
				t.Errorf("scenario failed: %s", s.Err)
			}
			leaks := cl.Leaks(frames)
			if windowed[name] {
				w := RestoreWindows(s, 500*time.Millisecond)
				if len(w) == 0 && s.Err == "" {
					t.Error("no restore window")
				}
				t.Logf("real-address frames inside the restore window: %d", len(leaks)-len(OutsideWindows(leaks, w)))
				leaks = OutsideWindows(leaks, w)
			}
			if len(leaks) > 0 {
				t.Errorf("frames with the real address %s:\n%s", r.Results.Real, FormatFrames(leaks, 40))
			}
			if name == "boot-installed" && counts["private/eapol"] == 0 {
				// The capture must have seen the connection (from a
				// private address) for "no real frame" to mean anything.
				t.Errorf("no EAPOL frame from a private address in the boot's capture: %s", FormatCounts(counts))
			}
		})
		failed = failed || !ok
	}
	if failed {
		r.DumpLogs(t)
	}
}

// checkKept fails when a file the first boot left in the kept state folder
// holds the client's real address or the address the virtual card was
// learned with.
func checkKept(t *testing.T, keep, real string) {
	t.Helper()
	var names []string
	err := filepath.WalkDir(keep, func(p string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		names = append(names, strings.TrimPrefix(p, keep))
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		for _, a := range []string{real, "02:5e:00:00:00:01"} {
			if strings.Contains(strings.ToLower(string(b)), a) {
				t.Errorf("%s (kept across boots) holds %s", p, a)
			}
		}
		return nil
	})
	if err != nil {
		t.Error(err)
	}
	t.Logf("kept after the first boot: %v", names)
}
