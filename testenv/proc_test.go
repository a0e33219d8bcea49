package testenv

import (
	"context"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"
)

// TestStartedProcessIsRunningAtOnce starts a process and asks at once whether it runs. Right
// after execve the kernel shows an empty /proc/<pid>/cmdline for a moment (the new program's
// arguments are not mapped yet), and a check made in that window must not take the new
// process for a stranger that died.
func TestStartedProcessIsRunningAtOnce(t *testing.T) {
	dir := t.TempDir()
	for i := 0; i < 100; i++ {
		marker := filepath.Join(dir, "marker")
		p := process{name: "sleeper", pidFile: filepath.Join(dir, "pid"), logFile: filepath.Join(dir, "log"), marker: marker}
		require.NoError(t, p.start([]string{"/bin/sh", "-c", "sleep 30", marker}, nil))
		_, ok := p.running()
		require.True(t, ok, "run %d: the process just started is not seen as running", i)
		require.NoError(t, p.kill(context.Background()))
	}
}
