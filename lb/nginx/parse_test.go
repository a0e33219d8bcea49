package nginx

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
)

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	require.NoError(t, err)
	return b
}

func TestParseRoundTripsRealFiles(t *testing.T) {
	files, err := filepath.Glob("testdata/*.conf")
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(files), 3)
	for _, name := range files {
		t.Run(filepath.Base(name), func(t *testing.T) {
			src, err := os.ReadFile(name)
			require.NoError(t, err)
			f, err := Parse(src)
			require.NoError(t, err)
			assert.Equal(t, string(src), string(f.Bytes()))
			out, err := f.Render(map[string]lb.State{}, nil)
			require.NoError(t, err)
			assert.Equal(t, string(src), string(out), "rendering no change must give the same bytes")
			// Setting every server to the state it already has changes nothing either.
			st, err := f.States(nil)
			require.NoError(t, err)
			out, err = f.Render(st, nil)
			require.NoError(t, err)
			assert.Equal(t, string(src), string(out))
		})
	}
}

func TestParseTestenvSticky(t *testing.T) {
	f, err := Parse(readTestdata(t, "testenv-sticky.conf"))
	require.NoError(t, err)
	require.Len(t, f.Upstreams, 4)
	assert.Equal(t, []string{"tomcat", "tomcat_n1", "tomcat_n2", "tomcat_n3"},
		[]string{f.Upstreams[0].Name, f.Upstreams[1].Name, f.Upstreams[2].Name, f.Upstreams[3].Name})
	n1 := f.Upstream("tomcat_n1")
	require.Len(t, n1.Servers, 3)
	assert.Equal(t, "127.0.0.1:18081", n1.Servers[0].Addr)
	assert.False(t, n1.Servers[0].Backup)
	assert.True(t, n1.Servers[1].Backup)
	assert.Equal(t, 1, n1.Servers[1].Weight)
	st, err := f.States(nil)
	require.NoError(t, err)
	assert.Equal(t, map[string]lb.State{"127.0.0.1:18081": {Weight: 1}, "127.0.0.1:18082": {Weight: 1},
		"127.0.0.1:18083": {Weight: 1}}, st)
}

func TestParseMixed(t *testing.T) {
	f, err := Parse(readTestdata(t, "mixed.conf"))
	require.NoError(t, err)
	require.Len(t, f.Upstreams, 2)
	app := f.Upstream("app")
	require.Len(t, app.Servers, 5)
	assert.Equal(t, &Server{Addr: "10.0.0.1:8080", Line: 9, Weight: 5}, strip(app.Servers[0]))
	assert.Equal(t, &Server{Addr: "10.0.0.2:8080", Line: 10, Weight: 1, Down: true}, strip(app.Servers[1]))
	assert.Equal(t, &Server{Addr: "10.0.0.3:8080", Line: 11, Weight: 2, Backup: true}, strip(app.Servers[2]))
	assert.Equal(t, "unix:/run/app.sock", app.Servers[4].Addr)
	assert.Equal(t, "quoted-name", f.Upstreams[1].Name)
}

func strip(s *Server) *Server {
	return &Server{Addr: s.Addr, Line: s.Line, Weight: s.Weight, Down: s.Down, Backup: s.Backup}
}

func TestParseErrorsCarryLineNumbers(t *testing.T) {
	cases := []struct {
		name, src string
		line      int
		msg       string
	}{
		{"missing semicolon", "upstream a {\n  server 1.2.3.4:80\n}\n", 3, `missing ";"`},
		{"unclosed block", "upstream a {\n  server 1.2.3.4:80;\n", 3, `expecting "}"`},
		{"stray close", "upstream a {\n}\n}\n", 3, `unexpected "}"`},
		{"weight zero", "upstream a {\n\n  server 1.2.3.4:80 weight=0;\n}\n", 3, "weight must be 1 or more"},
		{"weight text", "upstream a {\n  server 1.2.3.4:80 weight=x;\n}\n", 2, "invalid"},
		{"duplicate weight", "upstream a {\n  server b weight=1 weight=2;\n}\n", 2, "duplicate weight"},
		{"no address", "upstream a {\n  server;\n}\n", 2, "without an address"},
		{"no name", "upstream {\n}\n", 1, "exactly one name"},
		{"duplicate upstream", "upstream a {}\nupstream a {}\n", 2, "duplicate upstream"},
		{"nested block", "upstream a {\n  server b { }\n}\n", 2, "inside upstream"},
		{"unterminated quote", "upstream a {\n  server \"b;\n}\n", 2, "unterminated"},
		{"missing final semicolon", "upstream a { server b; }\nkeepalive 3", 2, `expecting ";"`},
		{"lone semicolon", "upstream a {\n ;\n}", 2, `unexpected ";"`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Parse([]byte(c.src))
			var se *SyntaxError
			require.ErrorAs(t, err, &se)
			assert.Equal(t, c.line, se.Line, "%v", err)
			assert.Contains(t, se.Error(), c.msg)
			assert.Contains(t, se.Error(), "line ")
		})
	}
}
