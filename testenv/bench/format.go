package bench

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// cells returns the row's table cells: name, mode, requests, failed, lost, wall, switched,
// other figures, targets.
func (r Row) cells() []string {
	if !r.Measured {
		return []string{r.Name, "", "-", "-", "-", "-", "-", "", r.Note}
	}
	num := func(n int) string {
		if n < 0 {
			return "-"
		}
		return fmt.Sprintf("%d", n)
	}
	sec := func(s float64) string {
		if s < 0 {
			return "-"
		}
		return fmt.Sprintf("%.2f", s)
	}
	var figs []string
	if f := r.Fault; f != nil {
		figs = append(figs, fmt.Sprintf("exit %d", f.Exit), fmt.Sprintf("service on healthy nodes %s s", sec(f.Service)),
			fmt.Sprintf("lost counted by zdd %d", f.ZddLost), fmt.Sprintf("in-flight retries %d", f.Retried))
	}
	keys := make([]string, 0, len(r.Figures))
	for k := range r.Figures {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		figs = append(figs, fmt.Sprintf("%s %.2f", k, r.Figures[k]))
	}
	var ts []string
	for _, t := range r.Targets {
		mark := "met"
		if !t.Met {
			mark = "MISSED"
		}
		ts = append(ts, t.Goal+": "+mark)
	}
	return []string{r.Name, r.Mode, num(r.Requests), num(r.Failed), num(r.Lost), sec(r.Wall), sec(r.NewAfter),
		strings.Join(figs, ", "), strings.Join(ts, "; ")}
}

var header = []string{"row", "mode", "requests", "failed", "lost", "wall s", "switched s", "figures", "targets"}

// WriteText prints the table with aligned columns, then the targets missed.
func (r *Result) WriteText(w io.Writer) {
	rows := [][]string{header}
	for _, row := range r.Rows {
		rows = append(rows, row.cells())
	}
	width := make([]int, len(header))
	for _, c := range rows {
		for i, s := range c {
			width[i] = max(width[i], len(s))
		}
	}
	fmt.Fprintf(w, "zdd bench %s on %s (%d users, %.0fs settle%s), %.0fs\n", r.Date.Format("2006-01-02 15:04 MST"), r.Machine,
		r.Users, r.Settle, map[bool]string{true: ", short", false: ""}[r.Short], r.Duration)
	for _, c := range rows {
		for i, s := range c {
			if i == len(c)-1 {
				fmt.Fprintln(w, s)
			} else {
				fmt.Fprintf(w, "%-*s  ", width[i], s)
			}
		}
	}
	r.writeMissed(w)
}

func (r *Result) writeMissed(w io.Writer) {
	if m := r.Missed(); len(m) > 0 {
		fmt.Fprintf(w, "\ntargets missed (%d):\n", len(m))
		for _, s := range m {
			fmt.Fprintf(w, "  - %s\n", s)
		}
	} else {
		fmt.Fprintln(w, "\nevery target met")
	}
}

// WriteMarkdown prints the table as Markdown (docs/bench.md, the README's Evidence section).
func (r *Result) WriteMarkdown(w io.Writer) {
	fmt.Fprintf(w, "| %s |\n|%s\n", strings.Join(header, " | "), strings.Repeat("---|", len(header)))
	for _, row := range r.Rows {
		c := row.cells()
		for i := range c {
			c[i] = strings.ReplaceAll(c[i], "|", `\|`)
		}
		fmt.Fprintf(w, "| %s |\n", strings.Join(c, " | "))
	}
	r.writeMissed(w)
}
