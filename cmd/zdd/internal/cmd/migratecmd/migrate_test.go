package migratecmd

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/spf13/cobra"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/connect"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/schema"
)

// fakeRunner records calls and returns what the test set.
type fakeRunner struct {
	report   *schema.Report
	plan     []schema.Migration
	results  []schema.Result
	err      error
	contract error
	progress func(schema.Event)
	calls    []string
}

func (f *fakeRunner) Status(context.Context) (*schema.Report, error) {
	f.calls = append(f.calls, "status")
	return f.report, f.err
}
func (f *fakeRunner) Plan(_ context.Context, p string) ([]schema.Migration, error) {
	f.calls = append(f.calls, "plan "+p)
	return f.plan, f.err
}
func (f *fakeRunner) Apply(_ context.Context, p string) ([]schema.Result, error) {
	f.calls = append(f.calls, "apply "+p)
	for _, r := range f.results {
		f.progress(schema.Event{Kind: schema.EventDone, Phase: schema.Phase(p), Migration: r.Migration, Duration: r.Duration})
	}
	return f.results, f.err
}
func (f *fakeRunner) Resolve(_ context.Context, p, name string, how schema.Resolution) error {
	f.calls = append(f.calls, fmt.Sprintf("resolve %s %s %s", p, name, how))
	return f.err
}
func (f *fakeRunner) ContractAllowed(context.Context) error {
	f.calls = append(f.calls, "contract-allowed")
	return f.contract
}

func (f *fakeRunner) new(progress func(schema.Event)) (Runner, error) {
	f.progress = progress
	return f, nil
}

func exec(t *testing.T, cmd *cobra.Command, args ...string) error {
	t.Helper()
	cmd.SetArgs(args)
	cmd.SetOut(&nopWriter{})
	cmd.SetErr(&nopWriter{})
	cmd.SilenceErrors, cmd.SilenceUsage = true, true
	cmd.SetFlagErrorFunc(cmdutil.FlagErrorFunc)
	return cmd.Execute()
}

type nopWriter struct{}

func (*nopWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestFlagsReachOptions(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	f := cmdutil.New(streams)
	var up *UpOptions
	require.NoError(t, exec(t, NewCmdUp(f, nil, func(_ context.Context, o *UpOptions) error { up = o; return nil }), "--phase", "contract", "-o", "json"))
	assert.Equal(t, "contract", up.Phase)
	assert.Equal(t, "json", up.Output)

	var plan *PlanOptions
	require.NoError(t, exec(t, NewCmdPlan(f, nil, func(_ context.Context, o *PlanOptions) error { plan = o; return nil }), "--phase", "expand"))
	assert.Equal(t, "expand", plan.Phase)
	assert.Equal(t, "text", plan.Output)

	var res *ResolveOptions
	require.NoError(t, exec(t, NewCmdResolve(f, nil, func(_ context.Context, o *ResolveOptions) error { res = o; return nil }),
		"--phase", "expand", "002_b.sql", "--retry"))
	assert.Equal(t, ResolveOptions{IO: streams, Phase: "expand", Name: "002_b.sql", How: schema.ResolveRetry}, *res)

	require.NoError(t, exec(t, NewCmdResolve(f, nil, func(_ context.Context, o *ResolveOptions) error { res = o; return nil }),
		"--phase", "contract", "--name", "003_c.sql", "--applied"))
	assert.Equal(t, ResolveOptions{IO: streams, Phase: "contract", Name: "003_c.sql", How: schema.ResolveApplied}, *res)

	var st *StatusOptions
	require.NoError(t, exec(t, NewCmdStatus(f, nil, func(_ context.Context, o *StatusOptions) error { st = o; return nil })))
	assert.Equal(t, "text", st.Output)
}

func TestUsageErrors(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	f := cmdutil.New(streams)
	never := func(context.Context, *UpOptions) error { t.Fatal("ran"); return nil }
	neverR := func(context.Context, *ResolveOptions) error { t.Fatal("ran"); return nil }
	for name, c := range map[string]struct {
		cmd  *cobra.Command
		args []string
		msg  string
	}{
		"no phase":           {NewCmdUp(f, nil, never), nil, "--phase is required"},
		"bad phase":          {NewCmdUp(f, nil, never), []string{"--phase", "both"}, "want expand or contract"},
		"bad output":         {NewCmdUp(f, nil, never), []string{"--phase", "expand", "-o", "yaml"}, "want text or json"},
		"extra arg":          {NewCmdUp(f, nil, never), []string{"--phase", "expand", "x"}, "takes no arguments"},
		"resolve no name":    {NewCmdResolve(f, nil, neverR), []string{"--phase", "expand", "--applied"}, "exactly one migration NAME"},
		"resolve name twice": {NewCmdResolve(f, nil, neverR), []string{"--phase", "expand", "a.sql", "--name", "b.sql", "--retry"}, "exactly one migration NAME"},
		"resolve both":       {NewCmdResolve(f, nil, neverR), []string{"--phase", "expand", "a.sql", "--applied", "--retry"}, "exactly one of --applied and --retry"},
		"resolve neither":    {NewCmdResolve(f, nil, neverR), []string{"--phase", "expand", "a.sql"}, "exactly one of --applied and --retry"},
	} {
		t.Run(name, func(t *testing.T) {
			err := exec(t, c.cmd, c.args...)
			require.Error(t, err)
			assert.Contains(t, err.Error(), c.msg)
			assert.Equal(t, 2, outcome.Code(err))
		})
	}
}

func TestRunUpPrintsResultsAndProgress(t *testing.T) {
	streams, _, out, errOut := iostreams.Test()
	mig := schema.Migration{Phase: schema.Expand, Name: "001_a.sql"}
	stmtErr := connect.Classify(&schema.StatementError{Phase: schema.Expand, File: "expand/002_b.sql", Err: errors.New("syntax error")}, true)
	fr := &fakeRunner{results: []schema.Result{{Migration: mig, Server: schema.ServerInfo{ServerID: 1}, Duration: 15 * time.Millisecond}}, err: stmtErr}
	err := RunUp(context.Background(), &UpOptions{IO: streams, NewRunner: fr.new, Phase: "expand", Output: "text"})
	require.ErrorIs(t, err, schema.ErrStatement)
	assert.Equal(t, 4, outcome.Code(err))
	assert.Equal(t, "applied expand/001_a.sql on server_id 1 in 15ms\n", out.String(), "what was applied is printed even when a later statement failed")
	assert.Equal(t, "migrate: expand: 001_a.sql done in 15ms\n", errOut.String())
	assert.Equal(t, []string{"apply expand"}, fr.calls)

	streams, _, out, _ = iostreams.Test()
	fr.err = nil
	require.NoError(t, RunUp(context.Background(), &UpOptions{IO: streams, NewRunner: fr.new, Phase: "expand", Output: "json"}))
	var got UpJSON
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, UpJSON{Phase: "expand", Applied: []AppliedJSON{{Name: "001_a.sql", ServerID: 1, DurationMS: 15}}}, got)
}

func TestRunPlan(t *testing.T) {
	streams, _, out, errOut := iostreams.Test()
	fr := &fakeRunner{plan: []schema.Migration{{Phase: schema.Contract, Name: "001_drop.sql"}, {Phase: schema.Contract, Name: "002_drop.sql"}},
		contract: errors.New("migrate: contract gate: n1 has 001")}
	require.NoError(t, RunPlan(context.Background(), &PlanOptions{IO: streams, NewRunner: fr.new, Phase: "contract", Output: "text"}))
	assert.Equal(t, "contract/001_drop.sql\ncontract/002_drop.sql\n", out.String())
	assert.Contains(t, errOut.String(), "would be refused now: migrate: contract gate: n1 has 001")
	assert.Equal(t, []string{"plan contract", "contract-allowed"}, fr.calls)

	streams, _, out, _ = iostreams.Test()
	require.NoError(t, RunPlan(context.Background(), &PlanOptions{IO: streams, NewRunner: fr.new, Phase: "contract", Output: "json"}))
	var got PlanJSON
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.Equal(t, PlanJSON{Phase: "contract", Pending: []string{"001_drop.sql", "002_drop.sql"}, ContractRefused: "migrate: contract gate: n1 has 001"}, got)

	streams, _, out, errOut = iostreams.Test()
	fr = &fakeRunner{}
	require.NoError(t, RunPlan(context.Background(), &PlanOptions{IO: streams, NewRunner: fr.new, Phase: "expand", Output: "text"}))
	assert.Empty(t, out.String())
	assert.Equal(t, "migrate: expand: nothing to run\n", errOut.String())
	assert.Equal(t, []string{"plan expand"}, fr.calls, "expand is never gated")
}

func TestRunStatus(t *testing.T) {
	started := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	dirty := schema.Entry{ID: 3, Phase: schema.Expand, Name: "002_b.sql", StartedAt: started, AppliedBy: "ann", AppliedFrom: "ci", ServerID: 1, Error: "Error 1064: syntax"}
	applied := schema.Entry{ID: 1, Phase: schema.Expand, Name: "001_a.sql", StartedAt: started, FinishedAt: started.Add(20 * time.Millisecond), AppliedBy: "ann", AppliedFrom: "ci", ServerID: 1}
	rep := &schema.Report{Server: schema.ServerInfo{Active: "db1", ServerID: 1, Hostname: "db1host"},
		Phases: []schema.PhaseStatus{
			{Phase: schema.Expand, Items: []schema.Item{
				{Migration: schema.Migration{Phase: schema.Expand, Name: "001_a.sql"}, State: schema.StateApplied, Entry: &applied},
				{Migration: schema.Migration{Phase: schema.Expand, Name: "002_b.sql"}, State: schema.StateDirty, Entry: &dirty}}},
			{Phase: schema.Contract}},
		Dirty: []schema.Entry{dirty}}
	streams, _, out, _ := iostreams.Test()
	fr := &fakeRunner{report: rep}
	require.NoError(t, RunStatus(context.Background(), &StatusOptions{IO: streams, NewRunner: fr.new, Output: "text"}))
	assert.Equal(t, `server: server_id 1 (db1host, HAProxy active db1): writer
expand:
  applied  001_a.sql  started 2026-01-02T03:04:05Z by ann from ci on server_id 1, took 20ms
  dirty    002_b.sql  started 2026-01-02T03:04:05Z by ann from ci on server_id 1: failed: Error 1064: syntax
contract:
  (no migrations)
dirty: 1 unfinished migration(s) block every run; check the database, then `+"`zdd migrate resolve --phase P NAME --applied|--retry`"+`
`, out.String())

	streams, _, out, _ = iostreams.Test()
	rep.WriterErr = errors.New("schema: prove writer: read_only is ON")
	require.NoError(t, RunStatus(context.Background(), &StatusOptions{IO: streams, NewRunner: fr.new, Output: "json"}))
	var got StatusJSON
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	assert.False(t, got.Writer)
	assert.Equal(t, "schema: prove writer: read_only is ON", got.WriterError)
	require.Len(t, got.Phases, 2)
	assert.Equal(t, schema.StateDirty, got.Phases[0].Migrations[1].State)
	assert.Equal(t, "Error 1064: syntax", got.Phases[0].Migrations[1].Error)
	require.Len(t, got.Dirty, 1)
	assert.Equal(t, "002_b.sql", got.Dirty[0].Name)
	assert.Nil(t, got.Dirty[0].FinishedAt)
}

func TestRunResolveAndErrorsPassThrough(t *testing.T) {
	streams, _, out, _ := iostreams.Test()
	fr := &fakeRunner{}
	require.NoError(t, RunResolve(context.Background(), &ResolveOptions{IO: streams, NewRunner: fr.new, Phase: "expand", Name: "002_b.sql", How: schema.ResolveApplied}))
	assert.Equal(t, "resolved expand/002_b.sql as applied\n", out.String())
	assert.Equal(t, []string{"resolve expand 002_b.sql applied"}, fr.calls)

	locked := connect.Classify(&schema.LockedError{Lock: "zdd-schema:zdd.j"}, false)
	fr = &fakeRunner{err: locked}
	err := RunResolve(context.Background(), &ResolveOptions{IO: streams, NewRunner: fr.new, Phase: "expand", Name: "x.sql", How: schema.ResolveRetry})
	assert.Equal(t, 5, outcome.Code(err))
}
