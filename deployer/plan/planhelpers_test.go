package plan

import "time"

// planNodes are the nodes of the plan tests' cluster (engine_test.go's three).
var planNodes = []string{"n1", "n2", "n3"}

// planSpec is the spec of the plan tests (engine_test.go's testSpec).
func planSpec(nodes []string) *Spec {
	s := &Spec{App: "app", HealthPath: "/health.jsp", VersionWidth: 3, CanarySize: 2,
		HealthTimeout: 50 * time.Millisecond, ReplicationTimeout: 50 * time.Millisecond, DrainTimeout: 50 * time.Millisecond}
	for _, n := range nodes {
		s.Nodes = append(s.Nodes, NodeSpec{Name: n, URL: "http://" + n, Weight: 1})
	}
	return s
}
