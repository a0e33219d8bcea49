package testenv

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/wait"
)

const (
	dbPort0      = 13305 // server i listens on dbPort0+i
	haproxyPort  = 13300
	dbName       = "zdd"
	dbUser       = "zdd"
	dbCheckUser  = "haproxy_check" // password-less, no privileges: HAProxy's mysql-check logs in as it
	dbReplUser   = "repl"
	haproxyBin   = "/usr/sbin/haproxy"
	mariadbdBin  = "/usr/sbin/mariadbd"
	mariadbCLI   = "/usr/bin/mariadb"
	mariadbSetup = "/usr/bin/mariadb-install-db"
)

// dbServer describes MariaDB server i: 1 is the primary, 2 the read-only replica.
func dbServer(dir string, i, off int) DBServer {
	return DBServer{Name: fmt.Sprintf("db%d", i), Addr: fmt.Sprintf("127.0.0.1:%d", dbPort0+off+i), ServerID: i,
		Socket: filepath.Join(dir, fmt.Sprintf("db%d", i), "mysqld.sock"), ReadOnly: i == 2}
}

func dbProcess(dir string, s DBServer) process {
	d := filepath.Join(dir, s.Name)
	return process{name: s.Name, pidFile: filepath.Join(d, "mariadbd.pid.testenv"), logFile: filepath.Join(d, "console.log"), marker: "--datadir=" + filepath.Join(d, "data")}
}

// initDB creates the server's data directory once.
func initDB(ctx context.Context, dir string, s DBServer) error {
	d := filepath.Join(dir, s.Name)
	if _, err := os.Stat(filepath.Join(d, "data", "mysql")); err == nil {
		return nil
	}
	tmp := filepath.Join(d, "tmp")
	if err := os.MkdirAll(tmp, 0o755); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, mariadbSetup, "--no-defaults", "--datadir="+filepath.Join(d, "data"),
		"--user=root", "--auth-root-authentication-method=socket", "--skip-test-db")
	// Each server its own temporary directory: two bootstraps sharing /tmp collide on their
	// temporary tables ("Could not remove temporary table", then "Unknown table").
	cmd.Env = append(os.Environ(), "TMPDIR="+tmp)
	out, err := cmd.CombinedOutput()
	if err != nil {
		_ = os.RemoveAll(filepath.Join(d, "data"))
		return fmt.Errorf("testenv: mariadb-install-db for %s: %v\n%s", s.Name, err, out)
	}
	return nil
}

// startDB starts server s (binary log on both, so that either can be promoted by hand).
func startDB(dir string, s DBServer) error {
	p := dbProcess(dir, s)
	if _, ok := p.running(); ok {
		return nil
	}
	if err := checkFree(s.Addr, "MariaDB "+s.Name); err != nil {
		return err
	}
	d := filepath.Join(dir, s.Name)
	port := strings.TrimPrefix(s.Addr, "127.0.0.1:")
	argv := []string{mariadbdBin, "--no-defaults", "--datadir=" + filepath.Join(d, "data"), "--socket=" + s.Socket,
		"--port=" + port, "--bind-address=127.0.0.1", "--user=root", "--skip-name-resolve", "--tmpdir=" + filepath.Join(d, "tmp"),
		"--pid-file=" + filepath.Join(d, "mariadbd.pid"), "--log-error=" + filepath.Join(d, "error.log"),
		fmt.Sprintf("--server-id=%d", s.ServerID), "--log-bin=" + filepath.Join(d, "data", "binlog"),
		"--binlog-format=ROW", "--log-slave-updates", "--innodb-buffer-pool-size=32M", "--performance-schema=OFF",
		"--max-connections=200", "--max-connect-errors=100000"}
	if s.ReadOnly {
		argv = append(argv, "--read-only=1")
	}
	return p.start(argv, nil)
}

// rootSQL runs statements as root over the server's unix socket.
func rootSQL(ctx context.Context, s DBServer, sql string) (string, error) {
	out, err := exec.CommandContext(ctx, mariadbCLI, "--no-defaults", "--socket="+s.Socket, "-uroot", "-N", "-B", "-e", sql).CombinedOutput()
	if err != nil {
		return "", fmt.Errorf("testenv: sql on %s: %v: %s", s.Name, err, strings.TrimSpace(string(out)))
	}
	return strings.TrimSpace(string(out)), nil
}

// waitDB waits until root can run a query on s.
func waitDB(ctx context.Context, dir string, s DBServer) error {
	p := dbProcess(dir, s)
	return wait.Until(ctx, 200*time.Millisecond, 30*time.Second, "MariaDB "+s.Name, func(ctx context.Context) (bool, error) {
		if _, ok := p.running(); !ok {
			return false, fmt.Errorf("testenv: MariaDB %s exited while starting; see %s:\n%s", s.Name, filepath.Join(dir, s.Name, "error.log"), tail(filepath.Join(dir, s.Name, "error.log"), 15))
		}
		_, err := rootSQL(ctx, s, "SELECT 1")
		return err == nil, wait.Reason(err)
	})
}

// setupReplication makes the replica follow the primary and creates the users and the
// application database on the primary (they replicate). It is done once.
func setupReplication(ctx context.Context, dir string, primary, replica DBServer, db DB, replPass string) error {
	marker := filepath.Join(dir, replica.Name, "replication.done")
	if _, err := os.Stat(marker); err == nil {
		return nil
	}
	stmts := fmt.Sprintf(`CREATE USER IF NOT EXISTS '%[1]s'@'127.0.0.1' IDENTIFIED BY '%[2]s';
GRANT REPLICATION SLAVE ON *.* TO '%[1]s'@'127.0.0.1';`, dbReplUser, replPass)
	if _, err := rootSQL(ctx, primary, stmts); err != nil {
		return err
	}
	port := strings.TrimPrefix(primary.Addr, "127.0.0.1:")
	change := fmt.Sprintf(`STOP SLAVE; CHANGE MASTER TO MASTER_HOST='127.0.0.1', MASTER_PORT=%s, MASTER_USER='%s',
MASTER_PASSWORD='%s', MASTER_USE_GTID=slave_pos, MASTER_CONNECT_RETRY=1; START SLAVE;`, port, dbReplUser, replPass)
	if _, err := rootSQL(ctx, replica, change); err != nil {
		return err
	}
	app := fmt.Sprintf(`CREATE DATABASE IF NOT EXISTS %[1]s;
CREATE USER IF NOT EXISTS '%[2]s'@'127.0.0.1' IDENTIFIED BY '%[3]s';
GRANT ALL PRIVILEGES ON *.* TO '%[2]s'@'127.0.0.1';
CREATE USER IF NOT EXISTS '%[4]s'@'127.0.0.1';`, db.Name, db.User, db.Password, dbCheckUser)
	if _, err := rootSQL(ctx, primary, app); err != nil {
		return err
	}
	err := wait.Until(ctx, 200*time.Millisecond, 30*time.Second, "replica to apply the primary's changes", func(ctx context.Context) (bool, error) {
		out, err := rootSQL(ctx, replica, fmt.Sprintf("SELECT COUNT(*) FROM mysql.user WHERE user='%s'", dbCheckUser))
		if err != nil {
			return false, wait.Reason(err)
		}
		return out == "1", nil
	})
	if err != nil {
		status, _ := rootSQL(ctx, replica, "SHOW SLAVE STATUS\\G")
		return fmt.Errorf("%w\nreplica status:\n%s", err, status)
	}
	return os.WriteFile(marker, []byte("ok\n"), 0o644)
}

func haproxyProcess(dir string) process {
	cfg := filepath.Join(dir, "haproxy", "haproxy.cfg")
	return process{name: "haproxy", pidFile: filepath.Join(dir, "haproxy", "haproxy.pid.testenv"), logFile: filepath.Join(dir, "haproxy", "console.log"), marker: cfg}
}

// writeHAProxy writes HAProxy's configuration: MySQL in TCP mode, primary active, replica backup.
func writeHAProxy(dir string, db DB) error {
	d := filepath.Join(dir, "haproxy")
	if err := os.MkdirAll(d, 0o755); err != nil {
		return err
	}
	var servers strings.Builder
	for _, s := range db.Servers {
		backup := ""
		if s.ReadOnly {
			backup = " backup"
		}
		fmt.Fprintf(&servers, "    server %s %s check inter 1s fall 2 rise 2 weight 100%s\n", s.Name, s.Addr, backup)
	}
	cfg := fmt.Sprintf(`# Written by zdd testenv: MySQL through HAProxy, primary active, replica as backup.
global
    stats socket %[1]s mode 600 level admin
    stats timeout 30s
defaults
    mode tcp
    timeout connect 2s
    timeout client 1h
    timeout server 1h
    timeout check 2s
listen %[2]s
    bind %[3]s
    option mysql-check user %[4]s post-41
%[5]s`, db.HAProxySocket, db.Backend, db.HAProxyAddr, dbCheckUser, servers.String())
	return os.WriteFile(filepath.Join(d, "haproxy.cfg"), []byte(cfg), 0o644)
}

// startHAProxy starts HAProxy in the foreground of its own session unless it runs.
func startHAProxy(ctx context.Context, dir string, db DB) error {
	p := haproxyProcess(dir)
	if _, ok := p.running(); ok {
		return nil
	}
	if err := checkFree(db.HAProxyAddr, "HAProxy"); err != nil {
		return err
	}
	if err := p.start([]string{haproxyBin, "-db", "-f", filepath.Join(dir, "haproxy", "haproxy.cfg")}, nil); err != nil {
		return err
	}
	return p.waitTCP(ctx, db.HAProxyAddr, 10*time.Second)
}
