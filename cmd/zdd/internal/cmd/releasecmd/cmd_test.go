package releasecmd

import (
	"context"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/cmd/zdd/internal/wiring"
	"github.com/saitodrom/zdd/deployer"
)

func TestDeployFlags(t *testing.T) {
	streams, _, _, _ := iostreams.Test()
	f := cmdutil.New(streams)
	var got *DeployOptions
	cmd := NewCmdDeploy(f, func(_ context.Context, o *DeployOptions) error { got = o; return nil })
	cmd.SetArgs([]string{"app.war", "--version", "042", "--no-drain", "-o", "json", "--timeout", "30m", "--lock-wait", "10m"})
	require.NoError(t, cmd.Execute())
	assert.Equal(t, "app.war", got.WAR)
	assert.Equal(t, "042", got.Version)
	assert.True(t, got.NoDrain)
	assert.Equal(t, OutputJSON, got.Output)
	assert.Equal(t, 30*time.Minute, got.Timeout)
	assert.Same(t, streams, got.IO)
	require.Contains(t, f.ConfigOptions.Flags, "strategy.lock_wait", "--lock-wait sets strategy.lock_wait")
	assert.Equal(t, "10m0s", f.ConfigOptions.Flags["strategy.lock_wait"].Value.String())
	assert.Contains(t, got.Who.Command, "deploy --lock-wait=10m0s --no-drain=true --output=json --timeout=30m0s --version=042 app.war")
}

func TestRedactSet(t *testing.T) {
	assert.Equal(t, "tomcat.password=<redacted>", wiring.RedactSet("set", "tomcat.password=hunter2"))
	assert.Equal(t, "database.dsn=<redacted>", wiring.RedactSet("set", "database.dsn=u:p@tcp(x)/db"))
	assert.Equal(t, "strategy.canary_size=2", wiring.RedactSet("set", "strategy.canary_size=2"))

}

func TestTerminalShowsBars(t *testing.T) {
	streams, _, out, errOut := iostreams.Test()
	streams.SetTTY(false, false, true)
	r := newReporter(streams, OutputText)
	require.NotNil(t, r.bars, "a terminal on stderr gets progress bars")
	now := time.Now()
	r.Emit(deployer.Event{Time: now, Type: deployer.EventStepStarted, Step: 3, Kind: "deploy", Message: "deploy 002"})
	r.Emit(deployer.Event{Time: now, Type: deployer.EventProgress, Step: 3, Kind: "deploy", Node: "n1", Message: "upload", Current: 512 << 10, Total: 1 << 20, Unit: "bytes"})
	r.Emit(deployer.Event{Time: now, Type: deployer.EventProgress, Step: 3, Kind: "deploy", Node: "n1", Message: "upload", Current: 1 << 20, Total: 1 << 20, Unit: "bytes"})
	r.Emit(deployer.Event{Time: now, Type: deployer.EventStepFinished, Step: 3, Kind: "deploy", Duration: 1})
	r.finish(nil, "app", []string{"001"}, "002", now)
	assert.Contains(t, errOut.String(), "n1 upload")
	assert.Contains(t, errOut.String(), "100%")
	assert.Contains(t, errOut.String(), "[3 deploy] done in 1.0s")
	assert.NotContains(t, errOut.String(), "512/1048576 bytes", "no plain progress line on a terminal")
	assert.True(t, strings.HasPrefix(out.String(), "success: app 001 -> 002 in "))

	streams, _, _, errOut = iostreams.Test()
	r = newReporter(streams, OutputText)
	assert.Nil(t, r.bars, "no bars without a terminal")
	r.Emit(deployer.Event{Time: now, Type: deployer.EventProgress, Step: 3, Node: "n1", Kind: "deploy", Message: "upload", Current: 1, Total: 1, Unit: "bytes"})
	assert.Contains(t, errOut.String(), "[3 deploy] n1: upload 1/1 bytes")
}
