//go:build integration

package deployer_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/tomcatmgr"
	"github.com/saitodrom/zdd/watch"
)

// The kill matrix: `zdd deploy` (the real binary, a child process) is killed with SIGKILL as
// each step of a release with expand and contract migrations starts, under users whose sessions
// never end; then `zdd resume`, or `zdd abort`, runs at once. Each case checks that the second
// command exits 0 after taking the dead holder's lease over at once (a lease TTL of
// killLeaseTTL, so a wait for it would show), 0 failed requests and 0 lost sessions, and the end
// state: every node runs the same versions, answers new sessions with the right one (002 after
// resume, 001 after abort: then only 001 is deployed), is in rotation, and no lease is held.

// killLeaseTTL is strategy.lease_ttl in the matrix: far longer than any case's second command,
// so that one that waited for the killed holder's lease to expire would fail the check.
const killLeaseTTL = 10 * time.Minute

// killRows collects the matrix's results for ZDD_KILLMATRIX_OUT.
var killRows struct {
	sync.Mutex
	rows map[string]string
}

// killStep is one step of the release the matrix kills zdd in: its 1-based index and a label.
type killStep struct {
	index int
	label string
}

// TestKillMatrix runs every step of the plan × {resume, abort}. Several minutes per case on a
// busy machine, so it runs only with ZDD_KILLMATRIX=1 (`make kill-matrix`); with
// ZDD_KILLMATRIX_OUT set it merges each case's row into that file's matrix section
// (docs/killmatrix.md) as soon as the case ends, so the matrix can be run in parts
// (`-run 'TestKillMatrix/step0[1-6]/'`). The first case that runs learns the plan (`zdd plan
// --output json`); the cases then run one step of each kind first, then the others.
func TestKillMatrix(t *testing.T) {
	if os.Getenv("ZDD_KILLMATRIX") == "" {
		t.Skip("the kill matrix runs with `make kill-matrix` (ZDD_KILLMATRIX=1)")
	}
	killRows.rows = map[string]string{}
	m := &killMatrix{out: os.Getenv("ZDD_KILLMATRIX_OUT"), done: map[int]bool{}}
	for idx := m.next(); idx > 0; idx = m.next() {
		m.done[idx] = true
		for _, then := range []string{"resume", "abort"} {
			t.Run(fmt.Sprintf("step%02d/%s", idx, then), func(t *testing.T) { killCase(t, m, idx, then) })
		}
	}
	m.write(t)
}

// killMatrix is the state of one run of the matrix.
type killMatrix struct {
	out   string       // ZDD_KILLMATRIX_OUT
	steps []killStep   // the plan, once a case learned it
	done  map[int]bool // the step indexes whose cases ran (or were filtered out)
}

// killMaxSteps bounds the step indexes tried before a case learned the plan.
const killMaxSteps = 30

// next is the step to run next (0: none left): before the plan is known the lowest index not
// done; then the first step of each kind (the two migration phases are two) not done, then
// the rest in order.
func (m *killMatrix) next() int {
	if m.steps == nil {
		for i := 1; i <= killMaxSteps; i++ {
			if !m.done[i] {
				return i
			}
		}
		return 0
	}
	seen := map[string]bool{}
	for _, s := range m.steps {
		kind := strings.Fields(s.label)[0]
		if kind == "migrate" {
			kind = s.label // expand and contract are two kinds
		}
		if !seen[kind] && !m.done[s.index] {
			return s.index
		}
		seen[kind] = true
	}
	for _, s := range m.steps {
		if !m.done[s.index] {
			return s.index
		}
	}
	return 0
}

// write merges the rows into ZDD_KILLMATRIX_OUT, if set.
func (m *killMatrix) write(t *testing.T) {
	if m.out == "" {
		return
	}
	if err := os.WriteFile(m.out, []byte(replaceMatrix(m.out, killTable(m.out, m.steps))), 0o644); err != nil {
		t.Error(err)
	}
}

// killMigrations001 writes the first release's expand migration (a table of this test).
func killMigrations001(t *testing.T, mig, tag string) {
	require.NoError(t, os.WriteFile(filepath.Join(mig, "expand", "0001_"+tag+"_create.sql"),
		[]byte("CREATE TABLE `"+tag+"` (id INT PRIMARY KEY, old_col INT);\n"), 0o644))
}

// killMigrations002 writes the second release's expand and contract migrations.
func killMigrations002(t *testing.T, mig, tag string) {
	require.NoError(t, os.WriteFile(filepath.Join(mig, "expand", "0002_"+tag+"_add.sql"),
		[]byte("ALTER TABLE `"+tag+"` ADD COLUMN new_col INT NULL;\n"), 0o644))
	require.NoError(t, os.WriteFile(filepath.Join(mig, "contract", "0003_"+tag+"_drop.sql"),
		[]byte("ALTER TABLE `"+tag+"` DROP COLUMN old_col;\n"), 0o644))
}

// killZDD is zddWithDB with the matrix's lease TTL.
func killZDD(t *testing.T, f *fixture) (*zddBin, string, string) {
	z, mig, tag := zddWithDB(t, f)
	for i, a := range z.args {
		if strings.HasPrefix(a, "strategy.lease_ttl=") {
			z.args[i] = "strategy.lease_ttl=" + killLeaseTTL.String()
		}
	}
	return z, mig, tag
}

// plan runs `zdd plan WAR --output json` and returns its plan.
func (z *zddBin) plan(t *testing.T, war string) plan.Plan {
	c := exec.Command(z.path, append([]string{"plan", war, "--output", "json"}, z.args...)...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	out, err := c.Output()
	require.NoError(t, err, "zdd plan: %s", stderr.String())
	var p struct {
		Plan plan.Plan `json:"plan"`
	}
	require.NoError(t, json.Unmarshal(out, &p), "zdd plan --output json: %s", out)
	require.NotEmpty(t, p.Plan.Steps)
	return p.Plan
}

// stepLabel names a step briefly: its kind and what it acts on.
func stepLabel(s plan.Step) string {
	switch {
	case s.Migrate != nil:
		return "migrate " + s.Migrate.Phase
	case s.Route != nil:
		return "route in " + strings.Join(s.Route.In, ",")
	case s.Deploy != nil:
		return "deploy " + strings.Join(s.Deploy.Nodes, ",")
	case s.Gate != nil:
		return "gate " + strings.Join(s.Gate.Nodes, ",")
	}
	return s.Kind()
}

// killResult is what one case measured.
type killResult struct {
	journalStep          int // the step the journal shows after the kill (1-based)
	code, againCode      int
	takeover, wall       time.Duration
	tookOver, historyNew bool
	failed, lost         int
	versions             string
	contract             bool
}

func killCase(t *testing.T, m *killMatrix, idx int, then string) {
	if m.steps != nil && idx > len(m.steps) {
		t.Skipf("the plan has %d steps", len(m.steps))
	}
	recorded := false
	defer func() {
		if !recorded && t.Failed() { // before the kill: the row says so
			killRows.Lock()
			killRows.rows[killKey(idx, then)] = fmt.Sprintf("| %d | | %s | | | | | | | | | | | **FAIL** before the kill (%s) |",
				idx, then, time.Now().UTC().Format("2006-01-02"))
			killRows.Unlock()
			m.write(t)
		}
	}()
	f := newFixture(t, testenv.RoundRobin)
	z, mig, tag := killZDD(t, f)
	killMigrations001(t, mig, tag)
	code, _ := z.run(t, "deploy", f.warFile(t, "001"))
	require.Equal(t, 0, code)
	killMigrations002(t, mig, tag)
	war := f.warFile(t, "002")
	var steps []killStep
	for i, st := range z.plan(t, war).Steps {
		steps = append(steps, killStep{index: i + 1, label: stepLabel(st)})
	}
	if m.steps == nil {
		m.steps = steps
		t.Logf("the plan of 002 has %d steps: %v", len(steps), steps)
	}
	require.Equal(t, m.steps, steps, "this case's plan is the matrix's")
	if idx > len(steps) {
		t.Skipf("the plan has %d steps", len(steps))
	}
	s := steps[idx-1]

	var res killResult
	recorded = true
	defer func() { recordKill(s, then, &res, t); m.write(t) }()
	stopLoad := keptLoad(f, 20)
	stopped := false
	stop := func() *watch.Report { stopped = true; return stopLoad() }
	t.Cleanup(func() {
		if !stopped {
			stopLoad()
		}
	})
	res.journalStep = z.killAtStep(t, f, war, s.index)
	t0 := time.Now()
	res.code, res.takeover, res.tookOver = z.runJSON(t, then)
	res.wall = time.Since(t0)
	res.againCode, _, _ = z.runJSON(t, then)
	r := stop()
	logLoad(t, "KILL "+t.Name(), r)
	res.failed, res.lost = r.Failed, r.LostSessions

	wantV := "002"
	status := state.StatusDone
	if then == "abort" {
		wantV, status = "001", state.StatusRolledBack
	}
	j := &state.Journal{Dir: f.cfg.State.Dir}
	hist, err := j.History()
	require.NoError(t, err)
	for _, h := range hist {
		if h.Kind == state.KindLeaseTakeOver && !h.Started.Before(t0) {
			res.historyNew = true
		}
		if h.To == "002" && h.Contract {
			res.contract = true
		}
	}
	res.versions = f.killEndState(t, wantV)

	assert.Equal(t, s.index, res.journalStep, "killed as step %d started", s.index)
	assert.Equal(t, 0, res.code, "zdd %s after the kill", then)
	assert.True(t, res.tookOver, "zdd %s says it took the dead holder's lease over", then)
	assert.True(t, res.historyNew, "the takeover is in the history")
	assert.Less(t, res.takeover, 5*time.Second, "the lease taken over at once")
	assert.Less(t, res.wall, killLeaseTTL/2, "zdd %s did not wait for the lease (TTL %s)", then, killLeaseTTL)
	assert.Equal(t, 6, res.againCode, "zdd %s twice: nothing left to do", then)
	assert.Equal(t, 0, res.failed, "failed requests")
	assert.Equal(t, 0, res.lost, "lost sessions")
	rel, err := j.Current()
	require.NoError(t, err)
	assert.Equal(t, status, rel.Status, "the release after zdd %s", then)
	lease, err := (&state.Locker{Dir: f.cfg.State.Dir}).Read()
	require.NoError(t, err)
	assert.Nil(t, lease, "no lease held at the end")
}

// killAtStep starts `zdd deploy WAR --output json` and SIGKILLs it on the step_started event of
// step (1-based); it returns the step the journal shows as current then.
func (z *zddBin) killAtStep(t *testing.T, f *fixture, war string, step int) int {
	c := exec.Command(z.path, append([]string{"deploy", war, "--output", "json"}, z.args...)...)
	var stderr bytes.Buffer
	c.Stderr = &stderr
	stdout, err := c.StdoutPipe()
	require.NoError(t, err)
	require.NoError(t, c.Start())
	var lines []string
	killed := false
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		lines = append(lines, sc.Text())
		var ev deployer.Event
		if json.Unmarshal(sc.Bytes(), &ev) == nil && ev.Type == deployer.EventStepStarted && ev.Step == step && !killed {
			require.NoError(t, c.Process.Signal(syscall.SIGKILL))
			killed = true
		}
	}
	_, _ = io.Copy(io.Discard, stdout)
	_ = c.Wait()
	t.Logf("zdd deploy %s (killed: %v):\n%s\n%s", war, killed, strings.Join(lines, "\n"), stderr.String())
	require.True(t, killed, "step %d never started", step)
	rel, err := (&state.Journal{Dir: f.cfg.State.Dir}).Current()
	require.NoError(t, err)
	require.Equal(t, state.StatusRunning, rel.Status, "the killed release is left running")
	return rel.Current + 1
}

// runJSON runs `zdd CMD --output json` and returns its exit code, when it said it took the
// release lease over (from its start) and whether it did.
func (z *zddBin) runJSON(t *testing.T, cmd string) (int, time.Duration, bool) {
	c := exec.Command(z.path, append([]string{cmd, "--output", "json"}, z.args...)...)
	var stdout, stderr bytes.Buffer
	c.Stdout, c.Stderr = &stdout, &stderr
	t0 := time.Now()
	err := c.Run()
	code := 0
	if ee, ok := err.(*exec.ExitError); ok {
		code = ee.ExitCode()
	} else {
		require.NoError(t, err)
	}
	t.Logf("zdd %s: exit %d in %s\n%s\n%s", cmd, code, time.Since(t0).Round(time.Millisecond), stdout.String(), stderr.String())
	var after time.Duration
	took := false
	for _, line := range strings.Split(stdout.String(), "\n") {
		var ev deployer.Event
		if json.Unmarshal([]byte(line), &ev) == nil && ev.Type == deployer.EventWarning &&
			strings.Contains(ev.Message, "took over the release lease") && !took {
			took, after = true, ev.Time.Sub(t0)
		}
	}
	return code, after, took
}

// killEndState checks that every node runs the same versions, all running, that each answers
// a request without a session with want, and that every node is in rotation on every load
// balancer; with want 001 (abort) it is the only version deployed. It returns the versions
// on the nodes, as "n1: 001,002; ...".
func (f *fixture) killEndState(t *testing.T, want string) string {
	ctx := context.Background()
	var desc []string
	var first []string
	for i, n := range f.env.Nodes {
		apps, err := f.cluster.Managers[n.Name].List(ctx)
		require.NoError(t, err)
		var vs []string
		for _, a := range apps {
			if a.Path == "/"+f.env.App {
				vs = append(vs, a.Version)
				assert.Equal(t, tomcatmgr.StateRunning, a.State, "%s on %s", a.Name(), n.Name)
			}
		}
		sort.Strings(vs)
		desc = append(desc, n.Name+": "+strings.Join(vs, ","))
		if i == 0 {
			first = vs
		}
		assert.Equal(t, first, vs, "%s runs the versions n1 runs", n.Name)
		assert.Contains(t, vs, want, "%s runs %s", n.Name, want)
		if want == "001" {
			assert.Equal(t, []string{"001"}, vs, "after abort %s runs 001 only", n.Name)
		} else {
			for _, v := range vs {
				assert.True(t, v == "001" || v == "002", "%s runs %s", n.Name, v)
			}
		}
		assert.Equal(t, want, newSessionVersion(t, n.URL+"/"+f.env.App+"/version.jsp"), "new sessions on %s", n.Name)
	}
	states, err := f.cluster.Router.States(ctx)
	require.NoError(t, err)
	for _, n := range f.env.Nodes {
		assert.False(t, states[n.Name].Down, "%s must be in rotation", n.Name)
	}
	return strings.Join(desc, "; ")
}

// newSessionVersion is the version a request without a session gets from url (version.jsp).
func newSessionVersion(t *testing.T, url string) string {
	resp, err := (&http.Client{Timeout: 5 * time.Second}).Get(url)
	if !assert.NoError(t, err) {
		return ""
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	if m := versionRE.FindSubmatch(b); m != nil && resp.StatusCode == 200 {
		return string(m[1])
	}
	return fmt.Sprintf("HTTP %d", resp.StatusCode)
}

// recordKill adds the case's row to the matrix.
func recordKill(s killStep, then string, r *killResult, t *testing.T) {
	verdict := "pass"
	if t.Failed() {
		verdict = "**FAIL**"
	}
	killRows.Lock()
	defer killRows.Unlock()
	killRows.rows[killKey(s.index, then)] = fmt.Sprintf("| %d | %s | %s | %d | %d | %s | %s | %v | %d | %d | %s | %s | %s | %s |",
		s.index, s.label, then, r.journalStep, r.code, r.takeover.Round(10*time.Millisecond), r.wall.Round(100*time.Millisecond),
		r.tookOver && r.historyNew, r.failed, r.lost, r.versions, yesNo(r.contract), strconv.Itoa(r.againCode),
		verdict+" ("+time.Now().UTC().Format("2006-01-02")+")")
}

func yesNo(b bool) string {
	if b {
		return "yes"
	}
	return "no"
}

func killKey(step int, then string) string { return fmt.Sprintf("%03d %s", step, then) }

// killTable is the matrix section: this run's rows, and the rows of the file at path for the
// cases this run did not run (the matrix may be run in parts).
func killTable(path string, steps []killStep) string {
	killRows.Lock()
	defer killRows.Unlock()
	rows := map[string]string{}
	old, _ := os.ReadFile(path)
	if i := bytes.Index(old, []byte("<!-- matrix -->\n")); i >= 0 {
		for _, line := range strings.Split(string(old[i:]), "\n") {
			cells := strings.Split(line, "|")
			if len(cells) < 4 {
				continue
			}
			if n, err := strconv.Atoi(strings.TrimSpace(cells[1])); err == nil {
				rows[killKey(n, strings.TrimSpace(cells[3]))] = line
			}
		}
	}
	for k, v := range killRows.rows {
		rows[k] = v
	}
	for _, s := range steps {
		for _, then := range []string{"resume", "abort"} {
			if _, ok := rows[killKey(s.index, then)]; !ok {
				rows[killKey(s.index, then)] = fmt.Sprintf("| %d | %s | %s | | | | | | | | | | | not run |", s.index, s.label, then)
			}
		}
	}
	keys := make([]string, 0, len(rows))
	for k := range rows {
		keys = append(keys, k)
	}
	// by step, resume before abort
	slices.SortFunc(keys, func(a, b string) int {
		if c := strings.Compare(a[:3], b[:3]); c != 0 {
			return c
		}
		return -strings.Compare(a, b)
	})
	b := "Generated by `make kill-matrix`, last run " + time.Now().UTC().Format("2006-01-02 15:04 UTC") + ".\n\n" +
		"| step | kind | then | journal step | exit | lease taken over after | wall time | takeover said and in history | failed requests | lost sessions | versions on the nodes after | contract ran | again: exit | result (date) |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n"
	for _, k := range keys {
		b += rows[k] + "\n"
	}
	return b
}
