package plan

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

func TestPausedStepsStartNextOnTheOldestMember(t *testing.T) {
	all, canary, rest := planNodes, []string{"n1", "n2"}, []string{"n3"}
	routes := func(steps []Step) (out []string) {
		for _, s := range steps {
			switch {
			case s.Route != nil:
				out = append(out, "route in:"+strings.Join(s.Route.In, ",")+" out:"+strings.Join(s.Route.Out, ","))
			case s.Deploy != nil:
				out = append(out, "deploy "+s.Deploy.Version+" "+strings.Join(s.Deploy.Nodes, ","))
			}
		}
		return out
	}
	usual := []string{"deploy 002 n3", "deploy 003 n3", "route in:n3 out:n1,n2", "deploy 003 n1,n2", "route in:n1,n2,n3 out:"}
	assert.Equal(t, usual, routes(PausedRollbackSteps(all, canary, rest, nil, "002", "003", "bad.war")), "age unknown")
	assert.Equal(t, usual, routes(PausedRollbackSteps(all, canary, rest, []string{"n3", "n1", "n2"}, "002", "003", "bad.war")))
	assert.Equal(t, []string{"deploy 002 n3", "route in:n3 out:n2,n1", "deploy 003 n2,n1", "route in:n2,n1 out:n3",
		"deploy 003 n3", "route in:n1,n2,n3 out:"},
		routes(PausedRollbackSteps(all, canary, rest, []string{"n2", "n1", "n3"}, "002", "003", "bad.war")),
		"the oldest member is a canary node: the canary gets 003 first, oldest first")
}
