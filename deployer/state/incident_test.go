package state

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
)

func writeFile(t *testing.T, dir, name, body string) string {
	p := filepath.Join(dir, name)
	require.NoError(t, os.WriteFile(p, []byte(body), 0o644))
	return p
}

func TestStorePutGetRetain(t *testing.T) {
	src := t.TempDir()
	s := &Store{Dir: filepath.Join(t.TempDir(), "releases"), Keep: 1}
	var shas []string
	for i, body := range []string{"a", "b", "c", "d"} {
		info, err := s.Put(writeFile(t, src, body+".war", body))
		require.NoError(t, err)
		assert.Equal(t, int64(1), info.Size)
		old := time.Now().Add(time.Duration(i-10) * time.Minute)
		require.NoError(t, os.Chtimes(info.Path, old, old))
		shas = append(shas, info.SHA256)
	}
	again, err := s.Put(writeFile(t, src, "a2.war", "a"))
	require.NoError(t, err)
	assert.Equal(t, shas[0], again.SHA256, "the same content is stored once")
	p, err := s.Get(shas[1])
	require.NoError(t, err)
	b, _ := os.ReadFile(p)
	assert.Equal(t, "b", string(b))
	_, err = s.Get("nope")
	assert.Error(t, err)

	// "a" was stored again just now: it is the newest; keep 1 besides the protected "b".
	removed, err := s.Retain(shas[1])
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{shas[2], shas[3]}, removed)
	left, err := s.List()
	require.NoError(t, err)
	assert.ElementsMatch(t, []string{shas[0], shas[1]}, left)
}

func TestLastGoodSkipsRolledBackCode(t *testing.T) {
	h := []HistoryEntry{
		{ID: "1", App: "app", To: "001", SHA256: "A", Status: StatusDone},
		{ID: "2", App: "app", To: "002", SHA256: "B", Status: StatusDone},
		{ID: "3", App: "app", To: "003", SHA256: "C", Status: StatusRolledBack}, // failed gate
		{ID: "4", App: "app", Kind: KindLockRelease, Status: StatusDone},
	}
	g := LastGood(h, "app", "B")
	require.NotNil(t, g)
	assert.Equal(t, "001", g.Entry.To)
	assert.Equal(t, "B", LastGood(h, "app", "X").Entry.SHA256, "the newest done release")

	// zdd rollback took B away, deploying A again as 004; a second rollback finds nothing.
	h = append(h, HistoryEntry{ID: "5", App: "app", Kind: KindRollback, To: "004", SHA256: "A", Status: StatusDone,
		RolledBack: &RolledBack{Version: "002", SHA256: "B"}})
	assert.Nil(t, LastGood(h, "app", "A"), "never back to the rolled-back code B")
	assert.Equal(t, "A", SHAOf(h, nil, "app", "004"))
	assert.Equal(t, []string{"A"}, Protected(h, "app")[:1])

	h = append(h, HistoryEntry{ID: "6", App: "app", To: "005", SHA256: "D", Status: StatusDone, Contract: true})
	g = LastGood(h, "app", "D")
	require.NotNil(t, g)
	assert.Equal(t, "004", g.Entry.To)
	require.NotNil(t, ContractSince(h, g.Index))
	assert.Equal(t, "6", ContractSince(h, g.Index).ID)
}

func TestJournalHistoryAndSupersede(t *testing.T) {
	j := &Journal{Dir: t.TempDir()}
	old := &Release{ID: "002-a", Plan: plan.Plan{App: "app", To: "002", SHA256: "B"}, Status: StatusRunning, Started: time.Now()}
	require.NoError(t, j.Save(old))
	rb := &Release{ID: "003-b", Supersedes: "002-a", Kind: KindRollback, Plan: plan.Plan{App: "app", To: "003", SHA256: "A"}, Status: StatusRunning}
	old2 := *old
	old2.Status, old2.TakenOverBy = StatusRolledBack, "zdd rollback by x@y"
	require.NoError(t, j.AppendHistory(&old2))
	require.NoError(t, j.Save(rb))
	require.ErrorIs(t, j.Save(old), ErrSuperseded, "the old holder never overwrites the rollback")
	old.Status = StatusInterrupted
	require.NoError(t, j.AppendHistory(old), "skipped silently")
	hist, err := j.History()
	require.NoError(t, err)
	require.Len(t, hist, 1)
	assert.Equal(t, StatusRolledBack, hist[0].Status)
	assert.Equal(t, KindRelease, hist[0].Kind)
}

func TestLockTakeOverForceAndStale(t *testing.T) {
	dir := t.TempDir()
	l := &Locker{Dir: dir, TTL: 300 * time.Millisecond}
	ctx := context.Background()
	a, err := l.Acquire(ctx, Lease{Holder: "alice", Host: "ci", PID: 1, Command: "zdd deploy"}, 0)
	require.NoError(t, err)
	_, err = l.Acquire(ctx, Lease{Holder: "bob"}, 0)
	require.ErrorIs(t, err, outcome.ErrLocked)
	assert.Contains(t, err.Error(), "alice@ci")
	_, err = l.ReleaseStale()
	require.ErrorIs(t, err, outcome.ErrLocked, "a live lease is not released without --force")

	cur, err := l.Read()
	require.NoError(t, err)
	b, err := l.TakeOver(Lease{Holder: "bob", Host: "laptop", PID: 2, Command: "zdd rollback"}, cur)
	require.NoError(t, err)
	select {
	case <-a.Lost():
	case <-time.After(2 * time.Second):
		t.Fatal("the old holder never noticed the takeover")
	}
	require.NoError(t, a.Release(), "releasing a lease taken over removes nothing")
	now, err := l.Read()
	require.NoError(t, err)
	assert.Equal(t, "bob", now.Holder)
	require.NoError(t, b.Release())

	// A lease left by a killed process expires and is taken by the next one.
	stale := &Locker{Dir: dir, TTL: 200 * time.Millisecond}
	_, err = stale.Acquire(ctx, Lease{Holder: "ghost"}, 0)
	require.NoError(t, err)
	lease, _ := stale.Read()
	// simulate the holder's death: rewrite the lease with an expiry in the past, nobody renews it
	lease.Expires = time.Now().Add(-time.Second)
	require.NoError(t, writeAtomic(stale.path(), mustJSON(t, lease)))
	was, err := stale.ReleaseStale()
	require.NoError(t, err)
	assert.Equal(t, "ghost", was.Holder)

	c, err := l.Acquire(ctx, Lease{Holder: "carol"}, 0)
	require.NoError(t, err)
	was, err = l.ForceRelease()
	require.NoError(t, err)
	assert.Equal(t, "carol", was.Holder)
	j := &Journal{Dir: dir}
	require.NoError(t, j.RecordLockRelease(Lease{Holder: "dave", Host: "ops", Command: "zdd lock release --force"}, was))
	hist, _ := j.History()
	require.Len(t, hist, 1)
	assert.Contains(t, hist[0].Note, "carol")
	_ = c
}

func mustJSON(t *testing.T, v any) []byte {
	b, err := json.Marshal(v)
	require.NoError(t, err)
	return b
}
