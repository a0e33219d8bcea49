//go:build integration

package releasecmd_test

import (
	"crypto/sha256"
	"encoding/hex"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// snapshot maps every file under dir to its checksum.
func snapshot(t *testing.T, dir string) map[string]string {
	out := map[string]string{}
	require.NoError(t, filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		out[p] = hex.EncodeToString(sum[:])
		return nil
	}))
	return out
}

// TestBadVersionsChangeNothingOnTheCluster: on the real cluster, bad --version forms are
// refused by plan and deploy with exit 1, and no node, upstream file or state file changes.
func TestBadVersionsChangeNothingOnTheCluster(t *testing.T) {
	c := newCLI(t)
	require.Equal(t, 0, first(c.run(t, "deploy", c.war(t, "002"), "--version", "002")))
	var stateDir string
	for _, a := range c.base {
		if s, ok := strings.CutPrefix(a, "state.dir="); ok {
			stateDir = s
		}
	}
	require.NotEmpty(t, stateDir)
	want, state := every(c.env, "002"), snapshot(t, stateDir)
	upstreams := map[string]string{}
	for _, lb := range c.env.LBs {
		b, err := os.ReadFile(lb.UpstreamFile)
		require.NoError(t, err)
		upstreams[lb.Name] = string(b)
	}
	war := c.war(t, "003")
	for _, v := range []string{"abc", "1234", "0x3", "02a", "001", "0/3", ""} {
		for _, command := range []string{"plan", "deploy"} {
			code, out, errOut := c.run(t, command, war, "--version", v)
			assert.Equal(t, 1, code, "%s --version %q", command, v)
			assert.Contains(t, errOut, "zdd: hint: nothing was changed", "%s --version %q", command, v)
			if command == "deploy" {
				assert.Contains(t, out, "preflight_failed: app ")
			}
		}
		assert.Equal(t, want, c.direct(t), "--version %q: no node changed", v)
		assert.Equal(t, state, snapshot(t, stateDir), "--version %q: state.dir unchanged", v)
		for _, lb := range c.env.LBs {
			b, err := os.ReadFile(lb.UpstreamFile)
			require.NoError(t, err)
			assert.Equal(t, upstreams[lb.Name], string(b), "--version %q: %s's upstreams unchanged", v, lb.Name)
		}
	}
	_, out, _ := c.run(t, "deploy", war, "--version", "001")
	assert.Contains(t, out, "preflight_failed: app 002 -> 001 in ", "the summary says what runs")
}
