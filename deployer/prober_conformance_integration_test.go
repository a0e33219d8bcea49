//go:build integration

package deployer_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/deployertest/conformance"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// TestConformanceProber runs the Prober seam's cases with deployer.HTTPProber against the
// sample application on testenv's n1 (deployed as /proberapp for the test), the same cases
// deployertest's Prober passes.
func TestConformanceProber(t *testing.T) {
	env := testenvtest.Require(t)
	n := env.Nodes[0]
	m, err := tomcatmgr.New(tomcatmgr.Config{Node: n.Name, BaseURL: n.ManagerURL, User: env.Manager.User,
		Password: env.Manager.Password, DeployTimeout: time.Minute})
	require.NoError(t, err)
	var war bytes.Buffer
	require.NoError(t, testenv.BuildWAR(&war, testenv.WAROptions{Version: "901"}))
	path := filepath.Join(t.TempDir(), "proberapp.war")
	require.NoError(t, os.WriteFile(path, war.Bytes(), 0o644))
	cx := tomcatmgr.Context{Path: "/proberapp", Version: "901"}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := m.Deploy(ctx, cx, path, nil); err != nil && !errors.Is(err, tomcatmgr.ErrAlreadyExists) {
		require.NoError(t, err)
	}
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
		defer cancel()
		if err := m.Undeploy(ctx, cx); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	conformance.Prober(t, conformance.ProberTarget{Prober: deployer.NewHTTPProber(5 * time.Second),
		Health: n.URL + "/proberapp/health.jsp", Session: n.URL + "/proberapp/", Missing: n.URL + "/no-such-conform-app/health.jsp",
		Unreachable: "http://127.0.0.1:1/app/health.jsp"})
}
