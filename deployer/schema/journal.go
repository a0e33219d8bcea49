package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"time"

	"github.com/go-sql-driver/mysql"
)

// Entry is one journal row: one attempt to apply one migration.
type Entry struct {
	ID          int64
	Phase       Phase
	Name        string
	Checksum    string    // sha256 hex of the file that was run (or of the file when resolved as applied)
	StartedAt   time.Time // UTC
	FinishedAt  time.Time // zero while unfinished or after a failure
	Error       string    // the server's message when the statement failed
	AppliedBy   string
	AppliedFrom string
	ServerID    int
	ResolvedAt  time.Time  // set by Resolve
	ResolvedBy  string     // Options.Who of the Resolve call
	Resolution  Resolution // how it was resolved
}

// Applied reports whether this attempt counts as applied.
func (e Entry) Applied() bool {
	return !e.FinishedAt.IsZero() || e.Resolution == ResolveApplied
}

// Dirty reports whether this attempt started, did not finish and was not resolved.
func (e Entry) Dirty() bool {
	return e.FinishedAt.IsZero() && e.ResolvedAt.IsZero()
}

// Resolution says how a dirty journal entry was resolved.
type Resolution string

const (
	// ResolveApplied: the statement took effect (checked by hand); the migration counts as applied
	// with the file's current checksum.
	ResolveApplied Resolution = "applied"
	// ResolveRetry: the statement did not take effect; the migration is pending again.
	ResolveRetry Resolution = "retry"
	// ResolveRejected is recorded by the run itself, never given to Resolve: the server
	// rejected the statement without executing it (ErrRejected); the migration is pending again.
	ResolveRejected Resolution = "rejected"
)

type journal struct {
	table, lockTable string
}

func newJournal(table string) journal {
	return journal{table: table, lockTable: table + "_lock"}
}

func (j journal) create(ctx context.Context, conn *sql.Conn) error {
	stmts := []string{
		"CREATE TABLE IF NOT EXISTS `" + j.table + "` (" +
			" id BIGINT UNSIGNED NOT NULL AUTO_INCREMENT PRIMARY KEY," +
			" phase VARCHAR(16) NOT NULL," +
			" name VARCHAR(255) NOT NULL," +
			" checksum CHAR(64) NOT NULL," +
			" started_at DATETIME(6) NOT NULL," +
			" finished_at DATETIME(6) NULL," +
			" error TEXT NULL," +
			" applied_by VARCHAR(255) NOT NULL," +
			" applied_from VARCHAR(255) NOT NULL," +
			" server_id INT UNSIGNED NOT NULL," +
			" resolved_at DATETIME(6) NULL," +
			" resolved_by VARCHAR(255) NULL," +
			" resolution VARCHAR(16) NULL," +
			" KEY phase_name (phase, name)" +
			") ENGINE=InnoDB",
		"CREATE TABLE IF NOT EXISTS `" + j.lockTable + "` (" +
			" lock_name VARCHAR(64) NOT NULL PRIMARY KEY," +
			" connection_id BIGINT UNSIGNED NOT NULL," +
			" who VARCHAR(255) NOT NULL," +
			" from_host VARCHAR(255) NOT NULL," +
			" phase VARCHAR(16) NOT NULL," +
			" since DATETIME(6) NOT NULL" +
			") ENGINE=InnoDB",
	}
	for _, s := range stmts {
		if _, err := conn.ExecContext(ctx, s); err != nil {
			return fmt.Errorf("schema: create journal %s: %w", j.table, err)
		}
	}
	return nil
}

// load returns all entries in id order; a missing table means an empty journal.
func (j journal) load(ctx context.Context, q interface {
	QueryContext(context.Context, string, ...any) (*sql.Rows, error)
}) ([]Entry, error) {
	rows, err := q.QueryContext(ctx, "SELECT id, phase, name, checksum, started_at, finished_at,"+
		" COALESCE(error, ''), applied_by, applied_from, server_id, resolved_at,"+
		" COALESCE(resolved_by, ''), COALESCE(resolution, '') FROM `"+j.table+"` ORDER BY id")
	if err != nil {
		if isNoTable(err) {
			return nil, nil
		}
		return nil, fmt.Errorf("schema: read journal %s: %w", j.table, err)
	}
	defer rows.Close()
	var out []Entry
	for rows.Next() {
		var e Entry
		var fin, res sql.NullTime
		if err := rows.Scan(&e.ID, &e.Phase, &e.Name, &e.Checksum, &e.StartedAt, &fin, &e.Error,
			&e.AppliedBy, &e.AppliedFrom, &e.ServerID, &res, &e.ResolvedBy, &e.Resolution); err != nil {
			return nil, fmt.Errorf("schema: read journal %s: %w", j.table, err)
		}
		e.FinishedAt, e.ResolvedAt = fin.Time, res.Time
		out = append(out, e)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("schema: read journal %s: %w", j.table, err)
	}
	return out, nil
}

func isNoTable(err error) bool {
	var me *mysql.MySQLError
	return errors.As(err, &me) && me.Number == 1146
}

// start journals the start of m and returns the entry id.
func (j journal) start(ctx context.Context, conn *sql.Conn, m Migration, who, from string, serverID int) (int64, error) {
	res, err := conn.ExecContext(ctx, "INSERT INTO `"+j.table+"` (phase, name, checksum, started_at, applied_by, applied_from, server_id)"+
		" VALUES (?, ?, ?, UTC_TIMESTAMP(6), ?, ?, ?)", m.Phase, m.Name, m.Checksum, who, from, serverID)
	if err != nil {
		return 0, fmt.Errorf("schema: journal start %s/%s: %w", m.Phase, m.Name, err)
	}
	return res.LastInsertId()
}

// finish journals the end of entry id: success when msg is empty, else the failure message.
// A rejected failure (the server ran nothing) is resolved at once with ResolveRejected, by who:
// the entry is neither applied nor dirty, and the migration is pending again.
func (j journal) finish(ctx context.Context, conn *sql.Conn, id int64, msg string, rejected bool, who string) error {
	var err error
	switch {
	case msg == "":
		_, err = conn.ExecContext(ctx, "UPDATE `"+j.table+"` SET finished_at = UTC_TIMESTAMP(6) WHERE id = ?", id)
	case rejected:
		_, err = conn.ExecContext(ctx, "UPDATE `"+j.table+"` SET error = ?, resolved_at = UTC_TIMESTAMP(6), resolved_by = ?, resolution = ? WHERE id = ?",
			msg, who, string(ResolveRejected), id)
	default:
		_, err = conn.ExecContext(ctx, "UPDATE `"+j.table+"` SET error = ? WHERE id = ?", msg, id)
	}
	if err != nil {
		return fmt.Errorf("schema: journal finish entry %d: %w", id, err)
	}
	return nil
}

// resolve marks the dirty entries of phase/name resolved; checksum is recorded for ResolveApplied.
func (j journal) resolve(ctx context.Context, conn *sql.Conn, phase Phase, name string, how Resolution, who, checksum string) (int64, error) {
	q := "UPDATE `" + j.table + "` SET resolved_at = UTC_TIMESTAMP(6), resolved_by = ?, resolution = ?"
	args := []any{who, string(how)}
	if how == ResolveApplied {
		q += ", checksum = ?"
		args = append(args, checksum)
	}
	q += " WHERE phase = ? AND name = ? AND finished_at IS NULL AND resolved_at IS NULL"
	args = append(args, phase, name)
	res, err := conn.ExecContext(ctx, q, args...)
	if err != nil {
		return 0, fmt.Errorf("schema: resolve %s/%s: %w", phase, name, err)
	}
	return res.RowsAffected()
}
