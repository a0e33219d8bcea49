package tomcatmgr

import (
	"archive/zip"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

const (
	testUser = "deployer"
	testPass = "s3cret-pw"
)

// replay is an httptest server that answers with captured Manager output. Routes are keyed by
// "METHOD /path?key" where key is the value of the first matching query parameter among
// op/qry/get/invoke, or by "METHOD /path" alone.
type replay struct {
	t      *testing.T
	srv    *httptest.Server
	mu     sync.Mutex
	routes map[string]func(w http.ResponseWriter, r *http.Request)
	hits   []*http.Request
}

func newReplay(t *testing.T) *replay {
	rp := &replay{t: t, routes: map[string]func(http.ResponseWriter, *http.Request){}}
	rp.srv = httptest.NewServer(http.HandlerFunc(rp.serve))
	t.Cleanup(rp.srv.Close)
	return rp
}

func (rp *replay) serve(w http.ResponseWriter, r *http.Request) {
	rp.mu.Lock()
	rp.hits = append(rp.hits, r.Clone(r.Context()))
	rp.mu.Unlock()
	u, p, ok := r.BasicAuth()
	if !ok || u != testUser || p != testPass {
		rp.t.Errorf("request without the right basic auth: %s", r.URL)
	}
	if r.Header.Get("Accept-Language") != "en" {
		rp.t.Errorf("Accept-Language = %q, want en", r.Header.Get("Accept-Language"))
	}
	key := r.Method + " " + r.URL.Path
	if h, ok := rp.routes[key+"?"+r.URL.Query().Get("op")]; ok {
		h(w, r)
		return
	}
	if h, ok := rp.routes[key]; ok {
		h(w, r)
		return
	}
	rp.t.Errorf("unexpected request %s %s", r.Method, r.URL)
	http.Error(w, "unexpected", http.StatusTeapot)
}

// file answers with testdata/name as the Manager does (text/plain, 200).
func (rp *replay) file(route, name string) {
	body := readTestdata(rp.t, name)
	rp.routes[route] = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
		_, _ = w.Write(body)
	}
}

// page answers with a captured container error page and status.
func (rp *replay) page(route, name string, status int) {
	body := readTestdata(rp.t, name)
	rp.routes[route] = func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/html;charset=UTF-8")
		if status == http.StatusUnauthorized {
			w.Header().Set("WWW-Authenticate", `Basic realm="Tomcat Manager Application"`)
		}
		w.WriteHeader(status)
		_, _ = w.Write(body)
	}
}

func (rp *replay) requests() []*http.Request {
	rp.mu.Lock()
	defer rp.mu.Unlock()
	return append([]*http.Request(nil), rp.hits...)
}

func (rp *replay) client(mod ...func(*Config)) *Client {
	cfg := Config{Node: "n1", BaseURL: rp.srv.URL + "/manager", User: testUser, Password: testPass,
		RequestTimeout: 2 * time.Second, DeployTimeout: 5 * time.Second, RetryBackoff: time.Millisecond}
	for _, m := range mod {
		m(&cfg)
	}
	c, err := New(cfg)
	require.NoError(rp.t, err)
	return c
}

func readTestdata(t testing.TB, name string) []byte {
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

// writeWAR writes a zip with the given entries (name -> content) and returns its path.
func writeWAR(t testing.TB, entries map[string]string) string {
	p := filepath.Join(t.TempDir(), "app.war")
	f, err := os.Create(p)
	require.NoError(t, err)
	zw := zip.NewWriter(f)
	for n, c := range entries {
		w, err := zw.CreateHeader(&zip.FileHeader{Name: n, Method: zip.Store})
		require.NoError(t, err)
		_, err = w.Write([]byte(c))
		require.NoError(t, err)
	}
	require.NoError(t, zw.Close())
	require.NoError(t, f.Close())
	return p
}

func validWAR(t testing.TB, padding int) string {
	return writeWAR(t, map[string]string{
		"WEB-INF/web.xml": "<web-app/>",
		"index.jsp":       "hello",
		"pad.bin":         strings.Repeat("x", padding),
	})
}
