package schema

import (
	"context"
	"database/sql"
	"fmt"
	"time"
)

// acquireLock takes the run lock on conn, polling GET_LOCK until the lock is free or LockWait
// passes; onWait is called once with the holder when the lock is found taken.
func (s *session) acquireLock(ctx context.Context, conn *sql.Conn, onWait func(Holder)) error {
	start := time.Now()
	deadline := start.Add(max(s.m.opts.LockWait, 0))
	tick := time.NewTicker(s.m.opts.PollInterval)
	defer tick.Stop()
	waiting := false
	for {
		var got sql.NullInt64
		if err := conn.QueryRowContext(ctx, "SELECT GET_LOCK(?, 0)", s.m.lock).Scan(&got); err != nil {
			return fmt.Errorf("schema: lock %s: %w", s.m.lock, err)
		}
		if !got.Valid {
			return fmt.Errorf("schema: lock %s: GET_LOCK returned NULL", s.m.lock)
		}
		if got.Int64 == 1 {
			return nil
		}
		if !waiting || !time.Now().Before(deadline) {
			h, err := s.holder(ctx, conn)
			if err != nil {
				return err
			}
			if !time.Now().Before(deadline) {
				return &LockedError{Lock: s.m.lock, Holder: h, Waited: time.Since(start)}
			}
			waiting = true
			if onWait != nil {
				onWait(h)
			}
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
		}
	}
}

// holder describes the lock's holder from IS_USED_LOCK, the process list and the holder's note.
func (s *session) holder(ctx context.Context, conn *sql.Conn) (Holder, error) {
	var h Holder
	var id sql.NullInt64
	if err := conn.QueryRowContext(ctx, "SELECT IS_USED_LOCK(?)", s.m.lock).Scan(&id); err != nil {
		return h, fmt.Errorf("schema: lock %s: find holder: %w", s.m.lock, err)
	}
	h.ConnectionID = id.Int64
	if !id.Valid {
		return h, nil // released meanwhile
	}
	// Errors below only lose detail: the connection id already names the holder.
	_ = conn.QueryRowContext(ctx, "SELECT USER, HOST FROM information_schema.PROCESSLIST WHERE ID = ?", id.Int64).Scan(&h.User, &h.Host)
	var since sql.NullTime
	_ = conn.QueryRowContext(ctx, "SELECT who, from_host, phase, since FROM `"+s.m.j.lockTable+"` WHERE lock_name = ? AND connection_id = ?",
		s.m.lock, id.Int64).Scan(&h.Who, &h.From, &h.Phase, &since)
	h.Since = since.Time
	return h, nil
}

// writeNote records who holds the lock, for a waiting run's error message.
func (s *session) writeNote(ctx context.Context, conn *sql.Conn, phase Phase) error {
	_, err := conn.ExecContext(ctx, "REPLACE INTO `"+s.m.j.lockTable+"` (lock_name, connection_id, who, from_host, phase, since)"+
		" VALUES (?, CONNECTION_ID(), ?, ?, ?, UTC_TIMESTAMP(6))", s.m.lock, s.m.opts.Who, s.m.opts.From, phase)
	if err != nil {
		return fmt.Errorf("schema: lock %s: write holder note: %w", s.m.lock, err)
	}
	return nil
}

// releaseLock drops the note and the lock on a fresh short context; closing the connection
// would release the lock too, so errors are only returned for reporting.
func (s *session) releaseLock(ctx context.Context) error {
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	return s.do(rctx, func(conn *sql.Conn) error {
		_, _ = conn.ExecContext(rctx, "DELETE FROM `"+s.m.j.lockTable+"` WHERE lock_name = ? AND connection_id = CONNECTION_ID()", s.m.lock)
		_, err := conn.ExecContext(rctx, "DO RELEASE_LOCK(?)", s.m.lock)
		return err
	})
}
