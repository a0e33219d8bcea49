package releasecmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring"
	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/state"
	"github.com/saitodrom/zdd/lb"
	"github.com/saitodrom/zdd/lb/nginx"
	"github.com/saitodrom/zdd/tomcatmgr"
)

// StatusOptions are the inputs of `zdd status`.
type StatusOptions struct {
	Deps
	// Output is OutputText or OutputJSON.
	Output string
}

// NewCmdStatus returns `zdd status`. runF, if not nil, replaces the logic (tests).
func NewCmdStatus(f *cmdutil.Factory, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{Deps: newDeps(f)}
	opts.Dial = DialForStatus
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each node's versions and sessions, the load balancers, the database and the release in progress",
		Long: `Show, on stdout: every node's versions of the application with their state and sessions,
the load balancers' weights, the database writer and migration level (when a database is
configured), and the release in the journal with its step and the lock's holder. It changes
nothing.

Every part that can be read is shown, also when a load balancer or a node is unreachable or a
load balancer's host key is unknown or changed: a part that cannot be read is shown with its
error (in JSON, its "error" field and the top-level "errors" list), and the exit code is then 1
after the whole status was printed. Exit 0 means every part was read.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunStatus)
		},
	}
	addOutputFlag(cmd, &opts.Output)
	return cmd
}

// Status is what `zdd status` reports; --output json prints it as one object.
type Status struct {
	// Schema is deployer.EventSchema.
	Schema int `json:"schema"`
	// App is the application's context name.
	App string `json:"app"`
	// Nodes are the nodes in configuration order.
	Nodes []NodeStatus `json:"nodes"`
	// LoadBalancers are the load balancers' node states.
	LoadBalancers LBStatus `json:"load_balancers"`
	// Database is set when a database is configured.
	Database *DBReport `json:"database,omitempty"`
	// Release is the journal's last release, if any.
	Release *ReleaseStatus `json:"release,omitempty"`
	// Lock is the release lock's lease, if one is on file.
	Lock *LockStatus `json:"lock,omitempty"`
	// Errors lists the parts that could not be read.
	Errors []string `json:"errors,omitempty"`
}

// NodeStatus is one node's versions of the application.
type NodeStatus struct {
	Name     string          `json:"name"`
	Versions []VersionStatus `json:"versions"`
	Error    string          `json:"error,omitempty"`
}

// VersionStatus is one deployed version on a node.
type VersionStatus struct {
	Version  string `json:"version"`
	State    string `json:"state"`
	Sessions int    `json:"sessions"`
}

// LBStatus is the load balancers' state of each node: Nodes as read from the hosts that could
// be read (ReadFrom, when not all of them), Error when some host could not be read or the hosts
// disagree, and HostErrors naming each host that could not be read.
type LBStatus struct {
	Hosts      []string           `json:"hosts"`
	Nodes      []NodeRoutingState `json:"nodes"`
	ReadFrom   []string           `json:"read_from,omitempty"`
	Error      string             `json:"error,omitempty"`
	HostErrors []HostError        `json:"host_errors,omitempty"`
}

// HostError is a load-balancer host that could not be read, and why.
type HostError struct {
	Host  string `json:"host"`
	Error string `json:"error"`
}

// NodeRoutingState is one node's weight and whether it is out of rotation.
type NodeRoutingState struct {
	Name   string `json:"name"`
	Weight int    `json:"weight"`
	Down   bool   `json:"down"`
}

// DBReport is the database part of the status.
type DBReport struct {
	DatabaseStatus
	Error string `json:"error,omitempty"`
}

// ReleaseStatus is the journal's release and where it is.
type ReleaseStatus struct {
	ID      string    `json:"id"`
	Status  string    `json:"status"`
	From    []string  `json:"from"`
	To      string    `json:"to"`
	Step    int       `json:"step"`
	Steps   int       `json:"steps"`
	Current string    `json:"current_step,omitempty"`
	Holder  string    `json:"holder"`
	Host    string    `json:"host"`
	Started time.Time `json:"started"`
	Updated time.Time `json:"updated"`
	Error   string    `json:"error,omitempty"`
}

// LockStatus is the lease on file (its token left out).
type LockStatus struct {
	Holder  string    `json:"holder"`
	Host    string    `json:"host"`
	PID     int       `json:"pid"`
	Command string    `json:"command"`
	Started time.Time `json:"started"`
	Expires time.Time `json:"expires"`
	Expired bool      `json:"expired"`
}

// DialForStatus connects for `zdd status` (wiring.DialForStatus).
var DialForStatus DialFunc = wiring.DialForStatus

// hostStater is a load balancer that reads each of its hosts on its own (*nginx.Balancer), so
// that status can show the hosts that answer when another does not.
type hostStater interface {
	HostStates(ctx context.Context) []nginx.HostState
}

// RunStatus gathers the status and prints it on stdout.
func RunStatus(ctx context.Context, opts *StatusOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	c, err := opts.Dial(ctx, cfg)
	if err != nil {
		return err
	}
	defer c.Disconnect()
	st := gather(ctx, cfg, c)
	if opts.Output == OutputJSON {
		enc := json.NewEncoder(opts.IO.Out)
		enc.SetIndent("", "  ")
		err = enc.Encode(st)
	} else {
		err = writeStatus(opts.IO.Out, st)
	}
	if err != nil {
		return err
	}
	if len(st.Errors) > 0 {
		return outcome.WithHint(fmt.Errorf("status: %d part(s) could not be read:\n%s", len(st.Errors), strings.Join(st.Errors, "\n")),
			"the output above shows every part with its error; zdd status changes nothing")
	}
	return nil
}

// gather reads every part of the status; a part that fails is recorded, not fatal.
func gather(ctx context.Context, cfg *config.Config, c *Cluster) *Status {
	st := &Status{Schema: deployer.EventSchema, App: cfg.App.Name}
	fail := func(err error) string {
		st.Errors = append(st.Errors, err.Error())
		return err.Error()
	}
	for _, n := range c.Spec.Nodes {
		ns := NodeStatus{Name: n.Name, Versions: []VersionStatus{}}
		apps, err := c.Managers[n.Name].List(ctx)
		if err != nil {
			ns.Error = fail(err)
		}
		for _, a := range apps {
			if a.Path == "/"+cfg.App.Name {
				ns.Versions = append(ns.Versions, VersionStatus{Version: a.Version, State: a.State, Sessions: a.Sessions})
			}
		}
		// Tomcat lists contexts in no particular order.
		slices.SortFunc(ns.Versions, func(a, b VersionStatus) int { return tomcatmgr.CompareVersions(a.Version, b.Version) })
		st.Nodes = append(st.Nodes, ns)
	}
	for _, h := range cfg.LB.Hosts {
		st.LoadBalancers.Hosts = append(st.LoadBalancers.Hosts, h.Name)
	}
	gatherLB(ctx, c, &st.LoadBalancers, fail)
	if c.DBStatus != nil {
		db, err := c.DBStatus(ctx)
		st.Database = &DBReport{DatabaseStatus: db}
		if err != nil {
			st.Database.Error = fail(err)
		}
	}
	rel, err := (&state.Journal{Dir: cfg.State.Dir}).Current()
	if err != nil {
		fail(err)
	} else if rel != nil {
		st.Release = releaseStatus(rel)
	}
	lease, err := (&state.Locker{Dir: cfg.State.Dir}).Read()
	if err != nil {
		fail(err)
	} else if lease != nil {
		st.Lock = &LockStatus{Holder: lease.Holder, Host: lease.Host, PID: lease.PID, Command: lease.Command,
			Started: lease.Started, Expires: lease.Expires, Expired: time.Now().After(lease.Expires)}
	}
	return st
}

// gatherLB reads the load balancers' node states: host by host when the router can, so that
// one unreadable host does not hide the others.
func gatherLB(ctx context.Context, c *Cluster, ls *LBStatus, fail func(error) string) {
	hs, ok := c.Router.(hostStater)
	if !ok {
		states, err := c.Router.States(ctx)
		if err != nil {
			ls.Error = fail(err)
		}
		ls.Nodes = routingStates(states)
		return
	}
	var first *nginx.HostState
	var disagree []string
	for _, h := range hs.HostStates(ctx) {
		if h.Err != nil {
			ls.HostErrors = append(ls.HostErrors, HostError{Host: h.Host, Error: fail(h.Err)})
			continue
		}
		ls.ReadFrom = append(ls.ReadFrom, h.Host)
		if first == nil {
			first = &h
		} else if !maps.Equal(first.States, h.States) {
			disagree = append(disagree, h.Host)
		}
	}
	if first != nil {
		ls.Nodes = routingStates(first.States)
	}
	var why []string
	if n := len(ls.HostErrors); n > 0 {
		names := make([]string, n)
		for i, e := range ls.HostErrors {
			names[i] = e.Host
		}
		why = append(why, fmt.Sprintf("%s could not be read", strings.Join(names, ", ")))
	}
	if len(disagree) > 0 {
		why = append(why, fmt.Sprintf("%s disagree(s) with %s; the states shown are %s's", strings.Join(disagree, ", "), first.Host, first.Host))
		fail(fmt.Errorf("load balancers: %s", why[len(why)-1]))
	}
	ls.Error = strings.Join(why, "; ")
	if len(ls.HostErrors) == 0 && len(disagree) == 0 {
		ls.ReadFrom = nil // every host was read and they agree
	}
}

func routingStates(states map[string]lb.State) []NodeRoutingState {
	var out []NodeRoutingState
	for _, n := range lb.SortedNodes(states) {
		out = append(out, NodeRoutingState{Name: n, Weight: states[n].Weight, Down: states[n].Down})
	}
	return out
}

func releaseStatus(rel *state.Release) *ReleaseStatus {
	rs := &ReleaseStatus{ID: rel.ID, Status: rel.Status, From: rel.Plan.From, To: rel.Plan.To, Step: rel.Current + 1,
		Steps: len(rel.Plan.Steps), Holder: rel.Holder, Host: rel.Host, Started: rel.Started, Updated: rel.Updated, Error: rel.Error}
	if rel.Current < len(rel.Plan.Steps) {
		rs.Current = rel.Plan.Steps[rel.Current].String()
	} else {
		rs.Step = len(rel.Plan.Steps)
	}
	return rs
}

// writeStatus prints the status as text.
func writeStatus(w io.Writer, st *Status) error {
	var b strings.Builder
	fmt.Fprintf(&b, "application /%s\n", st.App)
	for _, n := range st.Nodes {
		var vs []string
		for _, v := range n.Versions {
			vs = append(vs, fmt.Sprintf("%s %s (%d sessions)", v.Version, v.State, v.Sessions))
		}
		line := strings.Join(vs, ", ")
		if line == "" {
			line = "no version deployed"
		}
		if n.Error != "" {
			line = "error: " + n.Error
		}
		fmt.Fprintf(&b, "  node %-6s %s\n", n.Name, line)
	}
	fmt.Fprintf(&b, "load balancers %s", strings.Join(st.LoadBalancers.Hosts, ", "))
	if r := st.LoadBalancers.ReadFrom; len(r) > 0 {
		fmt.Fprintf(&b, " (states as read from %s)", strings.Join(r, ", "))
	}
	b.WriteString("\n")
	for _, e := range st.LoadBalancers.HostErrors {
		fmt.Fprintf(&b, "  %s: error: %s\n", e.Host, e.Error)
	}
	if st.LoadBalancers.Error != "" {
		fmt.Fprintf(&b, "  error: %s\n", st.LoadBalancers.Error)
	}
	for _, n := range st.LoadBalancers.Nodes {
		rot := "in rotation"
		if n.Down {
			rot = "OUT of rotation"
		}
		fmt.Fprintf(&b, "  node %-6s weight %d, %s\n", n.Name, n.Weight, rot)
	}
	if db := st.Database; db != nil {
		fmt.Fprintf(&b, "database\n")
		if db.Error != "" {
			fmt.Fprintf(&b, "  error: %s\n", db.Error)
		} else {
			fmt.Fprintf(&b, "  writer %s, migration level %s", db.Writer, orNone(db.Level))
			if len(db.Pending) > 0 {
				fmt.Fprintf(&b, ", pending %s", strings.Join(db.Pending, ","))
			}
			b.WriteString("\n")
		}
	}
	writeRelease(&b, st)
	_, err := io.WriteString(w, b.String())
	return err
}

func writeRelease(b *strings.Builder, st *Status) {
	r := st.Release
	if r == nil {
		b.WriteString("release: none recorded\n")
	} else {
		from := "nothing"
		if len(r.From) > 0 {
			from = strings.Join(r.From, ",")
		}
		fmt.Fprintf(b, "release %s: %s -> %s, %s", r.ID, from, r.To, r.Status)
		if r.Current != "" && r.Status != state.StatusDone {
			fmt.Fprintf(b, " at step %d/%d: %s", r.Step, r.Steps, strings.Join(strings.Fields(r.Current), " "))
		}
		fmt.Fprintf(b, "\n  by %s@%s, started %s, updated %s\n", r.Holder, r.Host, r.Started.Format(time.RFC3339), r.Updated.Format(time.RFC3339))
		if r.Error != "" {
			fmt.Fprintf(b, "  error: %s\n", r.Error)
		}
	}
	if l := st.Lock; l != nil {
		state := "held"
		if l.Expired {
			state = "expired"
		}
		fmt.Fprintf(b, "lock: %s by %s@%s (pid %d) running %q, expires %s\n", state, l.Holder, l.Host, l.PID, l.Command, l.Expires.Format(time.RFC3339))
	} else {
		b.WriteString("lock: free\n")
	}
}

func orNone(s string) string {
	if s == "" {
		return "none"
	}
	return s
}
