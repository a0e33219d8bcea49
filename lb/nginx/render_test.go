package nginx

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
)

func TestRenderChangesOnlyWeightAndDown(t *testing.T) {
	src := "upstream a {\n" +
		"    server 10.0.0.1:80 weight=1 max_fails=1 fail_timeout=2s; # n1\n" +
		"    server 10.0.0.2:80 down max_fails=3;\n" +
		"    server 10.0.0.3:80;\n" +
		"    server 10.0.0.4:80 backup weight=7\n        down ;\n" +
		"}\n"
	f, err := Parse([]byte(src))
	require.NoError(t, err)
	out, err := f.Render(map[string]lb.State{
		"10.0.0.1:80": {Weight: 5, Down: true},
		"10.0.0.2:80": {Weight: 1},
		"10.0.0.3:80": {Weight: 3, Down: true},
		"10.0.0.4:80": {Weight: 7},
	}, nil)
	require.NoError(t, err)
	want := "upstream a {\n" +
		"    server 10.0.0.1:80 weight=5 max_fails=1 fail_timeout=2s down; # n1\n" +
		"    server 10.0.0.2:80 max_fails=3;\n" +
		"    server 10.0.0.3:80 weight=3 down;\n" +
		"    server 10.0.0.4:80 backup weight=7\n ;\n" +
		"}\n"
	assert.Equal(t, want, string(out))
}

func TestRenderDownWithZeroWeightKeepsWeight(t *testing.T) {
	f, err := Parse([]byte("upstream a { server b:1 weight=4; }"))
	require.NoError(t, err)
	out, err := f.Render(map[string]lb.State{"b:1": {Down: true}}, nil)
	require.NoError(t, err)
	assert.Equal(t, "upstream a { server b:1 weight=4 down; }", string(out))
}

func TestRenderStickyChangesEveryBlock(t *testing.T) {
	f, err := Parse(readTestdata(t, "testenv-sticky.conf"))
	require.NoError(t, err)
	out, err := f.Render(map[string]lb.State{"127.0.0.1:18082": {Weight: 1, Down: true}}, nil)
	require.NoError(t, err)
	g, err := Parse(out)
	require.NoError(t, err)
	n := 0
	for _, u := range g.Upstreams {
		for _, s := range u.Servers {
			assert.Equal(t, s.Addr == "127.0.0.1:18082", s.Down, "%s in %s", s.Addr, u.Name)
			if s.Down {
				n++
			}
		}
	}
	assert.Equal(t, 4, n, "n2 is listed in all four blocks")
	assert.Contains(t, string(out), "    server 127.0.0.1:18082 backup down;\n")
	assert.Contains(t, string(out), "    server 127.0.0.1:18082 max_fails=1 fail_timeout=2s down;\n")

	// Only the tomcat block when asked.
	out, err = f.Render(map[string]lb.State{"127.0.0.1:18082": {Weight: 1, Down: true}}, []string{"tomcat"})
	require.NoError(t, err)
	assert.Equal(t, 1, countDown(t, out))
}

func countDown(t *testing.T, src []byte) int {
	f, err := Parse(src)
	require.NoError(t, err)
	n := 0
	for _, u := range f.Upstreams {
		for _, s := range u.Servers {
			if s.Down {
				n++
			}
		}
	}
	return n
}

func TestRenderRefusesBadInput(t *testing.T) {
	f, err := Parse(readTestdata(t, "testenv-roundrobin.conf"))
	require.NoError(t, err)
	_, err = f.Render(map[string]lb.State{"127.0.0.1:9": {Weight: 1}}, nil)
	assert.ErrorIs(t, err, lb.ErrUnknownNode)
	assert.Contains(t, err.Error(), "127.0.0.1:9")
	for _, w := range []int{0, -1, 1001} {
		_, err = f.Render(map[string]lb.State{"127.0.0.1:18081": {Weight: w}}, nil)
		assert.ErrorIs(t, err, lb.ErrInvalidState, "weight %d", w)
	}
	_, err = f.Render(map[string]lb.State{"127.0.0.1:18081": {Weight: 1000}}, nil)
	assert.NoError(t, err)
	_, err = f.Render(map[string]lb.State{"127.0.0.1:18081": {Weight: 2}}, []string{"nope"})
	assert.ErrorContains(t, err, `upstream "nope" not found`)
}

func TestStatesDisagreeingBlocks(t *testing.T) {
	f, err := Parse([]byte("upstream a { server b:1 weight=2; }\nupstream c { server b:1; }\n"))
	require.NoError(t, err)
	_, err = f.States(nil)
	assert.ErrorContains(t, err, "server b:1 is weight=2 in upstream a line 1 but weight=1 in upstream c line 2")
	st, err := f.States([]string{"c"})
	require.NoError(t, err)
	assert.Equal(t, map[string]lb.State{"b:1": {Weight: 1}}, st)
}
