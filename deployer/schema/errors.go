package schema

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	redaction "github.com/saitodrom/zdd/internal/redact"
)

// Sentinel errors; test with errors.Is. zdd maps ErrLocked to exit code 5 and ErrInvalid,
// ErrDirty and ErrChecksum (validation) to exit code 1.
var (
	// ErrLocked: another run holds the migration lock and LockWait passed. See [LockedError].
	ErrLocked = errors.New("migration lock held by another run")
	// ErrInvalid: bad options, a bad migrations directory or file, or files out of order.
	ErrInvalid = errors.New("invalid migrations")
	// ErrDirty: the journal has a migration that started but did not finish. See [DirtyError].
	ErrDirty = errors.New("schema is dirty")
	// ErrChecksum: a file that was applied has changed. See [ChecksumError].
	ErrChecksum = errors.New("applied migration changed")
	// ErrNotWriter: the connection does not reach the writable server HAProxy names as active.
	ErrNotWriter = errors.New("not connected to the writer")
	// ErrConnect: HAProxy or the server cannot be reached, or the login failed.
	ErrConnect = errors.New("cannot connect")
	// ErrContractRefused: Options.ContractAllowed refused the contract phase.
	ErrContractRefused = errors.New("contract phase not allowed yet")
	// ErrStatement: a migration statement failed; it is journaled and the schema is now dirty.
	ErrStatement = errors.New("migration statement failed")
	// ErrRejected: the server refused a migration statement without executing it (a syntax
	// error, see [NotExecuted]); the attempt is journaled as failed, the schema is not dirty and
	// the migration is pending again. See [StatementError].
	ErrRejected = errors.New("migration statement rejected by the server")
	// ErrConnLost: the run's connection broke; the run does not reconnect.
	ErrConnLost = errors.New("run connection lost")
)

// Holder describes who holds the migration lock, as far as the server and the holder's note say.
type Holder struct {
	ConnectionID int64     // the holder's connection id (IS_USED_LOCK)
	User, Host   string    // from information_schema.PROCESSLIST; Host is HAProxy's address when it proxies
	Who, From    string    // from the holder's note (Options.Who/From of the holding run)
	Phase        Phase     // the phase the holder runs, from its note
	Since        time.Time // when the holder took the lock, from its note (UTC)
}

// String implements fmt.Stringer.
func (h Holder) String() string {
	var b strings.Builder
	fmt.Fprintf(&b, "connection %d", h.ConnectionID)
	if h.User != "" {
		fmt.Fprintf(&b, " (%s@%s)", h.User, h.Host)
	}
	if h.Who != "" {
		fmt.Fprintf(&b, ", run by %s from %s", h.Who, h.From)
		if h.Phase != "" {
			fmt.Fprintf(&b, " (%s)", h.Phase)
		}
		fmt.Fprintf(&b, " since %s", h.Since.Format(time.RFC3339))
	}
	return b.String()
}

// LockedError is returned when the lock stayed held for LockWait. It matches [ErrLocked].
type LockedError struct {
	Lock   string
	Holder Holder
	Waited time.Duration
}

// Error implements error.
func (e *LockedError) Error() string {
	return fmt.Sprintf("schema: lock %s: held by %s; gave up after %s (hint: wait for that run to finish, or check that it is still alive)",
		e.Lock, e.Holder, e.Waited.Round(time.Millisecond))
}

// Is reports whether target is ErrLocked.
func (e *LockedError) Is(target error) bool { return target == ErrLocked }

// DirtyError lists journal entries that started but did not finish. It matches [ErrDirty].
type DirtyError struct{ Entries []Entry }

// Error implements error.
func (e *DirtyError) Error() string {
	var b strings.Builder
	b.WriteString("schema: journal is dirty:")
	for _, d := range e.Entries {
		fmt.Fprintf(&b, " %s/%s started %s by %s from %s on server_id %d",
			d.Phase, d.Name, d.StartedAt.Format(time.RFC3339), d.AppliedBy, d.AppliedFrom, d.ServerID)
		if d.Error != "" {
			fmt.Fprintf(&b, " failed: %s;", d.Error)
		} else {
			b.WriteString(" did not finish (interrupted);")
		}
	}
	b.WriteString(" (hint: check on the primary whether the statement took effect (SHOW CREATE TABLE ...);" +
		" if it did, mark it applied: zdd migrate resolve --phase P --name N --applied;" +
		" if it did not, fix the file if needed and mark it for retry: zdd migrate resolve --phase P --name N --retry)")
	return b.String()
}

// Is reports whether target is ErrDirty.
func (e *DirtyError) Is(target error) bool { return target == ErrDirty }

// ChecksumError reports an applied file whose content changed. It matches [ErrChecksum].
type ChecksumError struct {
	Phase           Phase
	Name            string
	Applied, OnDisk string // sha256 hex
}

// Error implements error.
func (e *ChecksumError) Error() string {
	return fmt.Sprintf("schema: check %s/%s: file changed after it was applied (journal sha256 %.12s, file %.12s) "+
		"(hint: never edit an applied migration; restore it and add a new file instead)", e.Phase, e.Name, e.Applied, e.OnDisk)
}

// Is reports whether target is ErrChecksum.
func (e *ChecksumError) Is(target error) bool { return target == ErrChecksum }

// StatementError is a failed migration statement. It matches [ErrStatement] (the schema is
// dirty) or, when Rejected, [ErrRejected] (nothing ran, not dirty), and unwraps to the driver's
// error (e.g. *mysql.MySQLError).
type StatementError struct {
	Phase    Phase
	File     string // path of the file
	ServerID int
	// Rejected: the server refused the statement before executing it (NotExecuted).
	Rejected bool
	Err      error
}

// Error implements error.
func (e *StatementError) Error() string {
	if e.Rejected {
		return fmt.Sprintf("schema: up %s %s on server_id %d: %s (rejected by the server before running: nothing changed; "+
			"the attempt is journaled as failed and the migration is pending again; fix the file and run again)",
			e.Phase, e.File, e.ServerID, serverMessage(e.Err))
	}
	return fmt.Sprintf("schema: up %s %s on server_id %d: %s (journaled; the schema is dirty until resolved)",
		e.Phase, e.File, e.ServerID, serverMessage(e.Err))
}

// Is reports whether target is ErrStatement (or ErrRejected when Rejected).
func (e *StatementError) Is(target error) bool {
	if e.Rejected {
		return target == ErrRejected
	}
	return target == ErrStatement
}

// Unwrap returns the driver's error.
func (e *StatementError) Unwrap() error { return e.Err }

// notExecuted are the MySQL/MariaDB error numbers with which the server refuses one statement
// before executing any of it: it did not parse, it names a table or column that does not exist,
// the user may not run it, or its metadata lock was not granted within lock_wait_timeout.
var notExecuted = map[uint16]string{
	1064: "ER_PARSE_ERROR",
	1149: "ER_SYNTAX_ERROR",
	1146: "ER_NO_SUCH_TABLE",
	1054: "ER_BAD_FIELD_ERROR",
	1044: "ER_DBACCESS_DENIED_ERROR",
	1142: "ER_TABLEACCESS_DENIED_ERROR",
	1143: "ER_COLUMNACCESS_DENIED_ERROR",
	1227: "ER_SPECIFIC_ACCESS_DENIED_ERROR",
	1205: "ER_LOCK_WAIT_TIMEOUT",
}

// NotExecuted reports whether err is a server error (*mysql.MySQLError) that refused a single
// statement before it executed (see notExecuted), so that nothing of it took effect. Any other
// error, including a lost connection, may have left the statement half done.
func NotExecuted(err error) bool {
	var me *mysql.MySQLError
	if !errors.As(err, &me) {
		return false
	}
	_, ok := notExecuted[me.Number]
	return ok
}

// redactedError hides the password in an error's text while keeping errors.Is/As working.
type redactedError struct {
	msg   string
	cause error
}

func (e *redactedError) Error() string { return e.msg }
func (e *redactedError) Unwrap() error { return e.cause }

// redact returns err with every occurrence of the password replaced by redaction.Text. Every
// exported function passes its error through it.
func redact(err error, password string) error {
	if err == nil {
		return nil
	}
	msg := err.Error()
	clean := redaction.Secrets(msg, password)
	if clean == msg {
		return err
	}
	return &redactedError{msg: clean, cause: err}
}

// journalLeftError is a failed statement whose journal entry could not be finished either.
type journalLeftError struct {
	id    int64
	jerr  error
	cause error
}

func (e *journalLeftError) Error() string {
	return fmt.Sprintf("%s (journal entry %d left unfinished: %v)", serverMessage(e.cause), e.id, e.jerr)
}

func (e *journalLeftError) Unwrap() error { return e.cause }
