// SPDX-License-Identifier: GPL-3.0-or-later

package testproc

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Spec says what Start runs and where.
type Spec struct {
	Dir        string     // working directory; the log file goes here too
	Name       string     // names the log file: Dir/log-Name.txt (log-Name-2.txt, ... when taken)
	Args       []string   // the program and its arguments
	Env        []string   // added to the test binary's environment
	Stdin      io.Reader  // nil: /dev/null
	ExtraFiles []*os.File // inherited as fds 3, 4, ...
}

// Process is a program a test started. Its stdout and stderr go to a log
// file. It is ended by PID; the child stays unreaped until it exits, so its
// PID cannot be reused by another process meanwhile.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}

	mu      sync.Mutex
	waitErr error
}

// Start starts s.Args. The child gets SIGKILL when the thread that started
// it dies with the test binary (Pdeathsig), so a killed test run leaves no
// daemons behind. The caller ends it with Stop.
func Start(s Spec) (*Process, error) {
	if len(s.Args) == 0 {
		return nil, errors.New("start process: no program given")
	}
	if s.Name == "" {
		s.Name = filepath.Base(s.Args[0])
	}
	logFile, err := createLog(s.Dir, s.Name)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", s.Name, err)
	}
	logPath := logFile.Name()
	defer logFile.Close() // the child has its own copy
	cmd := exec.Command(s.Args[0], s.Args[1:]...)
	cmd.Env = append(os.Environ(), s.Env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.Stdin = s.Stdin
	cmd.ExtraFiles = s.ExtraFiles
	cmd.Dir = s.Dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", s.Name, strings.Join(s.Args, " "), err)
	}
	p := &Process{name: s.Name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// createLog creates dir/log-NAME.txt, or log-NAME-2.txt, -3, ... when that
// is taken (a restarted daemon keeps the log of the one before).
func createLog(dir, name string) (*os.File, error) {
	for i := 1; i < 10000; i++ {
		path := filepath.Join(dir, "log-"+name+".txt")
		if i > 1 {
			path = filepath.Join(dir, fmt.Sprintf("log-%s-%d.txt", name, i))
		}
		f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY|os.O_APPEND, 0o644)
		if errors.Is(err, os.ErrExist) {
			continue
		}
		if err != nil {
			return nil, fmt.Errorf("create log: %w", err)
		}
		return f, nil
	}
	return nil, fmt.Errorf("create log: no free log-%s-N.txt in %s", name, dir)
}

// StartTest starts s for t: t fails when it cannot start, and the process
// is stopped (SIGTERM, then SIGKILL after 5s) in t.Cleanup, where the tail
// of its log is shown when t has failed.
func StartTest(t testing.TB, s Spec) *Process {
	t.Helper()
	p, err := Start(s)
	if err != nil {
		t.Fatalf("testproc: %v", err)
	}
	t.Cleanup(func() {
		p.Stop(5 * time.Second)
		if t.Failed() {
			p.Dump(t, 64<<10)
		}
	})
	return p
}

// Name is the name the process was started with.
func (p *Process) Name() string { return p.name }

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Signal sends sig to the process (by PID). A process that has exited is
// left alone.
func (p *Process) Signal(sig syscall.Signal) error {
	if p.Exited() {
		return fmt.Errorf("signal %s: %s has exited", sig, p.name)
	}
	if err := p.cmd.Process.Signal(sig); err != nil {
		return fmt.Errorf("signal %s to %s: %w", sig, p.name, err)
	}
	return nil
}

// Wait waits up to timeout for the process to exit and returns its exit
// error (nil for exit status 0), or an error when it is still running.
// Wait(0) does not block.
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		return p.exitErr()
	default:
	}
	timer := time.NewTimer(timeout)
	defer timer.Stop()
	select {
	case <-p.done:
		return p.exitErr()
	case <-timer.C:
		return fmt.Errorf("%s (pid %d) still running after %v", p.name, p.PID(), timeout)
	}
}

func (p *Process) exitErr() error {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.waitErr
}

// Exited reports whether the process has exited (and been reaped).
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Done is closed when the process has exited.
func (p *Process) Done() <-chan struct{} { return p.done }

// Stop ends the process by PID: SIGTERM, then SIGKILL after grace. It
// returns when the process has been reaped, and may be called again.
func (p *Process) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	timer := time.NewTimer(grace)
	defer timer.Stop()
	select {
	case <-p.done:
		return
	case <-timer.C:
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// LogPath is the file holding the process's stdout and stderr.
func (p *Process) LogPath() string { return p.logPath }

// Log returns what the process wrote so far (stdout and stderr).
func (p *Process) Log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(cannot read log %s: %v)", p.logPath, err)
	}
	return string(b)
}

// Tail is the last max bytes of the log ("...\n" first when cut).
func (p *Process) Tail(max int) string {
	s := p.Log()
	if len(s) > max {
		s = "...\n" + s[len(s)-max:]
	}
	return s
}

// Dump logs the tail (at most max bytes) of the process's log to t.
func (p *Process) Dump(t testing.TB, max int) {
	t.Helper()
	t.Logf("log of %s (pid %d, %s):\n%s", p.name, p.PID(), p.logPath, p.Tail(max))
}
