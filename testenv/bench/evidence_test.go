package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/watch"
)

func sampleResult() *Result {
	kill := Row{Name: RowFaultKill, Zdd: true, Measured: true, Mode: "round-robin", Requests: 41234, Failed: 0, Lost: 9, Wall: 30.5, NewAfter: -1,
		Fault:   &Fault{Exit: 4, Error: "node n3 is down", ZddLost: 2, Retried: 7, Service: 0},
		Targets: []Target{target("failed = 0", true), target("lost beyond in-flight retries <= counted by zdd", true)}}
	freeze := Row{Name: RowFaultFreeze, Zdd: true, Measured: true, Requests: 900, Failed: 1, Lost: 0, Wall: 12, NewAfter: -1,
		Fault: &Fault{Exit: 4, Service: 10.2}, Figures: map[string]float64{"deploy_abandoned_after_s": 6.1},
		Targets: []Target{target("failed <= in flight to the frozen node (1 per user)", true)}}
	return &Result{Date: time.Date(2026, 12, 1, 23, 0, 0, 0, time.UTC), Machine: "vm: 2 x CPU", Users: 20, Settle: 3, Duration: 200, Rows: []Row{
		{Name: RowZddRR, Zdd: true, Release: true, Measured: true, Mode: "round-robin", Requests: 69200, Wall: 18.06, NewAfter: 10,
			Figures: map[string]float64{"x_floor_a": 1.21}, Targets: []Target{target("failed = 0", true), target("wall < 10s", false)}},
		kill, freeze, notMeasured(RowFaultSSH, assert.AnError),
	}}
}

func TestEvidenceSeparatesFaultRows(t *testing.T) {
	var out bytes.Buffer
	sampleResult().WriteEvidence(&out)
	s := out.String()
	assert.Contains(t, s, "Run of 2026-12-01 23:00 UTC on `vm: 2 x CPU`: 20 users")
	assert.Contains(t, s, "| "+RowZddRR+" | 69,200 | 0 | 0 | 18.06 (switched at 10.00) | x_floor_a 1.21 | failed = 0: met; wall < 10s: MISSED |")
	faults := s[strings.Index(s, "| fault |"):]
	assert.Contains(t, faults, "| "+RowFaultKill+" | 41,234 | 0 | 9 / 2; 7 | 0.00 | 4 | failed = 0: met; ")
	assert.Contains(t, faults, "deploy abandoned 6.10 s after the freeze")
	assert.Contains(t, faults, "| "+RowFaultSSH+" | - | - | - | - | - | not measured: ")
	assert.NotContains(t, s[:strings.Index(s, "| fault |")], RowFaultKill, "fault rows are in their own table")

	out.Reset()
	only := sampleResult()
	only.Rows = only.Rows[1:]
	only.WriteEvidence(&out)
	assert.NotContains(t, out.String(), "| row |", "no fault-free row: no empty table")
	assert.Contains(t, out.String(), "| fault |")
}

func TestUpdateFileReplacesOnlyTheGeneratedRegions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "README.md")
	before := "# Title\n\nintro\n\n" + MarkEvidence + "\nSTALE table\n" + MarkEnd + "\n\nafter\n\n" + MarkTable + "\nSTALE\n" + MarkEnd + "\nend\n"
	require.NoError(t, os.WriteFile(path, []byte(before), 0o644))
	res := sampleResult()
	require.NoError(t, res.UpdateFile(path))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	s := string(b)
	assert.True(t, strings.HasPrefix(s, "# Title\n\nintro\n\n"+MarkEvidence+"\n\nRun of "), s)
	assert.NotContains(t, s, "STALE")
	assert.Contains(t, s, "| fault |")
	assert.Contains(t, s, "\n\nafter\n\n"+MarkTable+"\n\nRun of ")
	assert.Contains(t, s, "| row | mode | requests |", "the table region gets the full table")
	assert.True(t, strings.HasSuffix(s, MarkEnd+"\nend\n"), s)

	// Run twice, the file is the same.
	require.NoError(t, res.UpdateFile(path))
	again, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, s, string(again))

	require.NoError(t, os.WriteFile(path, []byte("no region\n"), 0o644))
	assert.ErrorContains(t, res.UpdateFile(path), "no generated region")
	require.NoError(t, os.WriteFile(path, []byte(MarkTable+"\nno end\n"), 0o644))
	assert.ErrorContains(t, res.UpdateFile(path), "has no")
	b, err = os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, MarkTable+"\nno end\n", string(b), "a refused update changes nothing")
}

func TestRetriedInFlightCountsOnlyDoubleSteps(t *testing.T) {
	r := &watch.Report{Failures: []watch.Failure{
		{Lost: true, What: "session A: count 5 after 3 on n1"},
		{Lost: true, What: "session B: count 9 after 8 on n1"},
		{Lost: true, What: "session C replaced by D (count 1) on n2"},
		{Lost: false, What: "GET http://x: count 5 after 3"},
	}}
	assert.Equal(t, 1, retriedInFlight(r))
}

func TestThousands(t *testing.T) {
	for n, want := range map[int]string{-1: "-", 0: "0", 999: "999", 1000: "1,000", 74867: "74,867", 1234567: "1,234,567"} {
		assert.Equal(t, want, thousands(n))
	}
}

func TestFaultRowsRunInTheFullBenchOnly(t *testing.T) {
	full, short := Options{}, Options{Short: true}
	assert.True(t, full.faultSelected(RowFaultKill))
	assert.False(t, short.faultSelected(RowFaultKill), "--short (CI) leaves the fault rows out")
	only := Options{Short: true, Only: []string{RowFaultFreeze}}
	assert.True(t, only.faultSelected(RowFaultFreeze))
	assert.False(t, only.faultSelected(RowFaultKill))
	ci := Options{Short: true, Only: []string{RowZddRR, RowZddSticky}}
	for _, n := range FaultRows {
		assert.False(t, ci.faultSelected(n), "CI's rows")
	}
}
