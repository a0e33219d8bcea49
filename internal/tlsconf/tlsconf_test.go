package tlsconf_test

import (
	"crypto/tls"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/internal/tlsconf"
	"github.com/saitodrom/zdd/internal/tlsconf/tlsconftest"
)

func TestClientVerifiesWithCAFileAndRefusesWithout(t *testing.T) {
	srv, caFile := tlsconftest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok")) }))

	plain, err := tlsconf.Client("")
	require.NoError(t, err)
	assert.Equal(t, uint16(tls.VersionTLS12), plain.MinVersion)
	assert.False(t, plain.InsecureSkipVerify)
	_, err = (&http.Client{Transport: tlsconf.Transport(plain)}).Get(srv.URL)
	require.Error(t, err, "an unknown CA is refused")
	assert.Contains(t, err.Error(), "certificate")

	withCA, err := tlsconf.Client(caFile)
	require.NoError(t, err)
	resp, err := (&http.Client{Transport: tlsconf.Transport(withCA)}).Get(srv.URL)
	require.NoError(t, err, "verified against tomcat.ca_file")
	resp.Body.Close()
	assert.Equal(t, http.StatusOK, resp.StatusCode)

	bad := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not pem"), 0o600))
	_, err = tlsconf.Client(bad)
	assert.ErrorContains(t, err, "no PEM certificate")
	_, err = tlsconf.Client(filepath.Join(t.TempDir(), "missing.pem"))
	assert.ErrorContains(t, err, "no such file")
}
