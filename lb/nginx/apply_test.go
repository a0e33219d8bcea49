package nginx

import (
	"context"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/remote/remotetest"
)

const (
	upFile  = "/etc/nginx/upstreams.conf"
	pidFile = "/run/nginx.pid"
	errLog  = "/var/log/nginx/error.log"
	testCmd = "nginx -t -c /etc/nginx/nginx.conf"
	reload  = "nginx -s reload -c /etc/nginx/nginx.conf"
	oldConf = "upstream tomcat {\n    server 127.0.0.1:18081 weight=1; # n1\n    server 127.0.0.1:18082 weight=1; # n2\n}\n"
	newConf = "upstream tomcat {\n    server 127.0.0.1:18081 weight=1 down; # n1\n    server 127.0.0.1:18082 weight=4; # n2\n}\n"
)

var testChange = map[string]lb.State{"n1": {Down: true}, "n2": {Weight: 4}}

func newBalancer(t *testing.T, fakes ...*remotetest.Fake) *Balancer {
	var hosts []Host
	for _, f := range fakes {
		hosts = append(hosts, Host{Name: f.Host(), Runner: f, UpstreamFile: upFile, TestCommand: testCmd,
			ReloadCommand: reload, PidFile: pidFile, ErrorLog: errLog})
	}
	b, err := New(Options{Hosts: hosts, Nodes: map[string]string{"n1": "127.0.0.1:18081", "n2": "127.0.0.1:18082"},
		ReloadTimeout: 300 * time.Millisecond, PollInterval: 10 * time.Millisecond})
	require.NoError(t, err)
	return b
}

func readCall(content string) remotetest.Call {
	return remotetest.Call{Cmd: "cat -- " + upFile, Stdout: content}
}

var probeRE = regexp.MustCompile(`^p=\$\(cat -- /run/nginx\.pid 2>/dev/null\) && kill -0 "\$p" 2>/dev/null \|\| \{ echo no-master; exit 0; \}\n` +
	`stat -c %Y -- /etc/nginx/upstreams\.conf && date \+%s && echo workers \$\(ps -o etimes= --ppid "\$p"\) && echo --zdd-upstream-file-- && cat -- /etc/nginx/upstreams\.conf$`)

// probeCall expects the probe of the upstream file and the master's workers: the file was
// written 10 s ago (mtime 1000, now 1010); its newest worker is 9 s old when loaded, else 12 s.
func probeCall(content string, loaded bool) remotetest.Call {
	workers := "workers 40 9"
	if !loaded {
		workers = "workers 40 12"
	}
	return remotetest.Call{Match: probeRE, Stdout: "1000\n1010\n" + workers + "\n--zdd-upstream-file--\n" + content}
}

// restoreCall expects the put-back of content that keeps the saved copy's mtime (a host that
// was not reloaded).
func restoreCall(content string) remotetest.Call {
	return remotetest.Call{Match: regexp.MustCompile(`^set -e; t=\$\(mktemp /etc/nginx/\.upstreams\.conf\.zdd-XXXXXX\); .*` +
		`if cmp -s -- "\$t" /etc/nginx/upstreams\.conf\.zdd-prev; then touch -r /etc/nginx/upstreams\.conf\.zdd-prev -- "\$t"; fi; ` +
		`mv -f "\$t" /etc/nginx/upstreams\.conf; trap - EXIT$`), Stdin: []byte(content)}
}

// writeCall expects remote.WriteFile of path with content.
func writeCall(path, content string) remotetest.Call {
	dir, base := path[:strings.LastIndex(path, "/")+1], path[strings.LastIndex(path, "/")+1:]
	return remotetest.Call{Match: regexp.MustCompile(`^set -e; t=\$\(mktemp ` + regexp.QuoteMeta(dir+"."+base) +
		`\.zdd-XXXXXX\); .* mv -f "\$t" ` + regexp.QuoteMeta(path) + `; trap - EXIT$`), Stdin: []byte(content)}
}

var installRE = regexp.MustCompile(`^\{ t=\$\(mktemp /etc/nginx/\.upstreams\.conf\.zdd-XXXXXX\) && .*` +
	`cp -p -- /etc/nginx/upstreams\.conf /etc/nginx/upstreams\.conf\.zdd-prev && .*mv -f "\$t" /etc/nginx/upstreams\.conf && trap - EXIT; \} ` +
	`\|\| \{ echo zdd-install-failed; exit 1; \}; ` + regexp.QuoteMeta(testCmd) + `$`)

// installCalls expects the one command that keeps the old file, swaps the new one in and tests.
func installCalls(testExit int) []remotetest.Call {
	return []remotetest.Call{{Match: installRE, Stdin: []byte(newConf), Exit: testExit,
		Stderr: "nginx: [emerg] invalid parameter \"wait=1\" in /etc/nginx/upstreams.conf:2"}}
}

var reloadRE = regexp.MustCompile(`(?s)^p=\$\(cat -- /run/nginx\.pid\) .*` + regexp.QuoteMeta(reload) + `.*echo timeout`)

// reloadCalls expects the one reload command; it reports new workers, or that the master kept
// its workers (with what the error log said).
func reloadCalls(changed bool, logged string) []remotetest.Call {
	out := "new\n"
	if !changed {
		out = "timeout\n" + logged
	}
	return []remotetest.Call{{Match: reloadRE, Stdout: out}}
}

func concat(parts ...[]remotetest.Call) []remotetest.Call {
	var out []remotetest.Call
	for _, p := range parts {
		out = append(out, p...)
	}
	return out
}

func TestApplyBothHosts(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", probeCall(oldConf, true))
	lb2 := remotetest.New(t, "lb2", probeCall(oldConf, true))
	b := newBalancer(t, lb1, lb2)
	lb1.Expect(installCalls(0)...)
	lb2.Expect(installCalls(0)...)
	lb1.Expect(reloadCalls(true, "")...)
	lb2.Expect(reloadCalls(true, "")...)
	require.NoError(t, b.Apply(context.Background(), testChange))
}

func TestApplyTestFailureOnSecondHostRestoresBoth(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", probeCall(oldConf, true))
	lb2 := remotetest.New(t, "lb2", probeCall(oldConf, true))
	b := newBalancer(t, lb1, lb2)
	lb1.Expect(installCalls(0)...)
	lb2.Expect(installCalls(1)...)
	// Rollback: old file back on both (with its old mtime: neither was reloaded), no reload.
	lb1.Expect(restoreCall(oldConf))
	lb2.Expect(restoreCall(oldConf))
	err := b.Apply(context.Background(), testChange)
	var rb *lb.RolledBackError
	require.ErrorAs(t, err, &rb)
	assert.Equal(t, "lb2", rb.Host)
	assert.Equal(t, "install", rb.Step)
	assert.ErrorContains(t, err, `invalid parameter "wait=1"`)
	assert.ErrorContains(t, err, "every host was put back")
}

func TestApplyReloadNotTakingEffectRollsBackEveryHost(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", probeCall(oldConf, true))
	lb2 := remotetest.New(t, "lb2", probeCall(oldConf, true))
	b := newBalancer(t, lb1, lb2)
	lb1.Expect(installCalls(0)...)
	lb2.Expect(installCalls(0)...)
	lb1.Expect(reloadCalls(true, "")...)
	// lb2's master keeps its workers: the reload was rejected at apply time.
	lb2.Expect(reloadCalls(false, "2026/01/01 [emerg] 1#1: bind() to 127.0.0.1:18091 failed\n")...)
	// Rollback: both files back, both reloaded (lb2 may have half-loaded the new one).
	lb1.Expect(writeCall(upFile, oldConf))
	lb1.Expect(reloadCalls(true, "")...)
	lb2.Expect(writeCall(upFile, oldConf))
	lb2.Expect(reloadCalls(true, "")...)
	err := b.Apply(context.Background(), testChange)
	var rb *lb.RolledBackError
	require.ErrorAs(t, err, &rb, "%v", err)
	assert.Equal(t, "lb2", rb.Host)
	assert.Equal(t, "reload", rb.Step)
	assert.ErrorContains(t, err, "bind() to 127.0.0.1:18091 failed")
}

func TestApplyRefusesWithoutWriting(t *testing.T) {
	cases := []struct {
		name    string
		content string
		states  map[string]lb.State
		msg     string
	}{
		{"unknown node", oldConf, map[string]lb.State{"n9": {Weight: 1}}, "unknown node: node n9"},
		{"weight too high", oldConf, map[string]lb.State{"n1": {Weight: 1001}}, "weight 1001 outside 1..1000"},
		{"weight zero", oldConf, map[string]lb.State{"n1": {Weight: 0}}, "weight 0 outside 1..1000"},
		{"unparseable", "upstream tomcat {\n server 127.0.0.1:18081\n}\n", testChange, "line 3"},
		{"address missing", "upstream tomcat {\n server 127.0.0.1:18081;\n}\n", testChange, "no server 127.0.0.1:18082"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			lb1 := remotetest.New(t, "lb1")
			if c.name != "unknown node" && c.name[:6] != "weight" {
				lb1.Expect(probeCall(c.content, true))
			}
			b := newBalancer(t, lb1)
			err := b.Apply(context.Background(), c.states)
			require.Error(t, err)
			assert.ErrorContains(t, err, c.msg)
		})
	}
}

func TestApplyNoChangeDoesNothing(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", probeCall(newConf, true))
	b := newBalancer(t, lb1)
	require.NoError(t, b.Apply(context.Background(), map[string]lb.State{"n1": {Weight: 1, Down: true}}))
}

func TestApplyRollbackFailureIsReported(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", probeCall(oldConf, true))
	lb2 := remotetest.New(t, "lb2", probeCall(oldConf, true))
	b := newBalancer(t, lb1, lb2)
	lb1.Expect(installCalls(0)...)
	lb2.Expect(installCalls(1)...)
	lb1.Expect(remotetest.Call{Match: restoreCall(oldConf).Match, Exit: 1, Stderr: "mv: cannot move: Read-only file system"})
	lb2.Expect(restoreCall(oldConf))
	err := b.Apply(context.Background(), testChange)
	var rf *lb.RollbackFailedError
	require.ErrorAs(t, err, &rf)
	assert.ErrorContains(t, err, "rollback FAILED")
	assert.ErrorContains(t, err, "Read-only file system")
}

func TestStatesAndVerify(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", readCall(newConf))
	lb2 := remotetest.New(t, "lb2", readCall(newConf))
	b := newBalancer(t, lb1, lb2)
	st, err := b.States(context.Background())
	require.NoError(t, err)
	assert.Equal(t, map[string]lb.State{"n1": {Weight: 1, Down: true}, "n2": {Weight: 4}}, st)

	verify := func(workers, conf string) remotetest.Call {
		return remotetest.Call{Match: probeRE, Stdout: "1000\n1010\nworkers" + workers + "\n--zdd-upstream-file--\n" + conf}
	}
	lb1.Expect(verify("   40    9", newConf))
	lb2.Expect(verify("   40   12", newConf))
	err = b.Verify(context.Background(), testChange)
	require.ErrorIs(t, err, lb.ErrNotLive)
	assert.ErrorContains(t, err, "lb2")
	assert.ErrorContains(t, err, "not reloaded")

	// Hosts are verified at once: lb2 is read (and passes) while lb1 fails.
	lb1.Expect(verify("   40    9", oldConf))
	lb2.Expect(verify("   40    9", newConf))
	err = b.Verify(context.Background(), testChange)
	require.ErrorIs(t, err, lb.ErrNotLive)
	assert.ErrorContains(t, err, "server 127.0.0.1:18081 is weight=1, want weight=0 down")

	lb1.Expect(readCall(newConf))
	lb2.Expect(readCall(oldConf))
	_, err = b.States(context.Background())
	assert.ErrorContains(t, err, "lb1 and lb2 disagree")
}
