// Package schema runs expand/contract schema migrations against the MySQL/MariaDB writer that
// HAProxy fronts, one run at a time, and keeps a journal of every attempt.
//
// # Why two phases
//
// During a parallel deployment the old and the new application version share one database. A
// change is therefore split in two: the expand phase (additive, backward compatible; runs before
// the new version is uploaded) and the contract phase (removes what only the old version needed;
// runs once no node runs the old version any more). The caller decides when contract is allowed
// and says so through [Options.ContractAllowed].
//
// # Migrations on disk
//
// Options.Dir holds two sub-directories, expand/ and contract/, each with ordered plain-SQL files
// named NNN_description.sql (the number orders them; goose's naming rule). Each file holds exactly
// one statement, because MySQL DDL is not transactional: a file is the unit that either ran or did
// not. Files other than *.sql are ignored. An empty or missing sub-directory is an error that says
// how to create it.
//
// # What a run does (Up)
//
//  1. reads and checks the files of the phase (names, order, one statement each, checksums);
//  2. for contract, calls Options.ContractAllowed;
//  3. opens exactly one connection through HAProxy (the driver's rejectReadOnly is on) and proves it
//     is the writer: @@read_only and super_read_only are off and @@server_id is the id configured
//     in Options.Servers for the server Options.Writer names as active;
//  4. takes the named lock (GET_LOCK) on that connection, waiting up to Options.LockWait, and
//     records a holder note so a second run can say who holds it ([ErrLocked]);
//  5. refuses if the journal is dirty, if an applied file changed or if a new file sorts before
//     an applied one;
//  6. for each pending file: proves the writer again, sets a short session lock_wait_timeout,
//     journals the start, runs the statement through goose on that same connection, journals the
//     end or the server's error.
//
// A failed statement leaves its journal entry unfinished, so the schema is dirty until a person
// resolves it ([ErrStatement]): the statement may have taken effect. The exception is a statement
// the server refused before executing any of it ([NotExecuted]: a syntax error, an unknown table
// or column, a denied privilege, a metadata lock not granted): its entry records the error and is
// resolved as "rejected" at once, so it is neither applied nor dirty and the fixed file runs on
// the next run ([ErrRejected]).
//
// The run connection is the only one the run ever opens: if it breaks, the run stops instead of
// reconnecting (a new connection could land on another server after a failover).
//
// # Why goose is used for ordering and running but not for versions
//
// goose's Provider orders the files (numeric prefix, duplicate detection) and executes them
// (ApplyVersion on the run connection). Its version store does not fit the journal: a Store is
// only told about a migration after it succeeded (InsertRequest carries just the version), so it
// cannot record a start (needed to detect a dirty schema), a checksum, an error message, who ran
// it or from where. The Provider is therefore built with versioning disabled and the journal is
// kept by this package.
//
// # Cancellation
//
// When ctx is cancelled while a statement runs, the statement is allowed to finish (it runs on a
// context detached from cancellation, bounded by Options.StatementTimeout), its result is
// journaled, and Up returns the migrations applied so far with ctx.Err().
//
// # Errors
//
// Callers decide on sentinels with errors.Is: [ErrLocked] (exit code 5 in zdd), [ErrInvalid],
// [ErrDirty], [ErrChecksum] (validation, exit code 1), [ErrNotWriter], [ErrConnect],
// [ErrContractRefused], [ErrStatement], [ErrRejected]. No error or String() output contains the
// password. The MySQL driver's own log lines go to Options.DriverLog, never to stderr.
package schema
