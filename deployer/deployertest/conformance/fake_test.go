package conformance_test

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/deployertest"
	"github.com/saitodrom/zdd/deployer/deployertest/conformance"
	"github.com/saitodrom/zdd/deployer/schema"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/testenv"
)

// The fakes implement the seams.
var (
	_ deployer.Manager    = (*deployertest.Manager)(nil)
	_ lb.Balancer         = (*deployertest.Router)(nil)
	_ deployer.Prober     = (*deployertest.Prober)(nil)
	_ schema.WriterSource = (*deployertest.Writer)(nil)
)

func sampleWAR(t *testing.T) string {
	p := filepath.Join(t.TempDir(), "conform.war")
	f, err := os.Create(p)
	require.NoError(t, err)
	require.NoError(t, testenv.BuildWAR(f, testenv.WAROptions{Version: "901"}))
	require.NoError(t, f.Close())
	return p
}

func TestConformanceFakeManager(t *testing.T) {
	conformance.Manager(t, func(t *testing.T) conformance.ManagerTarget {
		c := deployertest.New([]string{"n1", "n2"}, "001")
		return conformance.ManagerTarget{Manager: c.Manager("n1"), Unreachable: c.Manager("n9"), Path: "/conform",
			WAR: sampleWAR(t), HangNextDeploy: func() { c.HangNext(deployertest.Deploy, "n1") }}
	})
}

func TestConformanceFakeBalancer(t *testing.T) {
	c := deployertest.New([]string{"n1", "n2", "n3"}, "001")
	conformance.Balancer(t, conformance.BalancerTarget{Balancer: c.Router(), Nodes: []string{"n1", "n2"}, Unknown: "n9"})
}

func TestConformanceFakeProber(t *testing.T) {
	c := deployertest.New([]string{"n1", "n2"}, "001")
	conformance.Prober(t, conformance.ProberTarget{Prober: c.Prober(), Health: "http://n1/app/health.jsp",
		Session: "http://n1/app/", Missing: "http://n1/conform-missing/health.jsp", Unreachable: "http://n9/app/health.jsp"})
}

func TestConformanceFakeWriter(t *testing.T) {
	c := deployertest.New([]string{"n1"})
	down := deployertest.New([]string{"n1"})
	down.ActiveServer = ""
	conformance.Writer(t, conformance.WriterTarget{Writer: c.Writer(), Servers: []string{"db1", "db2"}, Down: down.Writer()})
}
