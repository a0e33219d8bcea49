package testenv

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"encoding/pem"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// The two load-balancer "hosts" are two loopback addresses served by one sshd.
const sshPort = 12222

var lbSSHHosts = []string{"127.0.0.11", "127.0.0.12"}

func sshdProcess(dir string) process {
	d := filepath.Join(dir, "sshd")
	cfg := filepath.Join(d, "sshd_config")
	return process{name: "sshd", pidFile: filepath.Join(d, "sshd.pid.testenv"), logFile: filepath.Join(d, "sshd.log"), marker: cfg}
}

// writeKey writes a new ed25519 private key (OpenSSH format) unless path exists, and returns its public key.
func writeKey(path, comment string) (ssh.PublicKey, error) {
	if b, err := os.ReadFile(path); err == nil {
		signer, err := ssh.ParsePrivateKey(b)
		if err != nil {
			return nil, fmt.Errorf("testenv: parse key %s: %w", path, err)
		}
		return signer.PublicKey(), nil
	}
	pub, priv, err := ed25519.GenerateKey(rand.Reader)
	if err != nil {
		return nil, err
	}
	block, err := ssh.MarshalPrivateKey(priv, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(block), 0o600); err != nil {
		return nil, err
	}
	sshPub, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil, err
	}
	return sshPub, os.WriteFile(path+".pub", ssh.MarshalAuthorizedKey(sshPub), 0o644)
}

// setupSSH writes sshd's host key, the client key, authorized_keys, known_hosts and sshd_config.
func setupSSH(dir string, lbs []LB) (SSH, error) {
	d := filepath.Join(dir, "sshd")
	if err := os.MkdirAll(d, 0o700); err != nil {
		return SSH{}, err
	}
	info := SSH{User: "root", IdentityFile: filepath.Join(d, "id_ed25519"),
		KnownHosts: filepath.Join(d, "known_hosts"), HostKeyFile: filepath.Join(d, "ssh_host_ed25519_key")}
	hostPub, err := writeKey(info.HostKeyFile, "zdd-testenv-host")
	if err != nil {
		return info, err
	}
	clientPub, err := writeKey(info.IdentityFile, "zdd-testenv-client")
	if err != nil {
		return info, err
	}
	var kh strings.Builder
	for _, lb := range lbs {
		kh.WriteString(knownhosts.Line([]string{knownhosts.Normalize(lb.SSHAddr)}, hostPub) + "\n")
	}
	var listen strings.Builder
	for _, lb := range lbs {
		fmt.Fprintf(&listen, "ListenAddress %s\n", lb.SSHAddr)
	}
	cfg := listen.String() + `HostKey ` + info.HostKeyFile + `
PidFile ` + filepath.Join(d, "sshd.pid") + `
AuthorizedKeysFile ` + filepath.Join(d, "authorized_keys") + `
PermitRootLogin prohibit-password
PubkeyAuthentication yes
PasswordAuthentication no
KbdInteractiveAuthentication no
UsePAM no
StrictModes no
X11Forwarding no
AllowTcpForwarding local
AllowStreamLocalForwarding local
PrintMotd no
MaxSessions 50
MaxStartups 50:30:100
`
	files := map[string]string{
		"authorized_keys": string(ssh.MarshalAuthorizedKey(clientPub)),
		"known_hosts":     kh.String(),
		"sshd_config":     cfg,
	}
	old, _ := os.ReadFile(filepath.Join(d, "sshd_config"))
	for name, body := range files {
		if err := os.WriteFile(filepath.Join(d, name), []byte(body), 0o600); err != nil {
			return info, err
		}
	}
	if string(old) != cfg {
		// A running sshd keeps its old configuration: restart it.
		if err := sshdProcess(dir).stop(context.Background(), 5*time.Second); err != nil {
			return info, err
		}
	}
	return info, nil
}

// startSSHD starts sshd on the load-balancer host addresses unless it already runs.
func startSSHD(dir string, lbs []LB) error {
	p := sshdProcess(dir)
	if _, ok := p.running(); ok {
		return nil
	}
	for _, lb := range lbs {
		if err := checkFree(lb.SSHAddr, "sshd"); err != nil {
			return err
		}
	}
	if err := os.MkdirAll("/run/sshd", 0o755); err != nil { // sshd's privilege-separation directory
		return err
	}
	return p.start([]string{"/usr/sbin/sshd", "-D", "-e", "-f", filepath.Join(dir, "sshd", "sshd_config")}, nil)
}
