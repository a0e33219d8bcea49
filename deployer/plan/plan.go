package plan

import (
	"fmt"
	"strings"
	"time"
)

// Step is one step of a plan. Exactly one of its kinds is set (see Validate); the plan reads
// like what a person would write: route, deploy, gate, pause, drain... OnFailure says what a
// failure of the step does.
type Step struct {
	// Preflight checks every node, load balancer, the database and the WAR; it changes nothing.
	Preflight *PreflightStep `json:"preflight,omitempty"`
	// Migrate runs the schema migrations of one phase.
	Migrate *MigrateStep `json:"migrate,omitempty"`
	// Route changes the load balancers in one change: In nodes in rotation, Out nodes out.
	Route *RouteStep `json:"route,omitempty"`
	// Deploy uploads the new version to the nodes, one at a time.
	Deploy *DeployStep `json:"deploy,omitempty"`
	// Gate checks the new version on the nodes before traffic reaches it.
	Gate *GateStep `json:"gate,omitempty"`
	// Pause waits, or stops the release until `zdd promote`.
	Pause *PauseStep `json:"pause,omitempty"`
	// Drain waits for the old versions' sessions to end.
	Drain *DrainStep `json:"drain,omitempty"`
	// Undeploy removes versions from nodes.
	Undeploy *UndeployStep `json:"undeploy,omitempty"`
	// Stop stops a version on nodes, keeping it deployed (a hard rollback).
	Stop *StopStep `json:"stop,omitempty"`
	// OnFailure is the step's failure policy, set when the plan is built (SetFailurePolicy)
	// and read by the engine's failure path and by Render. Nil in a plan recorded before
	// steps carried it: the journal derives it when it loads the plan.
	OnFailure *Failure `json:"on_failure,omitempty"`
}

// StopStep stops Version on Nodes, all at once, keeping it deployed: its sessions end (they
// are counted as lost) and new sessions go to the older version every node runs beside it.
type StopStep struct {
	Version string   `json:"version"`
	Nodes   []string `json:"nodes"`
}

// PreflightStep checks before anything changes.
type PreflightStep struct{}

// MigrateStep runs the migrations of Phase ("expand" or "contract").
type MigrateStep struct {
	Phase string `json:"phase"`
}

// RouteStep puts In in rotation (with their configured weights) and Out out, in one change.
type RouteStep struct {
	In  []string `json:"in,omitempty"`
	Out []string `json:"out,omitempty"`
}

// DeployStep uploads Version to Nodes, one node at a time (the plan's WAR unless WAR is set).
type DeployStep struct {
	Version string   `json:"version"`
	Nodes   []string `json:"nodes"`
	// WAR, when set, is the WAR to upload instead of the plan's (a rollback of a paused release
	// gives the rest of the fleet the canary's version too, to carry its sessions).
	WAR string `json:"war,omitempty"`
}

// GateStep checks Version on Nodes: health page, clustered session manager, and a probe
// session created on ProbeFrom found on every other node of Nodes.
type GateStep struct {
	Version   string   `json:"version"`
	Nodes     []string `json:"nodes"`
	ProbeFrom string   `json:"probe_from"`
	// StateFrom are the nodes that got the version after others served it: their session
	// manager must have received the sessions from a peer at start (DeltaManager's state
	// transfer); one that asked a peer without the version starts empty and would lose them.
	StateFrom []string `json:"state_from,omitempty"`
}

// PauseStep waits Duration, or stops the release (exit 7) until `zdd promote` when UntilPromote.
type PauseStep struct {
	Duration     time.Duration `json:"duration,omitempty"`
	UntilPromote bool          `json:"until_promote,omitempty"`
}

// DrainStep waits up to Timeout for the sessions of Versions to end; with Expire it expires
// those still open at the deadline.
type DrainStep struct {
	Versions []string      `json:"versions"`
	Timeout  time.Duration `json:"timeout"`
	Expire   bool          `json:"expire,omitempty"`
}

// UndeployStep removes Versions from Nodes. OnlyIfDrained skips versions that still have
// sessions (after a drain that timed out without Expire).
type UndeployStep struct {
	Versions      []string `json:"versions"`
	Nodes         []string `json:"nodes"`
	OnlyIfDrained bool     `json:"only_if_drained,omitempty"`
}

// Validate checks that exactly one field of the step is set.
func (s Step) Validate() error {
	n := 0
	for _, set := range []bool{s.Preflight != nil, s.Migrate != nil, s.Route != nil, s.Deploy != nil,
		s.Gate != nil, s.Pause != nil, s.Drain != nil, s.Undeploy != nil, s.Stop != nil} {
		if set {
			n++
		}
	}
	if n != 1 {
		return fmt.Errorf("deployer: a step must have exactly one kind, this one has %d", n)
	}
	return nil
}

// Kind is the step's kind: preflight, migrate, route, deploy, gate, pause, drain, undeploy or stop.
func (s Step) Kind() string {
	switch {
	case s.Preflight != nil:
		return "preflight"
	case s.Migrate != nil:
		return "migrate"
	case s.Route != nil:
		return "route"
	case s.Deploy != nil:
		return "deploy"
	case s.Gate != nil:
		return "gate"
	case s.Pause != nil:
		return "pause"
	case s.Drain != nil:
		return "drain"
	case s.Undeploy != nil:
		return "undeploy"
	case s.Stop != nil:
		return "stop"
	}
	return "invalid"
}

// String describes the step on one line, as `zdd plan` prints it.
func (s Step) String() string {
	list := func(nodes []string) string {
		if len(nodes) == 0 {
			return "-"
		}
		return strings.Join(nodes, ",")
	}
	switch {
	case s.Preflight != nil:
		return "preflight   check nodes, load balancers, database, WAR, free space"
	case s.Migrate != nil:
		return "migrate     " + s.Migrate.Phase + " migrations on the master"
	case s.Route != nil:
		return fmt.Sprintf("route       in: %s  out: %s", list(s.Route.In), list(s.Route.Out))
	case s.Deploy != nil:
		return fmt.Sprintf("deploy      %s to %s, one node at a time", s.Deploy.Version, list(s.Deploy.Nodes))
	case s.Gate != nil:
		return fmt.Sprintf("gate        %s on %s: health, clustered sessions, probe session from %s replicated", s.Gate.Version, list(s.Gate.Nodes), s.Gate.ProbeFrom)
	case s.Pause != nil:
		if s.Pause.UntilPromote {
			return "pause       until `zdd promote` (exit 7)"
		}
		return "pause       " + s.Pause.Duration.String()
	case s.Drain != nil:
		expire := "keep the sessions still open"
		if s.Drain.Expire {
			expire = "expire the sessions still open"
		}
		return fmt.Sprintf("drain       %s: wait up to %s for their sessions to end, then %s", list(s.Drain.Versions), s.Drain.Timeout, expire)
	case s.Undeploy != nil:
		cond := ""
		if s.Undeploy.OnlyIfDrained {
			cond = " (those without sessions)"
		}
		return fmt.Sprintf("undeploy    %s%s from %s", list(s.Undeploy.Versions), cond, list(s.Undeploy.Nodes))
	case s.Stop != nil:
		return fmt.Sprintf("stop        %s on %s at once (its sessions end)", s.Stop.Version, list(s.Stop.Nodes))
	}
	return "invalid step"
}

// Plan is a release as data: what runs, in order. It is stored in the journal, so `zdd status`,
// `zdd promote` and `zdd resume` know where a release is.
type Plan struct {
	// App is the context name.
	App string `json:"app"`
	// From are the versions running before the release (empty on a first release).
	From []string `json:"from"`
	// To is the new version.
	To string `json:"to"`
	// WAR is the artifact's path, SHA256 its checksum and Size its size in bytes.
	WAR    string `json:"war"`
	SHA256 string `json:"sha256"`
	Size   int64  `json:"size"`
	// Steps run in order.
	Steps []Step `json:"steps"`
}

// Render prints the plan as `zdd plan` shows it, each step with what a failure there does,
// by the step's failure policy (see FailPreflight, FailRollback, FailAttention).
func (p *Plan) Render(nodes []string, canary int) string {
	var b strings.Builder
	from := "nothing (first release)"
	if len(p.From) > 0 {
		from = strings.Join(p.From, ",")
	}
	fmt.Fprintf(&b, "release %s: %s -> %s  (WAR %s, %d bytes, sha256 %s)\n", p.App, from, p.To, p.WAR, p.Size, ShortSum(p.SHA256))
	p.RenderSteps(&b, nodes, canary, true)
	return b.String()
}

// RenderSteps prints the numbered steps of p, with (when warn) the hazards of single-node
// routing and, under each, the "if it fails" line of failureText.
func (p *Plan) RenderSteps(b *strings.Builder, nodes []string, canary int, warn bool) {
	deployed := map[string]bool{}
	hazards := map[int]Hazard{}
	for _, h := range SingleNodeSteps(p, nodes, canary) {
		if warn {
			hazards[h.Step] = h
		}
	}
	for i, s := range p.Steps {
		if s.Deploy != nil {
			for _, n := range s.Deploy.Nodes {
				deployed[n] = true
			}
		}
		fmt.Fprintf(b, "%3d. %s\n", i+1, s)
		if h, ok := hazards[i]; ok {
			left := "no node"
			if len(h.In) == 1 {
				left = "only " + h.In[0]
			}
			fmt.Fprintf(b, "       WARNING: leaves %s in rotation, with no healthy fallback unless the load balancer keeps the others as backup servers; %s\n", left, h.Fix)
		}
		var has []string
		for _, n := range nodes {
			if deployed[n] {
				has = append(has, n)
			}
		}
		fmt.Fprintf(b, "       if it fails: %s\n", p.failureText(s, nodes, has, canary))
	}
}

// failureText says what a failure of step s does, by its policy: for FailRollback, the steps
// that take the new version off the nodes that have it by then (has).
func (p *Plan) failureText(s Step, nodes, has []string, canary int) string {
	switch f := s.Failure(); f.Do {
	case FailPreflight:
		if s.Migrate != nil {
			return "stop; no node or route changed (`zdd migrate status` shows the schema)"
		}
		return "stop; nothing changed"
	case FailAttention:
		if f.Retry == "" || f.Retry == RetryDrain {
			return fmt.Sprintf("stop; %s stays on every node (`zdd drain` retries)", p.To)
		}
		return fmt.Sprintf("stop; needs attention (`%s` retries)", f.Retry)
	}
	if len(has) == 0 {
		return "route every node in"
	}
	var parts []string
	for _, r := range RollbackSteps(nodes, has, p.To, canary) {
		parts = append(parts, strings.Join(strings.Fields(r.String()), " "))
	}
	return strings.Join(parts, "; ")
}

// ShortSum abbreviates a SHA-256 checksum to its first 12 hex digits, as the plan and the
// engine's messages print it.
func ShortSum(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	return s
}
