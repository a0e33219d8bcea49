package bench

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// simCluster is N simulated Tomcat nodes: httptest servers that answer the Manager's text and
// JMX proxy interfaces as Tomcat 10.1 does (the answers of tomcatmgr/testdata), serve the
// sample application's health page and a page that creates a session, and share one session
// store (perfect replication). A deploy takes DeployTime, as a small WAR does on a real node.
type simCluster struct {
	nodes      []*simNode
	sessions   sync.Map // session id -> true, shared by every node
	deployTime time.Duration
}

// simNode is one simulated node.
type simNode struct {
	name     string
	c        *simCluster
	srv      *httptest.Server
	mu       sync.Mutex
	versions []string
	next     int
}

const simUser, simPassword = "bench", "bench-password"

func newSimCluster(n int, deployTime time.Duration, initial string) *simCluster {
	c := &simCluster{deployTime: deployTime}
	for i := range n {
		nd := &simNode{name: fmt.Sprintf("s%02d", i+1), c: c, versions: []string{initial}}
		nd.srv = httptest.NewServer(nd)
		c.nodes = append(c.nodes, nd)
	}
	return c
}

func (c *simCluster) Close() {
	for _, n := range c.nodes {
		n.srv.Close()
	}
}

func (n *simNode) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	if strings.HasPrefix(r.URL.Path, "/manager/") {
		if u, p, ok := r.BasicAuth(); !ok || u != simUser || p != simPassword {
			w.Header().Set("WWW-Authenticate", `Basic realm="Tomcat Manager Application"`)
			http.Error(w, "401", http.StatusUnauthorized)
			return
		}
		w.Header().Set("Content-Type", "text/plain;charset=utf-8")
	}
	q := r.URL.Query()
	switch r.URL.Path {
	case "/manager/text/list":
		n.mu.Lock()
		fmt.Fprintln(w, "OK - Listed applications for virtual host [localhost]")
		for _, v := range n.versions {
			fmt.Fprintf(w, "/app:running:0:app##%s\n", v)
		}
		n.mu.Unlock()
	case "/manager/text/deploy":
		n.deploy(w, r, q.Get("version"))
	case "/manager/text/undeploy":
		n.mu.Lock()
		n.versions = remove(n.versions, q.Get("version"))
		n.mu.Unlock()
		fmt.Fprintf(w, "OK - Undeployed application at context path [/app##%s]\n", q.Get("version"))
	case "/manager/jmxproxy/":
		n.jmx(w, q)
	case "/app/health.jsp":
		fmt.Fprintln(w, "OK")
	case "/app/":
		n.mu.Lock()
		n.next++
		id := fmt.Sprintf("SIM%06d.%s", n.next, n.name)
		n.mu.Unlock()
		n.c.sessions.Store(id, true)
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id, Path: "/app"})
		fmt.Fprintf(w, "version=sim node=%s session=%s count=1\n", n.name, id)
	default:
		http.NotFound(w, r)
	}
}

// deploy reads the upload, takes deployTime as Tomcat takes to start the context, and adds it.
func (n *simNode) deploy(w http.ResponseWriter, r *http.Request, v string) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return
	}
	t := time.NewTimer(n.c.deployTime)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return
	case <-t.C:
	}
	n.mu.Lock()
	n.versions = append(remove(n.versions, v), v)
	sort.Strings(n.versions)
	n.mu.Unlock()
	fmt.Fprintf(w, "OK - Deployed application at context path [/app##%s]\n", v)
}

// jmx answers the JMX proxy calls the engine's gates and readmission make, as Tomcat 10.1 does.
func (n *simNode) jmx(w http.ResponseWriter, q map[string][]string) {
	get := func(k string) string {
		if len(q[k]) == 0 {
			return ""
		}
		return q[k][0]
	}
	switch {
	case get("qry") != "":
		fmt.Fprintf(w, "OK - Number of results: 1\n\nName: %s\nmodelerType: org.apache.tomcat.util.modeler.BaseModelMBean\n"+
			"stateName: STARTED\nactiveSessions: 0\nclassName: org.apache.catalina.ha.session.DeltaManager\n"+
			"stateTransferred: true\nnoContextManagerReceived: false\ncounterNoStateTransferred: 0\n\n", get("qry"))
	case get("op") == "getCreationTime":
		fmt.Fprintln(w, "OK - Operation getCreationTime returned:")
		if _, ok := n.c.sessions.Load(get("ps")); ok {
			fmt.Fprintln(w, "Wed Nov 25 19:31:10 UTC 2026")
		}
	case get("op") == "listSessionIds":
		var ids []string
		n.c.sessions.Range(func(k, _ any) bool { ids = append(ids, k.(string)); return true })
		sort.Strings(ids)
		fmt.Fprintln(w, "OK - Operation listSessionIds returned:")
		fmt.Fprintln(w, strings.Join(ids, " "))
	case get("op") == "getLastAccessedTime":
		fmt.Fprintln(w, "OK - Operation getLastAccessedTime returned:")
		if _, ok := n.c.sessions.Load(get("ps")); ok {
			fmt.Fprintln(w, "Wed Nov 25 19:31:10 UTC 2026") // one store: every node has the same copy
		}
	case get("op") == "getAllClusterSessions":
		fmt.Fprintln(w, "OK - Operation getAllClusterSessions without return value")
	case get("op") == "expireSession":
		n.c.sessions.Delete(get("ps"))
		fmt.Fprintln(w, "OK - Operation expireSession returned:")
	default:
		fmt.Fprintf(w, "Error - java.lang.IllegalArgumentException: Cannot find operation [%s]\n", get("op"))
	}
}

func remove(vs []string, v string) []string {
	out := vs[:0:0]
	for _, x := range vs {
		if x != v {
			out = append(out, x)
		}
	}
	return out
}

// memBalancer is an in-memory lb.Balancer whose changes are instant: the scale rows measure
// the engine and the Manager calls, not Nginx.
type memBalancer struct {
	mu     sync.Mutex
	states map[string]lb.State
}

func (b *memBalancer) States(context.Context) (map[string]lb.State, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	out := map[string]lb.State{}
	for k, v := range b.states {
		out[k] = v
	}
	return out, nil
}

func (b *memBalancer) Apply(_ context.Context, states map[string]lb.State) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, v := range states {
		if _, ok := b.states[k]; !ok {
			return fmt.Errorf("bench: %w: %s", lb.ErrUnknownNode, k)
		}
		b.states[k] = v
	}
	return nil
}

func (b *memBalancer) Verify(_ context.Context, states map[string]lb.State) error {
	b.mu.Lock()
	defer b.mu.Unlock()
	for k, v := range states {
		if b.states[k] != v {
			return fmt.Errorf("bench: %s is %s, want %s: %w", k, b.states[k], v, lb.ErrNotLive)
		}
	}
	return nil
}

func (b *memBalancer) WeightRange() (int, int) { return 1, 1000 }

// simRelease runs one release of the engine against n simulated nodes and returns its wall time.
func simRelease(ctx context.Context, n int, deployTime time.Duration, dir string) (time.Duration, error) {
	c := newSimCluster(n, deployTime, "001")
	defer c.Close()
	spec := &deployer.Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: 2, NoDrain: true,
		HealthTimeout: 10 * time.Second, ReplicationTimeout: 10 * time.Second}
	managers := map[string]deployer.Manager{}
	b := &memBalancer{states: map[string]lb.State{}}
	for _, nd := range c.nodes {
		spec.Nodes = append(spec.Nodes, deployer.NodeSpec{Name: nd.name, URL: nd.srv.URL, Weight: 1})
		m, err := tomcatmgr.New(tomcatmgr.Config{Node: nd.name, BaseURL: nd.srv.URL + "/manager", User: simUser, Password: simPassword})
		if err != nil {
			return 0, err
		}
		managers[nd.name] = m
		b.states[nd.name] = lb.State{Weight: 1}
	}
	war := filepath.Join(dir, fmt.Sprintf("sim-%d.war", n))
	if err := writeWAR(war, testenv.WAROptions{Version: "002"}); err != nil {
		return 0, err
	}
	jdir := filepath.Join(dir, fmt.Sprintf("sim-%d", n))
	if err := os.MkdirAll(jdir, 0o755); err != nil {
		return 0, err
	}
	e := &deployer.Engine{Spec: spec, Managers: managers, Router: b, Prober: deployer.NewHTTPProber(5 * time.Second),
		Journal: &deployer.Journal{Dir: jdir}}
	t0 := time.Now()
	st, err := e.Observe(ctx)
	if err != nil {
		return 0, err
	}
	info, err := warInfo(war)
	if err != nil {
		return 0, err
	}
	plan, err := deployer.BuildPlan(spec, st, "002", info)
	if err != nil {
		return 0, err
	}
	if err := e.Start(ctx, plan, deployer.Lease{Holder: "bench", Host: "localhost", Command: "zdd testenv bench"}); err != nil {
		return 0, fmt.Errorf("bench: simulated release to %d nodes: %w", n, err)
	}
	took := time.Since(t0)
	for _, nd := range c.nodes {
		nd.mu.Lock()
		got := strings.Join(nd.versions, ",")
		nd.mu.Unlock()
		if got != "001,002" {
			return 0, fmt.Errorf("bench: simulated node %s runs %s after the release, want 001,002", nd.name, got)
		}
	}
	return took, nil
}
