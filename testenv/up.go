package testenv

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"github.com/saitodrom/zdd/deployer/wait"
)

// DefaultDir is where testenv keeps its state unless told otherwise.
const DefaultDir = "/tmp/zdd-testenv"

// Options configures Up.
type Options struct {
	// Dir holds all state. Empty means DefaultDir.
	Dir string
	// Mode is the load-balancer mode. Empty means RoundRobin, or the mode already running.
	Mode Mode
	// Install runs apt-get for missing Debian packages instead of only naming them.
	Install bool
	// PortOffset is added to every port, so that several environments can run side by side
	// (each in its own Dir). It is fixed when the environment is first created.
	PortOffset int
	// Log receives one line per step; nil discards them.
	Log func(format string, args ...any)
}

// Up starts every server of the environment that is not running yet, and returns the
// environment. It is idempotent: servers that run are left alone (Nginx is reloaded, since
// the mode may have changed).
func Up(ctx context.Context, opts Options) (*Env, error) {
	logf := opts.Log
	if logf == nil {
		logf = func(string, ...any) {}
	}
	if err := CheckPackages(ctx, opts.Install, logf); err != nil {
		return nil, err
	}
	env, err := prepare(opts)
	if err != nil {
		return nil, err
	}
	t0 := time.Now()
	if err := startAll(ctx, env, logf); err != nil {
		return nil, err
	}
	if err := env.save(); err != nil {
		return nil, err
	}
	logf("testenv up in %s (%s mode), state in %s, config %s", time.Since(t0).Round(100*time.Millisecond), env.Mode, env.Dir, env.ConfigFile)
	return env, nil
}

// prepare describes the environment under opts.Dir, generating credentials the first time,
// and writes every configuration file.
func prepare(opts Options) (*Env, error) {
	dir := opts.Dir
	if dir == "" {
		dir = DefaultDir
	}
	dir, err := filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("testenv: create state directory: %w", err)
	}
	prev, _ := Load(dir)
	if prev != nil {
		opts.PortOffset = prev.PortOffset
	}
	env := describe(dir, opts.PortOffset)
	env.Mode = RoundRobin
	if prev != nil {
		env.Mode, env.Manager, env.SpareManager, env.DB.Password = prev.Mode, prev.Manager, prev.SpareManager, prev.DB.Password
	} else {
		env.Manager = Credentials{User: "zdd", Password: secret()}
		env.SpareManager = Credentials{User: "zdd-spare", Password: secret()}
		env.DB.Password = secret()
	}
	if opts.Mode != "" {
		if opts.Mode != RoundRobin && opts.Mode != Sticky {
			return nil, fmt.Errorf("testenv: unknown mode %q: use %q or %q", opts.Mode, RoundRobin, Sticky)
		}
		env.Mode = opts.Mode
	}
	if err := writeConfigs(env); err != nil {
		return nil, err
	}
	// Saved before anything starts, so that a failed start never loses the credentials the
	// servers were configured with.
	return env, env.save()
}

// describe returns the fixed layout of an environment under dir (credentials and mode unset).
func describe(dir string, off int) *Env {
	env := &Env{Dir: dir, App: "app", ConfigFile: filepath.Join(dir, "zdd.yaml"), PortOffset: off}
	for i := 1; i <= 3; i++ {
		env.Nodes = append(env.Nodes, tomcatNode(dir, i, off))
	}
	for i := 1; i <= 2; i++ {
		env.LBs = append(env.LBs, lbInfo(dir, i, off))
	}
	env.DB = DB{Name: dbName, User: dbUser, HAProxyAddr: fmt.Sprintf("127.0.0.1:%d", haproxyPort+off),
		HAProxySocket: filepath.Join(dir, "haproxy", "admin.sock"), Backend: "mysql",
		Servers: []DBServer{dbServer(dir, 1, off), dbServer(dir, 2, off)}}
	return env
}

func writeConfigs(env *Env) error {
	ssh, err := setupSSH(env.Dir, env.LBs)
	if err != nil {
		return err
	}
	env.SSH = ssh
	for _, n := range env.Nodes {
		if err := writeTomcatBase(n, env.Nodes, [2]Credentials{env.Manager, env.SpareManager}); err != nil {
			return err
		}
	}
	env.nginxChanged = map[string]bool{}
	for _, lb := range env.LBs {
		changed, err := writeNginx(lb, env.Mode, env.Nodes)
		if err != nil {
			return err
		}
		env.nginxChanged[lb.Name] = changed
	}
	if err := writeHAProxy(env.Dir, env.DB); err != nil {
		return err
	}
	return writeZDDConfig(env)
}

// startAll starts the servers in dependency order, independent ones in parallel.
func startAll(ctx context.Context, env *Env, logf func(string, ...any)) error {
	logf("starting Tomcat n1..n3, MariaDB db1/db2, sshd, Nginx lb1/lb2")
	for _, n := range env.Nodes {
		if err := startTomcat(n); err != nil {
			return err
		}
	}
	if err := startSSHD(env.Dir, env.LBs); err != nil {
		return err
	}
	var g group
	for _, s := range env.DB.Servers {
		g.Go(func() error {
			if err := initDB(ctx, env.Dir, s); err != nil {
				return err
			}
			if err := startDB(env.Dir, s); err != nil {
				return err
			}
			return waitDB(ctx, env.Dir, s)
		})
	}
	for _, lb := range env.LBs {
		g.Go(func() error {
			if err := startNginx(ctx, lb, env.nginxChanged[lb.Name]); err != nil {
				return err
			}
			return waitNginxPid(ctx, lb)
		})
	}
	g.Go(func() error {
		return sshdProcess(env.Dir).waitTCP(ctx, env.LBs[0].SSHAddr, 10*time.Second)
	})
	if err := g.Wait(); err != nil {
		return err
	}
	logf("MariaDB up; setting up replication and HAProxy")
	if err := setupReplication(ctx, env.Dir, env.DB.Servers[0], env.DB.Servers[1], env.DB, secretFile(env.Dir, "repl")); err != nil {
		return err
	}
	if err := startHAProxy(ctx, env.Dir, env.DB); err != nil {
		return err
	}
	if err := waitHAProxyActive(ctx, env.DB, env.DB.Servers[0].Name, 15*time.Second); err != nil {
		return err
	}
	logf("waiting for the Tomcat Managers")
	for _, n := range env.Nodes {
		if err := waitTomcat(ctx, n, env.Manager, 90*time.Second); err != nil {
			return err
		}
	}
	return nil
}

// group runs functions concurrently and returns the first error.
type group struct {
	wg   sync.WaitGroup
	mu   sync.Mutex
	errs []error
}

func (g *group) Go(f func() error) {
	g.wg.Add(1)
	go func() {
		defer g.wg.Done()
		if err := f(); err != nil {
			g.mu.Lock()
			g.errs = append(g.errs, err)
			g.mu.Unlock()
		}
	}()
}

func (g *group) Wait() error { g.wg.Wait(); return errors.Join(g.errs...) }

// secret returns a new random password.
func secret() string {
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}

// secretFile returns the password stored in Dir/secrets/name, creating it the first time.
func secretFile(dir, name string) string {
	p := filepath.Join(dir, "secrets", name)
	if b, err := os.ReadFile(p); err == nil {
		return strings.TrimSpace(string(b))
	}
	s := secret()
	_ = os.MkdirAll(filepath.Dir(p), 0o700)
	_ = os.WriteFile(p, []byte(s+"\n"), 0o600)
	return s
}

// Load reads the environment that Up wrote under dir.
func Load(dir string) (*Env, error) {
	if dir == "" {
		dir = DefaultDir
	}
	b, err := os.ReadFile(filepath.Join(dir, "env.json"))
	if err != nil {
		return nil, fmt.Errorf("testenv: no environment in %s: %w\nhint: run `zdd testenv up`", dir, err)
	}
	var env Env
	if err := json.Unmarshal(b, &env); err != nil {
		return nil, fmt.Errorf("testenv: read %s/env.json: %w", dir, err)
	}
	return &env, nil
}

func (e *Env) save() error {
	b, err := json.MarshalIndent(e, "", "  ")
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(e.Dir, "env.json"), b, 0o600)
}

// waitHAProxyActive waits until HAProxy's runtime API shows server name UP in the backend.
func waitHAProxyActive(ctx context.Context, db DB, name string, timeout time.Duration) error {
	return wait.Until(ctx, 200*time.Millisecond, timeout, "HAProxy to see "+name+" up", func(ctx context.Context) (bool, error) {
		out, err := haproxyCommand(ctx, db.HAProxySocket, "show servers state "+db.Backend)
		if err != nil {
			return false, wait.Reason(err)
		}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			// be_id be_name srv_id srv_name srv_addr srv_op_state ...; op state 2 = running.
			if len(f) > 5 && f[3] == name && f[5] == "2" {
				return true, nil
			}
		}
		return false, wait.Reason(fmt.Errorf("%s not running in:\n%s", name, out))
	})
}

// haproxyCommand sends one command to HAProxy's runtime API and returns the answer.
func haproxyCommand(ctx context.Context, socket, cmd string) (string, error) {
	var d net.Dialer
	c, err := d.DialContext(ctx, "unix", socket)
	if err != nil {
		return "", err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(3 * time.Second))
	if _, err := c.Write([]byte(cmd + "\n")); err != nil {
		return "", err
	}
	var b strings.Builder
	sc := bufio.NewScanner(c)
	for sc.Scan() {
		b.WriteString(sc.Text() + "\n")
	}
	return b.String(), sc.Err()
}

// requiredPackages maps a file that must exist to the Debian package that provides it.
var requiredPackages = []struct{ path, pkg string }{
	{"/usr/bin/java", "default-jre-headless"},
	{catalinaHome + "/bin/bootstrap.jar", "tomcat10"},
	{managerApp, "tomcat10-admin"},
	{jdtJar, "libeclipse-jdt-core-java"},
	{nginxBin, "nginx"},
	{haproxyBin, "haproxy"},
	{mariadbdBin, "mariadb-server"},
	{mariadbCLI, "mariadb-client"},
	{"/usr/sbin/sshd", "openssh-server"},
}

// CheckPackages fails naming the Debian packages that are missing, or installs them with
// apt-get when install is true (services are not started: a policy-rc.d is put in place).
func CheckPackages(ctx context.Context, install bool, logf func(string, ...any)) error {
	var missing []string
	for _, r := range requiredPackages {
		if _, err := os.Stat(r.path); err != nil {
			missing = append(missing, r.pkg)
		}
	}
	if len(missing) == 0 {
		return nil
	}
	if !install {
		return fmt.Errorf("testenv: missing Debian packages: %s\nhint: run `apt-get install -y %s` as root, or `zdd testenv up --install`",
			strings.Join(missing, " "), strings.Join(missing, " "))
	}
	logf("installing %s with apt-get", strings.Join(missing, " "))
	return AptInstall(ctx, missing)
}

// AptInstall installs Debian packages without starting their services.
func AptInstall(ctx context.Context, pkgs []string) error {
	const policy = "/usr/sbin/policy-rc.d"
	if _, err := os.Stat(policy); os.IsNotExist(err) {
		// Keep the packages' own services from starting on the default ports.
		if err := os.WriteFile(policy, []byte("#!/bin/sh\nexit 101\n"), 0o755); err != nil {
			return fmt.Errorf("testenv: write %s (are you root?): %w", policy, err)
		}
		defer os.Remove(policy)
	}
	run := func(args ...string) error {
		cmd := exec.CommandContext(ctx, "apt-get", args...)
		cmd.Env = append(os.Environ(), "DEBIAN_FRONTEND=noninteractive")
		if out, err := cmd.CombinedOutput(); err != nil {
			return fmt.Errorf("testenv: apt-get %s: %v\n%s", args[0], err, lastLines(string(out), 20))
		}
		return nil
	}
	if err := run("update", "-qq"); err != nil {
		return err
	}
	return run(append([]string{"install", "-y", "-qq", "--no-install-recommends"}, pkgs...)...)
}
