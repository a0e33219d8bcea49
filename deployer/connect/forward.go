// Package connect is the old import path of github.com/saitodrom/zdd/connect, kept only so that
// deployer's own integration tests (deployer/*_test.go, owned by another change in flight)
// build until their import lines name the new path.
//
// Deprecated: import github.com/saitodrom/zdd/connect. Delete this package once
// `grep -rl zdd/deployer/connect --include=*.go .` finds nothing but this file.
package connect

import "github.com/saitodrom/zdd/connect"

// Cluster is connect.Cluster.
type Cluster = connect.Cluster

// Options is connect.Options.
type Options = connect.Options

var (
	// Dial is connect.Dial.
	Dial = connect.Dial
	// Spec is connect.Spec.
	Spec = connect.Spec
	// Prober is connect.Prober.
	Prober = connect.Prober
	// Managers is connect.Managers.
	Managers = connect.Managers
)
