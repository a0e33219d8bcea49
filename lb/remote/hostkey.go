package remote

import (
	"crypto/ed25519"
	"errors"
	"fmt"
	"net"
	"strings"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

// HostKeyError is a host key that the known_hosts file does not trust: the
// host is not listed (Changed false) or is listed with other keys (Changed
// true: possibly a man-in-the-middle, or a reinstalled host).
type HostKeyError struct {
	// Addr is the host:port dialled.
	Addr string
	// KnownHostsFile is the file that was checked.
	KnownHostsFile string
	// Fingerprint is the SHA256 fingerprint of the key the host offered.
	Fingerprint string
	// Line is the known_hosts line that would trust the offered key.
	Line string
	// Changed is true when the file lists other keys for this host.
	Changed bool
	// Known lists "file:line" of the entries that differ (Changed only).
	Known []string
}

// Error implements error.
func (e *HostKeyError) Error() string {
	host, port, _ := net.SplitHostPort(e.Addr)
	if e.Changed {
		return fmt.Sprintf("remote: host key of %s CHANGED: offered %s, %s lists another key at %s "+
			"(hint: if the host was reinstalled, verify the new fingerprint out of band, delete those lines "+
			"and add: %s)", e.Addr, e.Fingerprint, e.KnownHostsFile, strings.Join(e.Known, ", "), e.Line)
	}
	return fmt.Sprintf("remote: host key of %s is unknown: offered %s, not in %s "+
		"(hint: verify the fingerprint out of band, then add this line to %s: %s  "+
		"or run: ssh-keyscan -p %s %s >> %s)",
		e.Addr, e.Fingerprint, e.KnownHostsFile, e.KnownHostsFile, e.Line, port, host, e.KnownHostsFile)
}

// hostKeyCallback returns a callback that checks keys against file, and the
// host-key algorithms to ask the server for: those of the keys the file
// lists for addr (so that a host with several keys offers a known one).
func hostKeyCallback(file, addr string) (ssh.HostKeyCallback, []string, error) {
	if file == "" {
		return nil, nil, errors.New("a known_hosts file is required (host keys are always verified)")
	}
	kh, err := knownhosts.New(file)
	if err != nil {
		return nil, nil, fmt.Errorf("read known_hosts: %w", err)
	}
	cb := func(hostname string, remote net.Addr, key ssh.PublicKey) error {
		err := kh(hostname, remote, key)
		var ke *knownhosts.KeyError
		if !errors.As(err, &ke) {
			return err
		}
		e := &HostKeyError{
			Addr:           hostname,
			KnownHostsFile: file,
			Fingerprint:    ssh.FingerprintSHA256(key),
			Line:           knownhosts.Line([]string{knownhosts.Normalize(hostname)}, key),
			Changed:        len(ke.Want) > 0,
		}
		for _, w := range ke.Want {
			e.Known = append(e.Known, fmt.Sprintf("%s:%d", w.Filename, w.Line))
		}
		return e
	}
	return cb, knownAlgorithms(kh, addr), nil
}

// knownAlgorithms asks the known_hosts callback which keys it wants for addr
// by offering a throw-away key; nil when none are listed.
func knownAlgorithms(kh ssh.HostKeyCallback, addr string) []string {
	pub, _, err := ed25519.GenerateKey(nil)
	if err != nil {
		return nil
	}
	probe, err := ssh.NewPublicKey(pub)
	if err != nil {
		return nil
	}
	tcp, _ := net.ResolveTCPAddr("tcp", addr)
	var ke *knownhosts.KeyError
	if !errors.As(kh(addr, tcp, probe), &ke) {
		return nil
	}
	var algos []string
	seen := map[string]bool{}
	for _, w := range ke.Want {
		for _, a := range algorithmsFor(w.Key.Type()) {
			if !seen[a] {
				seen[a] = true
				algos = append(algos, a)
			}
		}
	}
	return algos
}

func algorithmsFor(keyType string) []string {
	if keyType == ssh.KeyAlgoRSA {
		return []string{ssh.KeyAlgoRSASHA512, ssh.KeyAlgoRSASHA256, ssh.KeyAlgoRSA}
	}
	return []string{keyType}
}
