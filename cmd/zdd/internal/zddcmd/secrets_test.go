package zddcmd

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/internal/redact"
	"github.com/saitodrom/zdd/testenv"
)

const (
	managerSecret = "Mgr-s3cret:pw@x"
	dbSecret      = "Db-s3cret/pw#y"
)

// hostileManager answers every request with a Manager failure ("FAIL - ...", which the client
// does not retry, so the test is quick) that repeats the password the request carried, as a
// broken proxy or Manager might; it counts the requests that carried it.
func hostileManager(t *testing.T, hits *atomic.Int64) *httptest.Server {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, pw, _ := r.BasicAuth()
		if pw == managerSecret {
			hits.Add(1)
		}
		_, _ = fmt.Fprintf(w, "FAIL - internal error for password %s\n", pw)
	}))
	t.Cleanup(srv.Close)
	return srv
}

// hostileServer accepts TCP connections and answers each with answer, counting them.
func hostileServer(t *testing.T, hits *atomic.Int64, answer func(net.Conn)) string {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { _ = l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			hits.Add(1)
			go func() {
				defer c.Close()
				answer(c)
			}()
		}
	}()
	return l.Addr().String()
}

// hostileMySQL greets every connection with a MySQL error packet whose message repeats the
// database password.
func hostileMySQL(t *testing.T, hits *atomic.Int64) string {
	return hostileServer(t, hits, func(c net.Conn) {
		msg := "Access denied (password " + dbSecret + ")"
		payload := append([]byte{0xff, 0x15, 0x04}, msg...) // ERR, error 1045
		_, _ = c.Write(append([]byte{byte(len(payload)), byte(len(payload) >> 8), byte(len(payload) >> 16), 0}, payload...))
	})
}

// TestNoSecretInAnyCommandsOutput: every command that dials the cluster or the database, run
// against a Manager and an HAProxy that echo the passwords back in their failures, prints
// neither the Manager password nor the database password, on stdout or stderr, in text or
// JSON. The servers count the requests, so the commands did reach them, and some output shows
// the echo with redact.Text in place of the secret.
func TestNoSecretInAnyCommandsOutput(t *testing.T) {
	for _, k := range config.Keys() {
		t.Setenv(config.EnvVar(k), "")
	}
	var mgrHits, dbHits atomic.Int64
	mgr := hostileManager(t, &mgrHits)
	mysql := hostileMySQL(t, &dbHits)
	dir := t.TempDir()
	write := func(name, content string) string {
		p := filepath.Join(dir, name)
		require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
		return p
	}
	up := write("upstreams.conf", "upstream tomcat {\n    server 127.0.0.1:1 weight=1; # n1\n}\n")
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "migrations", "expand"), 0o755))
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "migrations", "contract"), 0o755))
	cfgFile := write("zdd.yaml", fmt.Sprintf(`app:
  name: app
tomcat:
  user: zdd
  password_file: %s
  request_timeout: 2s
nodes:
  - name: n1
    manager_url: %s/manager
    url: %s
    upstream: 127.0.0.1:1
lb:
  hosts:
    - name: lb1
      address: local
      url: http://127.0.0.1:1
      upstream_file: %s
      test_command: "true"
      reload_command: "true"
      pid_file: %s
      error_log: %s
database:
  dsn: "zdd@tcp(%s)/zdd"
  password_file: %s
  haproxy:
    address: tcp://127.0.0.1:1
    backend: mysql
    servers:
      db1: 1
migrations:
  dir: %s
state:
  dir: %s
strategy:
  lock_wait: 0s
  canary_size: 1
`, write("tomcat-pw", managerSecret), mgr.URL, mgr.URL, up, write("nginx.pid", "1\n"), write("error.log", ""),
		mysql, write("db-pw", dbSecret),
		filepath.Join(dir, "migrations"), filepath.Join(dir, "state")))
	f, err := os.Create(filepath.Join(dir, "app-002.war"))
	require.NoError(t, err)
	require.NoError(t, testenv.BuildWAR(f, testenv.WAROptions{Version: "002"}))
	require.NoError(t, f.Close())

	commands := [][]string{
		{"status"}, {"status", "--output", "json"}, {"plan", f.Name()}, {"deploy", f.Name()},
		{"deploy", f.Name(), "--output", "json"}, {"promote"}, {"drain"}, {"rollback", "--yes"},
		{"rollback", "--yes", "--output", "json"}, {"resume"}, {"abort", "--yes"},
		{"migrate", "status"}, {"migrate", "plan", "--phase", "expand"}, {"migrate", "up", "--phase", "expand"},
		{"migrate", "up", "--phase", "contract", "--output", "json"}, {"lock", "status"}, {"history"},
	}
	redacted := 0
	for _, args := range commands {
		streams, _, out, errOut := iostreams.Test()
		code := Main(context.Background(), append(args, "--config", cfgFile), streams)
		printed := out.String() + errOut.String()
		for _, s := range []string{managerSecret, dbSecret} {
			if strings.Contains(printed, s) { // not assert.NotContains: it would print the secret
				t.Errorf("zdd %s (exit %d) printed a secret (%d chars)", strings.Join(args, " "), code, len(s))
			}
		}
		if strings.Contains(printed, redact.Text) {
			redacted++
		}
		t.Logf("zdd %s: exit %d, %d bytes printed", strings.Join(args, " "), code, len(printed))
	}
	assert.Positive(t, mgrHits.Load(), "the commands reached the Manager with its password")
	assert.Positive(t, dbHits.Load(), "the commands reached the database")
	assert.Positive(t, redacted, "the echoed secrets reached the output, redacted")
}
