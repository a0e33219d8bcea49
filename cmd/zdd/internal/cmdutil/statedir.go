package cmdutil

import (
	"errors"
	"fmt"

	"github.com/saitodrom/zdd/deployer/config"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/statedir"
)

// checkStateDir refuses a state directory that is world-writable, or group-writable without
// state.group_shared (statedir.Policy.Check: the directory itself, not its parents; a missing
// one is created later with the policy's mode).
func checkStateDir(cfg *config.Config) []config.Problem {
	if cfg.State.Dir == "" {
		return nil
	}
	err := cfg.State.Policy().Check(cfg.State.Dir)
	var unsafe *statedir.UnsafeError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &unsafe):
		return []config.Problem{{Key: "state.dir", Message: unsafe.Problem(), Hint: unsafe.Hint()}}
	default:
		return []config.Problem{{Key: "state.dir", Message: err.Error(), Hint: "state.dir must be a directory zdd can read and write"}}
	}
}

// prepareStateDir creates a missing state directory with the policy's mode (0700, or 0770
// with state.group_shared), before the lease, the journal or the store write in it.
func prepareStateDir(cfg *config.Config) error {
	if err := cfg.State.Policy().MkdirAll(cfg.State.Dir); err != nil {
		return outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf("state: create %s: %w", cfg.State.Dir, err)),
			"state.dir must be a directory zdd can create, read and write")
	}
	return nil
}
