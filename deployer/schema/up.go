package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"time"

	"github.com/go-sql-driver/mysql"

	redaction "github.com/saitodrom/zdd/internal/redact"
)

// EventKind names a step of [Migrator.Up].
type EventKind string

const (
	EventLockWait EventKind = "lock-wait" // the lock is held by Event.Holder; waiting up to LockWait
	EventLocked   EventKind = "locked"    // the lock was acquired on Event.Server
	EventStart    EventKind = "start"     // Event.Migration starts (writer proven, journaled)
	EventDone     EventKind = "done"      // Event.Migration finished in Event.Duration
	EventFailed   EventKind = "failed"    // Event.Migration failed with Event.Err (journaled)
)

// Event reports progress of [Migrator.Up] to its callback, called on Up's goroutine.
type Event struct {
	Kind      EventKind
	Phase     Phase
	Migration Migration // zero for lock events
	Server    ServerInfo
	Holder    Holder // for EventLockWait
	Duration  time.Duration
	Err       error
}

// String formats the event as one log line without secrets.
func (e Event) String() string {
	switch e.Kind {
	case EventLockWait:
		return fmt.Sprintf("%s: waiting for the migration lock held by %s", e.Phase, e.Holder)
	case EventLocked:
		return fmt.Sprintf("%s: lock acquired on %s", e.Phase, e.Server)
	case EventDone:
		return fmt.Sprintf("%s: %s done in %s", e.Phase, e.Migration.Name, e.Duration.Round(time.Millisecond))
	case EventFailed:
		return fmt.Sprintf("%s: %s failed: %v", e.Phase, e.Migration.Name, e.Err)
	}
	return fmt.Sprintf("%s: %s %s on %s", e.Phase, e.Migration.Name, e.Kind, e.Server)
}

// Result is one migration Up applied.
type Result struct {
	Migration Migration
	Server    ServerInfo
	Duration  time.Duration
}

// Up applies the pending migrations of phase, in order, on the writer (see the package doc for
// the steps). progress may be nil. It returns what it applied, also alongside an error. A
// contract run first calls Options.ContractAllowed. On ctx cancellation the running statement
// finishes and is journaled, then Up returns ctx.Err().
func (m *Migrator) Up(ctx context.Context, phase Phase, progress func(Event)) (_ []Result, err error) {
	defer func() { err = redact(err, m.opts.Password) }()
	emit := func(e Event) {
		e.Phase = phase
		e.Err = redact(e.Err, m.opts.Password)
		if progress != nil {
			progress(e)
		}
	}
	if _, err := ParsePhase(string(phase)); err != nil {
		return nil, err
	}
	files, err := m.readAll()
	if err != nil {
		return nil, err
	}
	if phase == Contract && m.opts.ContractAllowed != nil {
		if err := m.opts.ContractAllowed(ctx); err != nil {
			return nil, fmt.Errorf("schema: up contract: %w: %w", ErrContractRefused, err)
		}
	}
	s, err := m.open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	server, err := s.begin(ctx, phase, emit)
	if err != nil {
		return nil, err
	}
	defer func() {
		if rerr := s.releaseLock(ctx); rerr != nil && err == nil && !errors.Is(rerr, ErrConnLost) {
			err = fmt.Errorf("schema: release lock %s: %w", m.lock, rerr)
		}
	}()
	emit(Event{Kind: EventLocked, Server: server})
	var entries []Entry
	if err := s.do(ctx, func(conn *sql.Conn) (err error) { entries, err = m.j.load(ctx, conn); return err }); err != nil {
		return nil, err
	}
	status := analyze(files, entries)
	if err := check(status, phase); err != nil {
		return nil, err
	}
	var done []Result
	for _, ps := range status {
		if ps.Phase != phase {
			continue
		}
		for _, mig := range ps.Pending() {
			if err := ctx.Err(); err != nil {
				return done, err
			}
			r, err := s.apply(ctx, files, mig, emit)
			if err != nil {
				return done, err
			}
			done = append(done, r)
		}
	}
	return done, ctx.Err()
}

// begin proves the writer, takes the lock, creates the journal and writes the holder note.
func (s *session) begin(ctx context.Context, phase Phase, emit func(Event)) (ServerInfo, error) {
	var si ServerInfo
	err := s.do(ctx, func(conn *sql.Conn) error {
		var err error
		if si, err = s.prover.prove(ctx, conn); err != nil {
			return err
		}
		if err := s.acquireLock(ctx, conn, func(h Holder) { emit(Event{Kind: EventLockWait, Server: si, Holder: h}) }); err != nil {
			return err
		}
		if err := s.m.j.create(ctx, conn); err != nil {
			return err
		}
		return s.writeNote(ctx, conn, phase)
	})
	return si, err
}

// apply runs one migration: proof, lock_wait_timeout, journal start, statement, journal end.
func (s *session) apply(ctx context.Context, files []*phaseFiles, mig Migration, emit func(Event)) (Result, error) {
	var si ServerInfo
	var id int64
	err := s.do(ctx, func(conn *sql.Conn) error {
		var err error
		if si, err = s.prover.prove(ctx, conn); err != nil {
			return err
		}
		secs := int64(max(s.m.opts.LockWaitTimeout.Round(time.Second)/time.Second, 1))
		if _, err := conn.ExecContext(ctx, fmt.Sprintf("SET SESSION lock_wait_timeout = %d", secs)); err != nil {
			return fmt.Errorf("schema: set lock_wait_timeout: %w", err)
		}
		id, err = s.m.j.start(ctx, conn, mig, s.m.opts.Who, s.m.opts.From, si.ServerID)
		return err
	})
	if err != nil {
		return Result{}, err
	}
	emit(Event{Kind: EventStart, Migration: mig, Server: si})
	// From here on the statement and its journal entry run detached from ctx's cancellation.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), s.m.opts.StatementTimeout)
	defer cancel()
	start := time.Now()
	runErr := s.runStatement(dctx, files, mig)
	took := time.Since(start)
	msg := ""
	rejected := runErr != nil && NotExecuted(runErr)
	if runErr != nil {
		msg = redaction.Secrets(serverMessage(runErr), s.m.opts.Password)
	}
	jerr := s.do(dctx, func(conn *sql.Conn) error { return s.m.j.finish(dctx, conn, id, msg, rejected, s.m.opts.Who) })
	if runErr != nil {
		if jerr != nil {
			// The entry stays unfinished, hence dirty, whatever the server said.
			rejected = false
			runErr = &journalLeftError{id: id, jerr: jerr, cause: runErr}
		}
		serr := &StatementError{Phase: mig.Phase, File: filepath.Join(string(mig.Phase), mig.Name), ServerID: si.ServerID,
			Rejected: rejected, Err: runErr}
		emit(Event{Kind: EventFailed, Migration: mig, Server: si, Duration: took, Err: serr})
		return Result{}, serr
	}
	if jerr != nil {
		return Result{}, fmt.Errorf("schema: up %s/%s: statement succeeded but %w (the journal shows it dirty; resolve it as applied)", mig.Phase, mig.Name, jerr)
	}
	emit(Event{Kind: EventDone, Migration: mig, Server: si, Duration: took})
	return Result{Migration: mig, Server: si, Duration: took}, nil
}

// runStatement runs mig through goose on the session's single connection.
func (s *session) runStatement(ctx context.Context, files []*phaseFiles, mig Migration) error {
	for _, pf := range files {
		if pf.phase != mig.Phase {
			continue
		}
		p, err := newGoose(s.db, pf.fsys)
		if err != nil {
			return err
		}
		_, err = p.ApplyVersion(ctx, mig.Version, true)
		return err
	}
	return fmt.Errorf("schema: internal: no files for phase %s", mig.Phase)
}

// serverMessage returns the server's own error text when there is one.
func serverMessage(err error) string {
	var jl *journalLeftError
	if errors.As(err, &jl) {
		return jl.Error()
	}
	var me *mysql.MySQLError
	if errors.As(err, &me) {
		return me.Error()
	}
	return err.Error()
}

// Resolve marks the dirty journal entry of phase/name resolved, after a person checked the
// database: [ResolveApplied] when the statement took effect (the file's current checksum is
// recorded), [ResolveRetry] when it did not (the migration is pending again). It proves the
// writer and takes the run lock. Resolving something that is not dirty is an [ErrInvalid] error.
func (m *Migrator) Resolve(ctx context.Context, phase Phase, name string, how Resolution) (err error) {
	defer func() { err = redact(err, m.opts.Password) }()
	if _, err := ParsePhase(string(phase)); err != nil {
		return err
	}
	if how != ResolveApplied && how != ResolveRetry {
		return fmt.Errorf("schema: resolve %s/%s: resolution %q: %w (hint: applied or retry)", phase, name, how, ErrInvalid)
	}
	checksum := ""
	if how == ResolveApplied {
		mig, _, err := readFile(phase, filepath.Join(m.opts.Dir, string(phase), filepath.Base(name)))
		if err != nil {
			return err
		}
		checksum = mig.Checksum
	}
	s, err := m.open(ctx)
	if err != nil {
		return err
	}
	defer s.close()
	if _, err := s.begin(ctx, phase, func(Event) {}); err != nil {
		return err
	}
	defer func() {
		if rerr := s.releaseLock(ctx); rerr != nil && err == nil && !errors.Is(rerr, ErrConnLost) {
			err = fmt.Errorf("schema: release lock %s: %w", m.lock, rerr)
		}
	}()
	var n int64
	if err := s.do(ctx, func(conn *sql.Conn) (err error) {
		n, err = m.j.resolve(ctx, conn, phase, name, how, m.opts.Who, checksum)
		return err
	}); err != nil {
		return err
	}
	if n == 0 {
		return fmt.Errorf("schema: resolve %s/%s: no dirty journal entry: %w (hint: zdd migrate status lists dirty entries)", phase, name, ErrInvalid)
	}
	return nil
}
