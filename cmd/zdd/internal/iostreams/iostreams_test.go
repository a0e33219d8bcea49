package iostreams

import (
	"os"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCanPromptOnlyOnTerminals(t *testing.T) {
	s, _, _, _ := Test()
	assert.False(t, s.CanPrompt())
	s.SetTTY(true, false, true)
	assert.False(t, s.CanPrompt(), "stdout piped")
	s.SetTTY(false, true, true)
	assert.False(t, s.CanPrompt(), "stdin piped")
	s.SetTTY(true, true, false)
	assert.True(t, s.CanPrompt())
	assert.False(t, s.IsStderrTTY())
}

func TestSystemDetectsPipes(t *testing.T) {
	r, w, err := os.Pipe()
	require.NoError(t, err)
	defer r.Close()
	defer w.Close()
	assert.False(t, isTerminal(r))
	assert.False(t, isTerminal(w))
	f, err := os.CreateTemp(t.TempDir(), "out")
	require.NoError(t, err)
	defer f.Close()
	assert.False(t, isTerminal(f))
}
