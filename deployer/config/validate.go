package config

import (
	"fmt"
	"net"
	"net/url"
	"path/filepath"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Problem is one thing wrong with a configuration.
type Problem struct {
	// Key is the dotted key at fault, with list indexes: "nodes[1].manager_url".
	Key string
	// Message says what is wrong, without the key.
	Message string
	// Hint says how to fix it; may be empty.
	Hint string
}

// String returns "key: message (hint: hint)".
func (p Problem) String() string {
	if p.Hint == "" {
		return p.Key + ": " + p.Message
	}
	return p.Key + ": " + p.Message + " (hint: " + p.Hint + ")"
}

// appNamePattern is what a context name may hold: no "/", no "#" (Tomcat's version separator).
var appNamePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9._-]*$`)

// namePattern is what node and load-balancer names may hold (a node name is its jvmRoute).
var namePattern = regexp.MustCompile(`^[A-Za-z0-9][A-Za-z0-9_-]*$`)

// Validate returns every problem of c, in key order; nil means c is usable. It checks values
// only and reads no file: call ReadSecretFiles first so that passwords from files count, and
// CheckFiles for the files the configuration names. A password that is set makes its
// password_file unused (ReadSecretFiles does not read it).
func (c *Config) Validate() []Problem {
	v := &validator{}
	c.validateApp(v)
	c.validateTomcat(v)
	c.validateNodes(v)
	c.validateLB(v)
	c.validateSSH(v)
	c.validateDatabase(v)
	c.validateState(v)
	c.validateStrategy(v)
	c.validatePaths(v)
	return v.problems
}

// validator collects problems.
type validator struct{ problems []Problem }

func (v *validator) add(key, hint, format string, args ...any) {
	v.problems = append(v.problems, Problem{Key: key, Message: fmt.Sprintf(format, args...), Hint: hint})
}

// required adds a problem when value is empty and reports whether it was set.
func (v *validator) required(key, value, hint string) bool {
	if strings.TrimSpace(value) == "" {
		v.add(key, hint, "is required")
		return false
	}
	return true
}

// positive adds a problem when d is not above zero.
func (v *validator) positive(key string, d time.Duration) {
	if d <= 0 {
		v.add(key, "write a duration with a unit, e.g. 10s or 2m", "must be above zero, got %s", d)
	}
}

// nonNegative adds a problem when d is below zero.
func (v *validator) nonNegative(key string, d time.Duration) {
	if d < 0 {
		v.add(key, "write 0s to disable, or a duration such as 10s", "must not be negative, got %s", d)
	}
}

// httpURL adds a problem unless s is an absolute http(s) URL with a host.
func (v *validator) httpURL(key, s string) {
	u, err := url.Parse(s)
	switch {
	case err != nil:
		v.add(key, "write it as http://host:port/path", "is not a URL: %v", err)
	case u.Scheme != "http" && u.Scheme != "https":
		v.add(key, "write it as http://host:port/path", "must start with http:// or https://, got %q", s)
	case u.Host == "":
		v.add(key, "write it as http://host:port/path", "has no host: %q", s)
	case u.User != nil:
		v.add(key, "put the user in tomcat.user and the password in "+EnvVar("tomcat.password"),
			"must not carry credentials")
	}
}

// hostPort adds a problem unless s is host:port with a numeric port.
func (v *validator) hostPort(key, s, hint string) {
	host, port, err := net.SplitHostPort(s)
	if err != nil || host == "" || !isPort(port) {
		v.add(key, hint, "must be host:port, got %q", s)
	}
}

func isPort(s string) bool {
	var n int
	_, err := fmt.Sscanf(s, "%d", &n)
	return err == nil && fmt.Sprint(n) == s && n > 0 && n < 65536
}

func (c *Config) validateApp(v *validator) {
	if v.required("app.name", c.App.Name, "the context name, e.g. app for /app") &&
		!appNamePattern.MatchString(c.App.Name) {
		v.add("app.name", "use letters, digits, '.', '_' and '-' (no '/' and no '#')",
			"%q is not a valid context name", c.App.Name)
	}
	if v.required("app.health_path", c.App.HealthPath, "a page relative to the context, e.g. /health.jsp") &&
		!strings.HasPrefix(c.App.HealthPath, "/") {
		v.add("app.health_path", "write it relative to the context, starting with '/': /health.jsp",
			"must start with '/', got %q", c.App.HealthPath)
	}
	if c.App.VersionWidth < 1 || c.App.VersionWidth > 10 {
		v.add("app.version_width", "3 means versions 001, 002, ...", "must be 1..10, got %d", c.App.VersionWidth)
	}
}

func (c *Config) validateTomcat(v *validator) {
	v.required("tomcat.user", c.Tomcat.User, "the Manager user with the manager-script role")
	if !c.Tomcat.Password.IsSet() {
		v.add("tomcat.password", fmt.Sprintf("set %s, or tomcat.password_file", EnvVar("tomcat.password")),
			"no Tomcat Manager password")
	}
	v.positive("tomcat.request_timeout", c.Tomcat.RequestTimeout)
	v.positive("tomcat.deploy_timeout", c.Tomcat.DeployTimeout)
}

func (c *Config) validateNodes(v *validator) {
	if len(c.Nodes) == 0 {
		v.add("nodes", "list the Tomcat nodes: name, manager_url, url, upstream", "no nodes")
		return
	}
	names, managers, upstreams := map[string]int{}, map[string]int{}, map[string]int{}
	for i, n := range c.Nodes {
		key := fmt.Sprintf("nodes[%d]", i)
		if v.required(key+".name", n.Name, "the node's jvmRoute, e.g. n1") {
			if !namePattern.MatchString(n.Name) {
				v.add(key+".name", "use letters, digits, '_' and '-'; it must equal the node's jvmRoute",
					"%q is not a valid node name", n.Name)
			}
			unique(v, names, key+".name", n.Name, i, "nodes")
		}
		if v.required(key+".manager_url", n.ManagerURL, "e.g. http://host:8080/manager") {
			v.httpURL(key+".manager_url", n.ManagerURL)
			unique(v, managers, key+".manager_url", n.ManagerURL, i, "nodes")
		}
		if v.required(key+".url", n.URL, "the node's own address, e.g. http://host:8080") {
			v.httpURL(key+".url", n.URL)
		}
		if v.required(key+".upstream", n.Upstream, "the node as written in the Nginx upstream, e.g. 10.0.0.5:8080") {
			if !strings.HasPrefix(n.Upstream, "unix:") {
				v.hostPort(key+".upstream", n.Upstream, "write it as in an Nginx server line: host:port or unix:/path")
			}
			unique(v, upstreams, key+".upstream", n.Upstream, i, "nodes")
		}
		if n.Weight < 0 || n.Weight > 1000 {
			v.add(key+".weight", "use 1..1000 (omit it for 1)", "must be 1..1000, got %d", n.Weight)
		}
	}
}

// unique adds a problem when value was seen at an earlier index of list.
func unique(v *validator, seen map[string]int, key, value string, i int, list string) {
	if j, dup := seen[value]; dup {
		v.add(key, "every entry must be different", "%q is already used by %s[%d]", value, list, j)
		return
	}
	seen[value] = i
}

func (c *Config) validateLB(v *validator) {
	if len(c.LB.Hosts) == 0 {
		v.add("lb.hosts", "list the Nginx load balancers: name, address, upstream_file, test_command, reload_command",
			"no load balancers")
		return
	}
	names := map[string]int{}
	files := map[string]int{}
	for i, h := range c.LB.Hosts {
		key := fmt.Sprintf("lb.hosts[%d]", i)
		if v.required(key+".name", h.Name, "e.g. lb1") {
			if !namePattern.MatchString(h.Name) {
				v.add(key+".name", "use letters, digits, '_' and '-'", "%q is not a valid name", h.Name)
			}
			unique(v, names, key+".name", h.Name, i, "lb.hosts")
		}
		if v.required(key+".address", h.Address, `the SSH host:port, or "local"`) && h.Address != LocalAddress {
			v.hostPort(key+".address", h.Address, `write the SSH address as host:port (e.g. lb1.example:22), or "local"`)
		}
		if h.URL != "" {
			v.httpURL(key+".url", h.URL)
		}
		if v.required(key+".upstream_file", h.UpstreamFile, "the file with the upstream blocks zdd rewrites") {
			if !filepath.IsAbs(h.UpstreamFile) {
				v.add(key+".upstream_file", "write the absolute path on the load balancer's host",
					"must be an absolute path, got %q", h.UpstreamFile)
			}
			unique(v, files, key+".upstream_file", h.Address+" "+h.UpstreamFile, i, "lb.hosts")
		}
		v.required(key+".test_command", h.TestCommand, "e.g. nginx -t")
		v.required(key+".reload_command", h.ReloadCommand, "e.g. nginx -s reload")
	}
}

func (c *Config) validateSSH(v *validator) {
	v.positive("ssh.connect_timeout", c.SSH.ConnectTimeout)
	v.positive("ssh.command_timeout", c.SSH.CommandTimeout)
	if !c.UsesSSH() {
		return
	}
	v.required("ssh.user", c.SSH.User, "the login user on the load-balancer hosts")
	if c.SSH.IdentityFile == "" && !c.SSH.Agent {
		v.add("ssh.identity_file", "set ssh.identity_file, or ssh.agent: true", "no way to authenticate")
	}
	v.required("ssh.known_hosts", c.SSH.KnownHosts,
		"host keys are always checked: point it at a known_hosts file listing every load-balancer host")
}

func (c *Config) validateDatabase(v *validator) {
	d := c.Database
	if d.DSN == "" {
		if d.HAProxy.Address != "" {
			v.add("database.dsn", "set the DSN, or remove database.haproxy", "is empty but database.haproxy is set")
		}
		return
	}
	if cfg, err := mysql.ParseDSN(d.DSN); err != nil {
		v.add("database.dsn", `write it as user@tcp(host:port)/dbname`, "does not parse: %v", err)
	} else if cfg.Passwd != "" {
		v.add("database.dsn", fmt.Sprintf("remove the password from the DSN and set %s instead", EnvVar("database.password")),
			"must not contain a password")
	}
	if !d.Password.IsSet() {
		v.add("database.password", fmt.Sprintf("set %s, or database.password_file", EnvVar("database.password")),
			"no database password")
	}
	v.nonNegative("database.lock_wait", d.LockWait)
	v.positive("database.lock_wait_timeout", d.LockWaitTimeout)
	if d.LockWaitTimeout > 0 && d.LockWaitTimeout < time.Second {
		v.add("database.lock_wait_timeout", "MySQL counts it in whole seconds", "must be at least 1s, got %s", d.LockWaitTimeout)
	}
	c.validateHAProxy(v)
	v.required("migrations.dir", c.Migrations.Dir, "the directory of SQL migrations")
}

func (c *Config) validateHAProxy(v *validator) {
	h := c.Database.HAProxy
	if h.Address == "" {
		return
	}
	if rest, ok := strings.CutPrefix(h.Address, "unix://"); ok {
		if !filepath.IsAbs(rest) {
			v.add("database.haproxy.address", "write unix:///absolute/path/admin.sock", "socket path must be absolute, got %q", rest)
		}
	} else if rest, ok := strings.CutPrefix(h.Address, "tcp://"); ok {
		v.hostPort("database.haproxy.address", rest, "write tcp://host:port")
	} else {
		v.add("database.haproxy.address", "write unix:///path/admin.sock or tcp://host:port",
			"must start with unix:// or tcp://, got %q", h.Address)
	}
	v.required("database.haproxy.backend", h.Backend, "the backend that holds the database servers")
	if len(h.Servers) == 0 {
		v.add("database.haproxy.servers", "map each HAProxy server to its @@server_id: {db1: 1, db2: 2}", "no servers")
	}
	ids := map[int]string{}
	for _, name := range sortedKeys(h.Servers) {
		id := h.Servers[name]
		key := "database.haproxy.servers." + name
		if id <= 0 {
			v.add(key, "run SELECT @@server_id on that server", "server_id must be above zero, got %d", id)
		} else if other, dup := ids[id]; dup {
			v.add(key, "every server has its own @@server_id", "server_id %d is also %s's", id, other)
		} else {
			ids[id] = name
		}
	}
}

func (c *Config) validateState(v *validator) {
	v.required("state.dir", c.State.Dir, "a directory shared by every machine that runs zdd, e.g. /var/lib/zdd")
}

func (c *Config) validateStrategy(v *validator) {
	s := c.Strategy
	nodes := len(c.Nodes)
	switch {
	case s.CanarySize < 1:
		v.add("strategy.canary_size", "use at least 1", "must be at least 1, got %d", s.CanarySize)
	case nodes > 0 && s.CanarySize > nodes:
		v.add("strategy.canary_size", fmt.Sprintf("use 1..%d", nodes),
			"is %d but there are only %d nodes", s.CanarySize, nodes)
	case nodes >= 2 && s.CanarySize < 2 && s.CanaryWeight == 0:
		v.add("strategy.canary_size",
			"use 2 or more: through a round-robin pool a session's next request may go to any canary node, "+
				"so a single canary has no peer to replicate sessions to (set strategy.canary_weight for a sticky load balancer)",
			"must be at least 2 with %d nodes in round-robin mode, got %d", nodes, s.CanarySize)
	}
	if s.CanaryWeight < 0 || s.CanaryWeight > 1000 {
		v.add("strategy.canary_weight", "0 means the node's own weight", "must be 0..1000, got %d", s.CanaryWeight)
	}
	v.nonNegative("strategy.pause", s.Pause)
	v.positive("strategy.health_timeout", s.HealthTimeout)
	v.positive("strategy.replication_timeout", s.ReplicationTimeout)
	v.positive("strategy.drain_timeout", s.DrainTimeout)
	v.nonNegative("strategy.lock_wait", s.LockWait)
	v.positive("strategy.lease_ttl", s.LeaseTTL)
}
