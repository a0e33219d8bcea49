package bench

import (
	"encoding/json"
	"encoding/xml"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/watch"
)

// traced records a row's trace as a run does: a load of secs seconds, a step from the engine's
// events, one raw call, and (fault) a fault injected.
func traced(name string, secs int, fault bool) *Trace {
	var tr tracer
	start := time.Now().Add(-time.Duration(secs) * time.Second)
	tr.Emit(deployer.Event{Type: deployer.EventStepStarted, Step: 1, Kind: "route", Time: start}) // before the load: ignored
	tr.start()
	tr.Emit(deployer.Event{Type: deployer.EventStepStarted, Step: 2, Kind: "deploy", Time: start.Add(time.Second)})
	tr.Emit(deployer.Event{Type: deployer.EventProgress, Step: 2, Kind: "deploy", Node: "n1", Time: start.Add(time.Second)})
	tr.Emit(deployer.Event{Type: deployer.EventStepFinished, Step: 2, Kind: "deploy", Time: start.Add(2 * time.Second)})
	tr.band("deploy", "n2 update=true", start.Add(2*time.Second))
	if fault {
		tr.mark(start.Add(1500 * time.Millisecond))
	}
	r := &watch.Report{Start: start}
	for i := range secs {
		r.Timeline = append(r.Timeline, watch.Second{At: i, Requests: 100, New: map[string]int{"001": 2}, Existing: map[string]int{"001": 98}})
	}
	tr.stop(r)
	tr.Emit(deployer.Event{Type: deployer.EventStepStarted, Step: 3, Kind: "gate", Time: time.Now()}) // after: ignored
	return tr.take(name)
}

func TestTracerKeepsWhatRanUnderLoad(t *testing.T) {
	tr := traced(RowFaultKill, 5, true)
	require.NotNil(t, tr)
	require.Len(t, tr.Bands, 2)
	assert.Equal(t, "deploy", tr.Bands[0].Kind)
	assert.Equal(t, "2 n1", tr.Bands[0].Label)
	assert.Equal(t, "n2 update=true", tr.Bands[1].Label)
	assert.False(t, tr.Bands[1].End.IsZero())
	require.Len(t, tr.Marks, 1)
	assert.Equal(t, "n3 killed (SIGKILL)", tr.Marks[0].Label, "the mark is named after the row's fault")
	assert.Len(t, tr.Timeline, 5)

	var none tracer
	assert.Nil(t, none.take(RowNaive), "no load, no trace")
}

func TestChartFile(t *testing.T) {
	assert.Equal(t, "naive-deploy-update-true-node-after-node.svg", chartFile(RowNaive))
	assert.Equal(t, "zdd-deploy-round-robin.svg", chartFile(RowZddRR))
	assert.Equal(t, "zdd-deploy-n3-killed-mid-release-round-robin.svg", chartFile(RowFaultKill))
	seen := map[string]string{}
	for _, n := range RowNames() {
		f := chartFile(n)
		assert.LessOrEqual(t, len(f), 64)
		assert.NotContains(t, seen, f, "%q and %q share a chart file", n, seen[f])
		seen[f] = n
	}
}

// TestChartsWrittenAndEmbedded: WriteCharts writes one valid SVG per row under load, docs/bench.md
// embeds every one and the README the naive, zdd and killed-node rows, with links relative to
// each file; a result read back from its JSON (--from) draws the same charts.
func TestChartsWrittenAndEmbedded(t *testing.T) {
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "docs"), 0o755))
	res := sampleResult()
	res.Rows = append(res.Rows, Row{Name: RowNaive, Measured: true, Mode: "round-robin"}, Row{Name: RowZddSticky, Measured: true},
		Row{Name: RowScale3, Measured: true})
	for i := range res.Rows {
		switch res.Rows[i].Name {
		case RowFaultKill:
			res.Rows[i].Trace = traced(RowFaultKill, 20, true)
		case RowNaive, RowZddRR, RowZddSticky:
			res.Rows[i].Trace = traced(res.Rows[i].Name, 20, false)
		}
	}
	b, err := json.Marshal(res)
	require.NoError(t, err)
	var back Result
	require.NoError(t, json.Unmarshal(b, &back))

	for _, r := range []*Result{res, &back} {
		dir := filepath.Join(root, "docs", "bench")
		require.NoError(t, CheckChartDir(dir))
		require.NoError(t, r.WriteCharts(dir))
		ents, err := os.ReadDir(dir)
		require.NoError(t, err)
		assert.Len(t, ents, 4, "one chart per row under load, no temporary file")
		for _, e := range ents {
			f, err := os.Open(filepath.Join(dir, e.Name()))
			require.NoError(t, err)
			d := xml.NewDecoder(f)
			for err == nil {
				_, err = d.Token()
			}
			f.Close()
			assert.ErrorIs(t, err, io.EOF, "%s parses", e.Name())
		}
		kill, err := os.ReadFile(filepath.Join(dir, chartFile(RowFaultKill)))
		require.NoError(t, err)
		assert.Contains(t, string(kill), "n3 killed (SIGKILL)")

		md, readme := filepath.Join(root, "docs", "bench.md"), filepath.Join(root, "README.md")
		require.NoError(t, os.WriteFile(md, []byte(MarkTable+"\n"+MarkEnd+"\n"), 0o644))
		require.NoError(t, os.WriteFile(readme, []byte(MarkEvidence+"\n"+MarkEnd+"\n"), 0o644))
		require.NoError(t, r.UpdateFile(md))
		require.NoError(t, r.UpdateFile(readme))
		mdb, _ := os.ReadFile(md)
		rb, _ := os.ReadFile(readme)
		for _, n := range []string{RowNaive, RowZddRR, RowZddSticky, RowFaultKill} {
			assert.Contains(t, string(mdb), "]("+"bench/"+chartFile(n)+")")
		}
		for _, n := range evidenceCharts {
			assert.Contains(t, string(rb), "!["+n+"](docs/bench/"+chartFile(n)+")")
		}
		assert.NotContains(t, string(rb), chartFile(RowZddSticky), "the README embeds three")
		assert.NotContains(t, string(mdb), chartFile(RowScale3), "no load, no chart")
		assert.Equal(t, 1, strings.Count(string(rb), MarkEnd))
	}
}

func TestCheckChartDirRefusesAFile(t *testing.T) {
	file := filepath.Join(t.TempDir(), "f")
	require.NoError(t, os.WriteFile(file, nil, 0o644))
	assert.Error(t, CheckChartDir(file))
	assert.Error(t, CheckChartDir(filepath.Join(file, "bench")))
}
