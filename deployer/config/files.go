package config

import (
	"crypto/ed25519"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// CheckFiles returns a Problem, with its key and a hint, for every local file or directory
// the configuration names that zdd will need and cannot use: ssh.identity_file (readable, a
// private key without a passphrase) and ssh.known_hosts (readable, parsable, with an entry
// for every load-balancer host reached over SSH) when a load balancer is reached over SSH;
// tomcat.ca_file (readable PEM certificates) when set; migrations.dir (a readable directory)
// when a database is configured. The password files are ReadSecretFiles's. It reads the paths
// as they are: "~/" is expanded when the configuration is loaded.
func (c *Config) CheckFiles() []Problem {
	v := &validator{}
	if c.UsesSSH() {
		if c.SSH.IdentityFile != "" && !OtherUsersHome(c.SSH.IdentityFile) {
			checkIdentity(v, c.SSH.IdentityFile, c.SSH.Agent)
		}
		if c.SSH.KnownHosts != "" && !OtherUsersHome(c.SSH.KnownHosts) {
			c.checkKnownHosts(v)
		}
	}
	if f := c.Tomcat.CAFile; f != "" && !OtherUsersHome(f) {
		checkCA(v, f)
	}
	if d := c.Migrations.Dir; c.Database.DSN != "" && d != "" && !OtherUsersHome(d) {
		checkDir(v, "migrations.dir", d, "the directory of the goose SQL migrations (expand/ and contract/); an absolute path works from any directory")
	}
	return v.problems
}

// readable reads file, adding a problem at key when it cannot.
func readable(v *validator, key, file, hint string) ([]byte, bool) {
	st, err := os.Stat(file)
	if err == nil && st.IsDir() {
		v.add(key, hint, "%s is a directory, not a file", file)
		return nil, false
	}
	data, err := os.ReadFile(file)
	if err != nil {
		v.add(key, hint, "cannot read %s: %v", file, unwrapPathError(err))
		return nil, false
	}
	return data, true
}

func checkIdentity(v *validator, file string, agent bool) {
	hint := "point it at the private key the load-balancer hosts accept (ssh-keygen -t ed25519 writes ~/.ssh/id_ed25519)"
	if agent {
		hint = `point it at a private key, or set it to "" to use only the SSH agent`
	}
	data, ok := readable(v, "ssh.identity_file", file, hint)
	if !ok {
		return
	}
	if _, err := ssh.ParseRawPrivateKey(data); err != nil {
		var pe *ssh.PassphraseMissingError
		if errors.As(err, &pe) {
			v.add("ssh.identity_file", `load it into ssh-agent, set ssh.agent: true and ssh.identity_file: ""`,
				"%s has a passphrase, which zdd cannot ask for", file)
			return
		}
		v.add("ssh.identity_file", hint, "%s is not a private key zdd can use: %v", file, err)
	}
}

// checkKnownHosts checks that ssh.known_hosts parses and lists every SSH load balancer.
func (c *Config) checkKnownHosts(v *validator) {
	file := c.SSH.KnownHosts
	if _, ok := readable(v, "ssh.known_hosts", file,
		"host keys are always checked: point it at a known_hosts file listing every load-balancer host"); !ok {
		return
	}
	cb, err := knownhosts.New(file)
	if err != nil {
		v.add("ssh.known_hosts", "fix or remove that line (ssh-keygen -F HOST -f FILE shows a host's entries)", "%s does not parse: %v", file, err)
		return
	}
	probe, err := probeKey()
	if err != nil {
		v.add("ssh.known_hosts", "", "cannot check %s: %v", file, err)
		return
	}
	for i, h := range c.LB.Hosts {
		if h.Address == LocalAddress {
			continue
		}
		host, port, err := net.SplitHostPort(h.Address)
		if err != nil {
			continue // Validate reports the address
		}
		var ke *knownhosts.KeyError
		if !errors.As(cb(h.Address, &net.TCPAddr{}, probe), &ke) || len(ke.Want) > 0 {
			continue // listed (with its own key: the throw-away probe never matches)
		}
		v.add("ssh.known_hosts",
			fmt.Sprintf("review the host's key, then add it: ssh-keyscan -p %s %s >> %s (compare the fingerprint, ssh-keygen -lf, with the host's own before trusting it)", port, host, file),
			"%s has no entry for %s, the address of lb.hosts[%d] (%s)", file, knownhosts.Normalize(h.Address), i, h.Name)
	}
}

// probeKey is a throw-away public key: asking known_hosts about it tells whether a host is
// listed at all (a KeyError that wants other keys) or not (a KeyError that wants none).
func probeKey() (ssh.PublicKey, error) {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil, err
	}
	return ssh.NewPublicKey(pub)
}

func checkCA(v *validator, file string) {
	hint := "point it at the PEM bundle of the CA that signed the Manager's certificate, or remove it to use the system roots"
	data, ok := readable(v, "tomcat.ca_file", file, hint)
	if !ok {
		return
	}
	if !x509.NewCertPool().AppendCertsFromPEM(data) {
		v.add("tomcat.ca_file", hint, "%s holds no PEM certificate", file)
	}
}

func checkDir(v *validator, key, dir, hint string) {
	st, err := os.Stat(dir)
	switch {
	case err != nil:
		v.add(key, hint, "cannot use %s: %v", dir, unwrapPathError(err))
	case !st.IsDir():
		v.add(key, hint, "%s is not a directory", dir)
	default:
		if _, err := os.ReadDir(dir); err != nil {
			v.add(key, hint, "cannot read %s: %v", dir, unwrapPathError(err))
		}
	}
}
