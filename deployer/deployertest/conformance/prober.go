package conformance

import (
	"context"
	"net/http"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
)

// ProberTarget is a prober and the pages of one node the Prober cases ask for.
type ProberTarget struct {
	// Prober is the prober.
	Prober deployer.Prober
	// Health is the health page of a running sample application (answers 200).
	Health string
	// Session is a page of that application that creates a session.
	Session string
	// Missing is a page of a context that does not run on the node (the node answers 404).
	Missing string
	// Unreachable is a page of a node that does not answer.
	Unreachable string
}

// Prober runs the Prober cases against tg.
func Prober(t *testing.T, tg ProberTarget) {
	t.Run("HealthOfARunningApplication", func(t *testing.T) {
		code, err := tg.Prober.Health(bg(t), tg.Health)
		require.NoError(t, err)
		assert.Equal(t, http.StatusOK, code)
	})
	t.Run("MissingPageIsAStatusNotAnError", func(t *testing.T) {
		code, err := tg.Prober.Health(bg(t), tg.Missing)
		require.NoError(t, err)
		assert.Equal(t, http.StatusNotFound, code)
		_, err = tg.Prober.NewSession(bg(t), tg.Missing)
		assert.Error(t, err, "no session from a 404")
	})
	t.Run("NewSessionCreatesOneEachTime", func(t *testing.T) {
		a, err := tg.Prober.NewSession(bg(t), tg.Session)
		require.NoError(t, err)
		b, err := tg.Prober.NewSession(bg(t), tg.Session)
		require.NoError(t, err)
		assert.NotEmpty(t, a)
		assert.NotEqual(t, a, b, "each request without a cookie gets a new session")
	})
	t.Run("UnreachableNodeIsAnError", func(t *testing.T) {
		_, err := tg.Prober.Health(bg(t), tg.Unreachable)
		assert.Error(t, err)
		_, err = tg.Prober.NewSession(bg(t), tg.Unreachable)
		assert.Error(t, err)
	})
	t.Run("ExpiredDeadlineIsAnError", func(t *testing.T) {
		_, err := tg.Prober.Health(expired(), tg.Health)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
		_, err = tg.Prober.NewSession(expired(), tg.Session)
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}
