package version

import (
	"os"
	"os/exec"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
)

func TestRun(t *testing.T) {
	streams, _, out, _ := iostreams.Test()
	require.NoError(t, Run(&Options{IO: streams, Version: "1.2.3", Commit: "abc1234", Date: "2026-01-02T03:04:05Z"}))
	assert.Equal(t, "zdd version 1.2.3 (commit abc1234, built 2026-01-02T03:04:05Z)\n", out.String())
}

func TestNewCmdVersionPassesBuildInfo(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	var got *Options
	cmd := NewCmdVersion(cmdutil.New(streams), func(o *Options) error { got = o; return nil })
	cmd.SetArgs(nil)
	require.NoError(t, cmd.Execute())
	require.NotNil(t, got)
	assert.Equal(t, "dev", got.Version)
	assert.Equal(t, "none", got.Commit)
}

// TestLdflagsInjectVersion builds zdd with the -X flags .goreleaser.yml uses and runs it.
func TestLdflagsInjectVersion(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	bin := filepath.Join(t.TempDir(), "zdd")
	pkg := "github.com/saitodrom/zdd/cmd/zdd/internal/build"
	build := exec.Command("go", "build", "-trimpath", "-o", bin, "-ldflags",
		"-X "+pkg+".Version=9.8.7 -X "+pkg+".Commit=feedbee -X "+pkg+".Date=2026-05-06T07:08:09Z",
		"github.com/saitodrom/zdd/cmd/zdd")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	outb, err := build.CombinedOutput()
	require.NoError(t, err, string(outb))
	outb, err = exec.Command(bin, "version").Output()
	require.NoError(t, err)
	assert.Equal(t, "zdd version 9.8.7 (commit feedbee, built 2026-05-06T07:08:09Z)\n", string(outb))
}
