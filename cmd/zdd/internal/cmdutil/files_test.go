package cmdutil

import (
	"crypto/ed25519"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"

	"github.com/saitodrom/zdd/cmd/zdd/internal/configload"
	"github.com/saitodrom/zdd/deployer/config"
)

// filesConfig has two load balancers over SSH (one on the default port), a database and
// passwords in files under ~/; the SSH keys are left at their defaults.
const filesConfig = `tomcat:
  password_file: ~/secrets/tomcat
  ca_file: ~/ca.pem
nodes:
  - {name: n1, manager_url: "https://h1:8443/manager", url: "http://h1:8080", upstream: "h1:8080"}
  - {name: n2, manager_url: "https://h2:8443/manager", url: "http://h2:8080", upstream: "h2:8080"}
lb:
  hosts:
    - {name: lb1, address: "127.0.0.12:22", upstream_file: /etc/nginx/up.conf, test_command: nginx -t, reload_command: nginx -s reload}
    - {name: lb2, address: "127.0.0.11:2222", upstream_file: /etc/nginx/up.conf, test_command: nginx -t, reload_command: nginx -s reload}
database:
  dsn: "zdd@tcp(127.0.0.1:3306)/zdd"
  password_file: ~/secrets/db
migrations:
  dir: ~/migrations
`

// caPEM returns a new self-signed certificate in PEM form.
func caPEM(t *testing.T) string {
	_, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "zdd-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(time.Hour), IsCA: true, BasicConstraintsValid: true}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, priv.Public(), priv)
	require.NoError(t, err)
	return string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}))
}

// home is a HOME directory with everything filesConfig names, good.
type home struct {
	t   *testing.T
	dir string
}

func newHome(t *testing.T) *home {
	h := &home{t: t, dir: t.TempDir()}
	t.Setenv("HOME", h.dir)
	for _, k := range config.Keys() {
		t.Setenv(config.EnvVar(k), "") // an empty variable counts as unset
	}
	pub, priv, err := ed25519.GenerateKey(nil)
	require.NoError(t, err)
	block, err := ssh.MarshalPrivateKey(priv, "")
	require.NoError(t, err)
	h.write(".ssh/id_ed25519", string(pem.EncodeToMemory(block)))
	key, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	h.write(".ssh/known_hosts", knownhosts.Line([]string{knownhosts.Normalize("127.0.0.12:22")}, key)+"\n"+
		knownhosts.Line([]string{knownhosts.Normalize("127.0.0.11:2222")}, key)+"\n")
	h.write("secrets/tomcat", "tomcat-pw\n")
	h.write("secrets/db", "db-pw\n")
	h.write("ca.pem", caPEM(t))
	require.NoError(t, os.MkdirAll(filepath.Join(h.dir, "migrations", "expand"), 0o755))
	return h
}

func (h *home) write(name, body string) {
	p := filepath.Join(h.dir, name)
	require.NoError(h.t, os.MkdirAll(filepath.Dir(p), 0o700))
	require.NoError(h.t, os.WriteFile(p, []byte(body), 0o600))
}

// check loads body as zdd.yaml and returns Check's problems as "key: message (hint: ...)".
func (h *home) check(body string) []string {
	path := filepath.Join(h.t.TempDir(), "zdd.yaml")
	require.NoError(h.t, os.WriteFile(path, []byte(body), 0o600))
	cfg, err := configload.Load(configload.Options{Path: path})
	require.NoError(h.t, err)
	var out []string
	for _, p := range Check(cfg) {
		out = append(out, p.String())
	}
	return out
}

func TestCheckFindsTheDefaultsUnderHome(t *testing.T) {
	h := newHome(t)
	assert.Empty(t, h.check(filesConfig), "~/.ssh/id_ed25519 and ~/.ssh/known_hosts (defaults) and every ~/ path are found")
}

func TestCheckNamesEveryFileProblem(t *testing.T) {
	for _, c := range []struct {
		name   string
		break_ func(h *home) string // changes the home and returns the configuration
		want   []string             // fragments of the one expected problem
	}{
		{"known_hosts without a host on a non-default port", func(h *home) string {
			data, _ := os.ReadFile(filepath.Join(h.dir, ".ssh/known_hosts"))
			h.write(".ssh/known_hosts", strings.SplitAfter(string(data), "\n")[0])
			return filesConfig
		}, []string{"ssh.known_hosts: ", "known_hosts has no entry for [127.0.0.11]:2222, the address of lb.hosts[1] (lb2)",
			"hint: review the host's key, then add it: ssh-keyscan -p 2222 127.0.0.11 >> " + "HOME/.ssh/known_hosts"}},
		{"known_hosts without a host on port 22", func(h *home) string {
			data, _ := os.ReadFile(filepath.Join(h.dir, ".ssh/known_hosts"))
			h.write(".ssh/known_hosts", strings.SplitAfter(string(data), "\n")[1])
			return filesConfig
		}, []string{"has no entry for 127.0.0.12, the address of lb.hosts[0] (lb1)", "ssh-keyscan -p 22 127.0.0.12"}},
		{"known_hosts missing", func(h *home) string { os.Remove(filepath.Join(h.dir, ".ssh/known_hosts")); return filesConfig },
			[]string{"ssh.known_hosts: cannot read HOME/.ssh/known_hosts: no such file or directory", "hint: host keys are always checked"}},
		{"known_hosts unparsable", func(h *home) string { h.write(".ssh/known_hosts", "127.0.0.12 ssh-ed25519 !!!\n"); return filesConfig },
			[]string{"ssh.known_hosts: HOME/.ssh/known_hosts does not parse", "hint: fix or remove that line"}},
		{"identity missing", func(h *home) string { os.Remove(filepath.Join(h.dir, ".ssh/id_ed25519")); return filesConfig },
			[]string{"ssh.identity_file: cannot read HOME/.ssh/id_ed25519: no such file or directory", "hint: point it at the private key"}},
		{"identity not a key", func(h *home) string { h.write(".ssh/id_ed25519", "hello\n"); return filesConfig },
			[]string{"ssh.identity_file: HOME/.ssh/id_ed25519 is not a private key zdd can use"}},
		{"identity with a passphrase", func(h *home) string {
			_, priv, _ := ed25519.GenerateKey(nil)
			block, err := ssh.MarshalPrivateKeyWithPassphrase(priv, "", []byte("pass"))
			require.NoError(t, err)
			h.write(".ssh/id_ed25519", string(pem.EncodeToMemory(block)))
			return filesConfig
		}, []string{"ssh.identity_file: HOME/.ssh/id_ed25519 has a passphrase", "hint: load it into ssh-agent"}},
		{"identity is a directory", func(h *home) string {
			return strings.Replace(filesConfig, "tomcat:\n", "ssh:\n  identity_file: ~/.ssh\ntomcat:\n", 1)
		}, []string{"ssh.identity_file: HOME/.ssh is a directory, not a file"}},
		{"tomcat password file missing", func(h *home) string { os.Remove(filepath.Join(h.dir, "secrets/tomcat")); return filesConfig },
			[]string{"tomcat.password_file: cannot read HOME/secrets/tomcat: no such file or directory", "ZDD_TOMCAT_PASSWORD"}},
		{"database password file missing", func(h *home) string { os.Remove(filepath.Join(h.dir, "secrets/db")); return filesConfig },
			[]string{"database.password_file: cannot read HOME/secrets/db: no such file or directory", "ZDD_DATABASE_PASSWORD"}},
		{"ca_file missing", func(h *home) string { os.Remove(filepath.Join(h.dir, "ca.pem")); return filesConfig },
			[]string{"tomcat.ca_file: cannot read HOME/ca.pem: no such file or directory", "hint: point it at the PEM bundle"}},
		{"ca_file not PEM", func(h *home) string { h.write("ca.pem", "not a certificate\n"); return filesConfig },
			[]string{"tomcat.ca_file: HOME/ca.pem holds no PEM certificate"}},
		{"migrations.dir missing", func(h *home) string { os.RemoveAll(filepath.Join(h.dir, "migrations")); return filesConfig },
			[]string{"migrations.dir: cannot use HOME/migrations: no such file or directory", "hint: the directory of the goose SQL migrations"}},
		{"migrations.dir a file", func(h *home) string {
			os.RemoveAll(filepath.Join(h.dir, "migrations"))
			h.write("migrations", "x")
			return filesConfig
		}, []string{"migrations.dir: HOME/migrations is not a directory"}},
		{"another user's home", func(h *home) string {
			return strings.Replace(filesConfig, "~/ca.pem", "~bob/ca.pem", 1)
		}, []string{`tomcat.ca_file: "~bob/ca.pem" names another user's home directory (~bob/), which zdd does not expand`,
			"hint: write the absolute path (e.g. /home/bob/...), or ~/ for your own home directory"}},
	} {
		t.Run(c.name, func(t *testing.T) {
			h := newHome(t)
			body := c.break_(h)
			got := h.check(body)
			require.Len(t, got, 1, "%q", got)
			for _, w := range c.want {
				assert.Contains(t, got[0], strings.ReplaceAll(w, "HOME", h.dir))
			}
		})
	}
}

func TestCheckSkipsSSHFilesForLocalLoadBalancers(t *testing.T) {
	h := newHome(t)
	os.Remove(filepath.Join(h.dir, ".ssh/known_hosts"))
	os.Remove(filepath.Join(h.dir, ".ssh/id_ed25519"))
	body := strings.ReplaceAll(filesConfig, `address: "127.0.0.12:22"`, "address: local")
	body = strings.ReplaceAll(body, `address: "127.0.0.11:2222"`, "address: local")
	body = strings.Replace(body, "/etc/nginx/up.conf", "/etc/nginx/up2.conf", 1)
	assert.Empty(t, h.check(body))
}
