package nginx

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
)

const (
	s1, s2, s3 = "127.0.0.1:18081", "127.0.0.1:18082", "127.0.0.1:18083"
)

var (
	stIn       = lb.State{Weight: 1}
	stFallback = lb.State{Weight: 1, Down: true, Backup: true}
	stDown     = lb.State{Weight: 1, Down: true}
)

// shape describes every block of src as "tomcat: 1 2b 3d | tomcat_n1: ...": per server the
// last digit of its address, b for backup, d for down.
func shape(t *testing.T, src []byte) string {
	t.Helper()
	f, err := Parse(src)
	require.NoError(t, err)
	var blocks []string
	for _, u := range f.Upstreams {
		var ss []string
		for _, s := range u.Servers {
			x := s.Addr[len(s.Addr)-1:]
			if s.Backup {
				x += "b"
			}
			if s.Down {
				x += "d"
			}
			ss = append(ss, x)
		}
		blocks = append(blocks, u.Name+": "+strings.Join(ss, " "))
	}
	return strings.Join(blocks, " | ")
}

// TestRenderStickyShapes renders every shape of rotation into testenv's sticky file: each
// output is valid for Nginx (a non-backup server in every block), reads back as the states
// asked, renders to itself again, and routing every node back in restores the file byte for
// byte.
func TestRenderStickyShapes(t *testing.T) {
	src := readTestdata(t, "testenv-sticky.conf")
	cases := []struct {
		name   string
		states map[string]lb.State
		want   string
		read   map[string]lb.State // what the file reads as, when not states
	}{
		{"all in rotation", map[string]lb.State{s1: stIn, s2: stIn, s3: stIn},
			"tomcat: 1 2 3 | tomcat_n1: 1 2b 3b | tomcat_n2: 2 1b 3b | tomcat_n3: 3 1b 2b", nil},
		{"owner n2 out, down", map[string]lb.State{s1: stIn, s2: stDown, s3: stIn},
			"tomcat: 1 2d 3 | tomcat_n1: 1 2bd 3b | tomcat_n2: 2d 1 3 | tomcat_n3: 3 1b 2bd", nil},
		// A block whose nodes in rotation are all primaries (tomcat, and tomcat_n2 once its
		// owner is out) keeps the fallback as its backup, as round-robin mode does.
		{"owner n2 out, fallback", map[string]lb.State{s1: stIn, s2: stFallback, s3: stIn},
			"tomcat: 1 2b 3 | tomcat_n1: 1 2bd 3b | tomcat_n2: 2b 1 3 | tomcat_n3: 3 1b 2bd", nil},
		{"n3 alone, others fallbacks", map[string]lb.State{s1: stFallback, s2: stFallback, s3: stIn},
			"tomcat: 1b 2b 3 | tomcat_n1: 1b 2b 3 | tomcat_n2: 2b 1b 3 | tomcat_n3: 3 1b 2b", nil},
		{"n3 alone, n1 fallback, n2 down", map[string]lb.State{s1: stFallback, s2: stDown, s3: stIn},
			"tomcat: 1b 2d 3 | tomcat_n1: 1b 2bd 3 | tomcat_n2: 2d 1b 3 | tomcat_n3: 3 1b 2bd", nil},
		{"n3 alone, others down", map[string]lb.State{s1: stDown, s2: stDown, s3: stIn},
			"tomcat: 1d 2d 3 | tomcat_n1: 1d 2bd 3 | tomcat_n2: 2d 1bd 3 | tomcat_n3: 3 1bd 2bd", nil},
		{"none in rotation, all fallbacks", map[string]lb.State{s1: stFallback, s2: stFallback, s3: stFallback},
			"tomcat: 1d 2b 3b | tomcat_n1: 1d 2b 3b | tomcat_n2: 2d 1b 3b | tomcat_n3: 3d 1b 2b",
			// Nginx needs a non-backup line: each block's first primary is down there, and
			// so is n1 in tomcat (its first line); n1 still backs up tomcat_n2 and tomcat_n3.
			nil},
		{"none in rotation, n1 fallback", map[string]lb.State{s1: stFallback, s2: stDown, s3: stDown},
			"tomcat: 1b 2d 3d | tomcat_n1: 1d 2bd 3bd | tomcat_n2: 2d 1b 3bd | tomcat_n3: 3d 1b 2bd", nil},
		{"none in rotation, all down", map[string]lb.State{s1: stDown, s2: stDown, s3: stDown},
			"tomcat: 1d 2d 3d | tomcat_n1: 1d 2bd 3bd | tomcat_n2: 2d 1bd 3bd | tomcat_n3: 3d 1bd 2bd", nil},
	}
	f, err := Parse(src)
	require.NoError(t, err)
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			out, err := f.Render(c.states, nil)
			require.NoError(t, err)
			assert.Equal(t, c.want, shape(t, out))
			g, err := Parse(out)
			require.NoError(t, err)
			require.NoError(t, checkSticky(g.Upstreams), "nginx needs a non-backup server in every block")
			require.NoError(t, checkRendered(out, c.states, nil))
			got, err := g.States(nil)
			require.NoError(t, err)
			want := c.states
			if c.read != nil {
				want = c.read
			}
			assert.Equal(t, want, got)
			back, err := g.Render(map[string]lb.State{s1: stIn, s2: stIn, s3: stIn}, nil)
			require.NoError(t, err)
			assert.Equal(t, string(src), string(back), "every node back in restores the file as written")
		})
	}
}

// awkward is a sticky file with a backup parameter before others, a comment glued to the
// ";", two directives on one line and tabs.
const awkward = `upstream tomcat {
	server a:1 weight=2;# a
	server b:1;	server c:1 max_fails=1; # bc
}
upstream tomcat_a { server a:1 weight=2 max_fails=1; server b:1 backup max_fails=2 fail_timeout=3s; server c:1 backup; }
upstream tomcat_b {
    server b:1;
    server a:1 weight=2 backup max_fails=1 ; # a
    server c:1 backup;
}
`

// TestRenderStickyAnyPath renders every combination of node states (in rotation, fallback,
// down) from every other one: the result never depends on the file it starts from, is valid
// for Nginx, and every node back in gives the file as written, byte for byte.
func TestRenderStickyAnyPath(t *testing.T) {
	for name, src := range map[string]string{"testenv": string(readTestdata(t, "testenv-sticky.conf")), "awkward": awkward} {
		t.Run(name, func(t *testing.T) {
			f, err := Parse([]byte(src))
			require.NoError(t, err)
			st, err := f.States(nil)
			require.NoError(t, err)
			nodes := lb.SortedNodes(st)
			all := allStates(nodes, st)
			from := map[int][]byte{}
			for i, a := range all {
				out, err := f.Render(a, nil)
				require.NoError(t, err, "%v", a)
				from[i] = out
				g, err := Parse(out)
				require.NoError(t, err)
				require.NoError(t, checkSticky(g.Upstreams), "%v:\n%s", a, out)
			}
			for i := range all {
				g, err := Parse(from[i])
				require.NoError(t, err)
				for j, b := range all {
					out, err := g.Render(b, nil)
					require.NoError(t, err)
					require.Equal(t, string(from[j]), string(out), "from %v to %v", all[i], b)
				}
				back, err := g.Render(st, nil)
				require.NoError(t, err)
				require.Equal(t, src, string(back), "from %v back to every node in", all[i])
			}
		})
	}
}

// allStates returns every combination of in rotation, fallback and down for nodes (weights
// as in cur).
func allStates(nodes []string, cur map[string]lb.State) []map[string]lb.State {
	out := []map[string]lb.State{{}}
	for _, n := range nodes {
		var next []map[string]lb.State
		for _, m := range out {
			w := cur[n].Weight
			for _, st := range []lb.State{{Weight: w}, {Weight: w, Down: true, Backup: true}, {Weight: w, Down: true}} {
				c := map[string]lb.State{n: st}
				for k, v := range m {
					c[k] = v
				}
				next = append(next, c)
			}
		}
		out = next
	}
	return out
}

func TestRenderStickyMarkers(t *testing.T) {
	f, err := Parse([]byte(awkward))
	require.NoError(t, err)
	out, err := f.Render(map[string]lb.State{"a:1": {Down: true}, "b:1": stFallback, "c:1": {Weight: 1}}, nil)
	require.NoError(t, err)
	want := `upstream tomcat {
	server a:1 weight=2 down;# a
	server b:1 backup; # zdd: configured primary (line split)
	server c:1 max_fails=1; # bc
}
upstream tomcat_a { server a:1 weight=2 max_fails=1 down; server b:1 backup max_fails=2 fail_timeout=3s; server c:1; # zdd: configured backup (line split)
 }
upstream tomcat_b {
    server b:1 backup; # zdd: configured primary
    server a:1 weight=2 backup max_fails=1 down ; # a
    server c:1; # zdd: configured backup
}
`
	assert.Equal(t, want, string(out))
	// c, alone in rotation, is level 1 everywhere (in tomcat_a and tomcat_b although configured
	// backup there); b is the fallback of every block, and a is down.
	g, err := Parse(out)
	require.NoError(t, err)
	got, err := g.States(nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]lb.State{"a:1": {Weight: 2, Down: true}, "b:1": stFallback, "c:1": stIn}, got)
	// a backup removed from the middle of a line goes back where it was
	out, err = f.Render(map[string]lb.State{"c:1": stDown, "a:1": {Weight: 2, Down: true}}, nil)
	require.NoError(t, err)
	assert.Contains(t, string(out), "server b:1 max_fails=2 fail_timeout=3s; # zdd: configured backup (before 2 parameters)")
	g, err = Parse(out)
	require.NoError(t, err)
	back, err := g.Render(map[string]lb.State{"c:1": stIn, "a:1": {Weight: 2}}, nil)
	require.NoError(t, err)
	assert.Equal(t, awkward, string(back))
}

func TestVerifyStickyComparesEveryLine(t *testing.T) {
	f, err := Parse(readTestdata(t, "testenv-sticky.conf"))
	require.NoError(t, err)
	// The file as zdd wrote it before sticky backups: n1 and n2 down on every line.
	old, err := Parse([]byte(strings.NewReplacer(
		"server 127.0.0.1:18081 weight=1 max_fails=1 fail_timeout=2s;", "server 127.0.0.1:18081 weight=1 max_fails=1 fail_timeout=2s down;",
		"server 127.0.0.1:18082 weight=1 max_fails=1 fail_timeout=2s;", "server 127.0.0.1:18082 weight=1 max_fails=1 fail_timeout=2s down;",
		"server 127.0.0.1:18081 max_fails=1 fail_timeout=2s;", "server 127.0.0.1:18081 max_fails=1 fail_timeout=2s down;",
		"server 127.0.0.1:18082 max_fails=1 fail_timeout=2s;", "server 127.0.0.1:18082 max_fails=1 fail_timeout=2s down;",
		"server 127.0.0.1:18081 backup;", "server 127.0.0.1:18081 backup down;",
		"server 127.0.0.1:18082 backup;", "server 127.0.0.1:18082 backup down;").Replace(string(f.Bytes()))))
	require.NoError(t, err)
	st, err := old.States(nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]lb.State{s1: stDown, s2: stDown, s3: stIn}, st)
	h := Host{Name: "lb1", UpstreamFile: "/etc/nginx/upstreams.conf"}
	err = verifySticky(h, old, st, nil)
	require.ErrorIs(t, err, lb.ErrNotLive, "n3 must be level 1 in tomcat_n1: the file does not hold the states")
	assert.ErrorContains(t, err, `line 13 "server 127.0.0.1:18083 backup;", want "server 127.0.0.1:18083; # zdd: configured backup"`)
	out, err := old.Render(st, nil)
	require.NoError(t, err)
	g, err := Parse(out)
	require.NoError(t, err)
	assert.NoError(t, verifySticky(h, g, st, nil))
	assert.NoError(t, verifySticky(h, g, map[string]lb.State{s3: stIn}, nil))
	assert.ErrorIs(t, verifySticky(h, g, map[string]lb.State{s1: stFallback}, nil), lb.ErrNotLive)
	assert.ErrorIs(t, verifySticky(h, g, map[string]lb.State{"127.0.0.1:9": stIn}, nil), lb.ErrUnknownNode)
}
