package testenv

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// ServerStatus is one server of the environment as Status reports it.
type ServerStatus struct {
	// Name is the server name: n1..n3, lb1, lb2, db1, db2, haproxy, sshd.
	Name string `json:"name"`
	// Running tells whether the process testenv started is alive.
	Running bool `json:"running"`
	// Pid is its process id when it runs.
	Pid int `json:"pid,omitempty"`
	// Address is where it listens.
	Address string `json:"address"`
}

// processes lists every server of the environment with its address, in start order.
func (e *Env) processes() []struct {
	p    process
	addr string
} {
	type entry = struct {
		p    process
		addr string
	}
	var out []entry
	for _, n := range e.Nodes {
		out = append(out, entry{tomcatProcess(n), n.URL})
	}
	for _, s := range e.DB.Servers {
		out = append(out, entry{dbProcess(e.Dir, s), s.Addr})
	}
	out = append(out, entry{haproxyProcess(e.Dir), e.DB.HAProxyAddr}, entry{sshdProcess(e.Dir), e.LBs[0].SSHAddr + ", " + e.LBs[1].SSHAddr})
	for _, lb := range e.LBs {
		out = append(out, entry{nginxProcess(lb), lb.URL})
	}
	return out
}

// Status reports every server of the environment.
func (e *Env) Status() []ServerStatus {
	var out []ServerStatus
	for _, pr := range e.processes() {
		pid, ok := pr.p.running()
		out = append(out, ServerStatus{Name: pr.p.name, Running: ok, Pid: pid, Address: pr.addr})
	}
	return out
}

// Down stops every server that testenv started (by pid), and leaves the state directory.
func (e *Env) Down(ctx context.Context) error {
	var errs []error
	procs := e.processes()
	for i := len(procs) - 1; i >= 0; i-- {
		if err := procs[i].p.stop(ctx, 20*time.Second); err != nil {
			errs = append(errs, fmt.Errorf("testenv: stop %s: %w", procs[i].p.name, err))
		}
	}
	return errors.Join(errs...)
}

// Stop stops one server by name (n1..n3, lb1, lb2, db1, db2, haproxy, sshd), as a test of a
// failure would. Tomcat is stopped gracefully (SIGTERM).
func (e *Env) Stop(ctx context.Context, server string) error {
	for _, pr := range e.processes() {
		if pr.p.name == server {
			return pr.p.stop(ctx, 30*time.Second)
		}
	}
	return fmt.Errorf("testenv: no server named %q", server)
}

// Kill kills one server with SIGKILL, as a crash would.
func (e *Env) Kill(ctx context.Context, server string) error {
	for _, pr := range e.processes() {
		if pr.p.name == server {
			return pr.p.kill(ctx)
		}
	}
	return fmt.Errorf("testenv: no server named %q", server)
}

// Start starts one stopped server again and waits until it serves (a Tomcat node redeploys
// the applications in its appBase, as after a real restart).
func (e *Env) Start(ctx context.Context, server string) error {
	for _, n := range e.Nodes {
		if n.Name == server {
			if err := startTomcat(n); err != nil {
				return err
			}
			return waitTomcat(ctx, n, e.Manager, 120*time.Second)
		}
	}
	for _, s := range e.DB.Servers {
		if s.Name == server {
			if err := startDB(e.Dir, s); err != nil {
				return err
			}
			if err := waitDB(ctx, e.Dir, s); err != nil {
				return err
			}
			return waitHAProxyActive(ctx, e.DB, s.Name, 15*time.Second)
		}
	}
	for _, lb := range e.LBs {
		if lb.Name == server {
			if err := startNginx(ctx, lb, false); err != nil {
				return err
			}
			return waitNginxPid(ctx, lb)
		}
	}
	switch server {
	case "haproxy":
		return startHAProxy(ctx, e.Dir, e.DB)
	case "sshd":
		if err := startSSHD(e.Dir, e.LBs); err != nil {
			return err
		}
		return sshdProcess(e.Dir).waitTCP(ctx, e.LBs[0].SSHAddr, 10*time.Second)
	}
	return fmt.Errorf("testenv: no server named %q", server)
}
