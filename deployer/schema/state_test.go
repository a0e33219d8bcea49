package schema

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mig(phase Phase, v int64, name, sum string) Migration {
	return Migration{Phase: phase, Name: name, Version: v, Checksum: sum}
}

func done(id int64, phase Phase, name, sum string) Entry {
	return Entry{ID: id, Phase: phase, Name: name, Checksum: sum, StartedAt: time.Unix(100, 0), FinishedAt: time.Unix(101, 0)}
}

func files(expand, contract []Migration) []*phaseFiles {
	return []*phaseFiles{{phase: Expand, migrations: expand}, {phase: Contract, migrations: contract}}
}

func states(ps PhaseStatus) map[string]State {
	out := map[string]State{}
	for _, it := range ps.Items {
		out[it.Name] = it.State
	}
	return out
}

func TestAnalyzePlanPending(t *testing.T) {
	fs := files([]Migration{mig(Expand, 1, "1_a.sql", "a"), mig(Expand, 2, "2_b.sql", "b"), mig(Expand, 3, "3_c.sql", "c")},
		[]Migration{mig(Contract, 1, "1_x.sql", "x")})
	st := analyze(fs, []Entry{done(1, Expand, "1_a.sql", "a"), done(2, Expand, "gone.sql", "g")})
	require.NoError(t, check(st, Expand))
	assert.Equal(t, map[string]State{"1_a.sql": StateApplied, "2_b.sql": StatePending, "3_c.sql": StatePending, "gone.sql": StateMissing}, states(st[0]))
	var pending []string
	for _, m := range st[0].Pending() {
		pending = append(pending, m.Name)
	}
	assert.Equal(t, []string{"2_b.sql", "3_c.sql"}, pending)
	assert.Len(t, st[1].Pending(), 1)
}

func TestCheckDirtyRefusesEveryPhase(t *testing.T) {
	fs := files([]Migration{mig(Expand, 1, "1_a.sql", "a"), mig(Expand, 2, "2_b.sql", "b")}, nil)
	failed := Entry{ID: 2, Phase: Expand, Name: "2_b.sql", Checksum: "b", StartedAt: time.Unix(100, 0), Error: "Error 1064"}
	st := analyze(fs, []Entry{done(1, Expand, "1_a.sql", "a"), failed})
	for _, p := range Phases {
		err := check(st, p)
		require.ErrorIs(t, err, ErrDirty)
		var de *DirtyError
		require.ErrorAs(t, err, &de)
		assert.Equal(t, "2_b.sql", de.Entries[0].Name)
		assert.ErrorContains(t, err, "failed: Error 1064")
	}
	// Resolved for retry: pending again; resolved as applied: applied.
	retry := failed
	retry.ResolvedAt, retry.Resolution = time.Unix(200, 0), ResolveRetry
	st = analyze(fs, []Entry{done(1, Expand, "1_a.sql", "a"), retry})
	require.NoError(t, check(st, Expand))
	assert.Equal(t, StatePending, states(st[0])["2_b.sql"])
	applied := failed
	applied.ResolvedAt, applied.Resolution = time.Unix(200, 0), ResolveApplied
	st = analyze(fs, []Entry{done(1, Expand, "1_a.sql", "a"), applied})
	require.NoError(t, check(st, Expand))
	assert.Equal(t, StateApplied, states(st[0])["2_b.sql"])
}

func TestCheckChangedChecksum(t *testing.T) {
	fs := files(nil, []Migration{mig(Contract, 1, "1_x.sql", "new")})
	st := analyze(fs, []Entry{done(1, Contract, "1_x.sql", "old")})
	err := check(st, Expand) // a changed file in the other phase refuses too
	require.ErrorIs(t, err, ErrChecksum)
	var ce *ChecksumError
	require.ErrorAs(t, err, &ce)
	assert.Equal(t, ChecksumError{Phase: Contract, Name: "1_x.sql", Applied: "old", OnDisk: "new"}, *ce)
}

func TestCheckOutOfOrder(t *testing.T) {
	fs := files([]Migration{mig(Expand, 1, "1_a.sql", "a"), mig(Expand, 2, "2_late.sql", "l"), mig(Expand, 3, "3_c.sql", "c")}, nil)
	st := analyze(fs, []Entry{done(1, Expand, "1_a.sql", "a"), done(2, Expand, "3_c.sql", "c")})
	err := check(st, Expand)
	require.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "2_late.sql is pending but sorts before the applied 3_c.sql")
	assert.NoError(t, check(st, Contract), "the other phase is not affected")
}
