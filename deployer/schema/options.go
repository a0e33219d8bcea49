package schema

import (
	"context"
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"os/user"
	"regexp"
	"strings"
	"time"

	"github.com/go-sql-driver/mysql"

	redaction "github.com/saitodrom/zdd/internal/redact"
)

// Phase is a migration phase: [Expand] or [Contract].
type Phase string

const (
	// Expand holds additive, backward-compatible changes; it runs before a new version is deployed.
	Expand Phase = "expand"
	// Contract removes what only the old version needed; it runs once no node runs the old version.
	Contract Phase = "contract"
)

// Phases lists the phases in the order they run.
var Phases = []Phase{Expand, Contract}

// ParsePhase turns "expand" or "contract" into a Phase; anything else is an [ErrInvalid] error.
func ParsePhase(s string) (Phase, error) {
	switch p := Phase(strings.ToLower(strings.TrimSpace(s))); p {
	case Expand, Contract:
		return p, nil
	}
	return "", fmt.Errorf("schema: phase %q: %w (hint: use expand or contract)", s, ErrInvalid)
}

// WriterSource tells which server HAProxy currently sends new connections to.
//
// Contract: the migrator calls ActiveServer before it takes the migration lock, again before
// each migration it applies, and before Plan, Status and Resolve read the journal, always from
// the goroutine running Up, Plan, Status or Resolve. Implementations: the HAProxy client
// (package connect) and deployertest's Writer; deployertest/conformance.Writer runs the same
// cases against both. It returns the HAProxy server name (a key of Options.Servers, e.g. "db1").
// It returns an error when it cannot tell (socket unreachable, backend unknown, no server up,
// ctx ended); the migrator then refuses to run DDL and wraps the error in [ErrNotWriter].
type WriterSource interface {
	ActiveServer(ctx context.Context) (name string, err error)
}

// WriterSourceFunc adapts a function to [WriterSource].
type WriterSourceFunc func(ctx context.Context) (string, error)

// ActiveServer calls f.
func (f WriterSourceFunc) ActiveServer(ctx context.Context) (string, error) { return f(ctx) }

// Defaults applied by [New] to zero-valued fields of [Options].
const (
	DefaultLockWait         = 10 * time.Second
	DefaultLockWaitTimeout  = 5 * time.Second
	DefaultStatementTimeout = time.Hour
	DefaultJournalTable     = "zdd_schema_journal"
	DefaultDialTimeout      = 5 * time.Second
	defaultPollInterval     = 250 * time.Millisecond
)

// Options configures a [Migrator]. Only DSN, Dir, Servers and Writer are required.
type Options struct {
	// DSN is a go-sql-driver/mysql DSN that reaches the database through HAProxy, without a
	// password, e.g. "zdd@tcp(127.0.0.1:13300)/zdd". A DSN that carries a password is refused.
	DSN string
	// Password is the user's password. It never appears in errors, events or String() output.
	Password string
	// Dir holds the expand/ and contract/ sub-directories.
	Dir string
	// Servers maps each HAProxy server name of the backend to that server's @@server_id.
	Servers map[string]int
	// Writer names the server HAProxy treats as active. Required.
	Writer WriterSource
	// LockWait is how long a run waits for another run's lock before failing with [ErrLocked].
	// Zero means DefaultLockWait; a negative value means do not wait.
	LockWait time.Duration
	// LockWaitTimeout becomes the session's lock_wait_timeout (whole seconds, at least 1) before
	// each statement, so a DDL blocked on a metadata lock gives up instead of stalling the
	// application's queries queued behind it. Zero means DefaultLockWaitTimeout.
	LockWaitTimeout time.Duration
	// StatementTimeout bounds one statement, which runs detached from ctx's cancellation. Zero
	// means DefaultStatementTimeout.
	StatementTimeout time.Duration
	// DialTimeout bounds connecting to HAProxy. Zero means DefaultDialTimeout.
	DialTimeout time.Duration
	// Who is recorded as applied_by. Empty means the current OS user name.
	Who string
	// From is recorded as applied_from. Empty means the host name.
	From string
	// JournalTable is the journal's table name; the holder note lives in JournalTable+"_lock".
	// Empty means DefaultJournalTable.
	JournalTable string
	// ContractAllowed, if set, is called by Up before the contract phase connects; a non-nil
	// error refuses the phase (wrapped in [ErrContractRefused]). zdd uses it to refuse while a
	// node still runs a version older than the newest deployed. Nil means always allowed.
	ContractAllowed func(ctx context.Context) error
	// PollInterval is the lock polling interval. Zero means 250ms.
	PollInterval time.Duration
	// DriverLog receives the MySQL driver's own log lines (e.g. "packets.go:58: unexpected
	// EOF" when a connection breaks; the error itself is also returned to the caller). Nil
	// drops them. They never reach the process's stderr, where the driver writes by default.
	DriverLog func(line string)
}

var tableNameRE = regexp.MustCompile(`^[A-Za-z_][A-Za-z0-9_]{0,58}$`)

// normalize validates o and fills defaults; it returns the driver config (password set).
func (o *Options) normalize() (*mysql.Config, error) {
	if o.Dir == "" {
		return nil, fmt.Errorf("schema: options: Dir is empty: %w", ErrInvalid)
	}
	if o.Writer == nil {
		return nil, fmt.Errorf("schema: options: Writer is nil: %w (hint: pass the HAProxy reader)", ErrInvalid)
	}
	if len(o.Servers) == 0 {
		return nil, fmt.Errorf("schema: options: Servers is empty: %w (hint: map HAProxy server names to @@server_id, e.g. db1: 1)", ErrInvalid)
	}
	if o.LockWait == 0 {
		o.LockWait = DefaultLockWait
	}
	if o.LockWaitTimeout <= 0 {
		o.LockWaitTimeout = DefaultLockWaitTimeout
	}
	if o.StatementTimeout <= 0 {
		o.StatementTimeout = DefaultStatementTimeout
	}
	if o.DialTimeout <= 0 {
		o.DialTimeout = DefaultDialTimeout
	}
	if o.PollInterval <= 0 {
		o.PollInterval = defaultPollInterval
	}
	if o.JournalTable == "" {
		o.JournalTable = DefaultJournalTable
	}
	if !tableNameRE.MatchString(o.JournalTable) {
		return nil, fmt.Errorf("schema: options: journal table %q: %w (hint: letters, digits, _; at most 59 characters)", o.JournalTable, ErrInvalid)
	}
	if o.Who == "" {
		if u, err := user.Current(); err == nil {
			o.Who = u.Username
		}
	}
	if o.From == "" {
		o.From, _ = os.Hostname()
	}
	return o.driverConfig()
}

func (o *Options) driverConfig() (*mysql.Config, error) {
	cfg, err := mysql.ParseDSN(o.DSN)
	if err != nil {
		// The parse error may quote the DSN; the DSN has no password by contract, but be safe.
		return nil, fmt.Errorf("schema: options: DSN: %s: %w (hint: user@tcp(host:port)/db)",
			redaction.Secrets(err.Error(), o.Password), ErrInvalid)
	}
	if cfg.Passwd != "" {
		return nil, fmt.Errorf("schema: options: DSN contains a password: %w (hint: remove it from the DSN and pass it as Password)", ErrInvalid)
	}
	if cfg.DBName == "" {
		return nil, fmt.Errorf("schema: options: DSN names no database: %w (hint: user@tcp(host:port)/db)", ErrInvalid)
	}
	cfg.Passwd = o.Password
	cfg.Logger = driverLogger{line: o.DriverLog, password: o.Password}
	cfg.RejectReadOnly = true // a read-only server after a failover fails the connection (1290)
	cfg.MultiStatements = false
	cfg.ParseTime = true
	cfg.Loc = time.UTC
	if cfg.Timeout == 0 {
		cfg.Timeout = o.DialTimeout
	}
	return cfg, nil
}

// lockName is the GET_LOCK name of the run: unique per database and journal, at most 64 chars.
func lockName(db, table string) string {
	n := "zdd-schema:" + db + "." + table
	if len(n) <= 64 {
		return n
	}
	sum := sha256.Sum256([]byte(n))
	return "zdd-schema:" + hex.EncodeToString(sum[:])[:40]
}

// target describes where the DSN points, for error messages (never the password).
func target(cfg *mysql.Config) string {
	return fmt.Sprintf("%s@%s/%s", cfg.User, cfg.Addr, cfg.DBName)
}

var errNoDial = errors.New("schema: internal: no connection while reading files")

// String describes the options without the password.
func (o Options) String() string {
	pw := ""
	if o.Password != "" {
		pw = " password=" + redaction.Text
	}
	dsn := "[unparseable]"
	if cfg, err := mysql.ParseDSN(o.DSN); err == nil {
		dsn = target(cfg) // user@addr/db, never a password the DSN may carry
	}
	return fmt.Sprintf("schema.Options{dsn=%s%s dir=%s servers=%v journal=%s lockWait=%s lockWaitTimeout=%s who=%s from=%s}",
		dsn, pw, o.Dir, o.Servers, o.JournalTable, o.LockWait, o.LockWaitTimeout, o.Who, o.From)
}

// GoString is String, so that %#v does not print the password either.
func (o Options) GoString() string { return o.String() }

// driverLogger is the MySQL driver's Logger of a Migrator's connections: it passes each line,
// without the password, to Options.DriverLog, or drops it.
type driverLogger struct {
	line     func(string)
	password string
}

// Print implements mysql.Logger.
func (l driverLogger) Print(v ...any) {
	if l.line == nil {
		return
	}
	l.line(redaction.Secrets(strings.TrimSpace(fmt.Sprint(v...)), l.password))
}
