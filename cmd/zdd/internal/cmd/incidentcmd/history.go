package incidentcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/deployer/state"
)

// HistoryOptions are the inputs of `zdd history`.
type HistoryOptions struct {
	Deps
	// Limit shows only the newest entries (0: all).
	Limit int
}

// NewCmdHistory returns `zdd history`. runF, if not nil, replaces the logic (tests).
func NewCmdHistory(f *cmdutil.Factory, runF func(context.Context, *HistoryOptions) error) *cobra.Command {
	opts := &HistoryOptions{Deps: newDeps(f)}
	cmd := &cobra.Command{
		Use:   "history",
		Short: "Past releases, rollbacks and forced lock releases: version, WAR checksum, outcome, duration, who and from where",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := opts.prepare(cmd, args); err != nil {
				return err
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunHistory)
		},
	}
	cmd.Flags().IntVarP(&opts.Limit, "limit", "n", 0, "show only the newest N entries")
	addOutputFlag(cmd, &opts.Output)
	return cmd
}

// HistoryJSON is one entry of `zdd history --output json`: the journal's entry with its duration.
type HistoryJSON struct {
	state.HistoryEntry
	DurationS float64 `json:"duration_s"`
}

// RunHistory prints the history, oldest first.
func RunHistory(_ context.Context, opts *HistoryOptions) error {
	cfg, err := opts.Config()
	if err != nil {
		return err
	}
	hist, err := (&state.Journal{Dir: cfg.State.Dir}).History()
	if err != nil {
		return err
	}
	if opts.Limit > 0 && len(hist) > opts.Limit {
		hist = hist[len(hist)-opts.Limit:]
	}
	if opts.Output == "json" {
		enc := json.NewEncoder(opts.IO.Out)
		for _, h := range hist {
			if err := enc.Encode(HistoryJSON{HistoryEntry: h, DurationS: h.Duration().Seconds()}); err != nil {
				return err
			}
		}
		return nil
	}
	if len(hist) == 0 {
		fmt.Fprintf(opts.IO.ErrOut, "no history in %s\n", cfg.State.Dir)
		return nil
	}
	tw := tabwriter.NewWriter(opts.IO.Out, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "STARTED\tKIND\tVERSION\tSHA256\tOUTCOME\tDURATION\tWHO\tCOMMAND")
	for _, h := range hist {
		ver := h.To
		if len(h.From) > 0 {
			ver = strings.Join(h.From, ",") + " -> " + h.To
		}
		outcome := h.Status
		if h.RolledBack != nil {
			outcome += " (took away " + h.RolledBack.Version + " " + short(h.RolledBack.SHA256) + ")"
		}
		if h.LostSessions > 0 {
			outcome += fmt.Sprintf(", %d sessions ended", h.LostSessions)
		}
		if h.TakenOverBy != "" && h.Kind == state.KindRelease {
			outcome += ", " + h.TakenOverBy
		}
		if h.Note != "" {
			outcome += ": " + h.Note
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%s\t%s\t%s@%s\t%s\n", h.Started.Local().Format(time.DateTime), kindOf(h), ver,
			short(h.SHA256), outcome, h.Duration().Round(100*time.Millisecond), h.Holder, h.Host, h.Command)
	}
	return tw.Flush()
}

func kindOf(h state.HistoryEntry) string {
	if h.Kind == "" {
		return state.KindRelease
	}
	return h.Kind
}

func short(s string) string {
	if len(s) > 12 {
		return s[:12]
	}
	if s == "" {
		return "-"
	}
	return s
}
