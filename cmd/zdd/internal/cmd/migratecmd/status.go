package migratecmd

import (
	"context"
	"fmt"
	"io"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/deployer/schema"
)

// StatusOptions are the inputs of `zdd migrate status`.
type StatusOptions struct {
	IO        *iostreams.IOStreams
	NewRunner NewRunnerFunc
	Output    string
}

// NewCmdStatus returns `zdd migrate status`. runF, if not nil, replaces the logic (tests).
func NewCmdStatus(f *cmdutil.Factory, newRunner NewRunnerFunc, runF func(context.Context, *StatusOptions) error) *cobra.Command {
	opts := &StatusOptions{IO: f.IOStreams, NewRunner: newRunner}
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show every migration's state, the writer, and any dirty journal entry",
		Long: `Show each migration of both phases (applied, pending, dirty, changed, missing) from the
journal, and which server the connection reached. Changes nothing and takes no lock.`,
		Args: cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if err := checkOutput(opts.Output); err != nil {
				return err
			}
			return cmdutil.RunOr(cmd.Context(), opts, runF, RunStatus)
		},
	}
	addOutputFlag(cmd, &opts.Output)
	return cmd
}

// StatusJSON is the JSON form of `zdd migrate status`.
type StatusJSON struct {
	Server      schema.ServerInfo `json:"server"`
	Writer      bool              `json:"writer"`
	WriterError string            `json:"writer_error,omitempty"`
	Phases      []PhaseJSON       `json:"phases"`
	Dirty       []ItemJSON        `json:"dirty"`
}

// PhaseJSON is one phase of StatusJSON.
type PhaseJSON struct {
	Phase      schema.Phase `json:"phase"`
	Migrations []ItemJSON   `json:"migrations"`
}

// ItemJSON is one migration and its journal entry, if any.
type ItemJSON struct {
	Phase       schema.Phase `json:"phase"`
	Name        string       `json:"name"`
	State       schema.State `json:"state"`
	Checksum    string       `json:"checksum"`
	StartedAt   *time.Time   `json:"started_at,omitempty"`
	FinishedAt  *time.Time   `json:"finished_at,omitempty"`
	AppliedBy   string       `json:"applied_by,omitempty"`
	AppliedFrom string       `json:"applied_from,omitempty"`
	ServerID    int          `json:"server_id,omitempty"`
	Error       string       `json:"error,omitempty"`
	Resolution  string       `json:"resolution,omitempty"`
}

// RunStatus prints the report.
func RunStatus(ctx context.Context, opts *StatusOptions) error {
	r, err := opts.NewRunner(nil)
	if err != nil {
		return err
	}
	rep, err := r.Status(ctx)
	if err != nil {
		return err
	}
	if opts.Output == "json" {
		return writeJSON(opts.IO.Out, statusJSON(rep))
	}
	return printStatus(opts.IO.Out, rep)
}

func statusJSON(rep *schema.Report) StatusJSON {
	out := StatusJSON{Server: rep.Server, Writer: rep.WriterErr == nil, Phases: []PhaseJSON{}, Dirty: []ItemJSON{}}
	if rep.WriterErr != nil {
		out.WriterError = rep.WriterErr.Error()
	}
	for _, ps := range rep.Phases {
		p := PhaseJSON{Phase: ps.Phase, Migrations: []ItemJSON{}}
		for _, it := range ps.Items {
			p.Migrations = append(p.Migrations, itemJSON(it))
		}
		out.Phases = append(out.Phases, p)
	}
	for _, e := range rep.Dirty {
		out.Dirty = append(out.Dirty, itemJSON(schema.Item{Migration: schema.Migration{Phase: e.Phase, Name: e.Name, Checksum: e.Checksum},
			State: schema.StateDirty, Entry: &e}))
	}
	return out
}

func itemJSON(it schema.Item) ItemJSON {
	j := ItemJSON{Phase: it.Phase, Name: it.Name, State: it.State, Checksum: it.Checksum}
	if e := it.Entry; e != nil {
		j.StartedAt, j.FinishedAt = timePtr(e.StartedAt), timePtr(e.FinishedAt)
		j.AppliedBy, j.AppliedFrom, j.ServerID, j.Error = e.AppliedBy, e.AppliedFrom, e.ServerID, e.Error
		j.Resolution = string(e.Resolution)
	}
	return j
}

func timePtr(t time.Time) *time.Time {
	if t.IsZero() {
		return nil
	}
	return &t
}

func printStatus(w io.Writer, rep *schema.Report) error {
	if rep.WriterErr != nil {
		fmt.Fprintf(w, "server: %s: NOT the writer: %s\n", rep.Server, oneLine(rep.WriterErr.Error()))
	} else {
		fmt.Fprintf(w, "server: %s: writer\n", rep.Server)
	}
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	for _, ps := range rep.Phases {
		fmt.Fprintf(tw, "%s:\n", ps.Phase)
		if len(ps.Items) == 0 {
			fmt.Fprintf(tw, "  (no migrations)\n")
		}
		for _, it := range ps.Items {
			fmt.Fprintf(tw, "  %s\t%s\t%s\n", it.State, it.Name, entryText(it.Entry))
		}
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if len(rep.Dirty) > 0 {
		fmt.Fprintf(w, "dirty: %d unfinished migration(s) block every run; check the database, then `zdd migrate resolve --phase P NAME --applied|--retry`\n", len(rep.Dirty))
	}
	return nil
}

func entryText(e *schema.Entry) string {
	if e == nil {
		return ""
	}
	s := fmt.Sprintf("started %s by %s from %s on server_id %d", e.StartedAt.Format(time.RFC3339), e.AppliedBy, e.AppliedFrom, e.ServerID)
	switch {
	case e.Error != "":
		s += ": failed: " + oneLine(e.Error)
	case e.Resolution != "":
		s += fmt.Sprintf(", resolved %s by %s", e.Resolution, e.ResolvedBy)
	case !e.FinishedAt.IsZero():
		s += fmt.Sprintf(", took %s", e.FinishedAt.Sub(e.StartedAt).Round(time.Millisecond))
	default:
		s += ": did not finish"
	}
	return s
}
