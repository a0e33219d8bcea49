package releasecmd

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/deployer"
	"github.com/saitodrom/zdd/deployer/outcome"
	"github.com/saitodrom/zdd/deployer/plan"
)

// PreviousFlags register the WAR of the running version when zdd did not deploy it (it ran
// before zdd was adopted), so that the first rollback after the release is a soft one.
type PreviousFlags struct {
	// PreviousWAR is the WAR of the running version PreviousVersion.
	PreviousWAR string
	// PreviousVersion is the running version whose code PreviousWAR is.
	PreviousVersion string
}

func addPreviousFlags(cmd *cobra.Command, pf *PreviousFlags) {
	cmd.Flags().StringVar(&pf.PreviousWAR, "previous-war", "", "the WAR of the running version zdd did not deploy (with --previous-version): registered with its checksum, so `zdd rollback` can go back to it without losing sessions")
	cmd.Flags().StringVar(&pf.PreviousVersion, "previous-version", "", "the running version (on every node) whose code --previous-war is")
}

// checkPrevious validates the --previous-* flags against what runs, or, without them, warns
// when the newest version running on every node has no WAR in zdd's store (the first rollback
// after this release could only be --hard). It changes nothing; the WAR to register, if any,
// is returned.
func checkPrevious(ctx context.Context, e *deployer.Engine, pf PreviousFlags, newWAR plan.WARInfo, warn func(string)) (*plan.WARInfo, error) {
	st, err := e.Observe(ctx)
	if err != nil {
		return nil, outcome.Classify(outcome.ErrPreflight, err)
	}
	if pf.PreviousWAR != "" || pf.PreviousVersion != "" {
		war, err := e.CheckPrevious(st, pf.PreviousVersion, pf.PreviousWAR)
		if err != nil {
			return nil, err
		}
		if war.SHA256 == newWAR.SHA256 {
			return nil, outcome.WithHint(outcome.Classify(outcome.ErrPreflight, fmt.Errorf(
				"release: --previous-war %s is the WAR being released (sha256 %s), not the code of %s; nothing was changed",
				pf.PreviousWAR, war.SHA256[:12], pf.PreviousVersion)), "give the WAR that was deployed as "+pf.PreviousVersion)
		}
		return &war, nil
	}
	v, err := e.Unregistered(st)
	if err != nil {
		return nil, outcome.Classify(outcome.ErrPreflight, err)
	}
	if v != "" {
		warn(fmt.Sprintf("preflight: %s runs on every node but zdd has no WAR of it (deployed before zdd?): after this release `zdd rollback` could only be --hard, losing sessions; register it with --previous-war app-%s.war --previous-version %s",
			v, v, v))
	}
	return nil, nil
}
