// Package state is what zdd keeps in its state directory (state.dir, shared storage in
// production): the journal of the current release (Journal, Release, StepRecord), the history
// of every release, rollback, abort and forced lock release (history.jsonl: HistoryEntry,
// LastGood, SHAOf), the release lease that lets one command change the cluster at a time
// (Locker, Lease, Held) and the release store, every released WAR by checksum (Store).
//
// It imports deployer/plan (a Release records the Plan it runs, the store returns plan.WARInfo),
// deployer/outcome, deployer/statedir, deployer/wait and the standard library; never package
// deployer (the engine, which writes the journal as it runs) nor an adapter.
package state
