// Package testenvcmd implements `zdd testenv`: the real local cluster used by the tests and the
// README's quick start.
package testenvcmd

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"github.com/spf13/cobra"

	"github.com/saitodrom/zdd/cmd/zdd/internal/cmdutil"
	"github.com/saitodrom/zdd/cmd/zdd/internal/iostreams"
	"github.com/saitodrom/zdd/testenv"
)

// NewCmdTestenv returns `zdd testenv` and its sub-commands.
func NewCmdTestenv(f *cmdutil.Factory) *cobra.Command {
	var dir string
	cmd := &cobra.Command{
		Use:   "testenv",
		Short: "Run a real local Tomcat cluster (3 nodes, 2 Nginx, MariaDB pair behind HAProxy, sshd) on loopback",
		Long: `testenv starts, from Debian's packages, the cluster zdd is tested against: three Tomcat 10.1
nodes with session replication, two Nginx load balancers reached over SSH, a MariaDB
primary/replica pair behind HAProxy, and an sshd. All state lives under one directory.
See docs/testenv.md.`,
	}
	cmd.PersistentFlags().StringVar(&dir, "dir", testenv.DefaultDir, "directory that holds all of the environment's state")
	cmd.AddCommand(newCmdUp(f, &dir), newCmdDown(f, &dir), newCmdStatus(f, &dir), newCmdWAR(f))
	cmd.AddCommand(newCmdLoad(f, &dir), newCmdBench(f, &dir))
	return cmd
}

// UpOptions are the options of `zdd testenv up`.
type UpOptions struct {
	IO          *iostreams.IOStreams
	Dir         string
	Mode        string
	Install     bool
	WriteConfig string
	PortOffset  int
}

func newCmdUp(f *cmdutil.Factory, dir *string) *cobra.Command {
	opts := &UpOptions{IO: f.IOStreams}
	cmd := &cobra.Command{
		Use:   "up",
		Short: "Start every server of the local cluster that is not running (idempotent)",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			opts.Dir = *dir
			return RunUp(cmd.Context(), opts)
		},
	}
	cmd.Flags().StringVar(&opts.Mode, "mode", "", "load-balancer mode: round-robin or sticky (default: the running mode, else round-robin)")
	cmd.Flags().IntVar(&opts.PortOffset, "port-offset", 0, "add this to every port of a new environment (to run several side by side)")
	cmd.Flags().BoolVar(&opts.Install, "install", false, "install missing Debian packages with apt-get (needs root)")
	cmd.Flags().StringVar(&opts.WriteConfig, "write-config", "zdd.yaml", "also copy the generated zdd.yaml here (empty: don't)")
	return cmd
}

// RunUp brings the cluster up and writes its zdd.yaml.
func RunUp(ctx context.Context, opts *UpOptions) error {
	logf := func(format string, args ...any) {
		fmt.Fprintf(opts.IO.ErrOut, "%s testenv: %s\n", time.Now().Format("15:04:05"), fmt.Sprintf(format, args...))
	}
	env, err := testenv.Up(ctx, testenv.Options{Dir: opts.Dir, Mode: testenv.Mode(opts.Mode), Install: opts.Install, PortOffset: opts.PortOffset, Log: logf})
	if err != nil {
		return err
	}
	if opts.WriteConfig != "" {
		b, err := os.ReadFile(env.ConfigFile)
		if err != nil {
			return err
		}
		if err := os.WriteFile(opts.WriteConfig, b, 0o644); err != nil {
			return fmt.Errorf("testenv: write %s: %w", opts.WriteConfig, err)
		}
		logf("wrote %s", opts.WriteConfig)
	}
	return printStatus(opts.IO.Out, env, false)
}

func newCmdDown(f *cmdutil.Factory, dir *string) *cobra.Command {
	return &cobra.Command{
		Use:   "down",
		Short: "Stop every server that testenv started (by pid); the state directory is kept",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := testenv.Load(*dir)
			if err != nil {
				return err
			}
			return env.Down(cmd.Context())
		},
	}
}

func newCmdStatus(f *cmdutil.Factory, dir *string) *cobra.Command {
	var asJSON bool
	cmd := &cobra.Command{
		Use:   "status",
		Short: "Show each server of the local cluster, its pid and address",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			env, err := testenv.Load(*dir)
			if err != nil {
				return err
			}
			return printStatus(f.IOStreams.Out, env, asJSON)
		},
	}
	cmd.Flags().BoolVar(&asJSON, "json", false, "print JSON")
	return cmd
}

func printStatus(w io.Writer, env *testenv.Env, asJSON bool) error {
	st := env.Status()
	if asJSON {
		return json.NewEncoder(w).Encode(map[string]any{"dir": env.Dir, "mode": env.Mode, "config": env.ConfigFile, "servers": st})
	}
	fmt.Fprintf(w, "testenv in %s (%s mode), config %s\n", env.Dir, env.Mode, env.ConfigFile)
	down := 0
	for _, s := range st {
		state := "running"
		if !s.Running {
			state, down = "stopped", down+1
		}
		fmt.Fprintf(w, "  %-8s %-8s pid %-7d %s\n", s.Name, state, s.Pid, s.Address)
	}
	if down > 0 {
		return fmt.Errorf("testenv: %d server(s) not running\nhint: run `zdd testenv up`", down)
	}
	return nil
}

func newCmdWAR(f *cmdutil.Factory) *cobra.Command {
	var opts testenv.WAROptions
	var out string
	cmd := &cobra.Command{
		Use:   "war --version VERSION -o FILE",
		Short: "Build the sample application (JSP only, no Java compiler needed)",
		Args:  cmdutil.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if out == "" {
				return cmdutil.FlagErrorf("-o FILE is required")
			}
			file, err := os.Create(out)
			if err != nil {
				return err
			}
			if err := testenv.BuildWAR(file, opts); err != nil {
				file.Close()
				os.Remove(out)
				return err
			}
			return file.Close()
		},
	}
	cmd.Flags().StringVar(&opts.Version, "version", "", "version the pages show (e.g. 002)")
	cmd.Flags().StringVarP(&out, "out", "o", "", "file to write")
	cmd.Flags().BoolVar(&opts.FailHealth, "fail-health", false, "make the health page answer 500")
	cmd.Flags().BoolVar(&opts.NotDistributable, "not-distributable", false, "leave <distributable/> out of web.xml")
	cmd.Flags().IntVar(&opts.PadMB, "pad-mb", 0, "add an incompressible file of this many MiB")
	_ = cmd.MarkFlagRequired("version")
	return cmd
}
