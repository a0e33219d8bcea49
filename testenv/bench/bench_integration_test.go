//go:build integration

package bench_test

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/testenv/bench"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// TestShortBench is the CI form of `zdd testenv bench --short`: zdd's release rows (round-robin
// and sticky) with few users and short load, to stay within a few minutes. It fails when a zdd
// release row failed a request or lost a session, or could not be measured; the other targets
// are logged. The full table is `zdd testenv bench` (docs/bench.md).
func TestShortBench(t *testing.T) {
	env := testenvtest.Require(t)
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	res, err := bench.Run(ctx, bench.Options{Env: env, Short: true, SkipScale: true,
		Only: []string{bench.RowZddRR, bench.RowZddSticky}, Log: t.Logf})
	require.NoError(t, err, "the cluster must be restored")
	var out bytes.Buffer
	res.WriteText(&out)
	t.Logf("\n%s", out.String())
	releases := 0
	for _, row := range res.Rows {
		if row.Release {
			releases++
			assert.True(t, row.Measured, "%s: %s", row.Name, row.Note)
			assert.Positive(t, row.Requests, "%s ran under load", row.Name)
		}
	}
	assert.Equal(t, 2, releases, "a zdd release row in each load-balancer mode")
	assert.Empty(t, res.ReleaseFailures(), "zdd releases must fail no request and lose no session")
}
