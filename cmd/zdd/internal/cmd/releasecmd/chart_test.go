package releasecmd

import (
	"bytes"
	"context"
	"encoding/xml"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/outcome"
)

// sessionPage is a public page that keeps a session by cookie, as --watch needs; it counts
// the requests it answered.
type sessionPage struct{ served atomic.Int64 }

func (p *sessionPage) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	n := p.served.Add(1)
	if _, err := r.Cookie("JSESSIONID"); err != nil {
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: fmt.Sprintf("S%d", n), Path: "/"})
	}
	_, _ = io.WriteString(w, "<html>shop</html>")
}

// TestDeployChartUnwritableChangesNothing: --chart to a path that cannot be written is bad
// input (exit 1) refused before the cluster is dialled: no deploy, no routing change, no
// journal or lock, and the watcher never sent a request. The fake cluster is enough here:
// its Dial counter proves no connection to any node or load balancer was opened, so a real
// cluster cannot have been touched either.
func TestDeployChartUnwritableChangesNothing(t *testing.T) {
	dir := t.TempDir()
	file := filepath.Join(dir, "file")
	require.NoError(t, os.WriteFile(file, []byte("x"), 0o644))
	page := &sessionPage{}
	srv := httptest.NewServer(page)
	defer srv.Close()
	for _, bad := range []string{filepath.Join(dir, "missing", "c.svg"), dir, filepath.Join(file, "c.svg")} {
		w := newWorld(t)
		err := w.deploy(t, "001", func(o *DeployOptions) {
			o.Watch, o.Chart, o.Output = []string{srv.URL + "/shop/"}, bad, OutputJSON
		})
		require.Error(t, err, bad)
		assert.Equal(t, 1, outcome.Code(err), "bad input: %v", err)
		assert.Contains(t, err.Error(), "--chart")
		assert.Contains(t, err.Error(), bad)
		assert.NotEmpty(t, outcome.Hint(err))
		assert.Equal(t, 0, w.fc.Dials, "refused before connecting")
		assert.Equal(t, 0, w.changes())
		ents, rerr := os.ReadDir(w.cfg.State.Dir)
		require.NoError(t, rerr)
		assert.Empty(t, ents, "no journal, lock or release store")
		events := decodeEvents(t, w.out.String())
		require.Len(t, events, 1, "the stream still ends with a summary")
		assert.Equal(t, "preflight_failed", events[0].Summary.Outcome)
	}
	assert.Zero(t, page.served.Load(), "the watcher never started")
	ents, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, ents, 1, "no chart and no temporary file left: only %v", file)
}

// TestDeployChartNeedsWatch: --chart without --watch is a usage error (exit 2).
func TestDeployChartNeedsWatch(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	ran := false
	cmd := NewCmdDeploy(cmdutil.New(streams), func(context.Context, *DeployOptions) error { ran = true; return nil })
	cmd.SetArgs([]string{"app.war", "--chart", filepath.Join(t.TempDir(), "c.svg")})
	cmd.SetOut(io.Discard)
	cmd.SetErr(io.Discard)
	err := cmd.Execute()
	require.Error(t, err)
	var fe *cmdutil.FlagError
	assert.True(t, errors.As(err, &fe), "a usage error: %v", err)
	assert.Contains(t, err.Error(), "--watch")
	assert.False(t, ran)
}

// TestDeployWritesChart: a watched release writes its chart, with the release's steps as
// bands and every series of the watch.
func TestDeployWritesChart(t *testing.T) {
	page := &sessionPage{}
	srv := httptest.NewServer(page)
	defer srv.Close()
	path := filepath.Join(t.TempDir(), "release.svg")
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", func(o *DeployOptions) {
		o.Watch, o.Chart = []string{"http://user:pw@" + strings.TrimPrefix(srv.URL, "http://") + "/shop/"}, path
	}))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	texts := svgTexts(t, b)
	all := strings.Join(texts, "\n")
	for _, want := range []string{"preflight", "route", "deploy", "gate", "requests", "failed requests", "lost sessions", "success"} {
		assert.Contains(t, all, want)
	}
	assert.NotContains(t, all, "pw", "the watched URL's password is not in the chart")
}

// svgTexts parses an SVG document and returns the content of its text elements.
func svgTexts(t *testing.T, b []byte) []string {
	d := xml.NewDecoder(bytes.NewReader(b))
	var out []string
	in := false
	for {
		tok, err := d.Token()
		if err == io.EOF {
			return out
		}
		require.NoError(t, err)
		switch tk := tok.(type) {
		case xml.StartElement:
			in = tk.Name.Local == "text"
		case xml.EndElement:
			in = false
		case xml.CharData:
			if in {
				out = append(out, strings.TrimSpace(string(tk)))
			}
		}
	}
}
