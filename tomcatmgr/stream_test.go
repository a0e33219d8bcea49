package tomcatmgr

import (
	"context"
	"io"
	"net/http"
	"os"
	"runtime"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDeployStreamsBeforeReadingTheWholeFile fails if Deploy stops streaming (if the WAR
// reaches resty as a body, which resty reads into memory first: TestRestyBuffersReaderBodies).
// The server takes the first 64 KiB of a 32 MiB upload and notes how much of the file the
// client had read from disk by then: a streaming client can be ahead only by what the
// loopback socket buffers hold (a few MiB), a buffering one has read it all. And the whole
// Deploy allocates far less than the file's size.
func TestDeployStreamsBeforeReadingTheWholeFile(t *testing.T) {
	rp := newReplay(t)
	war := validWAR(t, 32<<20)
	fi, err := os.Stat(war)
	require.NoError(t, err)
	size := fi.Size()
	var readFromDisk, readWhenFirstBytesArrived atomic.Int64
	var received int64
	rp.routes["PUT /manager/text/deploy"] = func(w http.ResponseWriter, r *http.Request) {
		n, err := io.CopyN(io.Discard, r.Body, 64<<10)
		readWhenFirstBytesArrived.Store(readFromDisk.Load())
		rest, _ := io.Copy(io.Discard, r.Body)
		received = n + rest
		assert.NoError(t, err)
		_, _ = w.Write(readTestdata(t, "deploy_ok_002.txt"))
	}
	c := rp.client(func(cfg *Config) { cfg.DeployTimeout = 30 * time.Second })

	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	err = c.Deploy(context.Background(), Context{Path: "/app", Version: "002"}, war, func(sent, _ int64) { readFromDisk.Store(sent) })
	runtime.ReadMemStats(&after)
	require.NoError(t, err)

	require.Equal(t, size, received, "the server got the whole WAR")
	first := readWhenFirstBytesArrived.Load()
	t.Logf("read from disk when the server had its first 64 KiB: %d of %d bytes; allocated during Deploy: %d bytes",
		first, size, after.TotalAlloc-before.TotalAlloc)
	assert.Less(t, first, size/2, "the first bytes reach the server before the client has read the file: the upload streams")
	assert.Less(t, after.TotalAlloc-before.TotalAlloc, uint64(size/4), "Deploy never holds the WAR in memory")
}
