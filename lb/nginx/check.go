package nginx

import (
	"context"
	"errors"
	"fmt"
)

// Check is a preflight of every host that changes nothing: it reads and parses the upstream
// file (with the configured upstream blocks) and runs the test command, which tests the main
// configuration as it is now. The release engine's preflight calls it before any change, so a
// host whose configuration is already broken (a reload would fail) stops the release before it
// starts. The error names every failing host; nil means every host passed.
func (b *Balancer) Check(ctx context.Context) error {
	var errs []error
	for _, h := range b.opts.Hosts {
		f, err := b.read(ctx, h)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		if _, err := f.States(b.opts.Upstreams); err != nil {
			errs = append(errs, fmt.Errorf("%w (on %s)", err, h.Name))
			continue
		}
		if _, err := h.Runner.Run(ctx, h.TestCommand, nil); err != nil {
			errs = append(errs, fmt.Errorf("nginx: %w (fix it on the host: a reload would fail)",
				commandError("the configuration of "+h.Name+" fails its test", h.TestCommand, err)))
		}
	}
	return errors.Join(errs...)
}
