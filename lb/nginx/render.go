package nginx

import (
	"bytes"
	"fmt"
	"sort"
	"strconv"

	"github.com/saitodrom/zdd/lb"
)

// Weight limits zdd writes. Nginx rejects weight=0: a node out of rotation
// is written down.
const (
	MinWeight = 1
	MaxWeight = 1000
)

// Bytes returns the file as parsed.
func (f *File) Bytes() []byte { return f.src }

// Upstream returns the block named name, or nil.
func (f *File) Upstream(name string) *Upstream {
	for _, u := range f.Upstreams {
		if u.Name == name {
			return u
		}
	}
	return nil
}

// selected returns the blocks named in names (all blocks when names is
// empty); an unknown name is an error.
func (f *File) selected(names []string) ([]*Upstream, error) {
	if len(names) == 0 {
		return f.Upstreams, nil
	}
	out := make([]*Upstream, 0, len(names))
	for _, n := range names {
		u := f.Upstream(n)
		if u == nil {
			return nil, fmt.Errorf("nginx: upstream %q not found in the upstream file (it has %s)", n, f.names())
		}
		out = append(out, u)
	}
	return out, nil
}

func (f *File) names() string {
	var b bytes.Buffer
	for i, u := range f.Upstreams {
		if i > 0 {
			b.WriteString(", ")
		}
		b.WriteString(u.Name)
	}
	if b.Len() == 0 {
		return "no upstream block"
	}
	return b.String()
}

// States returns the state of every server address listed in the selected
// upstream blocks (all when upstreams is empty). A server listed in several
// blocks must have the same weight and down flag in each of them, except in a
// sticky file (see sticky.go), where the weights must agree and the flags of
// all the lines tell the node's state.
func (f *File) States(upstreams []string) (map[string]lb.State, error) {
	ups, err := f.selected(upstreams)
	if err != nil {
		return nil, err
	}
	if isSticky(ups) {
		return stickyStates(ups)
	}
	out := map[string]lb.State{}
	where := map[string]string{}
	backup := zddBackups(ups)
	for _, u := range ups {
		for _, s := range u.Servers {
			st := lb.State{Weight: s.Weight, Down: s.Down}
			here := fmt.Sprintf("upstream %s line %d", u.Name, s.Line)
			if prev, ok := out[s.Addr]; ok && prev != st {
				return nil, fmt.Errorf("nginx: server %s is %v in %s but %v in %s (hint: apply a state to make them agree)",
					s.Addr, prev, where[s.Addr], st, here)
			}
			out[s.Addr], where[s.Addr] = st, here
		}
	}
	for a := range backup {
		if st := out[a]; !st.Down {
			out[a] = lb.State{Weight: st.Weight, Down: true, Backup: true}
		}
	}
	return out, nil
}

// zddBackups returns the servers that are in the state lb.State{Down: true, Backup: true}:
// listed in exactly one of the blocks, as backup and not down. A server listed in several
// blocks (sticky upstreams) is never one: there backup is part of the configuration, and so
// is a backup server that is also down (putting it in rotation keeps its backup parameter).
func zddBackups(ups []*Upstream) map[string]bool {
	count := map[string]int{}
	backup := map[string]bool{}
	for _, u := range ups {
		for _, s := range u.Servers {
			count[s.Addr]++
			backup[s.Addr] = s.Backup && !s.Down
		}
	}
	for a := range backup {
		if count[a] != 1 || !backup[a] {
			delete(backup, a)
		}
	}
	return backup
}

type edit struct {
	start, end int
	text       string
}

// Render returns the file with the given states (keyed by server address)
// applied to every server directive, in the selected upstream blocks, that
// lists that address. An address not listed in any selected block wraps
// lb.ErrUnknownNode; a weight outside MinWeight..MaxWeight wraps
// lb.ErrInvalidState. Nothing else in the file changes; no states, no change.
// In a sticky file (an address listed in several selected blocks) every line
// of the selected blocks is rendered from the states of all the nodes (see
// sticky.go).
func (f *File) Render(states map[string]lb.State, upstreams []string) ([]byte, error) {
	if err := lb.CheckStates(states, MinWeight, MaxWeight); err != nil {
		return nil, fmt.Errorf("nginx: %w", err)
	}
	ups, err := f.selected(upstreams)
	if err != nil {
		return nil, err
	}
	if len(states) == 0 {
		return bytes.Clone(f.src), nil
	}
	if isSticky(ups) {
		return f.renderSticky(states, ups)
	}
	found := map[string]bool{}
	backup := zddBackups(ups)
	var edits []edit
	for _, u := range ups {
		for _, s := range u.Servers {
			st, ok := states[s.Addr]
			if !ok {
				continue
			}
			found[s.Addr] = true
			edits = append(edits, f.edits(s, st, backup[s.Addr])...)
		}
	}
	for _, a := range lb.SortedNodes(states) {
		if !found[a] {
			return nil, fmt.Errorf("nginx: %w: no server %s in upstream %s", lb.ErrUnknownNode, a, f.names())
		}
	}
	return f.apply(edits), nil
}

// apply returns the source with the edits made. Edits must not overlap; at one offset an
// insertion goes before a removal, and insertions keep their order.
func (f *File) apply(edits []edit) []byte {
	sort.SliceStable(edits, func(i, j int) bool {
		a, b := edits[i], edits[j]
		return a.start < b.start || (a.start == b.start && a.end == a.start && b.end > b.start)
	})
	var b bytes.Buffer
	pos := 0
	for _, e := range edits {
		b.Write(f.src[pos:e.start])
		b.WriteString(e.text)
		pos = e.end
	}
	b.Write(f.src[pos:])
	return b.Bytes()
}

// weightEdits returns the change that gives s the weight w (w 0: keep it).
func weightEdits(s *Server, w int) []edit {
	switch {
	case w == 0:
	case s.hasWeight && w != s.Weight:
		return []edit{{s.weightSpan[0], s.weightSpan[1], "weight=" + strconv.Itoa(w)}}
	case !s.hasWeight && w != 1:
		return []edit{{s.addrEnd, s.addrEnd, " weight=" + strconv.Itoa(w)}}
	}
	return nil
}

// edits returns the changes that turn s into st; zddBackup tells that s's backup parameter
// was written for a lb.State.Backup (and may be removed).
func (f *File) edits(s *Server, st lb.State, zddBackup bool) []edit {
	w := st.Weight
	if st.Down && w == 0 {
		w = s.Weight
	}
	out := weightEdits(s, w)
	wantDown, wantBackup := st.Down && !st.Backup, st.Down && st.Backup
	switch {
	case wantDown && !s.Down:
		out = append(out, edit{s.lastEnd, s.lastEnd, " down"})
	case !wantDown && s.Down:
		for _, d := range s.downSpans {
			out = append(out, edit{f.spaceBefore(d[0]), d[1], ""})
		}
	}
	switch {
	case wantBackup && !s.Backup:
		out = append(out, edit{s.lastEnd, s.lastEnd, " backup"})
	case !wantBackup && zddBackup:
		for _, d := range s.backupSpans {
			out = append(out, edit{f.spaceBefore(d[0]), d[1], ""})
		}
	}
	return out
}

// spaceBefore returns the start of the run of blanks (spaces, tabs) that
// ends at i.
func (f *File) spaceBefore(i int) int {
	for i > 0 && (f.src[i-1] == ' ' || f.src[i-1] == '\t') {
		i--
	}
	return i
}
