package load

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// fakeApp mimics the sample application; forget makes it lose every session once.
type fakeApp struct {
	mu       sync.Mutex
	sessions map[string]int
	next     atomic.Int64
	forget   atomic.Bool
	fail     atomic.Bool
}

func (f *fakeApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if f.fail.Load() {
		http.Error(w, "down", http.StatusBadGateway)
		return
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.forget.CompareAndSwap(true, false) {
		f.sessions = map[string]int{}
	}
	id := ""
	if c, err := r.Cookie("JSESSIONID"); err == nil {
		if _, ok := f.sessions[c.Value]; ok {
			id = c.Value
		}
	}
	if id == "" {
		id = fmt.Sprintf("S%d.n1", f.next.Add(1))
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id, Path: "/"})
	}
	f.sessions[id]++
	fmt.Fprintf(w, "version=001 node=n1 session=%s count=%d\n", id, f.sessions[id])
}

func run(t *testing.T, app *fakeApp, d time.Duration, during func()) *Report {
	srv := httptest.NewServer(app)
	defer srv.Close()
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	time.AfterFunc(d/2, during)
	return Run(ctx, Options{URLs: []string{srv.URL + "/app/"}, Users: 4, NewSessionEvery: 10})
}

func TestRunCountsRequestsAndSessions(t *testing.T) {
	r := run(t, &fakeApp{sessions: map[string]int{}}, 200*time.Millisecond, func() {})
	require.True(t, r.OK(), r.String())
	assert.Positive(t, r.Requests)
	assert.GreaterOrEqual(t, r.Sessions, r.Requests/10)
	assert.Equal(t, r.Requests, r.NewSessionVersions["001"]+r.ExistingSessionVersions["001"])
}

func TestRunDetectsLostSessions(t *testing.T) {
	app := &fakeApp{sessions: map[string]int{}}
	r := run(t, app, 300*time.Millisecond, func() { app.forget.Store(true) })
	assert.Equal(t, 0, r.Failed)
	assert.Positive(t, r.LostSessions, "every user with a session must notice it was forgotten")
	assert.NotEmpty(t, r.Failures)
}

func TestRunDetectsFailedRequests(t *testing.T) {
	app := &fakeApp{sessions: map[string]int{}}
	r := run(t, app, 200*time.Millisecond, func() { app.fail.Store(true) })
	assert.Positive(t, r.Failed)
	assert.False(t, r.OK())
}

func TestParsePage(t *testing.T) {
	p, err := ParsePage([]byte("version=002 node=n3 session=AB.n3 count=7\n"))
	require.NoError(t, err)
	assert.Equal(t, Page{Version: "002", Node: "n3", Session: "AB.n3", Count: 7}, p)
	_, err = ParsePage([]byte("<html>404</html>"))
	assert.Error(t, err)
}
