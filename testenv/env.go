// Package testenv runs a real local Tomcat cluster on loopback, built from Debian packages:
// three Tomcat 10.1 nodes with DeltaManager session replication, two Nginx load balancers
// reached over SSH, a MariaDB primary/replica pair behind HAProxy, and an sshd.
//
// # Layout
//
// All state lives under one directory (Env.Dir): one sub-directory per server, the pid files
// of the processes testenv started, generated keys and credentials, and env.json, which
// describes the running environment. Up is idempotent; Down stops only the processes whose pid
// files it wrote.
//
// # Ports (all on loopback, each plus Options.PortOffset)
//
//	Tomcat n1..n3 HTTP       127.0.0.1:18081..18083   (jvmRoute n1..n3)
//	Tomcat n1..n3 Tribes     127.0.0.1:14001..14003
//	Nginx lb1, lb2 HTTP      127.0.0.1:18091, 127.0.0.1:18092
//	sshd (lb1, lb2 "hosts")  127.0.0.11:12222, 127.0.0.12:12222
//	MariaDB primary, replica 127.0.0.1:13306 (server_id 1), 127.0.0.1:13307 (server_id 2)
//	HAProxy (MySQL, TCP)     127.0.0.1:13300, runtime API at Dir/haproxy/admin.sock
package testenv

// Mode is the load-balancer mode chosen at Up.
type Mode string

const (
	// RoundRobin sends every request to a weighted pool of all nodes.
	RoundRobin Mode = "round-robin"
	// Sticky sends a request that carries a session to the node named by the jvmRoute suffix of
	// its JSESSIONID (falling back to the other nodes), and a request without one to the weighted pool.
	Sticky Mode = "sticky"
)

// Env describes a running test environment. It is written to Dir/env.json by Up and read back by Load.
type Env struct {
	// Dir is the directory that holds all state of the environment.
	Dir string `json:"dir"`
	// Mode is the load-balancer mode the Nginx pair runs in.
	Mode Mode `json:"mode"`
	// App is the context name of the sample application ("app", served at /app).
	App string `json:"app"`
	// Manager holds the credentials of the Manager user with manager-script and manager-jmx.
	Manager Credentials `json:"manager"`
	// SpareManager is a second Manager user with the same roles, for tests that fail logins on
	// purpose (five failures lock a user for 300 s).
	SpareManager Credentials `json:"spare_manager"`
	// Nodes are the Tomcat nodes, n1..n3.
	Nodes []Node `json:"nodes"`
	// LBs are the two Nginx load balancers, lb1 and lb2.
	LBs []LB `json:"lbs"`
	// SSH is how the load-balancer hosts are reached.
	SSH SSH `json:"ssh"`
	// DB is the MariaDB pair and the HAProxy in front of it.
	DB DB `json:"db"`
	// PortOffset is added to every port listed in the package documentation.
	PortOffset int `json:"port_offset"`
	// ConfigFile is the zdd.yaml that Up wrote for this cluster.
	ConfigFile string `json:"config_file"`

	// nginxChanged tells, per load balancer, whether Up rewrote its configuration.
	nginxChanged map[string]bool
}

// Credentials is a user name and password.
type Credentials struct {
	User     string `json:"user"`
	Password string `json:"password"`
}

// Node is one Tomcat node.
type Node struct {
	// Name is the node's name and jvmRoute: n1, n2, n3.
	Name string `json:"name"`
	// URL is the node's own HTTP address, e.g. http://127.0.0.1:18081.
	URL string `json:"url"`
	// ManagerURL is the Manager webapp's base URL, e.g. http://127.0.0.1:18081/manager.
	ManagerURL string `json:"manager_url"`
	// Upstream is how the node is written in the Nginx upstream files: 127.0.0.1:18081.
	Upstream string `json:"upstream"`
	// TribesPort is the port of the node's cluster receiver.
	TribesPort int `json:"tribes_port"`
	// Base is the node's CATALINA_BASE.
	Base string `json:"base"`
}

// LB is one Nginx load balancer, reached over SSH as if it were its own host.
type LB struct {
	// Name is lb1 or lb2.
	Name string `json:"name"`
	// URL is the public address clients use, e.g. http://127.0.0.1:18091.
	URL string `json:"url"`
	// SSHAddr is host:port of the sshd that reaches this load balancer.
	SSHAddr string `json:"ssh_addr"`
	// Dir is the load balancer's config directory.
	Dir string `json:"dir"`
	// MainConfig is the nginx.conf that includes UpstreamFile.
	MainConfig string `json:"main_config"`
	// UpstreamFile is the file with the upstream blocks that zdd rewrites.
	UpstreamFile string `json:"upstream_file"`
	// ErrorLog is the Nginx error log.
	ErrorLog string `json:"error_log"`
	// PidFile is the Nginx master's pid file.
	PidFile string `json:"pid_file"`
	// TestCommand checks the main configuration (which includes UpstreamFile).
	TestCommand string `json:"test_command"`
	// ReloadCommand reloads Nginx gracefully.
	ReloadCommand string `json:"reload_command"`
}

// SSH is how testenv's load-balancer hosts are reached.
type SSH struct {
	// User is the login user.
	User string `json:"user"`
	// IdentityFile is the client's private key (ed25519, no passphrase).
	IdentityFile string `json:"identity_file"`
	// KnownHosts lists the host key of every SSHAddr.
	KnownHosts string `json:"known_hosts"`
	// HostKeyFile is sshd's private host key.
	HostKeyFile string `json:"host_key_file"`
}

// DB is the MariaDB pair behind HAProxy.
type DB struct {
	// Name is the application's database.
	Name string `json:"name"`
	// User is the application/migration user (all privileges on Name, from 127.0.0.1).
	User string `json:"user"`
	// Password is User's password.
	Password string `json:"password"`
	// HAProxyAddr is the MySQL frontend of HAProxy: 127.0.0.1:13300.
	HAProxyAddr string `json:"haproxy_addr"`
	// HAProxySocket is HAProxy's runtime API socket (level admin).
	HAProxySocket string `json:"haproxy_socket"`
	// Backend is the HAProxy backend that holds the two servers.
	Backend string `json:"backend"`
	// Servers are the primary (active) and the replica (backup).
	Servers []DBServer `json:"servers"`
}

// DBServer is one MariaDB server.
type DBServer struct {
	// Name is the HAProxy server name: db1 (primary) or db2 (replica).
	Name string `json:"name"`
	// Addr is the server's own address, 127.0.0.1:13306 or 127.0.0.1:13307.
	Addr string `json:"addr"`
	// ServerID is the server's @@server_id.
	ServerID int `json:"server_id"`
	// Socket is the server's unix socket (root logs in through it).
	Socket string `json:"socket"`
	// ReadOnly is true for the replica.
	ReadOnly bool `json:"read_only"`
}
