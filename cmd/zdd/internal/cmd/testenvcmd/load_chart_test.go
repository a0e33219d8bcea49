package testenvcmd

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
)

// samplePage answers as the sample application does (version, node, session, counter).
type samplePage struct {
	mu       sync.Mutex
	sessions map[string]int
	served   atomic.Int64
}

func (p *samplePage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := p.served.Add(1)
	id := ""
	if c, err := r.Cookie("JSESSIONID"); err == nil && p.sessions[c.Value] > 0 {
		id = c.Value
	} else {
		id = fmt.Sprintf("S%d.n1", n)
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id, Path: "/"})
	}
	p.sessions[id]++
	fmt.Fprintf(w, "version=001 node=n1 session=%s count=%d\n", id, p.sessions[id])
}

func loadOpts(url, chartPath string) (*LoadOptions, *samplePage, func()) {
	page := &samplePage{sessions: map[string]int{}}
	srv := httptest.NewServer(page)
	streams, _, _, _ := iostreams.Test()
	if url == "" {
		url = srv.URL + "/app/"
	}
	return &LoadOptions{IO: streams, URLs: []string{url}, Users: 2, NewSessionEvery: 10, Duration: 1100 * time.Millisecond,
		Output: "text", Chart: chartPath}, page, srv.Close
}

// TestLoadChartUnwritableSendsNothing: --chart to a path that cannot be written fails before
// the first request.
func TestLoadChartUnwritableSendsNothing(t *testing.T) {
	bad := filepath.Join(t.TempDir(), "missing", "load.svg")
	opts, page, done := loadOpts("", bad)
	defer done()
	err := RunLoad(context.Background(), opts)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "--chart")
	assert.Zero(t, page.served.Load(), "no load was sent")
}

// TestLoadWritesChart: the load's chart holds its series; --events adds the release's steps.
func TestLoadWritesChart(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "load.svg")
	events := filepath.Join(dir, "events.jsonl")
	now := time.Now()
	require.NoError(t, os.WriteFile(events, []byte(fmt.Sprintf(
		`{"schema":1,"time":%q,"type":"step_started","step":1,"kind":"deploy"}`+"\n"+
			`{"schema":1,"time":%q,"type":"step_finished","step":1,"kind":"deploy"}`+"\n",
		now.Add(200*time.Millisecond).Format(time.RFC3339Nano), now.Add(600*time.Millisecond).Format(time.RFC3339Nano))), 0o644))
	opts, page, done := loadOpts("", path)
	defer done()
	opts.Events = events
	require.NoError(t, RunLoad(context.Background(), opts))
	assert.Positive(t, page.served.Load())
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	for _, want := range []string{">requests<", ">new sessions on 001<", ">existing sessions on 001<", ">deploy", "zdd testenv load: 2 users"} {
		assert.Contains(t, string(b), want)
	}

	require.NoError(t, os.WriteFile(events, []byte("not json\n"), 0o644))
	opts, _, done2 := loadOpts("", path)
	defer done2()
	opts.Events = events
	err = RunLoad(context.Background(), opts)
	require.Error(t, err, "unreadable events are an error")
	assert.Contains(t, err.Error(), "--events")
	b2, rerr := os.ReadFile(path)
	require.NoError(t, rerr)
	assert.True(t, strings.Contains(string(b2), ">requests<"), "the chart is still written, without steps")
	assert.NotContains(t, string(b2), ">deploy")
}
