//go:build integration

package testenv_test

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"

	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
	"github.com/saitodrom/zdd/watch"
)

// TestSteadyLoadLosesNothing is the baseline every release is measured against: with no
// deployment, session-keeping load through both load balancers fails nothing and loses nothing.
func TestSteadyLoadLosesNothing(t *testing.T) {
	env := testenvtest.Require(t)
	testenvtest.DeploySample(t, env, testenv.WAROptions{Version: "001"})
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r := watch.Run(ctx, watch.Options{URLs: []string{env.LBs[0].URL + "/app/", env.LBs[1].URL + "/app/"}, Users: 20})
	t.Log(r)
	assert.True(t, r.OK(), "failures: %v", r.Failures)
	assert.Positive(t, r.Requests)
	assert.Len(t, r.Nodes, 3, "every node must serve")
}
