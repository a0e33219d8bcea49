// Package config holds zdd's typed configuration: the structs that mirror zdd.yaml, their
// defaults, strict YAML parsing that names the line of every error, and Validate, which lists
// every problem with its key and a hint.
//
// # Layering
//
// This package never reads flags or environment variables. The command (cmd/zdd) resolves
// flags over ZDD_* environment variables over the file over Default, and hands the result to
// library packages as a *Config. EnvVar names the variable that sets a key, so that hints can
// say which variable to set.
//
// # Secrets
//
// Passwords are of type Secret, whose String, GoString, MarshalYAML and MarshalJSON forms are
// redacted; Secret.Reveal returns the value. A password is never required in the file: it can
// come from the environment (ZDD_TOMCAT_PASSWORD, ZDD_DATABASE_PASSWORD) or from a file named
// by password_file (see Config.ReadSecretFiles).
package config

import (
	"time"

	"github.com/saitodrom/zdd/deployer/statedir"
)

// Config is the whole zdd configuration, one field per top-level key of zdd.yaml.
type Config struct {
	// App is the application being released.
	App App `yaml:"app"`
	// Tomcat holds the Manager credentials and timeouts shared by every node.
	Tomcat Tomcat `yaml:"tomcat"`
	// Nodes are the Tomcat nodes, in release order.
	Nodes []Node `yaml:"nodes"`
	// LB is the set of Nginx load balancers in front of the nodes.
	LB LB `yaml:"lb"`
	// SSH is how load-balancer hosts that are not "local" are reached.
	SSH SSH `yaml:"ssh"`
	// Database is the application's database; an empty DSN means zdd runs no migrations.
	Database Database `yaml:"database"`
	// Migrations says where the schema migrations are.
	Migrations Migrations `yaml:"migrations"`
	// State says where zdd keeps its shared state.
	State State `yaml:"state"`
	// Strategy is how a release proceeds.
	Strategy Strategy `yaml:"strategy"`
}

// App describes the application.
type App struct {
	// Name is the context name: the application is served at /Name. Default "app".
	Name string `yaml:"name"`
	// HealthPath is the health-check page, relative to the context. Default "/health.jsp".
	HealthPath string `yaml:"health_path"`
	// VersionWidth is the number of digits of a version (002 has width 3), 1..10. Default 3.
	VersionWidth int `yaml:"version_width"`
}

// Tomcat holds what every node's Manager shares.
type Tomcat struct {
	// User is the Manager user (roles manager-script and manager-jmx). Default "zdd".
	User string `yaml:"user"`
	// Password is the Manager user's password, usually from ZDD_TOMCAT_PASSWORD.
	Password Secret `yaml:"password"`
	// PasswordFile, if set and Password is empty, is read for the password (first line).
	PasswordFile string `yaml:"password_file"`
	// CAFile is a PEM bundle used to verify https Manager URLs; empty means the system roots.
	CAFile string `yaml:"ca_file"`
	// RequestTimeout bounds one Manager request. Default 10s.
	RequestTimeout time.Duration `yaml:"request_timeout"`
	// DeployTimeout bounds one deploy call, which blocks while Tomcat starts the context. Default 120s.
	DeployTimeout time.Duration `yaml:"deploy_timeout"`
}

// Node is one Tomcat node.
type Node struct {
	// Name identifies the node and is its jvmRoute, e.g. n1.
	Name string `yaml:"name"`
	// ManagerURL is the Manager webapp's base URL, e.g. http://127.0.0.1:18081/manager.
	ManagerURL string `yaml:"manager_url"`
	// URL is the node's direct address, used for health checks, e.g. http://127.0.0.1:18081.
	URL string `yaml:"url"`
	// Upstream is how the node is written in the Nginx upstream files, e.g. 127.0.0.1:18081.
	Upstream string `yaml:"upstream"`
	// Weight is the node's weight in the upstream pool; 0 (or omitted) means 1.
	Weight int `yaml:"weight"`
}

// LB lists the load balancers.
type LB struct {
	// Hosts are the Nginx load balancers; every one is rewritten on every weight change.
	Hosts []LBHost `yaml:"hosts"`
}

// LBHost is one Nginx load balancer.
type LBHost struct {
	// Name identifies the load balancer, e.g. lb1.
	Name string `yaml:"name"`
	// Address is the SSH host:port of the machine running Nginx, or "local".
	Address string `yaml:"address"`
	// URL is the optional public URL, used to check the application through this load balancer.
	URL string `yaml:"url"`
	// UpstreamFile is the absolute path of the file holding the upstream blocks zdd rewrites.
	UpstreamFile string `yaml:"upstream_file"`
	// TestCommand checks the configuration, e.g. "nginx -t".
	TestCommand string `yaml:"test_command"`
	// ReloadCommand reloads Nginx gracefully, e.g. "nginx -s reload".
	ReloadCommand string `yaml:"reload_command"`
	// PidFile is the Nginx master's pid file, used to confirm a reload; optional.
	PidFile string `yaml:"pid_file"`
	// ErrorLog is the Nginx error log, quoted in errors; optional.
	ErrorLog string `yaml:"error_log"`
}

// LocalAddress is the LBHost.Address of a load balancer on the machine running zdd.
const LocalAddress = "local"

// SSH is how load-balancer hosts are reached.
type SSH struct {
	// User is the login user. Default "root".
	User string `yaml:"user"`
	// IdentityFile is the private key. Default "~/.ssh/id_ed25519" ("~/" is expanded where the
	// configuration is loaded, for every key of Paths).
	IdentityFile string `yaml:"identity_file"`
	// KnownHosts holds the hosts' keys, which are always checked. Default "~/.ssh/known_hosts".
	KnownHosts string `yaml:"known_hosts"`
	// Agent uses the SSH agent at $SSH_AUTH_SOCK as well as IdentityFile. Default false.
	Agent bool `yaml:"agent"`
	// ConnectTimeout bounds the connection and handshake. Default 10s.
	ConnectTimeout time.Duration `yaml:"connect_timeout"`
	// CommandTimeout bounds one remote command. Default 30s.
	CommandTimeout time.Duration `yaml:"command_timeout"`
}

// Database is the application's database, reached through HAProxy.
type Database struct {
	// DSN is a go-sql-driver/mysql DSN without a password, e.g. "zdd@tcp(127.0.0.1:13300)/zdd".
	// Empty means zdd runs no migrations.
	DSN string `yaml:"dsn"`
	// Password is the database user's password, usually from ZDD_DATABASE_PASSWORD.
	Password Secret `yaml:"password"`
	// PasswordFile, if set and Password is empty, is read for the password (first line).
	PasswordFile string `yaml:"password_file"`
	// LockWait is how long to wait for the migration lock. Default 30s.
	LockWait time.Duration `yaml:"lock_wait"`
	// LockWaitTimeout is MySQL's lock_wait_timeout for DDL statements. Default 5s.
	LockWaitTimeout time.Duration `yaml:"lock_wait_timeout"`
	// HAProxy is HAProxy's runtime API, used to check which server is the primary; optional.
	HAProxy HAProxy `yaml:"haproxy"`
}

// HAProxy describes the HAProxy in front of the database.
type HAProxy struct {
	// Address is the runtime API: unix:///path/admin.sock or tcp://host:port. Empty disables the check.
	Address string `yaml:"address"`
	// Backend is the backend holding the database servers. Default "mysql".
	Backend string `yaml:"backend"`
	// Servers maps each HAProxy server name to the @@server_id of the MariaDB behind it.
	Servers map[string]int `yaml:"servers"`
}

// Migrations says where the schema migrations are.
type Migrations struct {
	// Dir is the directory of goose SQL migrations. Default "./migrations".
	Dir string `yaml:"dir"`
}

// State says where zdd keeps the release lock, journal, history and release store.
type State struct {
	// Dir must be shared by every machine that runs zdd for this cluster, never only a CI
	// runner's disk. Default "/var/lib/zdd".
	Dir string `yaml:"dir"`
	// GroupShared makes the state directory group-shared (directories 0770, files 0660) for
	// several operators in one Unix group; false (the default) keeps it private (0700, 0600).
	// See package statedir.
	GroupShared bool `yaml:"group_shared"`
}

// Policy returns the mode policy of the state directory.
func (s State) Policy() statedir.Policy { return statedir.Policy{GroupShared: s.GroupShared} }

// Strategy is how a release proceeds.
type Strategy struct {
	// CanarySize is the number of nodes that get the new version first. Default 2.
	CanarySize int `yaml:"canary_size"`
	// CanaryWeight, in sticky mode only, is the weight of a single canary node for new
	// sessions; 0 means the node's own weight. Setting it declares sticky mode.
	CanaryWeight int `yaml:"canary_weight"`
	// PauseAfterCanary stops after the canary (exit 7) until `zdd promote`. Default false.
	PauseAfterCanary bool `yaml:"pause_after_canary"`
	// Pause is how long to watch the canary before going on. Default 0s.
	Pause time.Duration `yaml:"pause"`
	// HealthTimeout bounds waiting for a node's health page to answer 200. Default 60s.
	HealthTimeout time.Duration `yaml:"health_timeout"`
	// ReplicationTimeout bounds waiting for session state to reach a new version. Default 30s.
	ReplicationTimeout time.Duration `yaml:"replication_timeout"`
	// DrainTimeout bounds waiting for the old version's sessions to end. Default 30m.
	DrainTimeout time.Duration `yaml:"drain_timeout"`
	// ExpireAtDrainDeadline expires the old version's remaining sessions at DrainTimeout
	// instead of leaving the old version running. Default false.
	ExpireAtDrainDeadline bool `yaml:"expire_at_drain_deadline"`
	// LockWait is how long to wait for another release's lock; 0 fails at once (exit 5). Default 0s.
	LockWait time.Duration `yaml:"lock_wait"`
	// LeaseTTL is how long the release lock stays valid without renewal. Default 30s.
	LeaseTTL time.Duration `yaml:"lease_ttl"`
}

// Default returns the configuration with every default filled in and no nodes or load balancers.
func Default() Config {
	return Config{
		App:    App{Name: "app", HealthPath: "/health.jsp", VersionWidth: 3},
		Tomcat: Tomcat{User: "zdd", RequestTimeout: 10 * time.Second, DeployTimeout: 120 * time.Second},
		SSH: SSH{
			User: "root", IdentityFile: "~/.ssh/id_ed25519", KnownHosts: "~/.ssh/known_hosts",
			ConnectTimeout: 10 * time.Second, CommandTimeout: 30 * time.Second,
		},
		Database: Database{
			LockWait: 30 * time.Second, LockWaitTimeout: 5 * time.Second,
			HAProxy: HAProxy{Backend: "mysql"},
		},
		Migrations: Migrations{Dir: "./migrations"},
		State:      State{Dir: "/var/lib/zdd"},
		Strategy: Strategy{
			CanarySize: 2, HealthTimeout: 60 * time.Second, ReplicationTimeout: 30 * time.Second,
			DrainTimeout: 30 * time.Minute, LeaseTTL: 30 * time.Second,
		},
	}
}

// FillDefaults sets the defaults that belong to list items: a node's weight 0 becomes 1.
func (c *Config) FillDefaults() {
	for i := range c.Nodes {
		if c.Nodes[i].Weight == 0 {
			c.Nodes[i].Weight = 1
		}
	}
}

// UsesSSH reports whether any load balancer is reached over SSH.
func (c *Config) UsesSSH() bool {
	for _, h := range c.LB.Hosts {
		if h.Address != LocalAddress {
			return true
		}
	}
	return false
}
