package nginx

import (
	"bytes"
	"fmt"
	"strconv"

	"github.com/saitodrom/zdd/lb"
)

// Sticky files. An upstream file whose selected blocks list a server address in several
// blocks (sticky sessions: one block per node, chosen by the route suffix of the session id,
// with the owner as primary and the other nodes as backup, beside a plain round-robin pool)
// is rendered as a whole: every server line of a selected block gets the flags that follow
// from the configured roles of the block and the state of every node. With R the nodes in
// rotation (not Down) and, for one block, P its configured primaries:
//
//   - level 1, primary and up: the block's nodes in P and R; when there are none, every node
//     of the block in R;
//   - level 2, backup and up: the block's other nodes in R; when there are none (one node or
//     none serves the block), the nodes kept as fallbacks (lb.State Down and Backup);
//   - every other line is down, and keeps its configured backup parameter.
//
// A block whose level 1 is empty keeps one non-backup line (its first configured primary,
// down; a fallback there is lost in that block only), because Nginx refuses a block with
// backups only. A plain pool (no configured backup) is the same rule with P the whole block:
// in rotation up, fallbacks backup, the rest down.
//
// The configured role of a line stays in the file: when zdd adds backup to a configured
// primary, or removes it from a configured backup, it writes a comment right after the
// directive's ";" (" # zdd: configured primary", " # zdd: configured backup"), and removes it
// when the line gets its configured backup parameter back. Routing every node back in
// therefore restores the file byte for byte as it was written (with one blank before each
// parameter; a removed backup goes back where it was, counted from the end of the line).
// When code follows the ";" on the same line, zdd adds a line break after the comment and
// says so in it (" (line split)"), and removes the break with the comment.

type markKind int

const (
	markNone    markKind = iota
	markPrimary          // the line is configured primary; zdd added its backup parameter
	markBackup           // the line is configured backup; zdd removed its backup parameter
)

// roleMark is the comment zdd wrote after a server directive's ";".
type roleMark struct {
	kind  markKind
	after int  // markBackup: the parameters (down excluded) that followed the removed backup
	split bool // zdd added the line break after the comment
	end   int  // offset just after the comment and its added line break
}

const (
	markPrefix = " # zdd: configured "
	markBefore = " (before "
	markParams = " parameters)"
	markSplit  = " (line split)\n"
)

// parseMark reads the role marker at offset at (just after a ";"), if any.
func parseMark(src []byte, at int) roleMark {
	rest := src[at:]
	if !bytes.HasPrefix(rest, []byte(markPrefix)) {
		return roleMark{}
	}
	i := len(markPrefix)
	var m roleMark
	switch {
	case bytes.HasPrefix(rest[i:], []byte("primary")):
		m.kind, i = markPrimary, i+len("primary")
	case bytes.HasPrefix(rest[i:], []byte("backup")):
		m.kind, i = markBackup, i+len("backup")
		if bytes.HasPrefix(rest[i:], []byte(markBefore)) {
			j := i + len(markBefore)
			k := j
			for k < len(rest) && rest[k] >= '0' && rest[k] <= '9' {
				k++
			}
			n, err := strconv.Atoi(string(rest[j:k]))
			if err == nil && bytes.HasPrefix(rest[k:], []byte(markParams)) {
				m.after, i = n, k+len(markParams)
			}
		}
	default:
		return roleMark{}
	}
	if bytes.HasPrefix(rest[i:], []byte(markSplit)) {
		m.split, i = true, i+len(markSplit)
	}
	m.end = at + i
	return m
}

// text is the comment that records m.
func (m roleMark) text() string {
	s := markPrefix + "primary"
	if m.kind == markBackup {
		s = markPrefix + "backup"
		if m.after > 0 {
			s += markBefore + strconv.Itoa(m.after) + markParams
		}
	}
	if m.split {
		s += markSplit
	}
	return s
}

// configuredBackup tells whether s was configured as a backup server.
func (s *Server) configuredBackup() bool {
	switch s.mark.kind {
	case markPrimary:
		return false
	case markBackup:
		return true
	}
	return s.Backup
}

// isSticky tells whether the blocks are rendered as a sticky file: an address is listed in
// several of them, or a line carries zdd's role marker.
func isSticky(ups []*Upstream) bool {
	count := map[string]int{}
	for _, u := range ups {
		for _, s := range u.Servers {
			count[s.Addr]++
			if count[s.Addr] > 1 || s.mark.kind != markNone {
				return true
			}
		}
	}
	return false
}

// stickyStates reads the node states of a sticky file. A node with a line up and not backup
// is in rotation. A node whose up lines are all backup is a fallback when it is configured
// primary somewhere or down somewhere (a node in rotation is level 1 where it is a primary, and
// never down); otherwise both readings give the same file, and it reads as in rotation. A node
// down on every line is down. The lines of one address must have the same weight.
func stickyStates(ups []*Upstream) (map[string]lb.State, error) {
	type seen struct{ up, upBackup, down, primary bool }
	by := map[string]*seen{}
	weight := map[string]int{}
	where := map[string]string{}
	for _, u := range ups {
		for _, s := range u.Servers {
			here := fmt.Sprintf("upstream %s line %d", u.Name, s.Line)
			if w, ok := weight[s.Addr]; ok && w != s.Weight {
				return nil, fmt.Errorf("nginx: server %s is weight=%d in %s but weight=%d in %s (hint: apply a state to make them agree)",
					s.Addr, w, where[s.Addr], s.Weight, here)
			}
			weight[s.Addr], where[s.Addr] = s.Weight, here
			v := by[s.Addr]
			if v == nil {
				v = &seen{}
				by[s.Addr] = v
			}
			v.up = v.up || (!s.Down && !s.Backup)
			v.upBackup = v.upBackup || (!s.Down && s.Backup)
			v.down = v.down || s.Down
			v.primary = v.primary || !s.configuredBackup()
		}
	}
	out := make(map[string]lb.State, len(by))
	for a, v := range by {
		st := lb.State{Weight: weight[a]}
		switch {
		case v.up:
		case v.upBackup && (v.primary || v.down):
			st.Down, st.Backup = true, true
		case v.upBackup:
		default:
			st.Down = true
		}
		out[a] = st
	}
	return out, nil
}

// target is the flags one server line gets.
type target struct{ backup, down bool }

// blockTargets returns the flags of every server line of u for the node states (see the
// rule at the top of this file).
func blockTargets(u *Upstream, states map[string]lb.State) []target {
	in := func(s *Server) bool { return !states[s.Addr].Down }
	fallback := func(s *Server) bool { st := states[s.Addr]; return st.Down && st.Backup }
	level := make([]int, len(u.Servers)) // 1, 2 or 0 (down)
	l1 := 0
	for i, s := range u.Servers {
		if in(s) && !s.configuredBackup() {
			level[i], l1 = 1, l1+1
		}
	}
	if l1 == 0 {
		for i, s := range u.Servers {
			if in(s) {
				level[i], l1 = 1, l1+1
			}
		}
	}
	l2 := 0
	for i, s := range u.Servers {
		if level[i] == 0 && in(s) {
			level[i], l2 = 2, l2+1
		}
	}
	if l2 == 0 {
		for i, s := range u.Servers {
			if level[i] == 0 && fallback(s) {
				level[i] = 2
			}
		}
	}
	out := make([]target, len(u.Servers))
	primary := false // a line that is not backup
	for i, s := range u.Servers {
		switch level[i] {
		case 1:
			out[i] = target{}
		case 2:
			out[i] = target{backup: true}
		default:
			out[i] = target{backup: s.configuredBackup(), down: true}
		}
		primary = primary || !out[i].backup
	}
	if !primary && len(u.Servers) > 0 {
		keep := 0
		for i, s := range u.Servers {
			if !s.configuredBackup() {
				keep = i
				break
			}
		}
		out[keep] = target{down: true}
	}
	return out
}

// renderSticky renders states (non-empty, checked) into the sticky blocks ups.
func (f *File) renderSticky(states map[string]lb.State, ups []*Upstream) ([]byte, error) {
	cur, err := stickyStates(ups)
	if err != nil {
		return nil, err
	}
	merged := make(map[string]lb.State, len(cur))
	for a, st := range cur {
		merged[a] = st
	}
	for _, a := range lb.SortedNodes(states) {
		st := states[a]
		if _, known := cur[a]; !known {
			return nil, fmt.Errorf("nginx: %w: no server %s in upstream %s", lb.ErrUnknownNode, a, f.names())
		}
		if st.Down && st.Weight == 0 {
			st.Weight = cur[a].Weight
		}
		if !st.Down {
			st.Backup = false
		}
		merged[a] = st
	}
	var edits []edit
	for _, u := range ups {
		for i, t := range blockTargets(u, merged) {
			s := u.Servers[i]
			edits = append(edits, f.stickyEdits(s, t, merged[s.Addr].Weight)...)
		}
	}
	return f.apply(edits), nil
}

// stickyEdits returns the changes that give s the weight w and the flags t, keeping its
// configured role recoverable (see the top of this file).
func (f *File) stickyEdits(s *Server, t target, w int) []edit {
	out := weightEdits(s, w)
	cfgBackup := s.configuredBackup()
	switch {
	case t.backup && !s.Backup && cfgBackup:
		out = append(out, edit{f.backupSpot(s), f.backupSpot(s), " backup"})
	case t.backup && !s.Backup:
		out = append(out, edit{s.lastEnd, s.lastEnd, " backup"})
	case !t.backup && s.Backup:
		for _, d := range s.backupSpans {
			out = append(out, edit{f.spaceBefore(d[0]), d[1], ""})
		}
	}
	switch {
	case t.down && !s.Down:
		out = append(out, edit{s.lastEnd, s.lastEnd, " down"})
	case !t.down && s.Down:
		for _, d := range s.downSpans {
			out = append(out, edit{f.spaceBefore(d[0]), d[1], ""})
		}
	}
	want := roleMark{}
	switch {
	case t.backup && !cfgBackup:
		want.kind = markPrimary
	case !t.backup && cfgBackup:
		want = roleMark{kind: markBackup, after: s.paramsAfterBackup()}
		if s.mark.kind == markBackup {
			want.after = s.mark.after
		}
	}
	if want.kind == s.mark.kind {
		return out
	}
	if s.mark.kind != markNone {
		out = append(out, edit{s.semiEnd, s.mark.end, ""})
	}
	if want.kind != markNone {
		want.split = f.codeAfter(s.semiEnd)
		out = append(out, edit{s.semiEnd, s.semiEnd, want.text()})
	}
	return out
}

// nonDownParams returns s's parameters other than down.
func (f *File) nonDownParams(s *Server) [][2]int {
	var out [][2]int
	for _, p := range s.params {
		if string(f.src[p[0]:p[1]]) != "down" {
			out = append(out, p)
		}
	}
	return out
}

// paramsAfterBackup counts the parameters (down excluded) after s's last backup parameter.
func (s *Server) paramsAfterBackup() int {
	if len(s.backupSpans) == 0 {
		return 0
	}
	last := s.backupSpans[len(s.backupSpans)-1][0]
	n := 0
	for _, p := range s.params {
		if p[0] > last && !containsSpan(s.downSpans, p) {
			n++
		}
	}
	return n
}

func containsSpan(spans [][2]int, p [2]int) bool {
	for _, d := range spans {
		if d == p {
			return true
		}
	}
	return false
}

// backupSpot is where a removed configured backup parameter goes back: before the
// parameters (down excluded) that followed it, as its marker recorded.
func (f *File) backupSpot(s *Server) int {
	ps := f.nonDownParams(s)
	k := s.mark.after
	switch {
	case k == 0 && len(ps) > 0:
		return ps[len(ps)-1][1]
	case k > 0 && k <= len(ps):
		return f.spaceBefore(ps[len(ps)-k][0])
	}
	return s.addrEnd
}

// codeAfter tells whether something other than blanks or a comment follows offset i on its
// line.
func (f *File) codeAfter(i int) bool {
	for ; i < len(f.src) && f.src[i] != '\n'; i++ {
		switch f.src[i] {
		case ' ', '\t', '\r':
		case '#':
			return false
		default:
			return true
		}
	}
	return false
}

// checkSticky checks that every block of a sticky file keeps a server that is not backup
// (Nginx refuses a block with backups only).
func checkSticky(ups []*Upstream) error {
	for _, u := range ups {
		ok := len(u.Servers) == 0
		for _, s := range u.Servers {
			ok = ok || !s.Backup
		}
		if !ok {
			return fmt.Errorf("upstream %s has backup servers only", u.Name)
		}
	}
	return nil
}
