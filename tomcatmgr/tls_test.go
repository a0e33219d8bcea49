package tomcatmgr

import (
	"context"
	"net/http"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/internal/tlsconf/tlsconftest"
)

func TestTLSVerifiedByDefaultAndWithCAFile(t *testing.T) {
	info := readTestdata(t, "serverinfo.txt")
	srv, caFile := tlsconftest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write(info) }))

	cfg := Config{Node: "n1", BaseURL: srv.URL + "/manager", User: testUser, Password: testPass, Retries: -1}
	c, err := New(cfg)
	require.NoError(t, err)
	_, err = c.ServerInfo(context.Background())
	assert.ErrorIs(t, err, ErrUnreachable, "an unknown CA is refused")
	assert.Contains(t, err.Error(), "CAFile")

	cfg.CAFile = caFile
	c, err = New(cfg)
	require.NoError(t, err)
	si, err := c.ServerInfo(context.Background())
	require.NoError(t, err)
	assert.Equal(t, "Apache Tomcat/10.1.60 (Debian)", si.TomcatVersion)

	bad := filepath.Join(t.TempDir(), "bad.pem")
	require.NoError(t, os.WriteFile(bad, []byte("not pem"), 0o600))
	cfg.CAFile = bad
	_, err = New(cfg)
	assert.ErrorIs(t, err, ErrInvalid)
}
