package zddcmd

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/testenv"
)

// situation is a state of the state directory and the working files that a command meets.
type situation struct {
	name string
	// prepare sets up stateDir and returns the arguments (after "zdd").
	prepare func(t *testing.T, stateDir string) []string
	// config is the configuration file ("" for none).
	config string
	// cancelled runs zdd with a context already cancelled, as after SIGINT.
	cancelled bool
	code      int
	// stderr is a fragment of what zdd says on stderr.
	stderr string
}

func args(a ...string) func(*testing.T, string) []string {
	return func(*testing.T, string) []string { return a }
}

// sampleWAR writes the sample application's WAR and returns its path.
func sampleWAR(t *testing.T) string {
	var b bytes.Buffer
	require.NoError(t, testenv.BuildWAR(&b, testenv.WAROptions{Version: "001"}))
	p := filepath.Join(t.TempDir(), "app.war")
	require.NoError(t, os.WriteFile(p, b.Bytes(), 0o644))
	return p
}

func holdLock(t *testing.T, stateDir string) {
	held, err := (&state.Locker{Dir: stateDir}).Acquire(context.Background(),
		state.Lease{Holder: "alice", Host: "ci", PID: 7, Command: "zdd deploy x.war"}, 0)
	require.NoError(t, err)
	t.Cleanup(func() { _ = held.Release() })
}

// TestExitCodesBySituation pins exit codes to situations that produce them through Main with
// the real command tree and configuration loading, without any server: each row is what a
// pipeline meets. Codes 3 and 7 need a release on a cluster: see the list in
// cmd/zdd/internal/pipelinecheck's report (releasecmd and deployer tests, fakes and integration).
func TestExitCodesBySituation(t *testing.T) {
	tests := []situation{
		{name: "version", prepare: args("version"), code: 0},
		{name: "lock status, no lease", config: validConfig, prepare: args("lock", "status"), code: 0},
		{name: "history, empty", config: validConfig, prepare: args("history"), code: 0},

		{name: "deploy, no configuration file", prepare: args("deploy", "app.war"), code: 1,
			stderr: "zdd: error: config: no configuration file at "},
		{name: "promote, configuration without passwords", config: validConfig, prepare: args("promote"), code: 1,
			stderr: "tomcat.password: no Tomcat Manager password"},
		{name: "deploy, WAR missing", config: validConfig, prepare: args("deploy", "/nonexistent/app.war", "--output", "json"), code: 1,
			stderr: "/nonexistent/app.war"},
		{name: "deploy, not a WAR", config: validConfig, prepare: func(t *testing.T, _ string) []string {
			p := filepath.Join(t.TempDir(), "app.war")
			require.NoError(t, os.WriteFile(p, []byte("not a zip"), 0o644))
			return []string{"deploy", p}
		}, code: 1, stderr: "not a zip"},

		{name: "unknown command", prepare: args("promot"), code: 2, stderr: "did you mean `zdd promote`?"},
		{name: "deploy without the WAR", prepare: args("deploy"), code: 2, stderr: "accepts 1 arg"},
		{name: "deploy, mistyped flag", prepare: args("deploy", "app.war", "--lock-wiat", "1m"), code: 2, stderr: "did you mean --lock-wait?"},
		{name: "deploy, bad duration", prepare: args("deploy", "app.war", "--timeout", "soon"), code: 2, stderr: "invalid argument"},
		{name: "promote, bad output", config: validConfig, prepare: args("promote", "--output", "yaml"), code: 2, stderr: "--output must be text or json"},
		{name: "rollback, argument", prepare: args("rollback", "002"), code: 2, stderr: "takes no arguments"},

		{name: "promote, unreadable journal", config: validConfig, prepare: func(t *testing.T, dir string) []string {
			require.NoError(t, os.WriteFile(filepath.Join(dir, "release.json"), []byte("{not json"), 0o644))
			return []string{"promote"}
		}, code: 4},

		{name: "lock release, live lease", config: validConfig, prepare: func(t *testing.T, dir string) []string {
			holdLock(t, dir)
			return []string{"lock", "release"}
		}, code: 5, stderr: "alice"},

		{name: "promote, empty state directory", config: validConfig, prepare: args("promote", "--output", "json"), code: 6,
			stderr: "no release is paused"},
		{name: "lock release, no lease", config: validConfig, prepare: args("lock", "release"), code: 6,
			stderr: "no lease is held"},

		{name: "deploy, interrupted before connecting", config: validConfig, cancelled: true, prepare: func(t *testing.T, _ string) []string {
			return []string{"deploy", sampleWAR(t), "--output", "json"}
		}, code: 130, stderr: "interrupted"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			stateDir := t.TempDir()
			dir := t.TempDir()
			path := filepath.Join(dir, "zdd.yaml")
			if tt.config != "" {
				require.NoError(t, os.WriteFile(path, []byte(tt.config), 0o600))
			}
			t.Setenv("ZDD_CONFIG", path)
			t.Setenv("ZDD_STATE_DIR", stateDir)
			testHome(t, validHost)
			if !strings.Contains(tt.name, "without passwords") {
				t.Setenv("ZDD_TOMCAT_PASSWORD", "tomcat-s3cret")
				t.Setenv("ZDD_DATABASE_PASSWORD", "db-s3cret")
			}
			ctx, cancel := context.WithCancel(context.Background())
			defer cancel()
			if tt.cancelled {
				cancel()
			}
			streams, _, out, errOut := iostreams.Test()
			code := Main(ctx, tt.prepare(t, stateDir), streams)
			assert.Equal(t, tt.code, code, "stdout: %s\nstderr: %s", out, errOut)
			assert.Contains(t, errOut.String(), tt.stderr)
			assert.NotContains(t, out.String()+errOut.String(), "s3cret")
		})
	}
}
