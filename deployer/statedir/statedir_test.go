package statedir

import (
	"errors"
	"io/fs"
	"os"
	"path/filepath"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func mode(t *testing.T, p string) fs.FileMode {
	t.Helper()
	info, err := os.Stat(p)
	require.NoError(t, err)
	return info.Mode().Perm()
}

// TestModesWhateverTheUmask: files and directories get the policy's modes even under a umask
// that would give others access (000) or take the group's away (077).
func TestModesWhateverTheUmask(t *testing.T) {
	for _, umask := range []int{0o000, 0o022, 0o077} {
		old := syscall.Umask(umask)
		for _, p := range []Policy{{}, {GroupShared: true}} {
			root := filepath.Join(t.TempDir(), "state")
			require.NoError(t, p.WriteAtomic(filepath.Join(root, "release.json"), []byte("{}")))
			f, err := p.OpenAppend(filepath.Join(root, "history.jsonl"))
			require.NoError(t, err)
			require.NoError(t, f.Close())
			tmp, err := p.CreateTemp(filepath.Join(root, "releases"), ".incoming-*.war")
			require.NoError(t, err)
			require.NoError(t, tmp.Close())

			assert.Equal(t, p.DirMode(), mode(t, root), "umask %03o shared=%v", umask, p.GroupShared)
			assert.Equal(t, p.DirMode(), mode(t, filepath.Join(root, "releases")))
			assert.Equal(t, p.FileMode(), mode(t, filepath.Join(root, "release.json")))
			assert.Equal(t, p.FileMode(), mode(t, filepath.Join(root, "history.jsonl")))
			assert.Equal(t, p.FileMode(), mode(t, tmp.Name()))
			require.NoError(t, p.Check(root))
		}
		syscall.Umask(old)
	}
	assert.Equal(t, fs.FileMode(0o700), Policy{}.DirMode())
	assert.Equal(t, fs.FileMode(0o600), Policy{}.FileMode())
	assert.Equal(t, fs.FileMode(0o770), Policy{GroupShared: true}.DirMode())
	assert.Equal(t, fs.FileMode(0o660), Policy{GroupShared: true}.FileMode())
}

func TestWriteAtomicReplacesAndAppendKeeps(t *testing.T) {
	dir := t.TempDir()
	p := Policy{}
	path := filepath.Join(dir, "a.json")
	require.NoError(t, p.WriteAtomic(path, []byte("one")))
	require.NoError(t, p.WriteAtomic(path, []byte("two")))
	b, err := os.ReadFile(path)
	require.NoError(t, err)
	assert.Equal(t, "two", string(b))
	for _, line := range []string{"1\n", "2\n"} {
		f, err := p.OpenAppend(filepath.Join(dir, "h"))
		require.NoError(t, err)
		_, err = f.WriteString(line)
		require.NoError(t, err)
		require.NoError(t, f.Close())
	}
	b, err = os.ReadFile(filepath.Join(dir, "h"))
	require.NoError(t, err)
	assert.Equal(t, "1\n2\n", string(b))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err)
	assert.Len(t, entries, 2, "no temporary file is left")
}

// TestCheckRefusesWritableByOthers: world-writable is refused under both policies,
// group-writable only under the private one; only the directory itself counts.
func TestCheckRefusesWritableByOthers(t *testing.T) {
	parent := t.TempDir()
	require.NoError(t, os.Chmod(parent, 0o777)) // a parent's mode does not matter
	dir := filepath.Join(parent, "state")
	require.NoError(t, os.Mkdir(dir, 0o700))
	cases := []struct {
		mode   fs.FileMode
		shared bool
		ok     bool
	}{
		{0o700, false, true}, {0o750, false, true}, {0o755, false, true}, {0o770, false, false}, {0o777, false, false},
		{0o703, false, false}, {0o770, true, true}, {0o775, true, true}, {0o777, true, false}, {0o2770, true, true},
	}
	for _, c := range cases {
		require.NoError(t, os.Chmod(dir, c.mode))
		err := Policy{GroupShared: c.shared}.Check(dir)
		if c.ok {
			assert.NoError(t, err, "%04o shared=%v", c.mode, c.shared)
			continue
		}
		var ue *UnsafeError
		require.True(t, errors.As(err, &ue), "%04o shared=%v: %v", c.mode, c.shared, err)
		assert.Contains(t, err.Error(), dir)
		want := "chmod 0700 " + dir
		if c.shared {
			want = "chmod 0770 " + dir
		}
		assert.Contains(t, ue.Hint(), want)
		if c.mode&0o002 != 0 {
			assert.Contains(t, ue.Problem(), "world-writable")
			assert.NotContains(t, ue.Hint(), "group_shared")
		} else {
			assert.Contains(t, ue.Problem(), "group-writable")
			assert.Contains(t, ue.Hint(), "state.group_shared: true")
		}
	}
	require.NoError(t, os.Chmod(dir, 0o700))
	assert.NoError(t, Policy{}.Check(filepath.Join(parent, "missing")), "a missing directory is created later")
	file := filepath.Join(parent, "file")
	require.NoError(t, os.WriteFile(file, nil, 0o600))
	assert.ErrorContains(t, Policy{}.Check(file), "not a directory")
}

func TestMkdirAllKeepsSetgid(t *testing.T) {
	root := filepath.Join(t.TempDir(), "state")
	p := Policy{GroupShared: true}
	require.NoError(t, p.MkdirAll(root))
	require.NoError(t, os.Chmod(root, 0o770|fs.ModeSetgid))
	sub := filepath.Join(root, "releases")
	require.NoError(t, p.MkdirAll(sub))
	info, err := os.Stat(sub)
	require.NoError(t, err)
	assert.Equal(t, fs.FileMode(0o770), info.Mode().Perm())
	assert.NotZero(t, info.Mode()&fs.ModeSetgid, "the group-shared parent's setgid bit is kept")
}
