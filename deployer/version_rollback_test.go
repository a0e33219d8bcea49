package deployer

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
	"github.com/saitodrom/zdd/deployer/state"
)

// TestRollbackOfANonNumericVersionRefusesClearly: a cluster whose newest version is not a
// number (deployed by an older zdd, which did not check --version) is refused by `zdd
// rollback` with exit 1 and a hint, without a crash and without a change.
func TestRollbackOfANonNumericVersionRefusesClearly(t *testing.T) {
	c := deployertest.New(three, "")
	spec := testSpec(three)
	spec.VersionWidth = 0 // as an older zdd: any version Tomcat accepts
	e := newEngine(t, c, spec)
	e.Store = state.NewStore(t.TempDir())
	for i, v := range []string{"001", "abc"} {
		body := append(append([]byte{}, minimalWAR...), make([]byte, i)...) // other code: another checksum
		p := filepath.Join(t.TempDir(), "app.war")
		require.NoError(t, os.WriteFile(p, body, 0o644))
		sum := sha256.Sum256(body)
		w := plan.WARInfo{Path: p, SHA256: hex.EncodeToString(sum[:]), Size: int64(len(body))}
		st, err := e.Observe(context.Background())
		require.NoError(t, err)
		plan, err := plan.BuildPlan(spec, st, v, w)
		require.NoError(t, err)
		require.NoError(t, e.Start(context.Background(), plan, state.Lease{Holder: "t", Host: "h"}))
	}
	require.Equal(t, []string{"abc"}, c.Versions("n1"))
	spec.VersionWidth = 3
	before := len(c.Changes())
	_, err := e.PlanRollback(context.Background(), RollbackOptions{Store: e.Store,
		Locker: &state.Locker{Dir: t.TempDir()}, Who: state.Lease{Holder: "t", Host: "h"}})
	require.Error(t, err)
	assert.Equal(t, 1, outcome.Code(err), "%v", err)
	assert.Contains(t, err.Error(), `the newest deployed version "abc" is not a number`)
	assert.Contains(t, outcome.Hint(err), "zdd rollback --hard")
	assert.Equal(t, before, len(c.Changes()), "planning changed nothing")
}
