package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// simCluster is N simulated Tomcat nodes: httptest servers that answer the Manager's text and
// JMX proxy interfaces as Tomcat 10.1 does (the answers of tomcatmgr/testdata), serve the
// sample application's health page and a page that creates a session. Their state is
// deployertest's in-memory cluster, the one fake every unit test uses (a new session reaches
// every node running its version: perfect replication), so the engine runs through the real
// tomcatmgr.Client and HTTP prober against the same contract. A deploy takes deployTime, as a
// small WAR does on a real node.
type simCluster struct {
	c          *deployertest.Cluster
	nodes      []*simNode
	deployTime time.Duration
	war        string // the WAR every simulated deploy installs (the upload is read and dropped)
}

// simNode is one simulated node.
type simNode struct {
	name string
	sc   *simCluster
	m    *deployertest.Manager
	srv  *httptest.Server
}

const simUser, simPassword = "bench", "bench-password"

func newSimCluster(n int, deployTime time.Duration, initial, war string) *simCluster {
	var names []string
	for i := range n {
		names = append(names, fmt.Sprintf("s%02d", i+1))
	}
	sc := &simCluster{c: deployertest.New(names, initial), deployTime: deployTime, war: war}
	for _, name := range names {
		nd := &simNode{name: name, sc: sc, m: sc.c.Manager(name)}
		nd.srv = httptest.NewServer(nd)
		sc.nodes = append(sc.nodes, nd)
	}
	return sc
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
	ctx, q := r.Context(), r.URL.Query()
	cx := tomcatmgr.Context{Path: q.Get("path"), Version: q.Get("version")}
	page := "http://" + n.name + r.URL.Path // the fake prober's URL of the page
	switch r.URL.Path {
	case "/manager/text/list":
		n.list(w, r)
	case "/manager/text/deploy":
		n.deploy(w, r, cx)
	case "/manager/text/undeploy":
		answer(w, n.m.Undeploy(ctx, cx), "Undeployed application at context path ["+cx.Name()+"]")
	case "/manager/jmxproxy/":
		n.jmx(w, r)
	case "/app/health.jsp":
		code, err := n.sc.c.Prober().Health(ctx, page)
		if err != nil {
			http.Error(w, err.Error(), http.StatusInternalServerError)
			return
		}
		w.WriteHeader(code)
		fmt.Fprintln(w, "OK")
	case "/app/":
		id, err := n.sc.c.Prober().NewSession(ctx, page)
		if err != nil {
			http.NotFound(w, r)
			return
		}
		http.SetCookie(w, &http.Cookie{Name: "JSESSIONID", Value: id, Path: "/app"})
		fmt.Fprintf(w, "version=sim node=%s session=%s count=1\n", n.name, id)
	default:
		http.NotFound(w, r)
	}
}

// answer writes the Manager's text answer: OK with msg, or FAIL with what Tomcat would say.
func answer(w http.ResponseWriter, err error, msg string) {
	var te *tomcatmgr.Error
	switch {
	case err == nil:
		fmt.Fprintln(w, "OK - "+msg)
	case errors.As(err, &te) && strings.HasPrefix(te.Message, "FAIL - "):
		fmt.Fprintln(w, te.Message)
	default:
		fmt.Fprintln(w, "FAIL - "+err.Error())
	}
}

func (n *simNode) list(w http.ResponseWriter, r *http.Request) {
	apps, err := n.m.List(r.Context())
	if err != nil {
		answer(w, err, "")
		return
	}
	slices.SortFunc(apps, func(a, b tomcatmgr.App) int { return strings.Compare(a.Name(), b.Name()) })
	fmt.Fprintln(w, "OK - Listed applications for virtual host [localhost]")
	for _, a := range apps {
		fmt.Fprintf(w, "%s:%s:%d:%s\n", a.Path, a.State, a.Sessions, strings.TrimPrefix(a.Name(), "/"))
	}
}

// deploy reads the upload, takes deployTime as Tomcat takes to start the context, and deploys
// it on the fake node.
func (n *simNode) deploy(w http.ResponseWriter, r *http.Request, cx tomcatmgr.Context) {
	if _, err := io.Copy(io.Discard, r.Body); err != nil {
		return
	}
	t := time.NewTimer(n.sc.deployTime)
	defer t.Stop()
	select {
	case <-r.Context().Done():
		return
	case <-t.C:
	}
	answer(w, n.m.Deploy(r.Context(), cx, n.sc.war, nil), "Deployed application at context path ["+cx.Name()+"]")
}

// beanContext reads the context of a session manager's ObjectName
// ("Catalina:type=Manager,host=localhost,context=/app##002").
func beanContext(bean string) (tomcatmgr.Context, bool) {
	_, name, ok := strings.Cut(bean, ",context=")
	if !ok || !strings.Contains(bean, ":type=Manager,") {
		return tomcatmgr.Context{}, false
	}
	cx, err := tomcatmgr.ParseName(name)
	return cx, err == nil
}

// jmx answers the JMX proxy calls the engine's gates and readmission make, as Tomcat 10.1
// does, from the fake node.
func (n *simNode) jmx(w http.ResponseWriter, r *http.Request) {
	ctx, q := r.Context(), r.URL.Query()
	if qry := q.Get("qry"); qry != "" {
		n.query(w, r, qry)
		return
	}
	cx, ok := beanContext(q.Get("invoke"))
	if !ok {
		fmt.Fprintf(w, "Error - javax.management.InstanceNotFoundException: %s\n", q.Get("invoke"))
		return
	}
	op, id := q.Get("op"), q.Get("ps")
	var out string
	var err error
	switch op {
	case "getCreationTime":
		var has bool
		if has, err = n.m.HasSession(ctx, cx, id); has {
			out = "Wed Nov 25 19:31:10 UTC 2026"
		}
	case "listSessionIds":
		var ids []string
		ids, err = n.m.SessionIDs(ctx, cx)
		out = strings.Join(ids, " ")
	case "getLastAccessedTime":
		var at time.Time
		var found bool
		if at, found, err = n.m.LastAccessed(ctx, cx, id); found {
			out = at.UTC().Format("Mon Jan 02 15:04:05 MST 2006")
		}
	case "getAllClusterSessions":
		if err = n.m.ResyncSessions(ctx, cx); err == nil {
			fmt.Fprintln(w, "OK - Operation getAllClusterSessions without return value")
			return
		}
	case "expireSession":
		err = n.m.ExpireSession(ctx, cx, id)
	default:
		fmt.Fprintf(w, "Error - java.lang.IllegalArgumentException: Cannot find operation [%s]\n", op)
		return
	}
	if err != nil {
		fmt.Fprintf(w, "Error - javax.management.InstanceNotFoundException: %s\n", q.Get("invoke"))
		return
	}
	fmt.Fprintf(w, "OK - Operation %s returned:\n%s\n", op, out)
}

// query answers a JMX query: a session manager's bean from the fake node, and any other bean
// (the cluster channel) without attributes.
func (n *simNode) query(w http.ResponseWriter, r *http.Request, qry string) {
	cx, ok := beanContext(qry)
	if !ok {
		fmt.Fprintf(w, "OK - Number of results: 1\n\nName: %s\nmodelerType: org.apache.tomcat.util.modeler.BaseModelMBean\n\n", qry)
		return
	}
	sm, err := n.m.SessionManager(r.Context(), cx)
	if err != nil {
		fmt.Fprintln(w, "OK - Number of results: 0")
		return
	}
	fmt.Fprintf(w, "OK - Number of results: 1\n\nName: %s\nmodelerType: org.apache.tomcat.util.modeler.BaseModelMBean\n"+
		"stateName: %s\nactiveSessions: %d\nclassName: %s\nstateTransferred: %t\nnoContextManagerReceived: %t\n"+
		"counterNoStateTransferred: %d\n\n", qry, sm.StateName, sm.ActiveSessions, sm.ClassName, sm.StateTransferred,
		sm.NoContextManagerReceived, sm.CounterNoStateTransferred)
}

// simRelease runs one release of the engine against n simulated nodes and returns its wall time.
func simRelease(ctx context.Context, n int, deployTime time.Duration, dir string) (time.Duration, error) {
	war := filepath.Join(dir, fmt.Sprintf("sim-%d.war", n))
	if err := writeWAR(war, testenv.WAROptions{Version: "002"}); err != nil {
		return 0, err
	}
	c := newSimCluster(n, deployTime, "001", war)
	defer c.Close()
	spec := &plan.Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: 2, NoDrain: true,
		HealthTimeout: 10 * time.Second, ReplicationTimeout: 10 * time.Second}
	managers := map[string]deployer.Manager{}
	for _, nd := range c.nodes {
		spec.Nodes = append(spec.Nodes, plan.NodeSpec{Name: nd.name, URL: nd.srv.URL, Weight: 1})
		m, err := tomcatmgr.New(tomcatmgr.Config{Node: nd.name, BaseURL: nd.srv.URL + "/manager", User: simUser, Password: simPassword})
		if err != nil {
			return 0, err
		}
		managers[nd.name] = m
	}
	jdir := filepath.Join(dir, fmt.Sprintf("sim-%d", n))
	if err := os.MkdirAll(jdir, 0o755); err != nil {
		return 0, err
	}
	e := &deployer.Engine{Spec: spec, Managers: managers, Router: c.c.Router(), Prober: deployer.NewHTTPProber(5 * time.Second),
		Journal: &state.Journal{Dir: jdir}}
	t0 := time.Now()
	st, err := e.Observe(ctx)
	if err != nil {
		return 0, err
	}
	info, err := warInfo(war)
	if err != nil {
		return 0, err
	}
	plan, err := plan.BuildPlan(spec, st, "002", info)
	if err != nil {
		return 0, err
	}
	if err := e.Start(ctx, plan, state.Lease{Holder: "bench", Host: "localhost", Command: "zdd testenv bench"}); err != nil {
		return 0, fmt.Errorf("bench: simulated release to %d nodes: %w", n, err)
	}
	took := time.Since(t0)
	for _, nd := range c.nodes {
		if got := strings.Join(c.c.Versions(nd.name), ","); got != "001,002" {
			return 0, fmt.Errorf("bench: simulated node %s runs %s after the release, want 001,002", nd.name, got)
		}
	}
	return took, nil
}
