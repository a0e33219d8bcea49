//go:build integration

package tomcatmgr_test

import (
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/deployertest/conformance"
	"github.com/saitodrom/zdd/testenv"
	"github.com/saitodrom/zdd/testenv/testenvtest"
	"github.com/saitodrom/zdd/tomcatmgr"
)

var _ deployer.Manager = (*tomcatmgr.Client)(nil)

// TestConformanceManager runs the Manager seam's cases against testenv's Tomcat n1, the same
// cases deployertest's Manager passes.
func TestConformanceManager(t *testing.T) {
	env := testenvtest.Require(t)
	war := buildWAR(t, t.TempDir(), "conform.war", testenv.WAROptions{Version: "901"})
	n := env.Nodes[0]
	m, err := tomcatmgr.New(tomcatmgr.Config{Node: n.Name, BaseURL: n.ManagerURL, User: env.Manager.User,
		Password: env.Manager.Password, RequestTimeout: 20 * time.Second, DeployTimeout: time.Minute})
	require.NoError(t, err)
	dead, err := tomcatmgr.New(tomcatmgr.Config{Node: "n9", BaseURL: "http://127.0.0.1:1/manager", User: "zdd",
		Password: "unused-password", Retries: -1})
	require.NoError(t, err)
	conformance.Manager(t, func(t *testing.T) conformance.ManagerTarget {
		return conformance.ManagerTarget{Manager: m, Unreachable: dead, Path: "/conformapp", WAR: war, Settle: 15 * time.Second}
	})
}
