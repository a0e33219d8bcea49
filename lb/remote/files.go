package remote

import (
	"context"
	"fmt"
)

// ReadFile returns the content of the file p on r's host.
func ReadFile(ctx context.Context, r Runner, p string) ([]byte, error) {
	if err := CheckPath(p); err != nil {
		return nil, err
	}
	return r.Run(ctx, "cat -- "+Quote(p), nil)
}

// WriteFile replaces the file p on r's host with data atomically (see Replace): the
// data is written to a temporary file in the same directory, given p's mode (0644
// if p does not exist yet), flushed, then renamed over p. Readers see either the
// old or the new content, never a partial file. On failure the temporary file
// is removed and p is untouched.
func WriteFile(ctx context.Context, r Runner, p string, data []byte) error {
	if err := CheckPath(p); err != nil {
		return err
	}
	q := Quote(p)
	script := Replace{Path: p, Steps: []string{
		`if [ -e ` + q + ` ]; then chmod --reference=` + q + ` "$t"; else chmod 0644 "$t"; fi`,
		`sync "$t" 2>/dev/null || true`}}.Script()
	if _, err := r.Run(ctx, script, data); err != nil {
		return fmt.Errorf("remote: write %s on %s: %w", p, r.Host(), err)
	}
	return nil
}

// CopyFile copies src to dst on r's host (dst replaced atomically).
func CopyFile(ctx context.Context, r Runner, src, dst string) error {
	data, err := ReadFile(ctx, r, src)
	if err != nil {
		return err
	}
	return WriteFile(ctx, r, dst, data)
}
