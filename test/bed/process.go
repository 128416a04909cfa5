// SPDX-License-Identifier: GPL-3.0-or-later

package bed

import (
	"io"
	"path/filepath"
	"testing"
	"time"

	"github.com/mac-nmguard/mac-nmguard/test/testproc"
)

// Process is a program the bed started (a daemon of the bed, or any program
// given to StartProcess). Its stdout and stderr go to a log file in the bed's
// directory. It is ended by PID: the bed holds the child unreaped until it
// exits, so the PID cannot be reused by another process meanwhile. Its
// methods (PID, Signal, Wait, Exited, Done, Log, LogPath) are those of
// testproc.Process.
type Process struct {
	*testproc.Process
	name string
}

// startProcess starts args in netns ns ("" = the host's) with env added to
// the test binary's environment. The child gets SIGKILL if the test binary
// dies (Pdeathsig), so a killed test run leaves no daemons behind.
func startProcess(dir, name, ns string, env []string, stdin io.Reader, args ...string) (*Process, error) {
	if ns != "" && len(args) > 0 {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
	}
	p, err := testproc.Start(testproc.Spec{Dir: dir, Name: name, Args: args, Env: env, Stdin: stdin})
	if err != nil {
		return nil, err
	}
	return &Process{Process: p, name: name}, nil
}

// StartProcess starts a program in netns ns ("" = the host's, or b.ClientNS,
// b.PeerNS) with DBUS_SYSTEM_BUS_ADDRESS set to the bed's bus and env added.
// Its output goes to a log file in b.Dir (see Log), dumped to t.Log when t
// has failed. It is ended (SIGTERM, then SIGKILL, by PID) in t.Cleanup.
func (b *Bed) StartProcess(t testing.TB, ns string, env []string, args ...string) *Process {
	t.Helper()
	p, err := b.start(filepath.Base(firstArg(args)), ns, env, nil, args...)
	if err != nil {
		t.Fatalf("bed: %v", err)
	}
	t.Cleanup(func() {
		p.stop(5 * time.Second)
		if t.Failed() {
			p.dump(t, 64<<10)
		}
	})
	return p
}

func firstArg(args []string) string {
	if len(args) == 0 {
		return "none"
	}
	return args[0]
}

// stop ends the process: SIGTERM, then SIGKILL after grace. It returns when
// the process has been reaped.
func (p *Process) stop(grace time.Duration) { p.Stop(grace) }

// dump logs the tail (at most max bytes) of the process's log to t.
func (p *Process) dump(t testing.TB, max int) {
	t.Helper()
	t.Logf("bed: log of %s (pid %d, %s):\n%s", p.name, p.PID(), p.LogPath(), p.Tail(max))
}
