package deployer

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/wait"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// GateError is a gate that failed: the check, the node and why.
type GateError struct {
	// Check is "health", "running", "clustered" or "replication".
	Check string
	// Node is the node where it failed.
	Node string
	// Err says why.
	Err error
	// Hint says what to do, if anything.
	Hint string
}

// Error implements error.
func (g *GateError) Error() string {
	s := fmt.Sprintf("gate %s on %s: %v", g.Check, g.Node, g.Err)
	if g.Hint != "" {
		s += " (" + g.Hint + ")"
	}
	return s
}

// Unwrap returns the wrapped error, for errors.Is and errors.As.
func (g *GateError) Unwrap() error { return g.Err }

// gate checks the new version on the nodes before traffic reaches it: the version runs, its
// health page answers 200 directly on the node, its session manager is clustered, and a probe
// session created on ProbeFrom is found by id on every other node.
func (e *Engine) gate(ctx context.Context, idx int, g *plan.GateStep) error {
	cx := e.app(g.Version)
	for _, name := range g.Nodes {
		if err := e.gateNode(ctx, name, cx, slices.Contains(g.StateFrom, name)); err != nil {
			e.gateEvent(idx, name, false, err.Error())
			return err
		}
		e.gateEvent(idx, name, true, cx.Name()+" running, healthy, clustered")
	}
	if len(g.Nodes) < 2 {
		return nil
	}
	if err := e.probe(ctx, idx, g, cx); err != nil {
		e.gateEvent(idx, g.ProbeFrom, false, err.Error())
		return err
	}
	return nil
}

func (e *Engine) gateEvent(idx int, node string, ok bool, msg string) {
	e.emit(Event{Type: EventGate, Step: idx, Kind: "gate", Node: node, Passed: &ok, Message: msg})
}

func (e *Engine) gateNode(ctx context.Context, name string, cx tomcatmgr.Context, needState bool) error {
	m := e.Managers[name]
	apps, err := m.List(ctx)
	if err != nil {
		return err
	}
	if a, ok := findApp(apps, cx); !ok || a.State != tomcatmgr.StateRunning {
		return &GateError{Check: "running", Node: name, Err: fmt.Errorf("%s is not running", cx.Name())}
	}
	if err := e.waitHealthPage(ctx, name, strings.TrimRight(e.node(name).URL, "/")+cx.Path+e.Spec.HealthPath); err != nil {
		return err
	}
	sm, err := m.SessionManager(ctx, cx)
	if err != nil {
		return &GateError{Check: "clustered", Node: name, Err: err}
	}
	if !sm.Clustered {
		return &GateError{Check: "clustered", Node: name, Err: fmt.Errorf("%s uses %s, which does not replicate sessions", cx.Name(), sm.ClassName),
			Hint: "the WAR's web.xml needs <distributable/>, and no <Manager> may be configured for the context"}
	}
	if needState && (!sm.StateTransferred || sm.NoContextManagerReceived) {
		return &GateError{Check: "state-transfer", Node: name,
			Err:  fmt.Errorf("%s started without the sessions of the nodes already serving it (stateTransferred=%t, noContextManagerReceived=%t)", cx.Name(), sm.StateTransferred, sm.NoContextManagerReceived),
			Hint: "DeltaManager asks the oldest cluster member for the sessions; put the oldest nodes in the canary batch (the first nodes of the configuration)"}
	}
	return nil
}

// probe creates a session on ProbeFrom and waits until every other node of the gate has it.
func (e *Engine) probe(ctx context.Context, idx int, g *plan.GateStep, cx tomcatmgr.Context) error {
	path := e.Spec.ProbePath
	if path == "" {
		path = "/"
	}
	url := strings.TrimRight(e.node(g.ProbeFrom).URL, "/") + cx.Path + path
	id, err := e.Prober.NewSession(ctx, url)
	if err != nil {
		return &GateError{Check: "replication", Node: g.ProbeFrom, Err: fmt.Errorf("create a probe session at %s: %w", url, err),
			Hint: "app.probe_path must name a page that creates a session"}
	}
	defer func() {
		// The probe is not a user: expire it (DeltaManager expires it on every node).
		pctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
		defer cancel()
		_ = e.Managers[g.ProbeFrom].ExpireSession(pctx, cx, id)
	}()
	for _, name := range g.Nodes {
		if name == g.ProbeFrom {
			continue
		}
		err := wait.Until(ctx, 200*time.Millisecond, e.Spec.ReplicationTimeout, "probe session on "+name, func(ctx context.Context) (bool, error) {
			ok, err := e.Managers[name].HasSession(ctx, cx, id)
			return ok, err
		})
		if err != nil {
			if errors.Is(err, wait.ErrTimeout) {
				err = fmt.Errorf("probe session created on %s never reached %s", g.ProbeFrom, name)
			}
			return &GateError{Check: "replication", Node: name, Err: err,
				Hint: "check the cluster's membership (JMX Members) and that the WAR is distributable"}
		}
		e.gateEvent(idx, name, true, "probe session from "+g.ProbeFrom+" replicated")
	}
	return nil
}
