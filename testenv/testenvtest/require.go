// Package testenvtest gives integration tests the running local cluster.
package testenvtest

import (
	"context"
	"os"
	"strconv"
	"sync"
	"testing"
	"time"

	"github.com/saitodrom/zdd/testenv"
)

var (
	once   sync.Once
	env    *testenv.Env
	envErr error
)

// Require returns the local cluster, bringing it up (round-robin mode, or the mode it already
// runs in) if it is not running. The state directory is $ZDD_TESTENV_DIR or testenv.DefaultDir;
// a new environment's ports are shifted by $ZDD_TESTENV_PORT_OFFSET (so that several can run).
// It fails the test when the cluster cannot be brought up; it never skips.
func Require(t testing.TB) *testenv.Env {
	t.Helper()
	once.Do(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
		defer cancel()
		off, _ := strconv.Atoi(os.Getenv("ZDD_TESTENV_PORT_OFFSET"))
		env, envErr = testenv.Up(ctx, testenv.Options{Dir: os.Getenv("ZDD_TESTENV_DIR"), PortOffset: off,
			Log: func(format string, args ...any) { t.Logf(format, args...) }})
	})
	if envErr != nil {
		t.Fatalf("testenv: %v", envErr)
	}
	return env
}

// MatrixEnv is the environment variable that runs the long integration cases (`make matrix`).
const MatrixEnv = "ZDD_MATRIX"

// Matrix skips a long integration case unless $ZDD_MATRIX is set: CI (`make test`) runs one
// representative case of each kind, and `make matrix` runs every case, its latest result
// committed in docs/matrix.md.
func Matrix(t testing.TB) {
	t.Helper()
	if os.Getenv(MatrixEnv) == "" {
		t.Skip("a long case: runs with `make matrix` (" + MatrixEnv + "=1); latest result in docs/matrix.md")
	}
}
