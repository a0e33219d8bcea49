// Package watch is the session-keeping load checker: virtual users, each with its own cookie
// jar, send requests back to back (or, for a watcher on production, with a pause) through the
// load balancers, start a fresh session every so many requests, and record every failed
// request and every lost session, second by second. `zdd deploy --watch` runs a Watcher during
// a release; `zdd testenv load` and the benchmark run Run against the test cluster. It depends
// on no other zdd package but internal helpers (TLS, redaction): the test cluster imports it,
// never the other way round.
//
// A session is lost when the server forgot it: the session id changed under a user who sent
// its cookie, the per-session counter did not advance by exactly one (reset, stale or went
// backwards), or the version serving an existing session changed.
package watch

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	neturl "net/url"
	"regexp"
	"sort"
	"strconv"
	"sync"
	"time"

	"github.com/saitodrom/zdd/internal/redact"
	"github.com/saitodrom/zdd/internal/tlsconf"
)

// Options configures a run.
type Options struct {
	// URLs are the pages to request (e.g. every load balancer's /app/). Each user keeps to one
	// of them (user i uses URLs[i mod len]), as a browser keeps to the load balancer it resolved.
	URLs []string
	// Alternate makes every user switch to the next URL on every request instead: the worst case
	// for a pair of load balancers, which can disagree for the moment of a routing change.
	Alternate bool
	// Users is the number of virtual users. Zero means 20.
	Users int
	// NewSessionEvery makes a user drop its cookies after this many requests. Zero means 50.
	NewSessionEvery int
	// Timeout is each request's timeout. Zero means 10 s.
	Timeout time.Duration
	// Interval is the pause between two requests of a user. Zero means back to back (a
	// benchmark); a watcher on production uses a pause so that it stays a light load.
	Interval time.Duration
	// AnyPage checks any page of any application instead of the sample application's: a
	// request fails on a transport error or a non-2xx answer, and a session is lost when the
	// server answers a request that carried a JSESSIONID with a different one (Tomcat sets the
	// cookie only when it creates a session). The page must create a session (call getSession),
	// or no session is ever tracked. Versions are recorded as "?".
	AnyPage bool
	// OnFailure, when set, is called for every failed request and every lost session, as it
	// happens, from the user's goroutine; it must not block.
	OnFailure func(Failure)
	// TLS verifies https URLs (tlsconf.Client: the system roots plus tomcat.ca_file); nil
	// means the system roots.
	TLS *tls.Config
}

// Failure is one failed request or lost session.
type Failure struct {
	// At is when it happened, relative to the start of the run.
	At time.Duration `json:"at"`
	// User is the virtual user (0-based).
	User int `json:"user"`
	// Lost tells a lost session from a failed request.
	Lost bool `json:"lost"`
	// What says what went wrong.
	What string `json:"what"`
}

// Second is what happened during one second of a run.
type Second struct {
	// At is the second's start, in whole seconds from the start of the run.
	At int `json:"at"`
	// Requests, Failed and Lost count the requests sent, failed and the sessions lost.
	Requests int `json:"requests"`
	Failed   int `json:"failed"`
	Lost     int `json:"lost"`
	// New and Existing count, per version, the requests that started a session and those
	// within an existing one.
	New      map[string]int `json:"new"`
	Existing map[string]int `json:"existing"`
}

// Report is the outcome of a run.
type Report struct {
	// Requests is the number of requests sent.
	Requests int `json:"requests"`
	// Failed counts non-2xx answers, transport errors and unreadable pages.
	Failed int `json:"failed"`
	// LostSessions counts sessions the server forgot.
	LostSessions int `json:"lost_sessions"`
	// Sessions is the number of sessions the users started.
	Sessions int `json:"sessions"`
	// Duration is how long the run lasted.
	Duration time.Duration `json:"duration"`
	// NewSessionVersions counts, per version, the requests that started a session.
	NewSessionVersions map[string]int `json:"new_session_versions"`
	// ExistingSessionVersions counts, per version, the requests within an existing session.
	ExistingSessionVersions map[string]int `json:"existing_session_versions"`
	// Nodes counts requests per node.
	Nodes map[string]int `json:"nodes"`
	// Failures lists the first failures (at most 100) with their time.
	Failures []Failure `json:"failures,omitempty"`
	// FirstNewVersion maps each version to when it first served a new session.
	FirstNewVersion map[string]time.Duration `json:"first_new_version"`
	// LastNewVersion maps each version to when it last served a new session.
	LastNewVersion map[string]time.Duration `json:"last_new_version"`
	// Start is when the run started (wall clock), to relate the offsets above to other events.
	Start time.Time `json:"start"`
	// Timeline has one entry per second of the run, in order (seconds with no request included).
	Timeline []Second `json:"timeline"`
}

// NewSessionsOnlyOn returns the moment (from the start of the run) after which every new
// session was served by version v: the last time another version served one. It returns 0
// when no other version ever did, and ok=false when v served no new session at all.
func (r *Report) NewSessionsOnlyOn(v string) (at time.Duration, ok bool) {
	if _, ok := r.LastNewVersion[v]; !ok {
		return 0, false
	}
	for w, t := range r.LastNewVersion {
		if w != v && t > at {
			at = t
		}
	}
	return at, true
}

// OK tells whether no request failed and no session was lost.
func (r *Report) OK() bool { return r.Failed == 0 && r.LostSessions == 0 }

// String is a one-line summary.
func (r *Report) String() string {
	return fmt.Sprintf("%d requests, %d failed, %d sessions, %d lost, %.0f req/s; new sessions by version %v; nodes %v",
		r.Requests, r.Failed, r.Sessions, r.LostSessions, float64(r.Requests)/r.Duration.Seconds(), r.NewSessionVersions, r.Nodes)
}

// Page is the sample application's answer: version=V node=N session=ID count=C.
type Page struct {
	Version, Node, Session string
	Count                  int
}

var pageRE = regexp.MustCompile(`^version=(\S+) node=(\S+) session=(\S+) count=(\d+)\s*$`)

// ParsePage parses the sample application's page.
func ParsePage(b []byte) (Page, error) {
	m := pageRE.FindSubmatch(b)
	if m == nil {
		if len(b) > 80 {
			b = b[:80]
		}
		return Page{}, fmt.Errorf("unexpected page %q", b)
	}
	n, _ := strconv.Atoi(string(m[4]))
	return Page{Version: string(m[1]), Node: string(m[2]), Session: string(m[3]), Count: n}, nil
}

// Run sends load until ctx is done and returns the report.
func Run(ctx context.Context, opts Options) *Report {
	if opts.Users == 0 {
		opts.Users = 20
	}
	if opts.NewSessionEvery == 0 {
		opts.NewSessionEvery = 50
	}
	if opts.Timeout == 0 {
		opts.Timeout = 10 * time.Second
	}
	start := time.Now()
	rec := &recorder{start: start, onFail: opts.OnFailure, r: &Report{NewSessionVersions: map[string]int{}, ExistingSessionVersions: map[string]int{},
		Nodes: map[string]int{}, FirstNewVersion: map[string]time.Duration{}, LastNewVersion: map[string]time.Duration{}, Start: start}}
	transport := tlsconf.Transport(opts.TLS)
	transport.MaxIdleConnsPerHost, transport.MaxConnsPerHost = opts.Users, 0
	defer transport.CloseIdleConnections()
	var wg sync.WaitGroup
	for u := range opts.Users {
		wg.Add(1)
		go func() {
			defer wg.Done()
			(&user{id: u, opts: opts, rec: rec, transport: transport}).run(ctx)
		}()
	}
	wg.Wait()
	rec.r.Duration = time.Since(rec.start)
	return rec.r
}

// recorder collects results from every user.
type recorder struct {
	mu     sync.Mutex
	start  time.Time
	r      *Report
	onFail func(Failure)
}

// second returns the timeline entry of the moment at, adding the seconds up to it; the caller
// holds mu.
func (rec *recorder) second(at time.Duration) *Second {
	i := int(at / time.Second)
	for len(rec.r.Timeline) <= i {
		rec.r.Timeline = append(rec.r.Timeline, Second{At: len(rec.r.Timeline), New: map[string]int{}, Existing: map[string]int{}})
	}
	return &rec.r.Timeline[i]
}

// fail records a failed request (it counts as a request) or a lost session.
func (rec *recorder) fail(user int, lost bool, format string, args ...any) {
	f := Failure{User: user, Lost: lost, What: fmt.Sprintf(format, args...)}
	rec.mu.Lock()
	f.At = time.Since(rec.start)
	sec := rec.second(f.At)
	if lost {
		rec.r.LostSessions++
		sec.Lost++
	} else {
		rec.r.Failed++
		rec.r.Requests++
		sec.Failed++
		sec.Requests++
	}
	if len(rec.r.Failures) < 100 {
		rec.r.Failures = append(rec.r.Failures, f)
	}
	rec.mu.Unlock()
	if rec.onFail != nil {
		rec.onFail(f)
	}
}

func (rec *recorder) served(p Page, fresh bool) {
	rec.mu.Lock()
	defer rec.mu.Unlock()
	at := time.Since(rec.start)
	sec := rec.second(at)
	rec.r.Requests++
	sec.Requests++
	rec.r.Nodes[p.Node]++
	if fresh {
		rec.r.Sessions++
		rec.r.NewSessionVersions[p.Version]++
		sec.New[p.Version]++
		if _, ok := rec.r.FirstNewVersion[p.Version]; !ok {
			rec.r.FirstNewVersion[p.Version] = at
		}
		rec.r.LastNewVersion[p.Version] = at
	} else {
		rec.r.ExistingSessionVersions[p.Version]++
		sec.Existing[p.Version]++
	}
}

// user is one virtual user.
type user struct {
	id        int
	opts      Options
	rec       *recorder
	transport http.RoundTripper
	client    *http.Client
	last      Page
	sent      int
}

func (u *user) run(ctx context.Context) {
	for i := 0; ctx.Err() == nil; i++ {
		if u.client == nil || u.sent >= u.opts.NewSessionEvery {
			jar, _ := cookiejar.New(nil)
			u.client = &http.Client{Jar: jar, Transport: u.transport, Timeout: u.opts.Timeout}
			u.last, u.sent = Page{}, 0
		}
		k := u.id
		if u.opts.Alternate {
			k += i
		}
		u.request(ctx, u.opts.URLs[k%len(u.opts.URLs)])
		if u.opts.Interval > 0 {
			t := time.NewTimer(u.opts.Interval)
			select {
			case <-ctx.Done():
			case <-t.C:
			}
			t.Stop()
		}
	}
}

func (u *user) request(ctx context.Context, url string) {
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	resp, err := u.client.Do(req)
	if ctx.Err() != nil {
		return // the run ended while the request was in flight: not a failure of the server
	}
	if err != nil {
		var ue *neturl.Error
		if errors.As(err, &ue) {
			err = ue.Err // its text repeats the URL, with the user name
		}
		u.rec.fail(u.id, false, "GET %s: %v", redact.URL(url), err)
		return
	}
	body, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	var p Page
	if err == nil && resp.StatusCode/100 == 2 {
		p, err = u.page(resp, body)
	} else if err == nil {
		err = fmt.Errorf("HTTP %s", resp.Status)
	}
	if err != nil {
		u.rec.fail(u.id, false, "GET %s: %v", redact.URL(url), err)
		return
	}
	if u.opts.AnyPage {
		u.checkAnyPage(p)
		return
	}
	fresh := u.last.Session == ""
	u.rec.served(p, fresh)
	u.sent++
	if !fresh {
		switch {
		case p.Session != u.last.Session:
			u.rec.fail(u.id, true, "session %s replaced by %s (count %d) on %s", u.last.Session, p.Session, p.Count, p.Node)
		case p.Count != u.last.Count+1:
			u.rec.fail(u.id, true, "session %s: count %d after %d on %s", p.Session, p.Count, u.last.Count, p.Node)
		case p.Version != u.last.Version:
			u.rec.fail(u.id, true, "session %s: version %s changed to %s on %s", p.Session, u.last.Version, p.Version, p.Node)
		}
	}
	u.last = p
}

// page reads the answer: the sample application's line, or (AnyPage) the session cookie.
func (u *user) page(resp *http.Response, body []byte) (Page, error) {
	if !u.opts.AnyPage {
		return ParsePage(body)
	}
	p := Page{Version: "?", Node: "?"}
	for _, c := range u.client.Jar.Cookies(resp.Request.URL) {
		if c.Name == "JSESSIONID" {
			p.Session = c.Value
		}
	}
	return p, nil
}

// checkAnyPage records an answer of AnyPage mode: the session must be the one sent.
func (u *user) checkAnyPage(p Page) {
	fresh := u.last.Session == ""
	u.rec.served(p, fresh)
	u.sent++
	if !fresh && p.Session != u.last.Session {
		u.rec.fail(u.id, true, "session %s replaced by %s", u.last.Session, p.Session)
	}
	u.last = p
}

// Versions returns the versions in m, sorted.
func Versions(m map[string]int) []string {
	out := make([]string, 0, len(m))
	for v := range m {
		out = append(out, v)
	}
	sort.Strings(out)
	return out
}
