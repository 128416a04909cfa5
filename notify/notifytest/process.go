package notifytest

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

// Process is a program a test started. Its output goes to a log file; it is
// ended by PID (SIGTERM, then SIGKILL) in the test's cleanup, and gets
// SIGKILL if the test binary dies. The child stays unreaped until it exits,
// so its PID cannot be reused by another process meanwhile.
type Process struct {
	Name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}

	mu      sync.Mutex
	waitErr error
}

// Start starts args with env added to the test's environment, logging to
// dir/log-NAME.txt; it is stopped in t.Cleanup (and its log shown when t
// failed). extra are inherited as fds 3, 4, ...
func Start(t testing.TB, dir, name string, env []string, extra []*os.File, args ...string) *Process {
	t.Helper()
	p, err := start(dir, name, env, extra, args...)
	if err != nil {
		t.Fatalf("notifytest: %v", err)
	}
	t.Cleanup(func() {
		p.Stop(5 * time.Second)
		if t.Failed() {
			t.Logf("--- log of %s (pid %d):\n%s", p.Name, p.PID(), p.Log())
		}
	})
	return p
}

func start(dir, name string, env []string, extra []*os.File, args ...string) (*Process, error) {
	if len(args) == 0 {
		return nil, errors.New("start: no program given")
	}
	logPath := filepath.Join(dir, "log-"+name+".txt")
	for i := 2; ; i++ {
		if _, err := os.Stat(logPath); errors.Is(err, os.ErrNotExist) {
			break
		}
		logPath = filepath.Join(dir, fmt.Sprintf("log-%s-%d.txt", name, i))
	}
	logFile, err := os.OpenFile(logPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return nil, fmt.Errorf("start %s: %w", name, err)
	}
	defer logFile.Close() // the child has its own copy
	cmd := exec.Command(args[0], args[1:]...)
	cmd.Env = append(os.Environ(), env...)
	cmd.Stdout = logFile
	cmd.Stderr = logFile
	cmd.ExtraFiles = extra
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, strings.Join(args, " "), err)
	}
	p := &Process{Name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
}

// PID is the process id.
func (p *Process) PID() int { return p.cmd.Process.Pid }

// Exited reports whether the process has exited.
func (p *Process) Exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// Stop ends the process by PID: SIGTERM, then SIGKILL after grace. It is
// safe to call more than once.
func (p *Process) Stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Kill()
	<-p.done
}

// Log is what the process wrote so far.
func (p *Process) Log() string {
	b, err := os.ReadFile(p.logPath)
	if err != nil {
		return fmt.Sprintf("(log unreadable: %v)", err)
	}
	return string(b)
}

// waitErrText is the process's exit status, for error messages.
func (p *Process) waitErrText() string {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.waitErr == nil {
		return "exit status 0"
	}
	return p.waitErr.Error()
}
