package testenv

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
)

// writeZDDConfig writes Dir/zdd.yaml, a ready configuration of zdd for this cluster. The
// passwords are not in it: it names files under Dir/secrets that hold them.
func writeZDDConfig(env *Env) error {
	secrets := filepath.Join(env.Dir, "secrets")
	if err := os.MkdirAll(secrets, 0o700); err != nil {
		return err
	}
	tomcatPW := filepath.Join(secrets, "tomcat-password")
	dbPW := filepath.Join(secrets, "db-password")
	if err := os.WriteFile(tomcatPW, []byte(env.Manager.Password+"\n"), 0o600); err != nil {
		return err
	}
	if err := os.WriteFile(dbPW, []byte(env.DB.Password+"\n"), 0o600); err != nil {
		return err
	}
	if err := writeSampleMigrations(filepath.Join(env.Dir, "migrations")); err != nil {
		return err
	}
	var b strings.Builder
	fmt.Fprintf(&b, "# zdd configuration for the local test cluster (%s mode), written by `zdd testenv up`.\n", env.Mode)
	fmt.Fprintf(&b, "app:\n  name: %s\n  health_path: /health.jsp\n  version_width: 3\n", env.App)
	fmt.Fprintf(&b, "tomcat:\n  user: %s\n  password_file: %s\n  request_timeout: 10s\n  deploy_timeout: 120s\n", env.Manager.User, tomcatPW)
	b.WriteString("nodes:\n")
	for _, n := range env.Nodes {
		fmt.Fprintf(&b, "  - name: %s\n    manager_url: %s\n    url: %s\n    upstream: %s\n    weight: 1\n", n.Name, n.ManagerURL, n.URL, n.Upstream)
	}
	b.WriteString("lb:\n  hosts:\n")
	for _, lb := range env.LBs {
		fmt.Fprintf(&b, "    - name: %s\n      address: %s\n      url: %s\n      upstream_file: %s\n      test_command: %s\n      reload_command: %s\n      pid_file: %s\n      error_log: %s\n",
			lb.Name, lb.SSHAddr, lb.URL, lb.UpstreamFile, lb.TestCommand, lb.ReloadCommand, lb.PidFile, lb.ErrorLog)
	}
	fmt.Fprintf(&b, "ssh:\n  user: %s\n  identity_file: %s\n  known_hosts: %s\n  connect_timeout: 10s\n  command_timeout: 30s\n", env.SSH.User, env.SSH.IdentityFile, env.SSH.KnownHosts)
	fmt.Fprintf(&b, "database:\n  dsn: \"%s@tcp(%s)/%s\"\n  password_file: %s\n  lock_wait: 30s\n  lock_wait_timeout: 5s\n", env.DB.User, env.DB.HAProxyAddr, env.DB.Name, dbPW)
	fmt.Fprintf(&b, "  haproxy:\n    address: unix://%s\n    backend: %s\n    servers:\n", env.DB.HAProxySocket, env.DB.Backend)
	for _, s := range env.DB.Servers {
		fmt.Fprintf(&b, "      %s: %d\n", s.Name, s.ServerID)
	}
	fmt.Fprintf(&b, "migrations:\n  dir: %s\n", filepath.Join(env.Dir, "migrations"))
	fmt.Fprintf(&b, "state:\n  dir: %s\n", filepath.Join(env.Dir, "state"))
	b.WriteString("strategy:\n  canary_size: 2\n  pause_after_canary: false\n  health_timeout: 60s\n  replication_timeout: 30s\n  drain_timeout: 2m\n  expire_at_drain_deadline: false\n")
	return os.WriteFile(env.ConfigFile, []byte(b.String()), 0o644)
}

// writeSampleMigrations gives the sample application a migrations directory: one expand
// migration (an additive table) and an empty contract phase. Existing files are kept.
func writeSampleMigrations(dir string) error {
	for _, d := range []string{"expand", "contract"} {
		if err := os.MkdirAll(filepath.Join(dir, d), 0o755); err != nil {
			return err
		}
	}
	p := filepath.Join(dir, "expand", "0001_create_visits.sql")
	if _, err := os.Stat(p); err == nil {
		return nil
	}
	sql := "CREATE TABLE IF NOT EXISTS visits (\n  id BIGINT AUTO_INCREMENT PRIMARY KEY,\n  node VARCHAR(16) NOT NULL,\n  at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP\n) ENGINE=InnoDB\n"
	return os.WriteFile(p, []byte(sql), 0o644)
}
