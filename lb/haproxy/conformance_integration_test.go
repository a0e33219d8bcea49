//go:build integration

package haproxy

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/deployertest/conformance"
	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/testenv/testenvtest"
)

// TestConformanceWriter runs the database writer check's cases against testenv's HAProxy, as
// connect wires it, the same cases deployertest's Writer passes.
func TestConformanceWriter(t *testing.T) {
	env := testenvtest.Require(t)
	c, err := New(Options{Network: "unix", Address: env.DB.HAProxySocket})
	require.NoError(t, err)
	check := func(backend string) schema.WriterSource {
		return schema.WriterSourceFunc(func(ctx context.Context) (string, error) { return c.ActiveServer(ctx, backend) })
	}
	var names []string
	for _, s := range env.DB.Servers {
		names = append(names, s.Name)
	}
	conformance.Writer(t, conformance.WriterTarget{Writer: check(env.DB.Backend), Servers: names, Down: check("no_such_backend")})
}
