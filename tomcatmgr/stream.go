package tomcatmgr

import (
	"archive/zip"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
)

// progressStep is how many bytes pass between two progress callbacks.
const progressStep = 1 << 20

// uploadKey carries an *upload in a request's context to streamTransport.
type uploadKey struct{}

// upload is a file to send as a request body.
type upload struct {
	path     string
	size     int64
	progress func(sent, total int64)
}

// streamTransport attaches an upload to the request at the last moment. It is zdd's one
// workaround of resty (the HTTP client the project requires): resty reads an io.Reader body
// into memory before the transport sees the request (to build GetBody for retries;
// TestRestyBuffersReaderBodies shows it), which for a WAR of hundreds of MB would hold it all in
// the zdd process. So resty sees no body, and this transport sends the file from disk with a
// Content-Length, without GetBody (a deploy is never replayed).
// TestDeployStreamsBeforeReadingTheWholeFile fails if the upload stops streaming.
type streamTransport struct {
	base http.RoundTripper
}

// RoundTrip implements http.RoundTripper.
func (t *streamTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	u, ok := req.Context().Value(uploadKey{}).(*upload)
	if !ok {
		return t.base.RoundTrip(req)
	}
	if req.Body != nil {
		_ = req.Body.Close()
	}
	f, err := os.Open(u.path)
	if err != nil {
		return nil, err
	}
	fi, err := f.Stat()
	if err != nil || fi.Size() != u.size {
		_ = f.Close()
		return nil, fmt.Errorf("WAR %s changed after it was checked", u.path)
	}
	r := req.Clone(req.Context())
	r.Body = &progressReader{f: f, total: u.size, fn: u.progress}
	r.ContentLength = u.size
	r.GetBody = nil
	return t.base.RoundTrip(r)
}

// progressReader reports progress every progressStep bytes and at the end.
type progressReader struct {
	f           *os.File
	sent, total int64
	last        int64
	fn          func(sent, total int64)
}

func (p *progressReader) Read(b []byte) (int, error) {
	n, err := p.f.Read(b)
	p.sent += int64(n)
	if p.fn != nil && (p.sent-p.last >= progressStep || (p.sent == p.total && p.last != p.sent)) {
		p.last = p.sent
		p.fn(p.sent, p.total)
	}
	return n, err
}

func (p *progressReader) Close() error { return p.f.Close() }

// CheckWAR checks that path is a regular file holding a zip archive with at least one entry
// under WEB-INF/, reading only the zip's central directory. It returns the file's size. The
// error wraps ErrInvalid.
func CheckWAR(path string) (int64, error) {
	bad := func(msg string, err error) error {
		return &Error{Op: "check war", Context: path, Message: msg, Kind: ErrInvalid, Err: err}
	}
	fi, err := os.Stat(path)
	switch {
	case err != nil:
		return 0, bad("cannot read the WAR", err)
	case !fi.Mode().IsRegular():
		return 0, bad("not a regular file", nil)
	}
	zr, err := zip.OpenReader(path)
	if err != nil {
		return 0, bad("not a zip archive", err)
	}
	defer func() { _ = zr.Close() }()
	for _, f := range zr.File {
		if strings.HasPrefix(f.Name, "WEB-INF/") {
			return fi.Size(), nil
		}
	}
	return 0, bad("zip has no WEB-INF/ entry: not a web application", nil)
}

var _ io.ReadCloser = (*progressReader)(nil)
