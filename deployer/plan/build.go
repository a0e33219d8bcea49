package plan

import (
	"errors"
	"fmt"
	"slices"
	"sort"
	"strings"
	"time"

	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// NodeSpec is one Tomcat node as the engine sees it.
type NodeSpec struct {
	// Name is the node's name (and the key of deployer.Engine.Managers and of the load
	// balancer's states).
	Name string
	// URL is the node's own address (not through the load balancer), e.g. http://10.0.0.1:8080.
	URL string
	// Weight is its weight when in rotation.
	Weight int
}

// Spec is what the engine needs of the configuration, resolved once by the caller.
type Spec struct {
	// App is the context name ("app" is served at /app).
	App string
	// HealthPath is the health page, relative to the context ("/health.jsp").
	HealthPath string
	// ProbePath is the page that creates a session, relative to the context. Empty means "/".
	ProbePath string
	// VersionWidth is the number of digits of every new version (NextVersion pads to it,
	// BuildPlan refuses any other form). Zero skips the form check.
	VersionWidth int
	// Nodes are the nodes in release order.
	Nodes []NodeSpec
	// CanarySize is the size of the first batch (at least 2 when there are more nodes than that).
	CanarySize int
	// PauseAfterCanary stops the release after the canary batch took traffic, until `zdd promote`.
	PauseAfterCanary bool
	// Pause is a timed pause after the canary batch took traffic (when not PauseAfterCanary).
	Pause time.Duration
	// HealthTimeout bounds the wait for a node's health page; ReplicationTimeout the wait for a
	// probe session to appear on the other nodes.
	HealthTimeout, ReplicationTimeout time.Duration
	// DrainTimeout bounds the wait for the old version's sessions to end.
	DrainTimeout time.Duration
	// DeployTimeout is how long one deploy or undeploy call may take (tomcat.deploy_timeout),
	// for the waiting events; zero: unknown.
	DeployTimeout time.Duration
	// ExpireAtDrainDeadline expires the sessions still open at the drain deadline (logs users out).
	ExpireAtDrainDeadline bool
	// NoDrain leaves the old version deployed (drain, undeploy and contract run with `zdd drain`).
	NoDrain bool
	// Migrations tells whether a Migrator is configured.
	Migrations bool
	// Fallback keeps the nodes out of rotation as the load balancer's backup servers instead
	// of down, where it can express that (Nginx round-robin and sticky upstreams): if every
	// node in rotation fails, requests go to them at once. See deployer.Engine.applyRoute.
	Fallback bool
}

// NodeNames returns the names of the nodes in order.
func (s *Spec) NodeNames() []string {
	out := make([]string, len(s.Nodes))
	for i, n := range s.Nodes {
		out[i] = n.Name
	}
	return out
}

// ClusterState is what every node runs of the application.
type ClusterState struct {
	// Apps maps a node to the versions of the application it has.
	Apps map[string][]tomcatmgr.App
	// Age is the nodes by cluster-member age, oldest first (deployer.Engine.MemberAge), nil
	// when not read or unknown: BuildPlan deploys each batch oldest member first.
	Age []string
}

// Versions returns every version of the application found on any node, in Tomcat's order.
func (c *ClusterState) Versions() []string {
	seen := map[string]bool{}
	for _, apps := range c.Apps {
		for _, a := range apps {
			seen[a.Version] = true
		}
	}
	out := make([]string, 0, len(seen))
	for v := range seen {
		out = append(out, v)
	}
	sort.Slice(out, func(i, j int) bool { return tomcatmgr.CompareVersions(out[i], out[j]) < 0 })
	return out
}

// NodesWith returns the nodes, in the order given, that have version v deployed (any state).
func (c *ClusterState) NodesWith(order []string, v string) []string {
	var out []string
	for _, n := range order {
		for _, a := range c.Apps[n] {
			if a.Version == v {
				out = append(out, n)
				break
			}
		}
	}
	return out
}

// Uniform checks that every node runs the same set of versions, all running.
func (c *ClusterState) Uniform(order []string) error {
	var first string
	for i, n := range order {
		var vs []string
		for _, a := range c.Apps[n] {
			if a.State != tomcatmgr.StateRunning {
				return fmt.Errorf("deployer: %s on %s is %s", a.Name(), n, a.State)
			}
			vs = append(vs, a.Version)
		}
		sort.Strings(vs)
		got := strings.Join(vs, ",")
		if i == 0 {
			first = got
		} else if got != first {
			return fmt.Errorf("deployer: nodes disagree: %s runs [%s], %s runs [%s]", order[0], first, n, got)
		}
	}
	return nil
}

// NextVersion returns the version after the highest of existing, zero-padded to width
// ("001" when there is none). It refuses, with a hint, when the highest version is not a
// number (a version deployed by hand or by an older zdd: no number sorts above it), when the
// next number does not fit in width, and when the next version would not sort above every
// existing one (a version narrower than width, such as "3" beside width 3).
func NextVersion(existing []string, width int) (string, error) {
	next := "1"
	if len(existing) > 0 {
		sorted := append([]string(nil), existing...)
		sort.Slice(sorted, func(i, j int) bool { return tomcatmgr.CompareVersions(sorted[i], sorted[j]) < 0 })
		top := sorted[len(sorted)-1]
		if !isDigits(top) {
			return "", outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
				fmt.Errorf("deployer: the newest deployed version %q is not a number, so no numbered version sorts above it (Tomcat compares versions as strings)", top)),
				"`zdd rollback --hard` sends new sessions back to an older version if one still runs on every node; otherwise undeploy that version with the Tomcat Manager once no session uses it")
		}
		next = increment(top)
	}
	v := strings.Repeat("0", max(0, width-len(next))) + next
	if len(v) > width {
		return "", outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
			fmt.Errorf("deployer: the next version %s does not fit in %d digits", v, width)),
			"Tomcat compares versions as strings, so a longer number would sort below the running one; raise app.version_width only together with a version that sorts above")
	}
	if !tomcatmgr.IsNewest(v, existing) {
		return "", outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
			fmt.Errorf("deployer: the next version %s would not sort above the deployed %s: they are not %d digits wide (app.version_width)", v, strings.Join(existing, ","), width)),
			"set app.version_width to the width of the deployed versions")
	}
	return v, nil
}

// increment adds one to the decimal number digits (any length, no overflow), keeping its
// leading zeros: "009" -> "010", "999" -> "1000".
func increment(digits string) string {
	b := []byte(digits)
	for i := len(b) - 1; i >= 0; i-- {
		if b[i] < '9' {
			b[i]++
			return string(b)
		}
		b[i] = '0'
	}
	return "1" + string(b)
}

// isDigits reports whether s is one or more ASCII digits.
func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}

// CheckVersionForm refuses a version that NextVersion could not have produced: anything but
// exactly width ASCII digits (no sign, no letters, no "0x", no '#', '/', ".." or spaces).
// An explicit --version passes through it, so that it is checked exactly as a computed one.
func CheckVersionForm(v string, width int) error {
	var why string
	switch {
	case v == "":
		why = "is empty"
	case !isDigits(v):
		why = "must be decimal digits only (0-9)"
	case len(v) != width:
		why = fmt.Sprintf("has %d digits, app.version_width is %d", len(v), width)
	default:
		return nil
	}
	example := strings.Repeat("0", max(0, width-1)) + "7"
	return outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
		fmt.Errorf("deployer: version %q %s", v, why)),
		fmt.Sprintf("nothing was changed; give --version as %d digits that sort above the running version (e.g. %s), or leave --version out for the next one", width, example))
}

// CheckVersion refuses v unless it has the form of CheckVersionForm and would become the
// newest of existing (CheckNewVersion): the checks every new version passes.
func CheckVersion(v string, width int, existing []string) error {
	if err := CheckVersionForm(v, width); err != nil {
		return err
	}
	return CheckNewVersion(v, existing)
}

// CheckNewVersion refuses a version that would not become the newest on the nodes.
func CheckNewVersion(v string, existing []string) error {
	if err := tomcatmgr.ValidateVersion(v); err != nil {
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err),
			"nothing was changed; give --version as digits that sort above the running version, or leave --version out")
	}
	if !tomcatmgr.IsNewest(v, existing) {
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight,
			fmt.Errorf("deployer: version %s does not sort above the deployed %s (Tomcat compares versions as strings)", v, strings.Join(existing, ","))),
			"nothing was changed; pick a version that sorts after every deployed one, zero-padded to the same width, or leave --version out")
	}
	return nil
}

// BuildPlan turns the spec, the cluster's state and the new version into a plan. The version
// must pass CheckVersion with spec.VersionWidth (CheckNewVersion alone when the width is 0).
func BuildPlan(spec *Spec, state *ClusterState, to string, war WARInfo) (*Plan, error) {
	names := spec.NodeNames()
	if len(names) == 0 {
		return nil, outcome.Classify(outcome.ErrPreflight, errors.New("deployer: no nodes configured"))
	}
	if err := state.Uniform(names); err != nil {
		return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, err),
			"a release starts from a fleet that runs the same versions; `zdd status` shows each node, `zdd resume` or `zdd abort` finish an interrupted release")
	}
	from := state.Versions()
	check := CheckNewVersion
	if spec.VersionWidth > 0 {
		check = func(v string, existing []string) error { return CheckVersion(v, spec.VersionWidth, existing) }
	}
	if err := check(to, from); err != nil {
		return nil, err
	}
	a, b := Batches(names, spec.CanarySize)
	p := &Plan{App: spec.App, From: from, To: to, WAR: war.Path, SHA256: war.SHA256, Size: war.Size}
	add := func(s Step) { p.Steps = append(p.Steps, s) }
	add(Step{Preflight: &PreflightStep{}})
	if spec.Migrations {
		add(Step{Migrate: &MigrateStep{Phase: "expand"}})
	}
	add(Step{Route: &RouteStep{In: b, Out: a}})
	// DeltaManager gives a new context the sessions of the oldest other member only: each batch
	// is deployed oldest member first, so that the others find the version on it.
	add(Step{Deploy: &DeployStep{Version: to, Nodes: ByAge(a, state.Age)}})
	add(Step{Gate: &GateStep{Version: to, Nodes: a, ProbeFrom: a[0]}})
	if len(b) > 0 {
		add(Step{Route: &RouteStep{In: a, Out: b}})
		if spec.PauseAfterCanary {
			add(Step{Pause: &PauseStep{UntilPromote: true}})
		} else if spec.Pause > 0 {
			add(Step{Pause: &PauseStep{Duration: spec.Pause}})
		}
		add(Step{Deploy: &DeployStep{Version: to, Nodes: ByAge(b, state.Age)}})
		add(Step{Gate: &GateStep{Version: to, Nodes: names, ProbeFrom: b[0], StateFrom: b}})
	}
	add(Step{Route: &RouteStep{In: names}})
	if !spec.NoDrain {
		p.Steps = append(p.Steps, DrainSteps(spec, from)...)
	}
	SetFailurePolicy(p.Steps)
	return p, nil
}

// DrainSteps are the steps that retire the old versions: drain, undeploy, contract migrations.
func DrainSteps(spec *Spec, old []string) []Step {
	var out []Step
	if len(old) > 0 {
		out = append(out,
			Step{Drain: &DrainStep{Versions: old, Timeout: spec.DrainTimeout, Expire: spec.ExpireAtDrainDeadline}},
			Step{Undeploy: &UndeployStep{Versions: old, Nodes: spec.NodeNames(), OnlyIfDrained: true}})
	}
	if spec.Migrations {
		out = append(out, Step{Migrate: &MigrateStep{Phase: "contract"}})
	}
	return out
}

// Batches splits the nodes into the canary batch and the rest. With two nodes or more the
// canary has at least two, so that replication is proven before traffic reaches it; when the
// canary would be every node, the last node forms the second batch.
func Batches(names []string, canary int) (a, b []string) {
	if len(names) == 1 {
		return names, nil
	}
	canary = max(canary, 2)
	if canary >= len(names) {
		canary = len(names) - 1
		if canary < 2 {
			// Two nodes: each is a batch of one; the probe can only be proven after the switch.
			canary = 1
		}
	}
	return names[:canary], names[canary:]
}

// RollbackSteps returns the steps that take the new version off the nodes that have it
// (has), so that no node in rotation ever runs it beside one that does not: the nodes
// without it serve while it is undeployed from the others; then every node is put back. A
// failure of one of them stops the rollback, needing attention, `zdd abort` retrying it.
func RollbackSteps(nodes, has []string, version string, canary int) []Step {
	steps := rollbackSteps(nodes, has, version, canary)
	for i := range steps {
		steps[i].OnFailure = &Failure{Do: FailAttention, Retry: RetryAbort}
	}
	return steps
}

func rollbackSteps(nodes, has []string, version string, canary int) []Step {
	if len(has) == 0 {
		return []Step{{Route: &RouteStep{In: nodes}}}
	}
	hasSet := map[string]bool{}
	for _, n := range has {
		hasSet[n] = true
	}
	var without []string
	for _, n := range nodes {
		if !hasSet[n] {
			without = append(without, n)
		}
	}
	var steps []Step
	if len(without) == 0 {
		// Every node has it: take the last batch out, undeploy there, and it becomes the one without.
		keep, rest := Batches(has, canary)
		if len(rest) == 0 {
			return []Step{{Undeploy: &UndeployStep{Versions: []string{version}, Nodes: has}}, {Route: &RouteStep{In: nodes}}}
		}
		steps = append(steps,
			Step{Route: &RouteStep{In: keep, Out: rest}},
			Step{Undeploy: &UndeployStep{Versions: []string{version}, Nodes: rest}})
		without, has = rest, keep
	}
	return append(steps,
		Step{Route: &RouteStep{In: without, Out: has}},
		Step{Undeploy: &UndeployStep{Versions: []string{version}, Nodes: has}},
		Step{Route: &RouteStep{In: nodes}})
}

// WARInfo describes the artifact of a release.
type WARInfo struct {
	// Path is the WAR's path on this machine.
	Path string
	// SHA256 is its checksum (hex).
	SHA256 string
	// Size is its size in bytes.
	Size int64
}

// Hazard is a routing step of a plan that leaves at most one node in rotation: if that node
// fails, nothing in rotation serves, and the other nodes only help where the load balancer
// keeps them as backup servers (round-robin Nginx upstreams; sticky ones write them down).
type Hazard struct {
	// Step is the step's index in the plan (0-based); In are the nodes left in rotation.
	Step int
	In   []string
	// Fix says which setting avoids it.
	Fix string
}

// SingleNodeSteps returns the route steps of p after which at most one of nodes is in
// rotation, with the setting that would keep two there. Every node is in rotation before
// the plan; a route step changes only the nodes it names.
func SingleNodeSteps(p *Plan, nodes []string, canary int) []Hazard {
	in := map[string]bool{}
	for _, n := range nodes {
		in[n] = true
	}
	var out []Hazard
	for i, s := range p.Steps {
		if s.Route == nil {
			continue
		}
		for _, n := range s.Route.In {
			in[n] = true
		}
		for _, n := range s.Route.Out {
			in[n] = false
		}
		var left []string
		for _, n := range nodes {
			if in[n] {
				left = append(left, n)
			}
		}
		if len(left) <= 1 && len(nodes) > 0 {
			out = append(out, Hazard{Step: i, In: left, Fix: batchFix(len(nodes), canary)})
		}
	}
	return out
}

// batchFix names the canary size that keeps two nodes in rotation at every step, or says
// that none does.
func batchFix(n, canary int) string {
	if n >= 4 {
		c := n / 2
		return fmt.Sprintf("strategy.canary_size: %d (now %d) keeps at least two of the %d nodes in rotation at every step", c, canary, n)
	}
	return fmt.Sprintf("with %d nodes no strategy.canary_size avoids it (batches of at least two need four nodes); "+
		"add a node, or keep round-robin upstreams, where zdd leaves the other nodes as Nginx backup servers", n)
}

// ByAge returns nodes in the order of age (oldest first; nodes age does not list keep their
// order, after the others). With age nil it returns nodes unchanged.
func ByAge(nodes, age []string) []string {
	if age == nil {
		return nodes
	}
	out := slices.Clone(nodes)
	pos := func(n string) int {
		if i := slices.Index(age, n); i >= 0 {
			return i
		}
		return len(age)
	}
	slices.SortStableFunc(out, func(a, b string) int { return pos(a) - pos(b) })
	return out
}
