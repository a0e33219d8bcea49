package deployer

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"time"

	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// SessionWatchInterval is how often the session ids of a context are read while its undeploy
// runs, to count the sessions it ends. Tomcat ends a context's sessions as the undeploy starts
// stopping it, and a session created after the last read before that is missed: on testenv,
// reads every 100 ms missed the 2-3 sessions a context that had just started created before its
// undeploy (docs/faults.md). One read takes 1-150 ms there.
const SessionWatchInterval = 20 * time.Millisecond

// sessionReadTimeout bounds one read of a context's session ids during an undeploy.
const sessionReadTimeout = 2 * time.Second

// undeployCounted undeploys cx from nodes, one at a time, and adds the sessions that end with it
// to rel.LostSessions. The sessions are counted by id at the moment of each undeploy: the ids of
// cx on the node are read right before the call and every SessionWatchInterval until it returns
// (a context that a cancelled deploy is still installing starts serving, as a backup server, while
// zdd waits to undeploy it, and the sessions it creates then end with it too). An id counts once
// per engine, however many nodes held it (with replication every node holds every session).
// When the ids cannot be read on a node (no JMX access), the count falls back to the contexts'
// session counts (Manager list) before the step, as before. The count includes the sessions their
// users abandoned and that have not expired yet: Tomcat cannot tell them from idle ones.
func (e *Engine) undeployCounted(ctx context.Context, idx int, nodes []string, cx tomcatmgr.Context, rel *state.Release) error {
	before, berr := e.sessions(ctx, cx)
	counted, byIDs, fromList := 0, true, 0
	var err error
	for _, name := range nodes {
		var ids map[string]bool
		var ok bool
		var lost int
		ids, ok, lost, err = e.undeployWatched(ctx, name, cx)
		counted += e.tallyEnded(cx, ids)
		byIDs = byIDs && ok
		fromList += lost
		if err != nil {
			break
		}
	}
	n := counted
	if !byIDs {
		n = fromList
		if berr == nil {
			n += before
		}
	}
	if n > 0 {
		rel.LostSessions += n
		e.emit(Event{Type: EventWarning, Step: idx, Kind: "undeploy", Message: fmt.Sprintf("%d sessions of %s end with it", n, cx.Name())})
	}
	return err
}

// undeployWatched runs undeployNode while reading the session ids of cx on node (right before
// each undeploy call and every SessionWatchInterval while it runs), and returns
// every id seen; ok is false when a read failed otherwise than with ErrNotFound (a context not
// started yet, or gone, has no sessions) and no read succeeded. lost is undeployNode's own
// count (the sessions listed before a retried undeploy).
func (e *Engine) undeployWatched(ctx context.Context, node string, cx tomcatmgr.Context) (ids map[string]bool, ok bool, lost int, err error) {
	ids = map[string]bool{}
	read := func(ctx context.Context) error {
		rctx, cancel := context.WithTimeout(ctx, sessionReadTimeout)
		defer cancel()
		got, err := e.Managers[node].SessionIDs(rctx, cx)
		for _, id := range got {
			ids[id] = true
		}
		return err
	}
	succeeded, failed := false, 0
	var lastErr error
	note := func(err error) {
		switch {
		case err == nil, errors.Is(err, tomcatmgr.ErrNotFound):
			succeeded = true
		default:
			failed++
			lastErr = err
		}
	}
	var mu sync.Mutex // read runs in the watch below and right before each undeploy call
	readNow := func(ctx context.Context) {
		mu.Lock()
		defer mu.Unlock()
		note(read(ctx))
	}
	stop := make(chan struct{})
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(SessionWatchInterval)
		defer t.Stop()
		for {
			select {
			case <-stop:
				return
			case <-ctx.Done():
				return
			case <-t.C:
			}
			readNow(ctx)
		}
	}()
	lost, err = e.undeployNodeThen(ctx, node, cx, readNow)
	close(stop)
	wg.Wait()
	if failed > 0 {
		e.emit(Event{Type: EventWarning, Kind: "undeploy", Node: node, Message: fmt.Sprintf(
			"%d reads of the sessions of %s failed while it was undeployed (last: %v): the sessions that ended with it may be undercounted", failed, cx.Name(), lastErr)})
	}
	return ids, succeeded || failed == 0, lost, err
}

// tallyEnded records ids as ended for cx and returns how many were not recorded before.
func (e *Engine) tallyEnded(cx tomcatmgr.Context, ids map[string]bool) int {
	if e.ended == nil {
		e.ended = map[string]map[string]bool{}
	}
	seen := e.ended[cx.Name()]
	if seen == nil {
		seen = map[string]bool{}
		e.ended[cx.Name()] = seen
	}
	n := 0
	for id := range ids {
		if !seen[id] {
			seen[id] = true
			n++
		}
	}
	return n
}
