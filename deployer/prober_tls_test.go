package deployer_test

import (
	"context"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/internal/tlsconf/tlsconftest"
)

// TestProberUsesTomcatCAFile: the health and session gates reach an https node behind a
// private CA with tomcat.ca_file (through connect.Prober, as every command builds it), and are
// refused without it.
func TestProberUsesTomcatCAFile(t *testing.T) {
	srv, caFile := tlsconftest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "abc"})
		_, _ = w.Write([]byte("ok"))
	}))
	ctx := context.Background()

	cfg := config.Default()
	cfg.Tomcat.RequestTimeout = 5 * time.Second
	without, err := connect.Prober(&cfg)
	require.NoError(t, err)
	_, err = without.Health(ctx, srv.URL+"/app/health.jsp")
	require.Error(t, err, "a private CA is not trusted by default")
	assert.Contains(t, err.Error(), "certificate")
	_, err = without.NewSession(ctx, srv.URL+"/app/")
	require.Error(t, err)

	cfg.Tomcat.CAFile = caFile
	with, err := connect.Prober(&cfg)
	require.NoError(t, err)
	code, err := with.Health(ctx, srv.URL+"/app/health.jsp")
	require.NoError(t, err)
	assert.Equal(t, http.StatusOK, code)
	sid, err := with.NewSession(ctx, srv.URL+"/app/")
	require.NoError(t, err)
	assert.Equal(t, "abc", sid)

	plain := deployer.NewHTTPProber(time.Second)
	_, err = plain.Health(ctx, srv.URL)
	assert.Error(t, err, "NewHTTPProber verifies TLS against the system roots")

	cfg.Tomcat.CAFile = caFile + ".missing"
	_, err = connect.Prober(&cfg)
	assert.ErrorContains(t, err, "tomcat.ca_file")
}
