package deployertest

import (
	"context"
	"errors"
)

// Writer is the database writer check: which server HAProxy sends new connections to. It
// implements schema.WriterSource as the HAProxy client does (package connect wires it): an
// error when no server is up, or when the call's context has ended.
type Writer struct{ c *Cluster }

// ActiveServer returns Cluster.ActiveServer; an error when it is "" (no server up).
func (w *Writer) ActiveServer(ctx context.Context) (string, error) {
	var name string
	err := w.c.call(ctx, ActiveServer, "", plainTimeout(ActiveServer, ""), func() error {
		if w.c.ActiveServer == "" {
			return errors.New("deployertest: active server: no server of the backend can take traffic")
		}
		name = w.c.ActiveServer
		return nil
	})
	return name, err
}
