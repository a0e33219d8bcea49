// Package deployer is zdd's release engine: it reads the cluster's current state, has
// deployer/plan turn it and the configuration into a plan (an ordered list of steps), runs the
// steps one by one through its seams, records each in deployer/state's journal, and undoes a
// release that fails.
//
// # Layout
//
// The data flows one way, and each package imports only those below it:
//
//	deployer/plan    the plan as data: steps, failure policy, BuildPlan, Render (pure: no I/O)
//	deployer/state   the state directory: journal, history, release lease, WAR store (imports plan)
//	deployer         the engine: executor, gates, readmission, sentinel, rollback, resume,
//	                 abort, drain, events, the seams (Manager, Prober, Migrator) and the
//	                 HTTP prober (imports plan and state)
//
// TestLayersImportNothingAbove fails when plan or state imports the engine or an adapter.
//
// # The release
//
// Tomcat sends a request without a session to the newest running version on a node, and a
// request with a session to the version that holds it; sessions replicate per version. So a
// node that runs the new version beside a node in rotation that does not would lose sessions.
// The plan therefore moves batches of nodes out of rotation while they change:
//
//	preflight                     check every node, load balancer, the database and the WAR
//	migrate expand                additive schema changes, on the MySQL master
//	route  in: B  out: A          the canary batch A (>= 2 nodes) leaves rotation
//	deploy A                      the new version beside the old, one node at a time
//	gate   A                      health page, clustered session manager, a probe session replicated
//	route  in: A  out: B          one reload: A serves (new sessions get the new version), B leaves
//	pause                         optional: stop here until `zdd promote`
//	deploy B, gate A+B            the rest get the new version; B must have received the sessions (state transfer)
//	route  in: A+B                everyone back, with the configured weights
//	drain                         wait for the old version's sessions to end, then undeploy it
//	migrate contract              only once no node runs the old version
//
// A failed gate, a failed step or an interruption runs the rollback plan: the nodes without the
// new version serve while it is undeployed from the others, and routing ends with every node in.
//
// # Failure policy
//
// Each step carries what a failure there does (plan.Step.OnFailure), decided once when the plan
// is built (plan.SetFailurePolicy; plan.RollbackSteps; the hard rollback's plan) and journaled
// with it: FailPreflight (nothing changed: report, exit 1), FailRollback (undo the changes so
// far, exit 3) or FailAttention (stop, exit 4, Failure.Retry names the command that finishes
// the work). The engine's failure path and plan.Plan.Render both read it, so `zdd plan`'s "if
// it fails" line is what happens. A journal written before steps carried it gets it derived at load.
//
// A hard rollback (`zdd rollback --hard`) is a plan too: a stop step (Manager.Stop on every node
// at once; new sessions go to the older version every node runs) and an undeploy.
//
// # Seams
//
// The engine reaches the cluster through small interfaces (Manager, lb.Balancer, Migrator,
// Prober) that the command line wires to tomcatmgr, lb/nginx and deployer/schema, and reports
// through a Sink.
package deployer
