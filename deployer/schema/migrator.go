package schema

import (
	"context"
	"database/sql"
	"errors"
	"fmt"

	"github.com/go-sql-driver/mysql"
)

// Migrator runs migrations for one Options. It holds no connection between calls; each call opens
// its own single connection and closes it before returning. Safe for concurrent use (concurrent
// Up calls serialize on the database lock).
type Migrator struct {
	opts Options
	cfg  *mysql.Config
	j    journal
	lock string
}

// New checks opts, fills defaults and returns a Migrator. It does not connect. Errors match
// [ErrInvalid].
func New(opts Options) (*Migrator, error) {
	cfg, err := opts.normalize()
	if err != nil {
		return nil, redact(err, opts.Password)
	}
	return &Migrator{opts: opts, cfg: cfg, j: newJournal(opts.JournalTable), lock: lockName(cfg.DBName, opts.JournalTable)}, nil
}

// String describes the Migrator without the password.
func (m Migrator) String() string {
	return fmt.Sprintf("schema.Migrator{%s dir=%s journal=%s}", target(m.cfg), m.opts.Dir, m.opts.JournalTable)
}

// GoString is String, so that %#v does not print the password either.
func (m Migrator) GoString() string { return m.String() }

// Report is the result of [Migrator.Status].
type Report struct {
	// Server is what the writer proof saw (filled even when the proof failed).
	Server ServerInfo
	// WriterErr is why the server is not the writer, nil if it is. The journal was then read
	// from a server that may lag behind the primary.
	WriterErr error
	// Phases holds expand then contract.
	Phases []PhaseStatus
	// Dirty lists unresolved unfinished entries; non-empty means every run refuses.
	Dirty []Entry
}

// Status reads the files and the journal. It changes nothing and takes no lock. It fails only
// when the files or the journal cannot be read; a failed writer proof is reported in WriterErr.
func (m *Migrator) Status(ctx context.Context) (_ *Report, err error) {
	defer func() { err = redact(err, m.opts.Password) }()
	files, err := m.readAll()
	if err != nil {
		return nil, err
	}
	s, err := m.open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	r := &Report{}
	var entries []Entry
	err = s.do(ctx, func(conn *sql.Conn) error {
		r.Server, r.WriterErr = s.prover.prove(ctx, conn)
		if r.WriterErr != nil && !errors.Is(r.WriterErr, ErrNotWriter) {
			return r.WriterErr
		}
		r.WriterErr = redact(r.WriterErr, m.opts.Password)
		entries, err = m.j.load(ctx, conn)
		return err
	})
	if err != nil {
		return nil, err
	}
	r.Phases = analyze(files, entries)
	for _, e := range entries {
		if e.Dirty() {
			r.Dirty = append(r.Dirty, e)
		}
	}
	return r, nil
}

// Plan returns the migrations Up(ctx, phase) would run, in order, without running anything or
// taking the lock. It proves the writer (the journal is read there) and returns the refusal Up
// would return: [ErrDirty], [ErrChecksum], [ErrInvalid], [ErrNotWriter]. It does not call
// Options.ContractAllowed; callers that want to show that refusal call it themselves.
func (m *Migrator) Plan(ctx context.Context, phase Phase) (_ []Migration, err error) {
	defer func() { err = redact(err, m.opts.Password) }()
	if _, err := ParsePhase(string(phase)); err != nil {
		return nil, err
	}
	files, err := m.readAll()
	if err != nil {
		return nil, err
	}
	s, err := m.open(ctx)
	if err != nil {
		return nil, err
	}
	defer s.close()
	var entries []Entry
	err = s.do(ctx, func(conn *sql.Conn) error {
		if _, err := s.prover.prove(ctx, conn); err != nil {
			return err
		}
		entries, err = m.j.load(ctx, conn)
		return err
	})
	if err != nil {
		return nil, err
	}
	status := analyze(files, entries)
	if err := check(status, phase); err != nil {
		return nil, err
	}
	for _, ps := range status {
		if ps.Phase == phase {
			return ps.Pending(), nil
		}
	}
	return nil, nil
}

// readAll reads both phases (a changed applied file in either phase refuses any run).
func (m *Migrator) readAll() ([]*phaseFiles, error) {
	var out []*phaseFiles
	for _, p := range Phases {
		pf, err := readPhase(m.opts.Dir, p)
		if err != nil {
			return nil, err
		}
		out = append(out, pf)
	}
	return out, nil
}

// session is one call's single connection to the writer.
type session struct {
	m      *Migrator
	db     *sql.DB
	prover *prover
}

// open connects through HAProxy (one connection, never replaced).
func (m *Migrator) open(ctx context.Context) (*session, error) {
	db, err := openRunDB(m.cfg)
	if err != nil {
		return nil, err
	}
	s := &session{m: m, db: db, prover: &prover{writer: m.opts.Writer, servers: m.opts.Servers, target: target(m.cfg)}}
	conn, err := db.Conn(ctx)
	if err != nil {
		db.Close()
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		return nil, classifyConnErr(m.cfg, err)
	}
	if err := conn.PingContext(ctx); err != nil {
		conn.Close()
		db.Close()
		return nil, classifyConnErr(m.cfg, err)
	}
	conn.Close()
	return s, nil
}

// do runs fn on the session's connection.
func (s *session) do(ctx context.Context, fn func(*sql.Conn) error) error {
	conn, err := s.db.Conn(ctx)
	if err != nil {
		if ctx.Err() != nil {
			return ctx.Err()
		}
		return classifyConnErr(s.m.cfg, err)
	}
	defer conn.Close()
	return fn(conn)
}

func (s *session) close() { s.db.Close() }
