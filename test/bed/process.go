package bed

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

// Process is a program the bed started (a daemon of the bed, or any program
// given to StartProcess). Its stdout and stderr go to a log file in the bed's
// directory. It is ended by PID: the bed holds the child unreaped until it
// exits, so the PID cannot be reused by another process meanwhile.
type Process struct {
	name    string
	cmd     *exec.Cmd
	logPath string
	done    chan struct{}

	mu      sync.Mutex
	waitErr error
}

// startProcess starts args in netns ns ("" = the host's) with env added to
// the test binary's environment. The child gets SIGKILL if the test binary
// dies (Pdeathsig), so a killed test run leaves no daemons behind.
func startProcess(dir, name, ns string, env []string, stdin io.Reader, args ...string) (*Process, error) {
	if len(args) == 0 {
		return nil, errors.New("start process: no program given")
	}
	if ns != "" {
		args = append([]string{"ip", "netns", "exec", ns}, args...)
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
	cmd.Stdin = stdin
	cmd.Dir = dir
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start %s (%s): %w", name, strings.Join(args, " "), err)
	}
	p := &Process{name: name, cmd: cmd, logPath: logPath, done: make(chan struct{})}
	go func() {
		err := cmd.Wait()
		p.mu.Lock()
		p.waitErr = err
		p.mu.Unlock()
		close(p.done)
	}()
	return p, nil
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
func (p *Process) Wait(timeout time.Duration) error {
	select {
	case <-p.done:
		p.mu.Lock()
		defer p.mu.Unlock()
		return p.waitErr
	case <-time.After(timeout):
		return fmt.Errorf("%s (pid %d) still running after %v", p.name, p.PID(), timeout)
	}
}

// Exited reports whether the process has exited.
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

// stop ends the process: SIGTERM, then SIGKILL after grace. It returns when
// the process has been reaped.
func (p *Process) stop(grace time.Duration) {
	if p.Exited() {
		return
	}
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.done:
		return
	case <-time.After(grace):
	}
	_ = p.cmd.Process.Signal(syscall.SIGKILL)
	<-p.done
}

// dump logs the tail (at most max bytes) of the process's log to t.
func (p *Process) dump(t testing.TB, max int) {
	t.Helper()
	s := p.Log()
	if len(s) > max {
		s = "...\n" + s[len(s)-max:]
	}
	t.Logf("bed: log of %s (pid %d, %s):\n%s", p.name, p.PID(), p.logPath, s)
}
