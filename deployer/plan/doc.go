// Package plan is a release as data: the steps of a plan (route, deploy, gate, pause, drain,
// undeploy, stop, migrate, preflight), each with its failure policy (Failure: preflight,
// rollback or attention), built from the configuration (Spec) and the cluster's current state
// (ClusterState) by BuildPlan, DrainSteps and RollbackSteps, and rendered as `zdd plan` prints
// it (Plan.Render).
//
// It is pure: no I/O, no clocks, no seams. It imports only the standard library,
// deployer/outcome (error classes) and tomcatmgr's value types (Context, App, the app states);
// never package deployer, the state package or an adapter. Package deployer (the engine) runs
// the plans, and deployer/state journals them.
package plan
