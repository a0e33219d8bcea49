package remote

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestReplaceWithTheShell runs both forms of the recipe with /bin/sh: the new content replaces
// the file, a failing step leaves the file as it was and no temporary file behind, and an
// early exit of a step removes the temporary file too.
func TestReplaceWithTheShell(t *testing.T) {
	ctx := context.Background()
	l := &Local{}
	dir := t.TempDir()
	p := filepath.Join(dir, "up.conf")
	read := func() string {
		b, err := os.ReadFile(p)
		require.NoError(t, err)
		return string(b)
	}
	leftovers := func() []string {
		m, err := filepath.Glob(filepath.Join(dir, ".up.conf.zdd-*"))
		require.NoError(t, err)
		return m
	}
	require.NoError(t, os.WriteFile(p, []byte("old\n"), 0o640))

	for _, form := range []string{"script", "group"} {
		script := func(r Replace) string {
			if form == "group" {
				return r.Group()
			}
			return r.Script()
		}
		require.NoError(t, os.WriteFile(p, []byte("old\n"), 0o640))
		_, err := l.Run(ctx, script(Replace{Path: p, Steps: []string{`chmod --reference=` + Quote(p) + ` "$t"`}}), []byte("new\n"))
		require.NoError(t, err, form)
		assert.Equal(t, "new\n", read(), form)
		st, err := os.Stat(p)
		require.NoError(t, err)
		assert.Equal(t, os.FileMode(0o640), st.Mode().Perm(), "%s: the step ran on the temporary file", form)
		assert.Empty(t, leftovers(), form)

		_, err = l.Run(ctx, script(Replace{Path: p, Steps: []string{"false"}}), []byte("broken\n"))
		require.Error(t, err, "%s: a failing step fails the recipe", form)
		assert.Equal(t, "new\n", read(), "%s: the file is untouched", form)
		assert.Empty(t, leftovers(), "%s: the temporary file is removed", form)

		_, err = l.Run(ctx, script(Replace{Path: p, Steps: []string{`if cmp -s -- "$t" ` + Quote(p) + `; then exit 0; fi`}}), []byte("new\n"))
		require.NoError(t, err, form)
		assert.Empty(t, leftovers(), "%s: an early exit removes the temporary file", form)
	}
	out, err := l.Run(ctx, Replace{Path: p, Steps: []string{"false"}}.Group()+" || echo told; echo next", []byte("x"))
	require.NoError(t, err)
	assert.Equal(t, "told\nnext\n", string(out), "the group form lets a longer command tell its failure and go on")
}
