package config

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// problemKeys returns the keys of problems, for compact assertions.
func problemKeys(problems []Problem) []string {
	keys := make([]string, len(problems))
	for i, p := range problems {
		keys[i] = p.Key
	}
	return keys
}

func TestValidateEachProblem(t *testing.T) {
	tests := []struct {
		name    string
		mutate  func(c *Config)
		key     string
		message string // substring of the problem's message
		hint    string // substring of its hint
	}{
		{"app name with slash", func(c *Config) { c.App.Name = "my/app" }, "app.name", "not a valid context name", "no '/'"},
		{"app name with version separator", func(c *Config) { c.App.Name = "app##002" }, "app.name", "not a valid", "'#'"},
		{"empty app name", func(c *Config) { c.App.Name = "" }, "app.name", "is required", "context name"},
		{"health path relative", func(c *Config) { c.App.HealthPath = "health.jsp" }, "app.health_path", "must start with '/'", "/health.jsp"},
		{"version width 0", func(c *Config) { c.App.VersionWidth = 0 }, "app.version_width", "1..10, got 0", "001"},
		{"version width 11", func(c *Config) { c.App.VersionWidth = 11 }, "app.version_width", "1..10, got 11", ""},
		{"no tomcat password", func(c *Config) { c.Tomcat.Password = "" }, "tomcat.password", "no Tomcat Manager password", "ZDD_TOMCAT_PASSWORD"},
		{"no tomcat user", func(c *Config) { c.Tomcat.User = " " }, "tomcat.user", "is required", "manager-script"},
		{"zero request timeout", func(c *Config) { c.Tomcat.RequestTimeout = 0 }, "tomcat.request_timeout", "above zero", "unit"},
		{"negative deploy timeout", func(c *Config) { c.Tomcat.DeployTimeout = -time.Second }, "tomcat.deploy_timeout", "above zero", ""},
		{"no nodes", func(c *Config) { c.Nodes = nil }, "nodes", "no nodes", "manager_url"},
		{"duplicate node name", func(c *Config) { c.Nodes[2].Name = "n1" }, "nodes[2].name", `"n1" is already used by nodes[0]`, ""},
		{"bad node name", func(c *Config) { c.Nodes[1].Name = "n 2" }, "nodes[1].name", "not a valid node name", "jvmRoute"},
		{"duplicate manager url", func(c *Config) { c.Nodes[1].ManagerURL = c.Nodes[0].ManagerURL }, "nodes[1].manager_url", "already used", ""},
		{"manager url no scheme", func(c *Config) { c.Nodes[0].ManagerURL = "127.0.0.1:18081/manager" }, "nodes[0].manager_url", "", "http://"},
		{"manager url ftp", func(c *Config) { c.Nodes[0].ManagerURL = "ftp://h/manager" }, "nodes[0].manager_url", "must start with http://", ""},
		{"manager url credentials", func(c *Config) { c.Nodes[0].ManagerURL = "http://u:p@h/manager" }, "nodes[0].manager_url", "credentials", "ZDD_TOMCAT_PASSWORD"},
		{"node url missing", func(c *Config) { c.Nodes[0].URL = "" }, "nodes[0].url", "is required", ""},
		{"node url no host", func(c *Config) { c.Nodes[0].URL = "http:///x" }, "nodes[0].url", "has no host", ""},
		{"upstream no port", func(c *Config) { c.Nodes[0].Upstream = "127.0.0.1" }, "nodes[0].upstream", "host:port", "Nginx"},
		{"upstream bad port", func(c *Config) { c.Nodes[0].Upstream = "127.0.0.1:99999" }, "nodes[0].upstream", "host:port", ""},
		{"duplicate upstream", func(c *Config) { c.Nodes[2].Upstream = c.Nodes[1].Upstream }, "nodes[2].upstream", "already used by nodes[1]", ""},
		{"negative weight", func(c *Config) { c.Nodes[0].Weight = -1 }, "nodes[0].weight", "1..1000", ""},
		{"no lb", func(c *Config) { c.LB.Hosts = nil }, "lb.hosts", "no load balancers", "upstream_file"},
		{"duplicate lb name", func(c *Config) { c.LB.Hosts[1].Name = "lb1" }, "lb.hosts[1].name", "already used", ""},
		{"lb address bad", func(c *Config) { c.LB.Hosts[0].Address = "lb1.example" }, "lb.hosts[0].address", "host:port", `"local"`},
		{"lb url bad", func(c *Config) { c.LB.Hosts[0].URL = "lb1:80" }, "lb.hosts[0].url", "", ""},
		{"lb upstream relative", func(c *Config) { c.LB.Hosts[0].UpstreamFile = "upstreams.conf" }, "lb.hosts[0].upstream_file", "absolute", ""},
		{"lb no test command", func(c *Config) { c.LB.Hosts[1].TestCommand = "" }, "lb.hosts[1].test_command", "is required", "nginx -t"},
		{"lb no reload command", func(c *Config) { c.LB.Hosts[1].ReloadCommand = "" }, "lb.hosts[1].reload_command", "is required", "reload"},
		{"ssh no identity", func(c *Config) { c.SSH.IdentityFile = "" }, "ssh.identity_file", "no way to authenticate", "ssh.agent"},
		{"ssh no known hosts", func(c *Config) { c.SSH.KnownHosts = "" }, "ssh.known_hosts", "is required", "always checked"},
		{"ssh no user", func(c *Config) { c.SSH.User = "" }, "ssh.user", "is required", ""},
		{"ssh zero timeout", func(c *Config) { c.SSH.CommandTimeout = 0 }, "ssh.command_timeout", "above zero", ""},
		{"dsn with password", func(c *Config) { c.Database.DSN = "zdd:pw@tcp(127.0.0.1:13300)/zdd" }, "database.dsn", "must not contain a password", "ZDD_DATABASE_PASSWORD"},
		{"dsn bad", func(c *Config) { c.Database.DSN = "zdd@tcp(127.0.0.1:13300" }, "database.dsn", "does not parse", "user@tcp"},
		{"no db password", func(c *Config) { c.Database.Password = "" }, "database.password", "no database password", "ZDD_DATABASE_PASSWORD"},
		{"db lock wait negative", func(c *Config) { c.Database.LockWait = -1 }, "database.lock_wait", "negative", ""},
		{"db lock wait timeout subsecond", func(c *Config) { c.Database.LockWaitTimeout = time.Millisecond }, "database.lock_wait_timeout", "at least 1s", "whole seconds"},
		{"haproxy scheme", func(c *Config) { c.Database.HAProxy.Address = "/run/admin.sock" }, "database.haproxy.address", "unix:// or tcp://", ""},
		{"haproxy relative socket", func(c *Config) { c.Database.HAProxy.Address = "unix://admin.sock" }, "database.haproxy.address", "absolute", ""},
		{"haproxy tcp no port", func(c *Config) { c.Database.HAProxy.Address = "tcp://127.0.0.1" }, "database.haproxy.address", "host:port", ""},
		{"haproxy no backend", func(c *Config) { c.Database.HAProxy.Backend = "" }, "database.haproxy.backend", "is required", ""},
		{"haproxy no servers", func(c *Config) { c.Database.HAProxy.Servers = nil }, "database.haproxy.servers", "no servers", "@@server_id"},
		{"haproxy duplicate id", func(c *Config) { c.Database.HAProxy.Servers["db3"] = 1 }, "database.haproxy.servers.db3", "also db1's", ""},
		{"haproxy zero id", func(c *Config) { c.Database.HAProxy.Servers["db1"] = 0 }, "database.haproxy.servers.db1", "above zero", ""},
		{"haproxy without dsn", func(c *Config) { c.Database.DSN = "" }, "database.dsn", "database.haproxy is set", ""},
		{"no migrations dir", func(c *Config) { c.Migrations.Dir = "" }, "migrations.dir", "is required", ""},
		{"no state dir", func(c *Config) { c.State.Dir = "" }, "state.dir", "is required", "shared"},
		{"canary 0", func(c *Config) { c.Strategy.CanarySize = 0 }, "strategy.canary_size", "at least 1", ""},
		{"canary over nodes", func(c *Config) { c.Strategy.CanarySize = 4 }, "strategy.canary_size", "only 3 nodes", "1..3"},
		{"canary 1 round-robin", func(c *Config) { c.Strategy.CanarySize = 1 }, "strategy.canary_size", "round-robin", "canary_weight"},
		{"canary weight negative", func(c *Config) { c.Strategy.CanaryWeight = -5 }, "strategy.canary_weight", "0..1000", ""},
		{"pause negative", func(c *Config) { c.Strategy.Pause = -time.Second }, "strategy.pause", "negative", ""},
		{"health timeout 0", func(c *Config) { c.Strategy.HealthTimeout = 0 }, "strategy.health_timeout", "above zero", ""},
		{"replication timeout 0", func(c *Config) { c.Strategy.ReplicationTimeout = 0 }, "strategy.replication_timeout", "above zero", ""},
		{"drain timeout 0", func(c *Config) { c.Strategy.DrainTimeout = 0 }, "strategy.drain_timeout", "above zero", ""},
		{"lock wait negative", func(c *Config) { c.Strategy.LockWait = -time.Second }, "strategy.lock_wait", "negative", ""},
		{"lease ttl 0", func(c *Config) { c.Strategy.LeaseTTL = 0 }, "strategy.lease_ttl", "above zero", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadFull(t)
			tt.mutate(cfg)
			problems := cfg.Validate()
			require.Len(t, problems, 1, "problems: %v", problems)
			p := problems[0]
			assert.Equal(t, tt.key, p.Key)
			assert.Contains(t, p.Message, tt.message)
			assert.Contains(t, p.Hint, tt.hint)
			assert.NotEmpty(t, p.Hint, "every problem carries a hint")
		})
	}
}

func TestValidateListsEveryProblem(t *testing.T) {
	cfg := Default()
	cfg.App.VersionWidth = 0
	cfg.Strategy.LeaseTTL = 0
	problems := cfg.Validate()
	assert.Equal(t, []string{"app.version_width", "tomcat.password", "nodes", "lb.hosts", "strategy.lease_ttl"},
		problemKeys(problems))
}

func TestValidateAcceptableVariants(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(c *Config)
	}{
		{"sticky single canary", func(c *Config) { c.Strategy.CanarySize, c.Strategy.CanaryWeight = 1, 10 }},
		{"single node single canary", func(c *Config) { c.Nodes = c.Nodes[:1]; c.Strategy.CanarySize = 1 }},
		{"canary is every node", func(c *Config) { c.Strategy.CanarySize = 3 }},
		{"all local: no ssh needed", func(c *Config) {
			c.LB.Hosts = c.LB.Hosts[1:]
			c.SSH = SSH{ConnectTimeout: time.Second, CommandTimeout: time.Second}
		}},
		{"ssh agent instead of key", func(c *Config) { c.SSH.IdentityFile, c.SSH.Agent = "", true }},
		{"no database at all", func(c *Config) {
			c.Database = Database{}
			c.Migrations.Dir = ""
		}},
		{"haproxy over tcp", func(c *Config) { c.Database.HAProxy.Address = "tcp://127.0.0.1:9999" }},
		{"no haproxy", func(c *Config) { c.Database.HAProxy = HAProxy{} }},
		{"unix upstream", func(c *Config) { c.Nodes[0].Upstream = "unix:/run/tomcat.sock" }},
		{"https manager", func(c *Config) { c.Nodes[0].ManagerURL = "https://n1.example/manager" }},
		{"version width 10", func(c *Config) { c.App.VersionWidth = 10 }},
		{"password and its file: the password wins", func(c *Config) { c.Tomcat.PasswordFile = "/nonexistent" }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := loadFull(t)
			tt.mutate(cfg)
			assert.Empty(t, cfg.Validate())
		})
	}
}

func TestProblemString(t *testing.T) {
	p := Problem{Key: "tomcat.password", Message: "no Tomcat Manager password", Hint: "set ZDD_TOMCAT_PASSWORD"}
	assert.Equal(t, "tomcat.password: no Tomcat Manager password (hint: set ZDD_TOMCAT_PASSWORD)", p.String())
	assert.False(t, strings.Contains(Problem{Key: "k", Message: "m"}.String(), "hint"))
}
