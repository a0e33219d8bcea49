//go:build integration

package nginx

import (
	"testing"

	"github.com/saitodrom/zdd/deployer/deployertest/conformance"
)

// TestConformanceBalancer runs the Balancer seam's cases against both of testenv's Nginx hosts
// over SSH, the same cases deployertest's Router passes.
func TestConformanceBalancer(t *testing.T) {
	_, _, b := setup(t)
	conformance.Balancer(t, conformance.BalancerTarget{Balancer: b, Nodes: []string{"n1", "n2"}, Unknown: "n9"})
}
