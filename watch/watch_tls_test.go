package watch

import (
	"context"
	"net/http"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/internal/tlsconf"
	"github.com/saitodrom/zdd/internal/tlsconf/tlsconftest"
)

// TestWatchTLSAndNoCredentialsInFailures: --watch users verify https with tomcat.ca_file's
// configuration, send the URL's credentials, and a failure never quotes them.
func TestWatchTLSAndNoCredentialsInFailures(t *testing.T) {
	var authOK, authBad atomic.Int32
	srv, caFile := tlsconftest.Server(t, http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u, p, ok := r.BasicAuth()
		if !ok || u != "alice" || p != "s3cr@t:pw" {
			authBad.Add(1)
			http.Error(w, "no", http.StatusUnauthorized)
			return
		}
		authOK.Add(1)
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: "s1"})
		_, _ = w.Write([]byte("ok"))
	}))
	url := strings.Replace(srv.URL, "https://", "https://alice:s3cr%40t%3Apw@", 1)
	ctx := context.Background()

	// Without the CA: every request fails on the certificate, and the failure has no credentials.
	w := Watch(ctx, WatchOptions{URLs: []string{url}, Users: 1, Interval: 10 * time.Millisecond})
	var f Failure
	select {
	case f = <-w.Failed():
	case <-time.After(10 * time.Second):
		t.Fatal("no failure without the CA")
	}
	rep := w.Stop()
	assert.Contains(t, f.What, "certificate")
	for _, s := range []string{"alice", "s3cr", "%40t", "pw@"} {
		assert.NotContains(t, f.What, s)
		for _, ff := range rep.Failures {
			assert.NotContains(t, ff.What, s)
		}
	}
	assert.Contains(t, f.What, strings.TrimPrefix(srv.URL, "https://"))

	// With it: verified, authenticated, no failure.
	tlsCfg, err := tlsconf.Client(caFile)
	require.NoError(t, err)
	w = Watch(ctx, WatchOptions{URLs: []string{url}, Users: 1, Interval: 10 * time.Millisecond, TLS: tlsCfg})
	deadline := time.Now().Add(5 * time.Second)
	for authOK.Load() < 3 && time.Now().Before(deadline) {
		select {
		case f := <-w.Failed():
			t.Fatalf("failed with the CA: %s", f.What)
		case <-time.After(20 * time.Millisecond):
		}
	}
	rep = w.Stop()
	assert.Zero(t, rep.Failed, "%v", rep.Failures)
	assert.GreaterOrEqual(t, authOK.Load(), int32(3), "requests verified and authenticated")
	assert.Positive(t, rep.Requests)
	assert.Zero(t, authBad.Load())
}
