package conformance

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/schema"
)

// WriterTarget is a database writer check and the servers it may name.
type WriterTarget struct {
	// Writer tells which server HAProxy sends new connections to.
	Writer schema.WriterSource
	// Servers are the names it may answer (the keys of database.haproxy.servers).
	Servers []string
	// Down, when set, is a check of a backend with no server up (or that does not exist).
	Down schema.WriterSource
}

// Writer runs the writer check's cases against tg.
func Writer(t *testing.T, tg WriterTarget) {
	t.Run("NamesAConfiguredServer", func(t *testing.T) {
		name, err := tg.Writer.ActiveServer(bg(t))
		require.NoError(t, err)
		assert.Contains(t, tg.Servers, name)
	})
	t.Run("NoServerUpIsAnError", func(t *testing.T) {
		require.NotNil(t, tg.Down, "the target needs a check with no server up")
		name, err := tg.Down.ActiveServer(bg(t))
		assert.Error(t, err)
		assert.Empty(t, name)
	})
	t.Run("ExpiredDeadlineIsAnError", func(t *testing.T) {
		_, err := tg.Writer.ActiveServer(expired())
		assert.ErrorIs(t, err, context.DeadlineExceeded)
	})
}
