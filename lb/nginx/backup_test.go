package nginx

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb"
)

func TestRenderBackupRoundTrip(t *testing.T) {
	src := "upstream tomcat {\n    server a:1 weight=1 max_fails=1; # n1\n    server b:1 weight=1 down;\n}\n"
	f, err := Parse([]byte(src))
	require.NoError(t, err)
	out, err := f.Render(map[string]lb.State{"a:1": {Weight: 1, Down: true, Backup: true}, "b:1": {Weight: 1, Down: true, Backup: true}}, nil)
	require.NoError(t, err)
	assert.Equal(t, "upstream tomcat {\n    server a:1 weight=1 max_fails=1 backup; # n1\n    server b:1 weight=1 backup;\n}\n", string(out))
	f, err = Parse(out)
	require.NoError(t, err)
	st, err := f.States(nil)
	require.NoError(t, err)
	assert.Equal(t, lb.State{Weight: 1, Down: true, Backup: true}, st["a:1"])
	out, err = f.Render(map[string]lb.State{"a:1": {Weight: 1}, "b:1": {Weight: 1, Down: true}}, nil)
	require.NoError(t, err)
	assert.Equal(t, "upstream tomcat {\n    server a:1 weight=1 max_fails=1; # n1\n    server b:1 weight=1 down;\n}\n", string(out))
}

func TestRenderBackupInSeveralBlocks(t *testing.T) {
	src := "upstream tomcat {\n server a:1;\n server b:1;\n}\nupstream tomcat_a {\n server a:1;\n server b:1 backup;\n}\n"
	f, err := Parse([]byte(src))
	require.NoError(t, err)
	st, err := f.States(nil)
	require.NoError(t, err)
	assert.Equal(t, lb.State{Weight: 1}, st["b:1"], "a configured backup in a sticky block is not a zdd backup")
	out, err := f.Render(map[string]lb.State{"b:1": {Weight: 1, Down: true, Backup: true}}, nil)
	require.NoError(t, err, "sticky files take backups too (sticky.go)")
	assert.Equal(t, "upstream tomcat {\n server a:1;\n server b:1 backup; # zdd: configured primary\n}\nupstream tomcat_a {\n server a:1;\n server b:1 backup;\n}\n", string(out))
}
