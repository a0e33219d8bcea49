package nginx

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/lb/remote/remotetest"
)

func TestCheckPasses(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", readCall(oldConf), remotetest.Call{Cmd: testCmd})
	lb2 := remotetest.New(t, "lb2", readCall(oldConf), remotetest.Call{Cmd: testCmd})
	require.NoError(t, newBalancer(t, lb1, lb2).Check(context.Background()))
}

func TestCheckNamesEveryFailingHost(t *testing.T) {
	lb1 := remotetest.New(t, "lb1", readCall("upstream tomcat {\n    server 127.0.0.1:18081 weight=1\n"))
	lb2 := remotetest.New(t, "lb2", readCall(oldConf),
		remotetest.Call{Cmd: testCmd, Exit: 1, Stderr: "nginx: [emerg] unknown directive \"bogus\" in /etc/nginx/nginx.conf:40"})
	err := newBalancer(t, lb1, lb2).Check(context.Background())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "on lb1")
	assert.Contains(t, err.Error(), "the configuration of lb2 fails its test")
	assert.Contains(t, err.Error(), `unknown directive "bogus"`)
}
