package releasecmd

import (
	"context"
	"encoding/json"
	"errors"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/nginx"
)

// hostsRouter is the fake router with per-host reads, as *nginx.Balancer has.
type hostsRouter struct {
	*deployertest.Router
	hosts []nginx.HostState
}

func (r *hostsRouter) HostStates(context.Context) []nginx.HostState { return r.hosts }

func TestStatusShowsEveryPartWhenALoadBalancerIsUnreachable(t *testing.T) {
	w := newWorld(t)
	require.NoError(t, w.deploy(t, "001", nil))
	dialErr := errors.New("load balancer lb2: remote: host key of 127.0.0.12:12222 CHANGED")
	good := map[string]lb.State{"n1": {Weight: 1}, "n2": {Weight: 1, Down: true}, "n3": {Weight: 1}}
	deps := w.deps()
	dial := deps.Dial
	deps.Dial = func(ctx context.Context, cfg *config.Config) (*Cluster, error) {
		c, err := dial(ctx, cfg)
		if err != nil {
			return nil, err
		}
		c.Router = &hostsRouter{Router: w.fc.Router, hosts: []nginx.HostState{{Host: "lb1", States: good}, {Host: "lb2", Err: dialErr}}}
		return c, nil
	}
	w.cfg.LB.Hosts = nil
	for _, h := range []string{"lb1", "lb2"} {
		w.cfg.LB.Hosts = append(w.cfg.LB.Hosts, config.LBHost{Name: h})
	}

	w.reset()
	deps.IO = w.io
	err := RunStatus(context.Background(), &StatusOptions{Deps: deps, Output: OutputText})
	assert.Equal(t, 1, outcome.Code(err), "a part could not be read")
	out := w.out.String()
	t.Logf("stdout:\n%s", out)
	assert.Contains(t, out, "node n1     001 running (0 sessions)\n")
	assert.Contains(t, out, "load balancers lb1, lb2 (states as read from lb1)\n")
	assert.Contains(t, out, "  lb2: error: load balancer lb2: remote: host key of 127.0.0.12:12222 CHANGED\n")
	assert.Contains(t, out, "  node n2     weight 1, OUT of rotation\n")
	assert.Regexp(t, `release 001-\S+: nothing -> 001, done`, out)
	assert.Contains(t, out, "lock: free\n")
	assert.ErrorContains(t, err, "host key of 127.0.0.12:12222 CHANGED")

	w.reset()
	deps.IO = w.io
	err = RunStatus(context.Background(), &StatusOptions{Deps: deps, Output: OutputJSON})
	assert.Equal(t, 1, outcome.Code(err))
	var st Status
	require.NoError(t, json.Unmarshal([]byte(w.out.String()), &st))
	require.Len(t, st.Nodes, 3)
	assert.Equal(t, []string{"lb1", "lb2"}, st.LoadBalancers.Hosts)
	assert.Equal(t, []string{"lb1"}, st.LoadBalancers.ReadFrom)
	assert.Equal(t, []HostError{{Host: "lb2", Error: dialErr.Error()}}, st.LoadBalancers.HostErrors)
	assert.Equal(t, "lb2 could not be read", st.LoadBalancers.Error)
	assert.Len(t, st.LoadBalancers.Nodes, 3)
	require.NotNil(t, st.Release)
	assert.Equal(t, []string{dialErr.Error()}, st.Errors)

	// Both hosts read but disagree: lb1's states are shown and the difference is an error.
	other := map[string]lb.State{"n1": {Weight: 1}, "n2": {Weight: 1}, "n3": {Weight: 1}}
	deps.Dial = func(ctx context.Context, cfg *config.Config) (*Cluster, error) {
		c, err := dial(ctx, cfg)
		c.Router = &hostsRouter{Router: w.fc.Router, hosts: []nginx.HostState{{Host: "lb1", States: good}, {Host: "lb2", States: other}}}
		return c, err
	}
	w.reset()
	deps.IO = w.io
	err = RunStatus(context.Background(), &StatusOptions{Deps: deps, Output: OutputText})
	assert.Equal(t, 1, outcome.Code(err))
	assert.Contains(t, w.out.String(), "  error: lb2 disagree(s) with lb1; the states shown are lb1's\n")

	// Every host read and agreeing: no error, exit 0.
	deps.Dial = func(ctx context.Context, cfg *config.Config) (*Cluster, error) {
		c, err := dial(ctx, cfg)
		c.Router = &hostsRouter{Router: w.fc.Router, hosts: []nginx.HostState{{Host: "lb1", States: good}, {Host: "lb2", States: good}}}
		return c, err
	}
	w.reset()
	deps.IO = w.io
	require.NoError(t, RunStatus(context.Background(), &StatusOptions{Deps: deps, Output: OutputText}))
	assert.Contains(t, w.out.String(), "load balancers lb1, lb2\n")
}
