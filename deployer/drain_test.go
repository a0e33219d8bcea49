package deployer

import (
	"context"
	"fmt"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// slowList is a Manager whose List calls take as long as delay says (by call number, from 1),
// or until their context ends, when they fail as tomcatmgr does when the caller's deadline cuts
// a request off.
type slowList struct {
	Manager
	calls atomic.Int32
	delay func(call int) time.Duration
}

func (s *slowList) List(ctx context.Context) ([]tomcatmgr.App, error) {
	if d := s.delay(int(s.calls.Add(1))); d > 0 {
		select {
		case <-ctx.Done():
			return nil, fmt.Errorf("tomcatmgr: list: timed out: %w", ctx.Err())
		case <-time.After(d):
		}
	}
	return s.Manager.List(ctx)
}

// events is a Sink that keeps the events.
type events struct {
	mu  sync.Mutex
	got []Event
}

func (s *events) Emit(e Event) {
	s.mu.Lock()
	s.got = append(s.got, e)
	s.mu.Unlock()
}

func (s *events) of(typ string) []Event {
	s.mu.Lock()
	defer s.mu.Unlock()
	var out []Event
	for _, e := range s.got {
		if e.Type == typ {
			out = append(out, e)
		}
	}
	return out
}

// TestDrainDeadlineDuringSlowPollKeepsVersions: the drain's deadline passes while a poll of
// the sessions is in flight (the second poll, slow as under load): the release succeeds, a
// warning names the version kept with its session count, and the undeploy keeps it.
func TestDrainDeadlineDuringSlowPollKeepsVersions(t *testing.T) {
	defer func(d time.Duration) { waitReportEvery = d }(waitReportEvery)
	waitReportEvery = 500 * time.Millisecond
	c := deployertest.New(three, "001", "002")
	for _, n := range three {
		c.Apps[n]["001"].Sessions = 7
	}
	spec := testSpec(three)
	spec.DrainTimeout = 2200 * time.Millisecond // the first poll at 0 s, the second at 2 s
	e := newEngine(t, c, spec)
	// n2's second List (the drain's second poll, at 2 s) outlasts the deadline; its third (the
	// undeploy's count) is slow but answers.
	slow := &slowList{Manager: e.Managers["n2"], delay: func(call int) time.Duration {
		return map[int]time.Duration{2: time.Minute, 3: 300 * time.Millisecond}[call]
	}}
	e.Managers["n2"] = slow
	sink := &events{}
	e.Sink = sink
	rel := &state.Release{Plan: plan.Plan{App: "app", From: []string{"001"}, To: "002", Steps: plan.DrainSteps(spec, []string{"001"})}}
	t0 := time.Now()
	err := e.Continue(context.Background(), rel)
	require.NoError(t, err, "the drain deadline is the plan's promise, not a failure")
	assert.Less(t, time.Since(t0), 5*time.Second)
	var msgs []string
	for _, w := range sink.of(EventWarning) {
		msgs = append(msgs, w.Message)
	}
	all := strings.Join(msgs, "\n")
	assert.Contains(t, all, "kept 001 (7 sessions)")
	assert.Contains(t, all, "/app##001 kept: 7 sessions still open")
	assert.Equal(t, []string{"001", "002"}, c.Versions("n1"), "users keep their sessions")
	assert.Equal(t, 0, rel.LostSessions)
	assert.Equal(t, state.StatusDone, rel.Status)
	waits := sink.of(EventWaiting)
	require.NotEmpty(t, waits, "a drain of 2 s reports while it waits")
	for _, w := range waits[:1] {
		assert.Equal(t, "drain", w.Kind)
		assert.Contains(t, w.Message, "the old sessions to end")
		require.NotNil(t, w.Deadline)
		assert.Positive(t, w.Waited)
	}
}

// TestDrainDeadlineBeforeFirstPollCompletes: a first poll that outlasts the deadline keeps
// the versions (their sessions could not be counted).
func TestDrainDeadlineBeforeFirstPollCompletes(t *testing.T) {
	c := deployertest.New(three, "001", "002")
	spec := testSpec(three)
	spec.DrainTimeout = 100 * time.Millisecond
	e := newEngine(t, c, spec)
	slow := &slowList{Manager: e.Managers["n3"], delay: func(int) time.Duration { return time.Minute }}
	e.Managers["n3"] = slow
	sink := &events{}
	e.Sink = sink
	d := plan.DrainSteps(spec, []string{"001"})[0]
	require.NotNil(t, d.Drain)
	err := e.runStep(context.Background(), 1, d, &state.Release{})
	require.NoError(t, err)
	w := sink.of(EventWarning)
	require.Len(t, w, 1)
	assert.Contains(t, w[0].Message, "could not be counted")
}

// TestLongDeployReportsWhileItRuns: a deploy call that hangs produces waiting events.
func TestLongDeployReportsWhileItRuns(t *testing.T) {
	defer func(d time.Duration) { waitReportEvery = d }(waitReportEvery)
	waitReportEvery = 30 * time.Millisecond
	c := deployertest.New(three, "001")
	c.OnDeploy = func(node string) {
		if node == "n1" {
			time.Sleep(200 * time.Millisecond)
		}
	}
	spec := testSpec(three)
	spec.NoDrain = true
	spec.DeployTimeout = time.Minute
	e := newEngine(t, c, spec)
	sink := &events{}
	e.Sink = sink
	require.NoError(t, release(t, e, "002"))
	waits := sink.of(EventWaiting)
	require.GreaterOrEqual(t, len(waits), 4, "a report every 30 ms during a 200 ms deploy")
	for _, w := range waits {
		assert.Equal(t, "deploy", w.Kind)
		assert.Equal(t, "deploy of /app##002 on n1", w.Message)
		require.NotNil(t, w.Deadline)
		assert.WithinDuration(t, w.Time.Add(time.Minute), *w.Deadline, time.Second)
	}
	line := FormatText(waits[0])
	assert.Contains(t, line, "waiting for deploy of /app##002 on n1: 0s so far, until ")
}
