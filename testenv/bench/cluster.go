package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sync/errgroup"

	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/tomcatmgr"
	"github.com/saitodrom/zdd/watch"
)

// bench is the engine wired to the test cluster (as deployer's integration tests do), with
// the sample WARs built once.
type bench struct {
	opts    Options
	env     *testenv.Env
	cfg     *config.Config
	cluster *connect.Cluster
	wars    map[string]string // version -> path of the small sample WAR
	dirs    int
	sticky  bool
	tr      tracer // the trace of the row being measured
}

var who = state.Lease{Holder: "bench", Host: "localhost", Command: "zdd testenv bench"}

func newBench(ctx context.Context, opts Options) (*bench, error) {
	b, err := os.ReadFile(opts.Env.ConfigFile)
	if err != nil {
		return nil, fmt.Errorf("bench: %w", err)
	}
	cfg, err := config.ParseYAML(b, opts.Env.ConfigFile)
	if err != nil {
		return nil, err
	}
	if probs := cfg.ReadSecretFiles(); len(probs) > 0 {
		return nil, fmt.Errorf("bench: %s: %v", opts.Env.ConfigFile, probs)
	}
	cluster, err := connect.Dial(ctx, cfg, connect.Options{})
	if err != nil {
		return nil, err
	}
	bn := &bench{opts: opts, env: opts.Env, cfg: cfg, cluster: cluster, wars: map[string]string{}}
	for _, v := range []string{"001", "002"} {
		p := filepath.Join(opts.WorkDir, "app-"+v+".war")
		if err := writeWAR(p, testenv.WAROptions{Version: v}); err != nil {
			cluster.Close()
			return nil, err
		}
		bn.wars[v] = p
	}
	return bn, nil
}

func (b *bench) close() { b.cluster.Close() }

// restore leaves the cluster as the tests expect it: no application, every node in rotation,
// round-robin mode.
func (b *bench) restore(ctx context.Context) error {
	var errs []error
	if b.sticky {
		errs = append(errs, b.mode(ctx, testenv.RoundRobin))
	}
	return errors.Join(append(errs, b.clean(ctx))...)
}

func (b *bench) mode(ctx context.Context, m testenv.Mode) error {
	b.opts.Log("load balancers to %s mode", m)
	env, err := testenv.Up(ctx, testenv.Options{Dir: b.env.Dir, Mode: m})
	if err != nil {
		return err
	}
	b.env, b.sticky = env, m == testenv.Sticky
	return nil
}

// clean undeploys every context of the application (versioned or not) and puts every node in
// rotation with its configured weight.
func (b *bench) clean(ctx context.Context) error {
	for _, n := range b.cluster.Spec.Nodes {
		m := b.cluster.Managers[n.Name]
		apps, err := m.List(ctx)
		if err != nil {
			return err
		}
		for _, a := range apps {
			if a.Path == "/"+b.cluster.Spec.App {
				if err := m.Undeploy(ctx, a.Context); err != nil && !errors.Is(err, tomcatmgr.ErrNotFound) {
					return fmt.Errorf("bench: clean %s on %s: %w", a.Name(), n.Name, err)
				}
			}
		}
	}
	return b.cluster.Router.Apply(ctx, b.allIn())
}

func (b *bench) allIn() map[string]lb.State {
	all := map[string]lb.State{}
	for _, n := range b.cluster.Spec.Nodes {
		all[n.Name] = lb.State{Weight: n.Weight}
	}
	return all
}

// spec is the engine's spec with no pause and no drain.
func (b *bench) spec() *plan.Spec {
	s := connect.Spec(b.cfg)
	s.NoDrain, s.PauseAfterCanary, s.Pause = true, false, 0
	return s
}

// engine returns an engine with a fresh state directory (journal, history, release store).
func (b *bench) engine() (*deployer.Engine, string, error) {
	b.dirs++
	dir := filepath.Join(b.opts.WorkDir, fmt.Sprintf("state-%02d", b.dirs))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, "", err
	}
	return &deployer.Engine{Spec: b.spec(), Managers: b.cluster.Managers, Router: b.cluster.Router,
		Prober: deployer.NewHTTPProber(5 * time.Second), Journal: &state.Journal{Dir: dir},
		Store: state.NewStore(dir), Sink: &b.tr}, dir, nil
}

// plan observes the cluster and plans the release of version v from the WAR at path.
func (b *bench) plan(ctx context.Context, e *deployer.Engine, v, path string) (*plan.Plan, error) {
	st, err := e.Observe(ctx)
	if err != nil {
		return nil, err
	}
	info, err := warInfo(path)
	if err != nil {
		return nil, err
	}
	return plan.BuildPlan(e.Spec, st, v, info)
}

// release runs zdd's release of version v (the WAR at path) and returns its wall time,
// planning included.
func (b *bench) release(ctx context.Context, e *deployer.Engine, v, path string) (time.Duration, error) {
	t0 := time.Now()
	p, err := b.plan(ctx, e, v, path)
	if err != nil {
		return 0, err
	}
	if err := e.Start(ctx, p, who); err != nil {
		return 0, err
	}
	return time.Since(t0), nil
}

// underLoad runs fn while the users send requests through both load balancers, with Settle
// before and after; it returns the report and when fn started.
func (b *bench) underLoad(ctx context.Context, fn func(context.Context) error) (*watch.Report, time.Time, error) {
	lctx, cancel := context.WithCancel(ctx)
	done := make(chan *watch.Report, 1)
	var urls []string
	for _, l := range b.env.LBs {
		urls = append(urls, l.URL+"/"+b.cluster.Spec.App+"/")
	}
	b.tr.start()
	go func() { done <- watch.Run(lctx, watch.Options{URLs: urls, Users: b.opts.Users}) }()
	settle := func() {
		t := time.NewTimer(b.opts.Settle)
		defer t.Stop()
		select {
		case <-ctx.Done():
		case <-t.C:
		}
	}
	settle()
	t0 := time.Now()
	err := fn(ctx)
	settle()
	cancel()
	r := <-done
	b.tr.stop(r)
	b.opts.Log("  load: %s", r)
	for i, f := range r.Failures {
		if i == 5 {
			b.opts.Log("  ... %d more", len(r.Failures)-5)
			break
		}
		b.opts.Log("  %s user %d: %s", f.At.Round(time.Millisecond), f.User, f.What)
	}
	return r, t0, err
}

// raw sends one Manager text command to a node, streaming the WAR at war (if any), and
// checks the "OK - " answer: the calls a script would make, without tomcatmgr.
func (b *bench) raw(ctx context.Context, n testenv.Node, method, cmd, war string) error {
	var body io.Reader
	var size int64
	if war != "" {
		f, err := os.Open(war)
		if err != nil {
			return err
		}
		defer f.Close()
		st, err := f.Stat()
		if err != nil {
			return err
		}
		body, size = f, st.Size()
	}
	req, err := http.NewRequestWithContext(ctx, method, n.ManagerURL+"/text/"+cmd, body)
	if err != nil {
		return err
	}
	req.ContentLength = size
	req.SetBasicAuth(b.env.Manager.User, b.env.Manager.Password)
	resp, err := (&http.Client{Timeout: 3 * time.Minute}).Do(req)
	if err != nil {
		return fmt.Errorf("bench: manager %s on %s: %w", strings.SplitN(cmd, "?", 2)[0], n.Name, err)
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 4096))
	if resp.StatusCode != http.StatusOK || !strings.HasPrefix(string(out), "OK - ") {
		line, _, _ := strings.Cut(string(out), "\n")
		return fmt.Errorf("bench: manager %s on %s: HTTP %d: %s", strings.SplitN(cmd, "?", 2)[0], n.Name, resp.StatusCode, line)
	}
	return nil
}

// eachNode runs fn on every node at once and joins every node's error (errgroup's Wait would
// keep only the first).
func eachNode(nodes []testenv.Node, fn func(testenv.Node) error) error {
	errs := make([]error, len(nodes))
	var g errgroup.Group
	for i, n := range nodes {
		g.Go(func() error { errs[i] = fn(n); return nil })
	}
	_ = g.Wait()
	return errors.Join(errs...)
}
