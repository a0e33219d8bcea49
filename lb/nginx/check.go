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
// starts. The hosts are checked at once. The error names every failing host; nil means every
// host passed.
func (b *Balancer) Check(ctx context.Context) error {
	errs, _, _ := onEach(b.opts.Hosts, func(h Host) (error, error) { return b.checkHost(ctx, h), nil })
	return errors.Join(errs...)
}

// checkHost is Check on one host.
func (b *Balancer) checkHost(ctx context.Context, h Host) error {
	f, err := b.read(ctx, h)
	if err != nil {
		return err
	}
	if _, err := f.States(b.opts.Upstreams); err != nil {
		return fmt.Errorf("%w (on %s)", err, h.Name)
	}
	if _, err := h.Runner.Run(ctx, h.TestCommand, nil); err != nil {
		return fmt.Errorf("nginx: %w (fix it on the host: a reload would fail)",
			commandError("the configuration of "+h.Name+" fails its test", h.TestCommand, err))
	}
	return nil
}
