package deployer

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/http"
	"slices"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/wait"
	"github.com/saitodrom/zdd/internal/fanout"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// The readmission gate runs before a route step puts a node in rotation that is out of it now
// (in a release, a rollback, an abort or a resume). The node must answer its health page,
// run every version with a clustered session manager, and hold the sessions of a peer that
// is in rotation now, as fresh as the peer holds them: every session id the peer lists, and
// for a sample of them a last-accessed time no older than the peer's. When they differ the
// node is asked to fetch the sessions again (DeltaManager getAllClusterSessions) and
// compared again until Spec.ReplicationTimeout; a node that still differs stays out.
const (
	// readmitSample is how many sessions of each version have their last-accessed times
	// compared (every id is compared for presence).
	readmitSample = 16
	// readmitSlack is how much older a node's last-accessed time may be than the peer's: the
	// MBean prints whole seconds, and replication takes a moment.
	readmitSlack = time.Second
	// readmitParallel bounds the JMX calls the gate has in flight per node.
	readmitParallel = 8
	// deltaManager is the session manager whose sessions are on every node.
	deltaManager = "org.apache.catalina.ha.session.DeltaManager"
)

// ReadmitError is a route step that kept nodes out of rotation because they failed the
// readmission gate. The rest of the route was applied when Applied is true (the nodes that
// passed serve); it was not when it would have left no node in rotation.
type ReadmitError struct {
	// Nodes are the nodes kept out, in the order of the route.
	Nodes []string
	// Errs say why, one *GateError per node, in the same order.
	Errs []error
	// Applied tells whether the rest of the route was applied.
	Applied bool
	// NoneLeft tells that the route was not applied because no node would have been left in
	// rotation.
	NoneLeft bool
}

// Error implements error.
func (r *ReadmitError) Error() string {
	s := fmt.Sprintf("readmission: kept %s out of rotation: %v", strings.Join(r.Nodes, ","), errors.Join(r.Errs...))
	if r.NoneLeft {
		s += "; the route was not applied, since no node would have been left in rotation"
	}
	return strings.ReplaceAll(s, "\n", "; ") + " (`zdd status` shows the nodes; once their sessions match, `zdd abort` or `zdd resume` routes them in)"
}

// Unwrap returns the gate errors.
func (r *ReadmitError) Unwrap() []error { return r.Errs }

// readmit runs the readmission gate on every node of r.In that is out of rotation now, in
// parallel, and returns the ones that may go in, the ones that must stay out (with why), and
// the load balancers' states it read. When the states cannot be read (a load balancer is
// unreachable, or the two disagree after a failed change), every node of r.In is gated and
// compared with the others of r.In, and states is nil.
func (e *Engine) readmit(ctx context.Context, idx int, r *plan.RouteStep) (in []string, kept *ReadmitError, states map[string]lb.State) {
	states, err := e.liveStates(ctx)
	var newIn, peers []string
	peersFor := func(n string) []string { return peers }
	if err != nil {
		e.emit(Event{Type: EventWarning, Step: idx, Kind: "readmit", Message: fmt.Sprintf(
			"cannot read the load balancers' states (%v): every node of the step is gated, its sessions compared with the others of the step", err)})
		states, newIn = nil, r.In
		peersFor = func(n string) []string {
			return slices.DeleteFunc(slices.Clone(r.In), func(p string) bool { return p == n })
		}
	}
	for _, n := range r.In {
		if st, ok := states[n]; states != nil && (!ok || st.Down) {
			newIn = append(newIn, n)
		}
	}
	// Peers are the nodes in rotation now, those that stay in first.
	for _, out := range []bool{false, true} {
		for _, n := range e.Spec.NodeNames() {
			if st, ok := states[n]; ok && !st.Down && slices.Contains(r.Out, n) == out && !slices.Contains(newIn, n) {
				peers = append(peers, n)
			}
		}
	}
	_, errs := fanout.Each(newIn, func(n string) (struct{}, error) {
		return struct{}{}, e.readmitNode(ctx, idx, n, peersFor(n), r.Out)
	})
	kept = &ReadmitError{}
	for _, n := range r.In {
		i := slices.Index(newIn, n)
		if i >= 0 && errs[i] != nil {
			kept.Nodes, kept.Errs = append(kept.Nodes, n), append(kept.Errs, errs[i])
			e.readmitEvent(idx, n, false, errs[i].Error())
			continue
		}
		in = append(in, n)
	}
	if len(kept.Nodes) == 0 {
		return in, nil, states
	}
	return in, kept, states
}

// routeStates is what route applies once the gate kept some nodes out: In without them, Out
// with them. leavesNone tells whether no node would be in rotation afterwards.
func (e *Engine) routeStates(current map[string]lb.State, r *plan.RouteStep, in []string, kept []string) (states map[string]lb.State, leavesNone bool) {
	states = map[string]lb.State{}
	for _, n := range in {
		states[n] = lb.State{Weight: e.node(n).Weight}
	}
	for _, n := range append(slices.Clone(r.Out), kept...) {
		states[n] = lb.State{Weight: e.node(n).Weight, Down: true}
	}
	for n, st := range current { // nil when unknown: then only in counts
		if _, set := states[n]; !set && !st.Down {
			return states, false
		}
	}
	return states, len(in) == 0
}

func (e *Engine) readmitEvent(idx int, node string, ok bool, msg string) {
	e.emit(Event{Type: EventGate, Step: idx, Kind: "readmit", Node: node, Passed: &ok, Message: msg})
}

// readmitNode proves that node can serve the sessions of the nodes in rotation (peers; those
// in out leave rotation in the same change): it is healthy, every version it runs has a
// clustered session manager, its newest version runs on a peer that stays in rotation (else
// new sessions it creates could not be served by the others), and the sessions of the
// versions it shares with the peer match.
func (e *Engine) readmitNode(ctx context.Context, idx int, node string, peers, out []string) error {
	t0 := time.Now()
	m := e.Managers[node]
	apps, err := m.List(ctx)
	if err != nil {
		return &GateError{Check: "running", Node: node, Err: err}
	}
	running := runningVersions(apps, "/"+e.Spec.App)
	peer, peerRuns, perr := e.readmitPeer(ctx, peers)
	if len(running) == 0 {
		if perr == nil && len(peerRuns) > 0 {
			return &GateError{Check: "running", Node: node, Err: fmt.Errorf("no version of /%s runs here; %s (in rotation) runs %s", e.Spec.App, peer, strings.Join(peerRuns, ","))}
		}
		// The rollback of a first release: nothing runs anywhere, nothing to serve.
		e.readmitEvent(idx, node, true, fmt.Sprintf("no version of /%s runs here or on the nodes in rotation", e.Spec.App))
		return nil
	}
	// The health page is polled while the sessions are compared: the gate costs the longer
	// of the two, not their sum.
	hctx, cancel := context.WithCancel(ctx)
	defer cancel()
	health := make(chan error, 1)
	var tHealth time.Duration
	go func() {
		err := e.readmitHealth(hctx, node)
		tHealth = time.Since(t0)
		if err != nil {
			cancel()
		}
		health <- err
	}()
	t1 := time.Now()
	shared, checked, err := e.readmitState(hctx, idx, node, running, peer, peerRuns, out, perr)
	tState := time.Since(t1)
	if herr := <-health; herr != nil {
		return herr
	}
	if err != nil {
		return err
	}
	msg := fmt.Sprintf("healthy, clustered (%s)", strings.Join(running, ","))
	switch {
	case peer != "" && len(shared) > 0:
		msg += fmt.Sprintf(", sessions of %s match %s (%d compared)", strings.Join(shared, ","), peer, checked)
	case peer != "":
		msg += fmt.Sprintf(", no version shared with %s to compare", peer)
	}
	e.readmitEvent(idx, node, true, fmt.Sprintf("%s in %dms (health %dms, sessions %dms)", msg, time.Since(t0).Milliseconds(),
		tHealth.Milliseconds(), tState.Milliseconds()))
	return nil
}

// readmitState checks that every version running on node has a clustered session manager,
// that its newest version runs on peer when peer stays in rotation, and that the sessions of
// the versions it shares with peer match; it returns those versions and how many sessions
// it compared. perr is why no peer answered (then nothing is compared).
func (e *Engine) readmitState(ctx context.Context, idx int, node string, running []string, peer string, peerRuns, out []string, perr error) (shared []string, checked int, err error) {
	delta := map[string]bool{}
	for _, v := range running {
		cx := e.app(v)
		sm, err := e.Managers[node].SessionManager(ctx, cx)
		if err != nil {
			return nil, 0, &GateError{Check: "clustered", Node: node, Err: err}
		}
		if !sm.Clustered {
			return nil, 0, &GateError{Check: "clustered", Node: node, Err: fmt.Errorf("%s uses %s, which does not replicate sessions", cx.Name(), sm.ClassName),
				Hint: "the WAR's web.xml needs <distributable/>, and no <Manager> may be configured for the context"}
		}
		delta[v] = sm.ClassName == deltaManager
	}
	if perr != nil {
		e.emit(Event{Type: EventWarning, Step: idx, Kind: "readmit", Node: node, Message: perr.Error() + "; sessions not compared"})
		return nil, 0, nil
	}
	newest := running[len(running)-1]
	if !slices.Contains(out, peer) && !slices.Contains(peerRuns, newest) {
		// New sessions on the node would get a version the nodes in rotation cannot serve.
		return nil, 0, &GateError{Check: "version", Node: node, Err: fmt.Errorf("it runs %s, which %s (in rotation) does not run (%s)", e.app(newest).Name(), peer, strings.Join(peerRuns, ",")),
			Hint: "undeploy that version from the node (`zdd abort` does when it was the release's)"}
	}
	for _, v := range running {
		switch {
		case !slices.Contains(peerRuns, v):
		case !delta[v]:
			// A BackupManager holds each session on two nodes only, and fetches the others on use.
			e.emit(Event{Type: EventWarning, Step: idx, Kind: "readmit", Node: node, Message: e.app(v).Name() + ": not a DeltaManager; sessions not compared"})
		default:
			shared = append(shared, v)
		}
	}
	for _, v := range shared {
		n, err := e.readmitSessions(ctx, idx, node, peer, e.app(v))
		if err != nil {
			return shared, checked, err
		}
		checked += n
	}
	return shared, checked, nil
}

// runningVersions returns the versions of path that run, in Tomcat's order.
func runningVersions(apps []tomcatmgr.App, path string) []string {
	var out []string
	for _, a := range apps {
		if a.Path == path && a.State == tomcatmgr.StateRunning {
			out = append(out, a.Version)
		}
	}
	slices.SortFunc(out, tomcatmgr.CompareVersions)
	return out
}

// readmitHealth waits for the node's health page (the newest version's) to answer 200.
func (e *Engine) readmitHealth(ctx context.Context, node string) error {
	return e.waitHealthPage(ctx, node, strings.TrimRight(e.node(node).URL, "/")+"/"+e.Spec.App+e.Spec.HealthPath)
}

// waitHealthPage waits, up to the spec's health timeout, for the health page at url on node
// to answer 200; it fails with the health GateError, hinting at the last answer.
func (e *Engine) waitHealthPage(ctx context.Context, node, url string) error {
	last := 0
	err := wait.Until(ctx, 500*time.Millisecond, e.Spec.HealthTimeout, "the health page "+url, func(ctx context.Context) (bool, error) {
		code, err := e.Prober.Health(ctx, url)
		last = code
		if err != nil {
			return false, wait.Reason(err)
		}
		return code == http.StatusOK, wait.Reason(fmt.Errorf("HTTP %d", code))
	})
	if err != nil {
		return &GateError{Check: "health", Node: node, Err: err, Hint: fmt.Sprintf("last answer HTTP %d; the page must answer 200", last)}
	}
	return nil
}

// readmitPeer picks the first peer that answers and returns it with the versions running
// there. An error means no peer in rotation answered (or none is in rotation).
func (e *Engine) readmitPeer(ctx context.Context, peers []string) (peer string, runs []string, err error) {
	if len(peers) == 0 {
		return "", nil, errors.New("no node is in rotation to compare with")
	}
	var errs []error
	for _, p := range peers {
		apps, err := e.Managers[p].List(ctx)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", p, err))
			continue
		}
		return p, runningVersions(apps, "/"+e.Spec.App), nil
	}
	return "", nil, fmt.Errorf("no node in rotation answered: %w", errors.Join(errs...))
}

// readmitSessions compares cx's sessions on node with peer's; when they differ it asks node
// to fetch them again and compares until they match or Spec.ReplicationTimeout passes. It
// returns how many sessions the last comparison covered.
func (e *Engine) readmitSessions(ctx context.Context, idx int, node, peer string, cx tomcatmgr.Context) (int, error) {
	stale, n, err := e.compareSessions(ctx, node, peer, cx, nil)
	if err != nil || len(stale) == 0 {
		return n, err
	}
	e.emit(Event{Type: EventWarning, Step: idx, Kind: "readmit", Node: node, Message: fmt.Sprintf(
		"%s: %d of %d sessions compared differ from %s (%s); fetching the sessions again", cx.Name(), len(stale), n, peer, stale[0])})
	if err := e.Managers[node].ResyncSessions(ctx, cx); err != nil {
		return n, &GateError{Check: "sessions", Node: node, Err: fmt.Errorf("%s: fetch the sessions again: %w", cx.Name(), err),
			Hint: "the node keeps stale sessions; restart it so that it fetches them at start"}
	}
	err = wait.Until(ctx, 500*time.Millisecond, e.Spec.ReplicationTimeout, cx.Name()+" sessions on "+node+" to match "+peer, func(ctx context.Context) (bool, error) {
		stale, n, err = e.compareSessions(ctx, node, peer, cx, stale)
		if err != nil || len(stale) == 0 {
			return err == nil, err
		}
		return false, wait.Reason(fmt.Errorf("%d of %d sessions differ, e.g. %s", len(stale), n, stale[0]))
	})
	if err != nil {
		return n, &GateError{Check: "sessions", Node: node, Err: fmt.Errorf("%s does not hold the sessions %s serves: %w", cx.Name(), peer, err),
			Hint: "its copies are stale or missing (it missed replication); restart it so that it fetches them at start, then `zdd abort` or `zdd resume`"}
	}
	return n, nil
}

// compareSessions returns the sessions of cx that peer holds and node lacks or holds with an
// older last-accessed time, each as "<id> <why>", and how many it compared: every id for
// presence, and the last-accessed times of a sample plus the ids in again.
func (e *Engine) compareSessions(ctx context.Context, node, peer string, cx tomcatmgr.Context, again []string) (stale []string, n int, err error) {
	pm, nm := e.Managers[peer], e.Managers[node]
	peerIDs, err := pm.SessionIDs(ctx, cx)
	if err != nil {
		return nil, 0, &GateError{Check: "sessions", Node: node, Err: fmt.Errorf("list the sessions of %s on %s: %w", cx.Name(), peer, err)}
	}
	nodeIDs, err := nm.SessionIDs(ctx, cx)
	if err != nil {
		return nil, 0, &GateError{Check: "sessions", Node: node, Err: fmt.Errorf("list the sessions of %s: %w", cx.Name(), err)}
	}
	has := make(map[string]bool, len(nodeIDs))
	for _, id := range nodeIDs {
		has[id] = true
	}
	// Ids missing from the node's list (a session created after the node's list was read is
	// then found), the ids that differed last time and a sample get their times compared.
	seen := map[string]bool{}
	var check []string
	add := func(id string) {
		if !seen[id] {
			seen[id] = true
			check = append(check, id)
		}
	}
	for _, s := range again {
		add(strings.Fields(s)[0])
	}
	missing, sampled := 0, 0
	for _, id := range peerIDs {
		if !has[id] && missing < readmitSample {
			add(id)
			missing++
		}
	}
	for _, i := range rand.Perm(len(peerIDs)) {
		if id := peerIDs[i]; sampled < readmitSample && has[id] && !seen[id] {
			add(id)
			sampled++
		}
	}
	stale, err = e.compareTimes(ctx, node, peer, cx, check)
	return stale, len(check), err
}

// compareTimes reads each id's last-accessed time on peer and then on node, readmitParallel
// at a time.
func (e *Engine) compareTimes(ctx context.Context, node, peer string, cx tomcatmgr.Context, ids []string) ([]string, error) {
	whys, errs := fanout.EachLimit(ids, readmitParallel, func(id string) (string, error) {
		return e.compareOne(ctx, node, peer, cx, id)
	})
	if _, err := fanout.First(errs); err != nil {
		return nil, &GateError{Check: "sessions", Node: node, Err: fmt.Errorf("compare the sessions of %s with %s: %w", cx.Name(), peer, err)}
	}
	var stale []string
	for i, why := range whys {
		if why != "" {
			stale = append(stale, ids[i]+" "+why)
		}
	}
	slices.Sort(stale)
	return stale, nil
}

// compareOne says how id differs on node from peer ("" when it does not, or when the peer no
// longer has it).
func (e *Engine) compareOne(ctx context.Context, node, peer string, cx tomcatmgr.Context, id string) (string, error) {
	pt, ok, err := e.Managers[peer].LastAccessed(ctx, cx, id)
	if err != nil || !ok {
		return "", err
	}
	nt, ok, err := e.Managers[node].LastAccessed(ctx, cx, id)
	switch {
	case err != nil:
		return "", err
	case !ok:
		return "missing", nil
	case nt.Before(pt.Add(-readmitSlack)):
		return fmt.Sprintf("last accessed %s, on %s %s", nt.Format(time.TimeOnly), peer, pt.Format(time.TimeOnly)), nil
	}
	return "", nil
}

// orNil returns r as an error, nil when r is nil.
func (r *ReadmitError) orNil() error {
	if r == nil {
		return nil
	}
	return r
}
