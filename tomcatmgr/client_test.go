package tomcatmgr

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestDeployStreamsFileWithContentLength(t *testing.T) {
	rp := newReplay(t)
	war := validWAR(t, 3<<20)
	want, err := os.ReadFile(war)
	require.NoError(t, err)
	var got []byte
	var gotLen int64
	var te []string
	rp.routes["PUT /manager/text/deploy"] = func(w http.ResponseWriter, r *http.Request) {
		gotLen, te = r.ContentLength, r.TransferEncoding
		got, _ = io.ReadAll(r.Body)
		assert.Equal(t, "/app", r.URL.Query().Get("path"))
		assert.Equal(t, "002", r.URL.Query().Get("version"))
		_, _ = w.Write(readTestdata(t, "deploy_ok_002.txt"))
	}
	var calls [][2]int64
	err = rp.client().Deploy(context.Background(), Context{Path: "/app", Version: "002"}, war, func(s, total int64) {
		calls = append(calls, [2]int64{s, total})
	})
	require.NoError(t, err)
	assert.Equal(t, int64(len(want)), gotLen, "Content-Length must be the file size")
	assert.Empty(t, te, "no chunked encoding when the size is known")
	assert.True(t, bytes.Equal(want, got), "body must be the WAR bytes")
	require.NotEmpty(t, calls)
	assert.Equal(t, [2]int64{int64(len(want)), int64(len(want))}, calls[len(calls)-1])
	assert.GreaterOrEqual(t, len(calls), 3, "progress every MiB of a 3 MiB file")
	for i := 1; i < len(calls); i++ {
		assert.Greater(t, calls[i][0], calls[i-1][0])
	}
}

// TestRestyBuffersReaderBodies documents why Deploy does not hand resty an io.Reader: resty
// reads the whole body into memory before the transport sees the request.
func TestRestyBuffersReaderBodies(t *testing.T) {
	rp := newReplay(t)
	rp.routes["PUT /manager/x"] = func(w http.ResponseWriter, r *http.Request) { _, _ = io.Copy(io.Discard, r.Body) }
	c := rp.client()
	var consumedBeforeSend int64
	src := &countingReader{r: strings.NewReader(strings.Repeat("y", 1<<20))}
	base := c.rc.GetClient().Transport
	c.rc.GetClient().Transport = roundTripFunc(func(r *http.Request) (*http.Response, error) {
		consumedBeforeSend = src.n.Load()
		return base.RoundTrip(r)
	})
	_, err := c.rc.R().SetBody(io.Reader(src)).Put(rp.srv.URL + "/manager/x")
	require.NoError(t, err)
	assert.Equal(t, int64(1<<20), consumedBeforeSend, "resty read the whole reader before sending")
}

type countingReader struct {
	r io.Reader
	n atomic.Int64
}

func (c *countingReader) Read(b []byte) (int, error) {
	n, err := c.r.Read(b)
	c.n.Add(int64(n))
	return n, err
}

type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(r *http.Request) (*http.Response, error) { return f(r) }

func TestDeployAnswers(t *testing.T) {
	for _, tc := range []struct {
		file string
		kind error
		hint string
	}{
		{"deploy_exists.txt", ErrAlreadyExists, "new version"},
		{"deploy_failed_start.txt", ErrFailedToStart, "undeploy"},
		{"deploy_notzip.txt", ErrFailedToStart, "undeploy"},
		{"deploy_nopath.txt", ErrInvalid, ""},
		{"lang_fr_exists.txt", ErrFailed, ""},
		{"lang_ja_exists.txt", ErrFailed, ""},
		{"undeploy_fail_then_ok.txt", ErrBusy, "in progress"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rp := newReplay(t)
			rp.file("PUT /manager/text/deploy", tc.file)
			err := rp.client().Deploy(context.Background(), Context{Path: "/app", Version: "002"}, validWAR(t, 0), nil)
			require.Error(t, err)
			assert.ErrorIs(t, err, tc.kind)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, "deploy", e.Op)
			assert.Equal(t, "n1", e.Node)
			assert.Equal(t, "/app##002", e.Context)
			assert.Equal(t, strings.SplitN(strings.ReplaceAll(string(readTestdata(t, tc.file)), "&#47;", "/"), "\n", 2)[0], e.Message)
			assert.Contains(t, e.Hint, tc.hint)
			assert.True(t, strings.HasPrefix(err.Error(), "tomcatmgr: deploy /app##002 on n1: FAIL - "), err.Error())
		})
	}
}

func TestUndeployFailThenOKIsFailure(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/text/undeploy", "undeploy_fail_then_ok.txt")
	err := rp.client().Undeploy(context.Background(), Context{Path: "/race", Version: "001"})
	assert.ErrorIs(t, err, ErrBusy)
	assert.Len(t, rp.requests(), 1, "undeploy is never retried")
}

func TestCommandsOK(t *testing.T) {
	ctx := context.Background()
	cx := Context{Path: "/app", Version: "001"}
	rp := newReplay(t)
	rp.file("GET /manager/text/start", "start_ok.txt")
	rp.file("GET /manager/text/stop", "stop_ok.txt")
	rp.file("GET /manager/text/reload", "reload_ok.txt")
	rp.file("GET /manager/text/undeploy", "undeploy_ok.txt")
	rp.file("GET /manager/text/deploy", "deploy_server_path_explicit.txt")
	c := rp.client()
	require.NoError(t, c.Start(ctx, cx))
	require.NoError(t, c.Stop(ctx, cx))
	require.NoError(t, c.Reload(ctx, cx))
	require.NoError(t, c.Undeploy(ctx, cx))
	require.NoError(t, c.DeployFromServerPath(ctx, Context{Path: "/shop", Version: "008"}, "/srv/rel:1/shop##007.war"))
	reqs := rp.requests()
	require.Len(t, reqs, 5)
	for _, r := range reqs[:4] {
		assert.Equal(t, "path=%2Fapp&version=001", r.URL.RawQuery)
	}
	assert.Equal(t, "file:/srv/rel:1/shop##007.war", reqs[4].URL.Query().Get("war"))
	assert.Contains(t, reqs[4].URL.RawQuery, "shop%23%23007.war", "'#' must be sent as %23")
}

func TestCommandFailures(t *testing.T) {
	ctx := context.Background()
	for _, tc := range []struct {
		op, file string
		kind     error
		run      func(*Client) error
	}{
		{"stop", "stop_nocontext.txt", ErrNotFound, func(c *Client) error { return c.Stop(ctx, Context{Path: "/nope", Version: "001"}) }},
		{"start", "start_failed.txt", ErrFailedToStart, func(c *Client) error { return c.Start(ctx, Context{Path: "/bad", Version: "001"}) }},
		{"undeploy", "undeploy_nocontext.txt", ErrNotFound, func(c *Client) error { return c.Undeploy(ctx, Context{Path: "/race", Version: "001"}) }},
		{"stop", "manager_self.txt", ErrFailed, func(c *Client) error { return c.Stop(ctx, Context{Path: "/manager"}) }},
		{"stop", "lang_fr_nocontext.txt", ErrFailed, func(c *Client) error { return c.Stop(ctx, Context{Path: "/nope", Version: "001"}) }},
		{"deploy", "deploy_server_path_missing.txt", ErrFailed, func(c *Client) error {
			return c.DeployFromServerPath(ctx, Context{Path: "/shop", Version: "009"}, "/tmp/nonexist.war")
		}},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rp := newReplay(t)
			rp.file("GET /manager/text/"+tc.op, tc.file)
			err := tc.run(rp.client())
			assert.ErrorIs(t, err, tc.kind)
			assert.NotContains(t, err.Error(), "&#47;", "messages are HTML-unescaped")
			assert.Len(t, rp.requests(), 1)
		})
	}
}

func TestListTwoVersionsWithSessions(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/text/list", "list_sessions.txt")
	rp.file("GET /manager/jmxproxy/", "jmx_qry_webmodules.txt") // asked for the manager's absolute docBase
	apps, err := rp.client().List(context.Background())
	require.NoError(t, err)
	require.Len(t, apps, 5)
	assert.Equal(t, App{Context: Context{Path: "/app", Version: "001"}, State: StateRunning, DocBase: "app##001"}, apps[0])
	assert.Equal(t, App{Context: Context{Path: "/app", Version: "002"}, State: StateRunning, Sessions: 3, DocBase: "app##002"}, apps[2])
	assert.Equal(t, App{Context: Context{Path: "/bad", Version: "001"}, State: StateStopped, DocBase: "bad##001"}, apps[3])
}

func TestListVersions(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/text/list", "list_colon_docbase.txt")
	rp.file("GET /manager/jmxproxy/", "jmx_qry_webmodules.txt")
	apps, err := rp.client().List(context.Background())
	require.NoError(t, err)
	got := map[string]App{}
	for _, a := range apps {
		got[a.Name()] = a
	}
	require.Len(t, got, 8)
	assert.Equal(t, App{Context: Context{Path: "/colon", Version: "005"}, State: StateRunning, DocBase: "/tmp/tmc-scratch/ext:dir/colonapp"}, got["/colon##005"])
	assert.Equal(t, App{Context: Context{Path: "/app", Version: "002"}, State: StateRunning, Sessions: 3, DocBase: "app##002"}, got["/app##002"])
	assert.Equal(t, App{Context: Context{Path: "/nz", Version: "001"}, State: StateStopped, DocBase: "nz##001.war"}, got["/nz##001"])
	assert.Equal(t, App{Context: Context{Path: "/manager"}, State: StateRunning, DocBase: "/usr/share/tomcat10-admin/manager"}, got["/manager"])
	assert.Contains(t, got, "/shop##007")
	assert.Contains(t, got, "/shop##008")
	q := rp.requests()[1].URL.Query().Get("qry")
	assert.Equal(t, "Catalina:j2eeType=WebModule,*", q)
}

func TestListWithoutJMXRole(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/text/list", "list_two_versions.txt")
	rp.page("GET /manager/jmxproxy/", "http403.html", http.StatusForbidden)
	_, err := rp.client().List(context.Background())
	assert.ErrorIs(t, err, ErrForbidden)
	assert.Contains(t, err.Error(), "manager-jmx")
}

func TestSessionsAndExpire(t *testing.T) {
	ctx := context.Background()
	cx := Context{Path: "/app", Version: "002"}
	for _, tc := range []struct {
		file    string
		expire  bool
		want    SessionStats
		wantErr error
	}{
		{"sessions_002.txt", false, SessionStats{DefaultTimeoutMinutes: 30, Buckets: []SessionBucket{{"<1", 3}}, Active: 3}, nil},
		{"lang_fr_sessions.txt", false, SessionStats{DefaultTimeoutMinutes: 30, Buckets: []SessionBucket{{"<1", 3}}, Active: 3}, nil},
		{"expire_idle30.txt", true, SessionStats{DefaultTimeoutMinutes: 30, Buckets: []SessionBucket{{"<1", 3}}, Active: 3}, nil},
		{"lang_fr_expire.txt", true, SessionStats{DefaultTimeoutMinutes: 30, Buckets: []SessionBucket{{"<1", 3}}, Active: 3}, nil},
		{"sessions_noversion.txt", false, SessionStats{}, ErrNotFound},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rp := newReplay(t)
			c := rp.client()
			var st SessionStats
			var err error
			if tc.expire {
				rp.file("GET /manager/text/expire", tc.file)
				st, err = c.Expire(ctx, cx, 30)
				assert.Equal(t, "30", rp.requests()[0].URL.Query().Get("idle"))
			} else {
				rp.file("GET /manager/text/sessions", tc.file)
				st, err = c.Sessions(ctx, cx)
			}
			if tc.wantErr != nil {
				assert.ErrorIs(t, err, tc.wantErr)
				return
			}
			require.NoError(t, err)
			assert.Equal(t, tc.want, st)
		})
	}
}

func TestExpireCountsExpired(t *testing.T) {
	body := "OK - Session information for application at context path [/app##002]\nDefault maximum session inactive interval is [30] minutes\nInactive for [<1] minutes: [2] sessions\nInactive for [>0] minutes: [2] sessions were expired\n"
	st, err := parseSessions(body)
	require.Nil(t, err)
	assert.Equal(t, 2, st.Expired)
	assert.Equal(t, 2, st.Active)
}

func TestServerInfo(t *testing.T) {
	rp := newReplay(t)
	rp.file("GET /manager/text/serverinfo", "serverinfo.txt")
	si, err := rp.client().ServerInfo(context.Background())
	require.NoError(t, err)
	assert.Equal(t, ServerInfo{TomcatVersion: "Apache Tomcat/10.1.60 (Debian)", OSName: "Linux", OSVersion: "6.18.44-fc-v669",
		OSArch: "amd64", JVMVersion: "17.0.15+6-Debian-1deb12u1", JVMVendor: "Debian"}, si)
}

func TestContainerPages(t *testing.T) {
	for _, tc := range []struct {
		file   string
		status int
		kind   error
		hint   string
	}{
		{"http401.html", 401, ErrAuth, "password"},
		{"http403.html", 403, ErrForbidden, "manager-script"},
		{"http404.html", 404, ErrNotFound, "BaseURL"},
	} {
		t.Run(tc.file, func(t *testing.T) {
			rp := newReplay(t)
			rp.page("GET /manager/text/list", tc.file, tc.status)
			_, err := rp.client(func(c *Config) { c.Retries = 5 }).List(context.Background())
			assert.ErrorIs(t, err, tc.kind)
			var e *Error
			require.ErrorAs(t, err, &e)
			assert.Equal(t, tc.status, e.Status)
			assert.Contains(t, e.Hint, tc.hint)
			assert.NotContains(t, err.Error(), testPass)
			assert.Len(t, rp.requests(), 1, "4xx is never retried")
		})
	}
}

func TestReadsRetryOn5xxAndWritesDoNot(t *testing.T) {
	rp := newReplay(t)
	var n atomic.Int32
	list := readTestdata(t, "list_two_versions.txt")
	rp.routes["GET /manager/text/list"] = func(w http.ResponseWriter, _ *http.Request) {
		if n.Add(1) <= 2 {
			http.Error(w, "busy", http.StatusServiceUnavailable)
			return
		}
		_, _ = w.Write(list)
	}
	rp.routes["GET /manager/jmxproxy/"] = func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(readTestdata(t, "jmx_qry_webmodules.txt"))
	}
	rp.routes["GET /manager/text/stop"] = func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "busy", http.StatusServiceUnavailable)
	}
	c := rp.client()
	apps, err := c.List(context.Background())
	require.NoError(t, err)
	assert.Len(t, apps, 5)
	assert.Equal(t, int32(3), n.Load())

	err = c.Stop(context.Background(), Context{Path: "/app", Version: "001"})
	assert.ErrorIs(t, err, ErrProtocol)
	var e *Error
	require.ErrorAs(t, err, &e)
	assert.Equal(t, 503, e.Status)
	assert.Len(t, rp.requests(), 3+1+1)

	c2 := rp.client(func(c *Config) { c.Retries = -1 })
	n.Store(0)
	_, err = c2.List(context.Background())
	assert.ErrorIs(t, err, ErrProtocol)
	assert.Equal(t, int32(1), n.Load(), "Retries<0 disables retries")
}

func TestUnreachableAndTimeout(t *testing.T) {
	rp := newReplay(t)
	block := make(chan struct{})
	t.Cleanup(func() { close(block) })
	rp.routes["GET /manager/text/serverinfo"] = func(http.ResponseWriter, *http.Request) { <-block }
	c := rp.client(func(c *Config) { c.RequestTimeout = 100 * time.Millisecond; c.Retries = 1 })
	_, err := c.ServerInfo(context.Background())
	assert.ErrorIs(t, err, ErrTimeout)
	assert.Len(t, rp.requests(), 2, "a read that timed out is retried")

	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	_, err = c.ServerInfo(ctx)
	assert.ErrorIs(t, err, ErrTimeout)
	assert.ErrorIs(t, err, context.Canceled)

	dead := rp.client(func(c *Config) { c.BaseURL = "http://127.0.0.1:1/manager"; c.Retries = -1 })
	_, err = dead.List(context.Background())
	assert.ErrorIs(t, err, ErrUnreachable)
	assert.Contains(t, err.Error(), "is Tomcat running")
}

func TestNeitherOKNorFAIL(t *testing.T) {
	rp := newReplay(t)
	long := "<html>" + strings.Repeat("z", 500)
	rp.routes["GET /manager/text/start"] = func(w http.ResponseWriter, _ *http.Request) { _, _ = fmt.Fprintln(w, long) }
	rp.routes["GET /manager/text/stop"] = func(w http.ResponseWriter, _ *http.Request) {}
	c := rp.client()
	err := c.Start(context.Background(), Context{Path: "/app", Version: "001"})
	assert.ErrorIs(t, err, ErrProtocol)
	assert.Contains(t, err.Error(), "<html>zzz")
	assert.Less(t, len(err.Error()), 400, "first line is truncated")
	err = c.Stop(context.Background(), Context{Path: "/app", Version: "001"})
	assert.ErrorIs(t, err, ErrProtocol, "an empty answer is not a success")
}

func TestInvalidInputIsRefusedBeforeSending(t *testing.T) {
	rp := newReplay(t)
	c := rp.client()
	ctx := context.Background()
	notZip := t.TempDir() + "/x.war"
	require.NoError(t, os.WriteFile(notZip, []byte("notazip\n"), 0o600))
	noWebInf := writeWAR(t, map[string]string{"index.html": "hi"})
	for name, err := range map[string]error{
		"not a zip":      c.Deploy(ctx, Context{Path: "/app", Version: "002"}, notZip, nil),
		"no WEB-INF":     c.Deploy(ctx, Context{Path: "/app", Version: "002"}, noWebInf, nil),
		"missing file":   c.Deploy(ctx, Context{Path: "/app", Version: "002"}, "/nonexistent.war", nil),
		"bad version":    c.Deploy(ctx, Context{Path: "/app", Version: "0#2"}, noWebInf, nil),
		"bad path":       c.Stop(ctx, Context{Path: "/a b", Version: "002"}),
		"relative war":   c.DeployFromServerPath(ctx, Context{Path: "/app", Version: "002"}, "rel/app.war"),
		"not .war":       c.DeployFromServerPath(ctx, Context{Path: "/app", Version: "002"}, "/srv/app.zip"),
		"dotdot war":     c.DeployFromServerPath(ctx, Context{Path: "/app", Version: "002"}, "/srv/../etc/app.war"),
		"negative idle":  func() error { _, e := c.Expire(ctx, Context{Path: "/app", Version: "002"}, -1); return e }(),
		"comma param":    func() error { _, e := c.Invoke(ctx, "a:b=c", "op", "x,y"); return e }(),
		"bad session id": func() error { _, e := c.HasSession(ctx, Context{Path: "/app", Version: "002"}, "a,b"); return e }(),
	} {
		assert.ErrorIs(t, err, ErrInvalid, name)
	}
	assert.Empty(t, rp.requests())
	_, err := CheckWAR(noWebInf)
	assert.ErrorContains(t, err, "WEB-INF/")
	_, err = CheckWAR(notZip)
	assert.ErrorContains(t, err, "not a zip")
}

func TestSecretsNeverPrinted(t *testing.T) {
	cfg := Config{Node: "n1", BaseURL: "http://127.0.0.1:1/manager", User: "deployer", Password: testPass, RequestTimeout: time.Second, Retries: -1}
	c, err := New(cfg)
	require.NoError(t, err)
	for _, s := range []string{cfg.String(), fmt.Sprintf("%v %+v %#v %s", cfg, cfg, cfg, c)} {
		assert.NotContains(t, s, testPass)
	}
	_, err = c.List(context.Background())
	require.Error(t, err)
	assert.NotContains(t, err.Error(), testPass)
	_, err = New(Config{BaseURL: "http://deployer:" + testPass + "@host/manager", User: "x"})
	assert.ErrorIs(t, err, ErrInvalid)
	assert.NotContains(t, err.Error(), testPass)
	_, err = New(Config{BaseURL: "ftp://host/manager", User: "x"})
	assert.ErrorIs(t, err, ErrInvalid)
	_, err = New(Config{BaseURL: "http://host/manager"})
	assert.ErrorIs(t, err, ErrInvalid, "user is required")
}

func TestErrorUnwrap(t *testing.T) {
	cause := errors.New("boom")
	e := &Error{Op: "list", Node: "n2", Message: "x", Kind: ErrUnreachable, Err: cause}
	assert.ErrorIs(t, e, ErrUnreachable)
	assert.ErrorIs(t, e, cause)
	assert.NotErrorIs(t, e, ErrAuth)
	assert.Equal(t, "tomcatmgr: list on n2: x: boom", e.Error())
}
