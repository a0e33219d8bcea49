// Package connect builds the release engine's seams from a resolved configuration: a
// tomcatmgr client per node, the Nginx pair over SSH (or locally), the HTTP prober, and the
// schema migrator behind HAProxy.
//
// It is the composition layer between the command line and the domain: the data flows
// cmd/zdd (flags, environment, viper: config.Config) -> connect (adapters: tomcatmgr, lb/nginx,
// lb/remote, lb/haproxy, deployer/schema) -> deployer (the engine and its seams). Package
// deployer never imports it. It reads no flags, environment or viper: what the caller resolved
// besides the configuration comes in Options (the ssh-agent socket) and MigrateOptions (who runs
// the migrations). cmd/zdd/internal/wiring calls it once per command; testenv/bench and the
// integration tests call it with testenv's configuration, so that they run the engine wired as
// `zdd deploy` wires it. It lives outside cmd/zdd because those callers cannot import a cmd/zdd
// internal package.
package connect

import (
	"context"
	"errors"
	"fmt"
	"os"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/internal/tlsconf"
	"github.com/saitodrom/zdd/lb/nginx"
	"github.com/saitodrom/zdd/lb/remote"
)

// Options are what the caller resolved besides the configuration.
type Options struct {
	// AgentSocket is the ssh-agent socket (the caller's SSH_AUTH_SOCK) when ssh.agent is on.
	AgentSocket string
	// KeepUnreachable, when set, keeps a load-balancer host that cannot be dialled instead
	// of failing Dial: its runner is a remote.Unreachable that returns the dial's error, and
	// the error is in Cluster.Unreachable. For reports that show every part they can read
	// (`zdd status`); a command that changes the cluster leaves it unset.
	KeepUnreachable bool
}

// Cluster is the engine's seams, connected. Close releases the SSH connections.
type Cluster struct {
	// Spec is the engine's view of the configuration.
	Spec *plan.Spec
	// Managers maps node names to Manager clients.
	Managers map[string]deployer.Manager
	// Router is the Nginx pair.
	Router *nginx.Balancer
	// Prober reaches the nodes' applications for the gates, verifying TLS like the Manager
	// clients (tomcat.ca_file).
	Prober *deployer.HTTPProber
	// Runners are the load-balancer hosts' runners, in configuration order.
	Runners []remote.Runner
	// Unreachable maps each load-balancer host that could not be dialled to the error
	// (only with Options.KeepUnreachable).
	Unreachable map[string]error
}

// Close closes every load-balancer connection (the Manager clients hold none between calls).
func (c *Cluster) Close() error {
	var errs []error
	for _, r := range c.Runners {
		errs = append(errs, r.Close())
	}
	return errors.Join(errs...)
}

// Spec converts the configuration into the engine's Spec.
func Spec(cfg *config.Config) *plan.Spec {
	s := &plan.Spec{App: cfg.App.Name, HealthPath: cfg.App.HealthPath, VersionWidth: cfg.App.VersionWidth,
		CanarySize: cfg.Strategy.CanarySize, PauseAfterCanary: cfg.Strategy.PauseAfterCanary, Pause: cfg.Strategy.Pause,
		HealthTimeout: cfg.Strategy.HealthTimeout, ReplicationTimeout: cfg.Strategy.ReplicationTimeout,
		DrainTimeout: cfg.Strategy.DrainTimeout, ExpireAtDrainDeadline: cfg.Strategy.ExpireAtDrainDeadline,
		DeployTimeout: cfg.Tomcat.DeployTimeout,
		// Nodes out of rotation stay Nginx backup servers where the upstreams allow it (issue 12).
		Fallback: true}
	for _, n := range cfg.Nodes {
		w := n.Weight
		if w == 0 {
			w = 1
		}
		s.Nodes = append(s.Nodes, plan.NodeSpec{Name: n.Name, URL: n.URL, Weight: w})
	}
	return s
}

// Dial connects to every Manager (clients only: no request yet) and every load-balancer host
// (SSH handshake with the host key verified).
func Dial(ctx context.Context, cfg *config.Config, opts Options) (*Cluster, error) {
	managers, err := Managers(cfg)
	if err != nil {
		return nil, err
	}
	prober, err := Prober(cfg)
	if err != nil {
		return nil, err
	}
	c := &Cluster{Spec: Spec(cfg), Managers: managers, Prober: prober}
	nodes := map[string]string{}
	for _, n := range cfg.Nodes {
		nodes[n.Name] = n.Upstream
	}
	var hosts []nginx.Host
	for _, h := range cfg.LB.Hosts {
		r, err := runner(ctx, cfg, h, opts)
		if err != nil && opts.KeepUnreachable {
			if c.Unreachable == nil {
				c.Unreachable = map[string]error{}
			}
			c.Unreachable[h.Name] = err
			r, err = &remote.Unreachable{Name: h.Name, Err: err}, nil
		}
		if err != nil {
			c.Close()
			return nil, err
		}
		c.Runners = append(c.Runners, r)
		hosts = append(hosts, nginx.Host{Name: h.Name, Runner: r, UpstreamFile: h.UpstreamFile, TestCommand: h.TestCommand,
			ReloadCommand: h.ReloadCommand, PidFile: h.PidFile, ErrorLog: h.ErrorLog})
	}
	b, err := nginx.New(nginx.Options{Hosts: hosts, Nodes: nodes})
	if err != nil {
		c.Close()
		return nil, err
	}
	c.Router = b
	return c, nil
}

// Prober returns the gates' HTTP prober: tomcat.request_timeout per request, TLS verified with
// the same configuration as the Manager clients (the system roots plus tomcat.ca_file).
func Prober(cfg *config.Config) (*deployer.HTTPProber, error) {
	tlsCfg, err := tlsconf.Client(cfg.Tomcat.CAFile)
	if err != nil {
		return nil, fmt.Errorf("tomcat.ca_file: %w", err)
	}
	return deployer.NewHTTPProberTLS(cfg.Tomcat.RequestTimeout, tlsCfg), nil
}

func runner(ctx context.Context, cfg *config.Config, h config.LBHost, opts Options) (remote.Runner, error) {
	if h.Address == "local" {
		return &remote.Local{}, nil
	}
	agent := ""
	if cfg.SSH.Agent {
		agent = opts.AgentSocket
	}
	s, err := remote.DialSSH(ctx, remote.SSHOptions{Name: h.Name, Addr: h.Address, User: cfg.SSH.User,
		KeyFile: cfg.SSH.IdentityFile, AgentSocket: agent, KnownHostsFile: cfg.SSH.KnownHosts,
		DialTimeout: cfg.SSH.ConnectTimeout, CommandTimeout: cfg.SSH.CommandTimeout})
	if err != nil {
		return nil, fmt.Errorf("load balancer %s: %w", h.Name, err)
	}
	return s, nil
}

// FreeSpace checks that dir's file system has at least need bytes free.
func FreeSpace(dir string, need int64) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("state: create %s: %w", dir, err)
	}
	free, err := freeBytes(dir)
	if err != nil {
		return err
	}
	if free < need {
		return fmt.Errorf("state: %s has %d MB free, the release needs %d MB", dir, free>>20, need>>20)
	}
	return nil
}
