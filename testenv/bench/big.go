package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/saitodrom/zdd/testenv"
)

// big releases 001 with the engine, then runs the zdd binary as its own process to release a
// WAR padded to BigMB, and reads the process's peak RSS from the kernel (wait4's ru_maxrss).
func (b *bench) big(ctx context.Context) (Row, error) {
	if b.opts.ZDD == "" {
		return Row{}, errors.New("no zdd binary given")
	}
	e, dir, err := b.engine()
	if err != nil {
		return Row{}, err
	}
	if _, err := b.release(ctx, e, "001", b.wars["001"]); err != nil {
		return Row{}, fmt.Errorf("setup release 001: %w", err)
	}
	war := filepath.Join(b.opts.WorkDir, "app-big.war")
	if err := writeWAR(war, testenv.WAROptions{Version: "002", PadMB: b.opts.BigMB}); err != nil {
		return Row{}, err
	}
	defer os.Remove(war)
	st, err := os.Stat(war)
	if err != nil {
		return Row{}, err
	}
	migrations := filepath.Join(b.opts.WorkDir, "migrations")
	for _, sub := range []string{"expand", "contract"} {
		if err := os.MkdirAll(filepath.Join(migrations, sub), 0o755); err != nil {
			return Row{}, err
		}
	}
	wall, rss, out, err := runMeasured(ctx, b.opts.ZDD, "deploy", war, "--no-drain", "--config", b.env.ConfigFile,
		"--set", "state.dir="+dir, "--set", "migrations.dir="+migrations)
	if err != nil {
		return Row{}, fmt.Errorf("zdd deploy: %w\n%s", err, tail(out, 10))
	}
	row := Row{Name: RowBig, Zdd: true, Measured: true, Requests: -1, Failed: -1, Lost: -1, Wall: wall.Seconds(), NewAfter: -1}
	row.figure("war_mb", float64(st.Size())/(1<<20))
	row.figure("peak_rss_mb", rss)
	row.Targets = append(row.Targets, target(fmt.Sprintf("peak RSS <= %d MB", maxPeakRSSMB), rss <= maxPeakRSSMB))
	row.Note = "`zdd deploy --no-drain` as a child process (no load); RSS from wait4 ru_maxrss"
	return row, nil
}

// runMeasured runs a command to its end and returns its wall time, its peak RSS in MiB and its
// output. ZDD_* variables of this process are not passed on (the configuration is given by
// flags).
func runMeasured(ctx context.Context, bin string, args ...string) (time.Duration, float64, string, error) {
	var out bytes.Buffer
	c := exec.CommandContext(ctx, bin, args...)
	c.Stdout, c.Stderr = &out, &out
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "ZDD_") {
			c.Env = append(c.Env, kv)
		}
	}
	t0 := time.Now()
	err := c.Run()
	wall := time.Since(t0)
	var rss float64
	if c.ProcessState != nil {
		if ru, ok := c.ProcessState.SysUsage().(*syscall.Rusage); ok {
			rss = float64(ru.Maxrss) / 1024 // kilobytes on Linux
		}
	}
	return wall, rss, out.String(), err
}

func tail(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// scale runs the engine against 3 and SimNodes simulated nodes.
func (b *bench) scale(ctx context.Context) []Row {
	if b.opts.SkipScale || (len(b.opts.Only) > 0 && !b.opts.selected(RowScale3)) {
		return nil
	}
	d := b.opts.SimDeploy
	row := func(name string, n int) (Row, time.Duration) {
		b.opts.Log("measuring %s", name)
		wall, err := simRelease(ctx, n, d, b.opts.WorkDir)
		if err != nil {
			return notMeasured(name, err), 0
		}
		r := Row{Name: name, Zdd: true, Measured: true, Requests: -1, Failed: -1, Lost: -1, Wall: wall.Seconds(), NewAfter: -1}
		over := (wall - time.Duration(n)*d) / time.Duration(n)
		r.figure("per_node_overhead_ms", float64(over.Microseconds())/1000)
		r.Note = fmt.Sprintf("httptest Managers, each deploy %s; in-memory load balancer", d)
		b.opts.Log("  %s", r.String())
		return r, wall
	}
	small, w3 := row(RowScale3, 3)
	large, wn := row(fmt.Sprintf(RowScaleN, b.opts.SimNodes), b.opts.SimNodes)
	goal := fmt.Sprintf("wall <= %.0fx the 3-node wall", maxScaleRatio)
	if large.Measured && small.Measured {
		ratio := wn.Seconds() / w3.Seconds()
		large.figure("x_3_nodes", ratio)
		large.Targets = append(large.Targets, target(goal, ratio <= maxScaleRatio))
	} else {
		large.Targets = append(large.Targets, target(goal, false))
	}
	return []Row{small, large}
}
