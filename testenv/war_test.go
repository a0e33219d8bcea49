package testenv

import (
	"archive/zip"
	"bytes"
	"io"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func readWAR(t *testing.T, opts WAROptions) map[string]*zip.File {
	t.Helper()
	var buf bytes.Buffer
	require.NoError(t, BuildWAR(&buf, opts))
	zr, err := zip.NewReader(bytes.NewReader(buf.Bytes()), int64(buf.Len()))
	require.NoError(t, err)
	files := map[string]*zip.File{}
	for _, f := range zr.File {
		files[f.Name] = f
	}
	return files
}

func content(t *testing.T, f *zip.File) string {
	t.Helper()
	r, err := f.Open()
	require.NoError(t, err)
	defer r.Close()
	b, err := io.ReadAll(r)
	require.NoError(t, err)
	return string(b)
}

func TestBuildWARVariants(t *testing.T) {
	plain := readWAR(t, WAROptions{Version: "002"})
	for _, name := range []string{"WEB-INF/web.xml", "index.jsp", "version.jsp", "health.jsp"} {
		require.Contains(t, plain, name)
	}
	assert.Contains(t, content(t, plain["WEB-INF/web.xml"]), "<distributable/>")
	assert.Contains(t, content(t, plain["index.jsp"]), "version=002 node=")
	assert.Contains(t, content(t, plain["health.jsp"]), "%>OK")
	assert.NotContains(t, plain, "WEB-INF/padding.bin")

	variant := readWAR(t, WAROptions{Version: "003", FailHealth: true, NotDistributable: true, PadMB: 2})
	assert.NotContains(t, content(t, variant["WEB-INF/web.xml"]), "<distributable/>")
	assert.Contains(t, content(t, variant["health.jsp"]), "setStatus(500)")
	require.Contains(t, variant, "WEB-INF/padding.bin")
	assert.Equal(t, uint64(2<<20), variant["WEB-INF/padding.bin"].UncompressedSize64)
}

func TestBuildWARRefusesBadInput(t *testing.T) {
	for _, v := range []string{"", "0/1", "a b", "1#2", "../x"} {
		assert.Error(t, BuildWAR(io.Discard, WAROptions{Version: v}), "version %q", v)
	}
	assert.Error(t, BuildWAR(io.Discard, WAROptions{Version: "1", PadMB: -1}))
}
