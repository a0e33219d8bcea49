// Package tlsconf is the one TLS configuration of every HTTP client zdd makes: the Tomcat
// Manager client, the health and gate prober and the --watch users. Certificates are always
// verified (TLS 1.2 or newer), against the system roots plus, when tomcat.ca_file is set, the
// certificates of that PEM bundle (a private CA).
package tlsconf

import (
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net/http"
	"os"
)

// Client returns the client TLS configuration: verified, TLS 1.2 or newer, trusting the system
// roots and the PEM certificates of caFile (none when caFile is empty). It fails when caFile
// cannot be read or holds no certificate.
func Client(caFile string) (*tls.Config, error) {
	cfg := &tls.Config{MinVersion: tls.VersionTLS12}
	if caFile == "" {
		return cfg, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("read CA file: %w", err)
	}
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, errors.New("CA file " + caFile + ": no PEM certificate found")
	}
	cfg.RootCAs = pool
	return cfg, nil
}

// Transport returns a clone of http.DefaultTransport (proxy from the environment, timeouts,
// HTTP/2) using tlsCfg; a nil tlsCfg means Client("").
func Transport(tlsCfg *tls.Config) *http.Transport {
	if tlsCfg == nil {
		tlsCfg = &tls.Config{MinVersion: tls.VersionTLS12}
	}
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = tlsCfg.Clone()
	return tr
}
