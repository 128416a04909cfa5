// SPDX-License-Identifier: GPL-3.0-or-later

package main

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
)

// journalFile is a file named as the journal stream in JOURNAL_STREAM, as
// systemd sets it for a service whose stderr is the journal.
func journalFile(t *testing.T) *os.File {
	t.Helper()
	f, err := os.Create(filepath.Join(t.TempDir(), "journal"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	var st syscall.Stat_t
	if err := syscall.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	t.Setenv("JOURNAL_STREAM", fmt.Sprintf("%d:%d", st.Dev, st.Ino))
	return f
}

func logLines(t *testing.T, f *os.File) []string {
	t.Helper()
	data, err := os.ReadFile(f.Name())
	if err != nil {
		t.Fatal(err)
	}
	return strings.Split(strings.TrimRight(string(data), "\n"), "\n")
}

func TestLoggerWritesSyslogPrioritiesToTheJournal(t *testing.T) {
	for _, json := range []bool{false, true} {
		f := journalFile(t)
		log, err := newLogger(f, "debug", json)
		if err != nil {
			t.Fatal(err)
		}
		log = log.With("device", "wlan0").WithGroup("g")
		log.Debug("d")
		log.Info("i")
		log.Warn("w")
		log.Error("e", "k", 1)
		lines := logLines(t, f)
		want := []string{"<7>", "<6>", "<4>", "<3>"}
		if len(lines) != len(want) {
			t.Fatalf("json=%t: %d lines, want %d:\n%s", json, len(lines), len(want), strings.Join(lines, "\n"))
		}
		for i, l := range lines {
			if !strings.HasPrefix(l, want[i]) {
				t.Errorf("json=%t line %d = %q, want it to start with %s", json, i, l, want[i])
			}
			if !strings.Contains(l, "wlan0") {
				t.Errorf("json=%t line %d = %q lost the logger's attributes", json, i, l)
			}
		}
	}
}

func TestLoggerIsPlainOutsideTheJournal(t *testing.T) {
	journalFile(t) // JOURNAL_STREAM names another file (an inherited variable)
	other, err := os.Create(filepath.Join(t.TempDir(), "terminal"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	log, err := newLogger(other, "info", false)
	if err != nil {
		t.Fatal(err)
	}
	log.Warn("w")
	if l := logLines(t, other)[0]; strings.HasPrefix(l, "<") || !strings.Contains(l, "level=WARN") {
		t.Errorf("line = %q, want plain text", l)
	}
	if _, err := newLogger(other, "loud", false); err == nil {
		t.Error("log level loud accepted")
	}
}

func TestLoggerLevelFiltersInTheJournal(t *testing.T) {
	f := journalFile(t)
	log, err := newLogger(f, "warn", false)
	if err != nil {
		t.Fatal(err)
	}
	log.Info("hidden")
	log.Warn("shown")
	if lines := logLines(t, f); len(lines) != 1 || !strings.HasPrefix(lines[0], "<4>") {
		t.Errorf("lines = %q, want the warning alone", lines)
	}
}
