package watch

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

func TestTimelineAndNewSessionVersions(t *testing.T) {
	r := run(t, &fakeApp{sessions: map[string]int{}}, 1200*time.Millisecond, func() {})
	require.Len(t, r.Timeline, 2, "one entry per second started")
	sum := 0
	for i, s := range r.Timeline {
		assert.Equal(t, i, s.At)
		sum += s.Requests
	}
	assert.Equal(t, r.Requests, sum)
	at, ok := r.NewSessionsOnlyOn("001")
	assert.True(t, ok)
	assert.Zero(t, at, "no other version ever served")
	_, ok = r.NewSessionsOnlyOn("002")
	assert.False(t, ok)
	r.LastNewVersion["000"] = 300 * time.Millisecond
	at, _ = r.NewSessionsOnlyOn("001")
	assert.Equal(t, 300*time.Millisecond, at)
}

func TestFailedRequestsCountAsRequestsInTheTimeline(t *testing.T) {
	app := &fakeApp{sessions: map[string]int{}}
	app.fail.Store(true)
	r := run(t, app, 100*time.Millisecond, func() {})
	require.Positive(t, r.Failed)
	assert.Equal(t, r.Failed, r.Requests)
	assert.Equal(t, r.Failed, r.Timeline[0].Failed)
	require.Error(t, r.Err())
	assert.Contains(t, r.Err().Error(), "HTTP 502")
}

// cookieApp is any application: it keeps sessions by cookie and prints no version.
type cookieApp struct {
	mu       sync.Mutex
	sessions map[string]bool
	next     int
	forget   atomic.Bool
}

func (c *cookieApp) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.forget.CompareAndSwap(true, false) {
		c.sessions = map[string]bool{}
	}
	if ck, err := r.Cookie("JSESSIONID"); err == nil && c.sessions[ck.Value] {
		fmt.Fprintln(w, "<html>hello again</html>")
		return
	}
	c.next++
	id := fmt.Sprintf("C%d", c.next)
	c.sessions[id] = true
	http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id, Path: "/"})
	fmt.Fprintln(w, "<html>hello</html>")
}

func TestWatcherReportsTheFirstLostSessionOnAnyPage(t *testing.T) {
	app := &cookieApp{sessions: map[string]bool{}}
	srv := httptest.NewServer(app)
	defer srv.Close()
	w := Watch(context.Background(), WatchOptions{URLs: []string{srv.URL + "/shop/"}, Interval: 5 * time.Millisecond})
	time.AfterFunc(100*time.Millisecond, func() { app.forget.Store(true) })
	select {
	case f := <-w.Failed():
		assert.True(t, f.Lost)
		assert.Contains(t, f.What, "replaced by")
	case <-time.After(5 * time.Second):
		t.Fatal("the watcher did not report the forgotten sessions")
	}
	r := w.Stop()
	assert.Same(t, r, w.Stop(), "Stop is idempotent")
	assert.Positive(t, r.LostSessions)
	assert.Zero(t, r.Failed)
	assert.Positive(t, r.NewSessionVersions["?"])
	assert.Error(t, r.Err())
}

func TestWatcherQuietWhenNothingFails(t *testing.T) {
	srv := httptest.NewServer(&cookieApp{sessions: map[string]bool{}})
	defer srv.Close()
	w := Watch(context.Background(), WatchOptions{URLs: []string{srv.URL + "/"}, Interval: 5 * time.Millisecond})
	ctx, cancel := context.WithTimeout(context.Background(), 200*time.Millisecond)
	defer cancel()
	select {
	case f := <-w.Failed():
		t.Fatalf("unexpected failure %+v", f)
	case <-ctx.Done():
	}
	r := w.Stop()
	assert.NoError(t, r.Err())
	assert.Positive(t, r.Requests)
	assert.Less(t, r.Requests, 3*200/5+10, "the interval keeps the watch light")
}
