package haproxy

import (
	"context"
	"encoding/csv"
	"fmt"
	"strconv"
	"strings"
)

// OpState is a server's operational state (srv_op_state).
type OpState int

// Operational states.
const (
	OpStopped  OpState = 0
	OpStarting OpState = 1
	OpRunning  OpState = 2
	OpStopping OpState = 3
)

// String implements fmt.Stringer.
func (o OpState) String() string {
	switch o {
	case OpStopped:
		return "stopped"
	case OpStarting:
		return "starting"
	case OpRunning:
		return "running"
	case OpStopping:
		return "stopping"
	}
	return "op(" + strconv.Itoa(int(o)) + ")"
}

// AdminState is the srv_admin_state bitmask.
type AdminState int

// Admin state bits.
const (
	ForcedMaint    AdminState = 0x01 // set server state maint
	InheritedMaint AdminState = 0x02 // from a tracked server
	ConfigMaint    AdminState = 0x04 // "disabled" in the configuration
	ForcedDrain    AdminState = 0x08 // set server state drain
	InheritedDrain AdminState = 0x10
	ResolverMaint  AdminState = 0x20 // DNS resolution failed
	HostnameMaint  AdminState = 0x40 // no address resolved yet
)

var adminNames = []struct {
	bit  AdminState
	name string
}{{ForcedMaint, "FMAINT"}, {InheritedMaint, "IMAINT"}, {ConfigMaint, "CMAINT"}, {ForcedDrain, "FDRAIN"},
	{InheritedDrain, "IDRAIN"}, {ResolverMaint, "RMAINT"}, {HostnameMaint, "HMAINT"}}

// Maint reports whether any maintenance bit is set.
func (a AdminState) Maint() bool {
	return a&(ForcedMaint|InheritedMaint|ConfigMaint|ResolverMaint|HostnameMaint) != 0
}

// Drain reports whether any drain bit is set.
func (a AdminState) Drain() bool { return a&(ForcedDrain|InheritedDrain) != 0 }

// String lists the set bits, e.g. "FMAINT|FDRAIN", or "ready".
func (a AdminState) String() string {
	var parts []string
	for _, n := range adminNames {
		if a&n.bit != 0 {
			parts = append(parts, n.name)
		}
	}
	if rest := a &^ 0x7f; rest != 0 {
		parts = append(parts, fmt.Sprintf("0x%x", int(rest)))
	}
	if len(parts) == 0 {
		return "ready"
	}
	return strings.Join(parts, "|")
}

// ServerState is one line of "show servers state".
type ServerState struct {
	BackendID   int
	Backend     string
	ID          int
	Name        string
	Addr        string
	Port        int
	Op          OpState
	Admin       AdminState
	Weight      int // srv_uweight: the current (user) weight
	InitWeight  int // srv_iweight: the configured weight
	CheckResult int // 0 unknown, 1 neutral, 2 failed, 3 passed, 4 condpass
}

// ParseServersState parses the reply to "show servers state" (format 1).
func ParseServersState(reply string) ([]ServerState, error) {
	lines := strings.Split(strings.TrimRight(reply, "\n"), "\n")
	if len(lines) < 2 || strings.TrimSpace(lines[0]) != "1" || !strings.HasPrefix(lines[1], "# ") {
		return nil, fmt.Errorf("haproxy: show servers state: unexpected reply %q", firstLine(reply))
	}
	col := map[string]int{}
	for i, h := range strings.Fields(strings.TrimPrefix(lines[1], "# ")) {
		col[h] = i
	}
	need := []string{"be_id", "be_name", "srv_id", "srv_name", "srv_addr", "srv_op_state", "srv_admin_state",
		"srv_uweight", "srv_iweight", "srv_check_result", "srv_port"}
	for _, n := range need {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("haproxy: show servers state: column %s missing", n)
		}
	}
	var out []ServerState
	for i, l := range lines[2:] {
		if strings.TrimSpace(l) == "" {
			continue
		}
		f := strings.Fields(l)
		if len(f) < len(col) {
			return nil, fmt.Errorf("haproxy: show servers state: line %d has %d fields, want %d", i+3, len(f), len(col))
		}
		var s ServerState
		var err error
		num := func(name string) int {
			n, e := strconv.Atoi(f[col[name]])
			if e != nil && err == nil && f[col[name]] != "-" {
				err = fmt.Errorf("haproxy: show servers state: line %d: %s=%q", i+3, name, f[col[name]])
			}
			return n
		}
		s.BackendID, s.Backend, s.ID, s.Name, s.Addr = num("be_id"), f[col["be_name"]], num("srv_id"), f[col["srv_name"]], f[col["srv_addr"]]
		s.Port, s.Op, s.Admin = num("srv_port"), OpState(num("srv_op_state")), AdminState(num("srv_admin_state"))
		s.Weight, s.InitWeight, s.CheckResult = num("srv_uweight"), num("srv_iweight"), num("srv_check_result")
		if err != nil {
			return nil, err
		}
		out = append(out, s)
	}
	return out, nil
}

func firstLine(s string) string {
	l, _, _ := strings.Cut(s, "\n")
	return l
}

// ServersState returns the state of every server of backend.
func (c *Client) ServersState(ctx context.Context, backend string) ([]ServerState, error) {
	if err := checkNames(backend); err != nil {
		return nil, err
	}
	cmd := "show servers state " + backend
	reply, err := c.Command(ctx, cmd)
	if err != nil {
		return nil, err
	}
	if !strings.HasPrefix(reply, "1\n") {
		if e := replyErr(cmd, reply); e != nil {
			return nil, e
		}
	}
	return ParseServersState(reply)
}

// Server returns the state of one server.
func (c *Client) Server(ctx context.Context, backend, server string) (ServerState, error) {
	all, err := c.ServersState(ctx, backend)
	if err != nil {
		return ServerState{}, err
	}
	for _, s := range all {
		if s.Name == server {
			return s, nil
		}
	}
	return ServerState{}, fmt.Errorf("haproxy: %s/%s: %w", backend, server, ErrNoServer)
}

// ServerStat is the part of one "show stat" line zdd uses.
type ServerStat struct {
	Backend string
	Name    string
	// Status is UP, DOWN, MAINT, DRAIN, NOLB, "UP 1/2", "no check"...
	Status string
	Weight int
	// Backup is true for a backup server.
	Backup bool
}

// ParseStat parses the CSV reply to "show stat" and returns its server lines.
func ParseStat(reply string) ([]ServerStat, error) {
	r := csv.NewReader(strings.NewReader(strings.TrimPrefix(reply, "# ")))
	r.FieldsPerRecord = -1
	recs, err := r.ReadAll()
	if err != nil || len(recs) == 0 {
		return nil, fmt.Errorf("haproxy: show stat: unexpected reply %q", firstLine(reply))
	}
	col := map[string]int{}
	for i, h := range recs[0] {
		col[h] = i
	}
	for _, n := range []string{"pxname", "svname", "status", "weight", "bck", "type"} {
		if _, ok := col[n]; !ok {
			return nil, fmt.Errorf("haproxy: show stat: column %s missing", n)
		}
	}
	var out []ServerStat
	for _, rec := range recs[1:] {
		if len(rec) < len(recs[0])-1 || rec[col["type"]] != "2" { // 2 = server
			continue
		}
		w, _ := strconv.Atoi(rec[col["weight"]])
		out = append(out, ServerStat{Backend: rec[col["pxname"]], Name: rec[col["svname"]],
			Status: rec[col["status"]], Weight: w, Backup: rec[col["bck"]] == "1"})
	}
	return out, nil
}

// Stats returns the "show stat" lines of the servers of backend.
func (c *Client) Stats(ctx context.Context, backend string) ([]ServerStat, error) {
	if err := checkNames(backend); err != nil {
		return nil, err
	}
	reply, err := c.Command(ctx, "show stat -1 4 -1")
	if err != nil {
		return nil, err
	}
	all, err := ParseStat(reply)
	if err != nil {
		return nil, err
	}
	var out []ServerStat
	for _, s := range all {
		if s.Backend == backend {
			out = append(out, s)
		}
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("haproxy: show stat: backend %s: %w", backend, ErrNoBackend)
	}
	return out, nil
}
