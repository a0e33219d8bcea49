package testenv

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/saitodrom/zdd/deployer/wait"
)

// process is one server that testenv starts and stops by pid.
type process struct {
	// name is the server name used by Env.Stop/Start: n1, lb1, db1, haproxy, sshd...
	name string
	// pidFile is where testenv records the pid of the process it started.
	pidFile string
	// logFile receives the process's stdout and stderr.
	logFile string
	// marker is a string that must appear in /proc/<pid>/cmdline, so that a recycled pid
	// is never taken for ours.
	marker string
}

// running returns the pid of the process if it is alive and still ours.
func (p process) running() (int, bool) {
	b, err := os.ReadFile(p.pidFile)
	if err != nil {
		return 0, false
	}
	pid, err := strconv.Atoi(strings.TrimSpace(string(b)))
	if err != nil || pid <= 0 {
		return 0, false
	}
	cmdline, err := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", pid))
	if err != nil || !strings.Contains(string(cmdline), p.marker) {
		return 0, false
	}
	if stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid)); err == nil {
		// A zombie (state Z) has exited: it is not running.
		if f := strings.Fields(string(stat[strings.LastIndexByte(string(stat), ')')+1:])); len(f) > 0 && f[0] == "Z" {
			return 0, false
		}
	}
	return pid, true
}

// start runs argv detached in its own session, its output appended to logFile, and records its pid.
func (p process) start(argv []string, env []string) error {
	if _, ok := p.running(); ok {
		return nil
	}
	if err := os.MkdirAll(filepath.Dir(p.logFile), 0o755); err != nil {
		return err
	}
	log, err := os.OpenFile(p.logFile, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return fmt.Errorf("testenv: open log of %s: %w", p.name, err)
	}
	defer log.Close()
	cmd := exec.Command(argv[0], argv[1:]...)
	cmd.Stdout, cmd.Stderr = log, log
	cmd.Env = append(os.Environ(), env...)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("testenv: start %s (%s): %w", p.name, argv[0], err)
	}
	if err := os.WriteFile(p.pidFile, []byte(strconv.Itoa(cmd.Process.Pid)+"\n"), 0o644); err != nil {
		_ = cmd.Process.Kill()
		return err
	}
	exited := make(chan struct{})
	// Reap the child if it exits while this process lives, so it never lingers as a zombie.
	go func() { _ = cmd.Wait(); close(exited) }()
	return p.waitExec(exited)
}

// waitExec waits until the kernel shows the started program's arguments. For a moment after
// execve, /proc/<pid>/cmdline is empty (the new arguments are not mapped yet, and a loaded
// machine stretches that moment), and running would take the new process for a dead one.
// A program that exits meanwhile is left for the caller's wait to report, with its log.
func (p process) waitExec(exited <-chan struct{}) error {
	err := wait.Until(context.Background(), 5*time.Millisecond, 10*time.Second, p.name+" to start", func(context.Context) (bool, error) {
		select {
		case <-exited:
			return true, nil
		default:
		}
		_, ok := p.running()
		return ok, nil
	})
	if err != nil {
		return fmt.Errorf("testenv: start %s: its arguments never showed in /proc: %w", p.name, err)
	}
	return nil
}

// stop sends SIGTERM, waits up to grace for the process to exit, then kills it.
func (p process) stop(ctx context.Context, grace time.Duration) error {
	pid, ok := p.running()
	if !ok {
		_ = os.Remove(p.pidFile)
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGTERM)
	gone := func(context.Context) (bool, error) { _, alive := p.running(); return !alive, nil }
	if err := wait.Until(ctx, 50*time.Millisecond, grace, p.name+" to exit", gone); err != nil {
		if !errors.Is(err, wait.ErrTimeout) {
			return err
		}
		_ = syscall.Kill(-pid, syscall.SIGKILL)
		_ = syscall.Kill(pid, syscall.SIGKILL)
		if err := wait.Until(ctx, 50*time.Millisecond, 5*time.Second, p.name+" to die", gone); err != nil {
			return err
		}
	}
	return os.Remove(p.pidFile)
}

// kill sends SIGKILL, as a crash would, and waits for the process to be gone.
func (p process) kill(ctx context.Context) error {
	pid, ok := p.running()
	if !ok {
		return nil
	}
	_ = syscall.Kill(pid, syscall.SIGKILL)
	err := wait.Until(ctx, 20*time.Millisecond, 5*time.Second, p.name+" to die", func(context.Context) (bool, error) {
		_, alive := p.running()
		return !alive, nil
	})
	if err != nil {
		return err
	}
	return os.Remove(p.pidFile)
}

// waitTCP waits until addr accepts connections, failing early if the process died.
func (p process) waitTCP(ctx context.Context, addr string, timeout time.Duration) error {
	return wait.Until(ctx, 100*time.Millisecond, timeout, p.name+" to listen on "+addr, func(ctx context.Context) (bool, error) {
		if _, ok := p.running(); !ok {
			return false, fmt.Errorf("testenv: %s exited while starting; see %s:\n%s", p.name, p.logFile, tail(p.logFile, 15))
		}
		c, err := (&net.Dialer{Timeout: time.Second}).DialContext(ctx, "tcp", addr)
		if err != nil {
			return false, wait.Reason(err)
		}
		_ = c.Close()
		return true, nil
	})
}

// tail returns the last n lines of a file, for error messages.
func tail(path string, n int) string {
	b, err := os.ReadFile(path)
	if err != nil {
		return ""
	}
	return lastLines(string(b), n)
}

// lastLines returns the last n lines of s.
func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
