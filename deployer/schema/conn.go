package schema

import (
	"context"
	"database/sql"
	"database/sql/driver"
	"errors"
	"fmt"
	"net"
	"sort"
	"strings"
	"sync"

	"github.com/go-sql-driver/mysql"
)

// ServerInfo is what the writer proof saw on the run connection.
type ServerInfo struct {
	Active       string // HAProxy's active server name, from Options.Writer
	ServerID     int    // @@server_id
	Hostname     string // @@hostname
	Version      string // VERSION()
	ReadOnly     bool   // read_only or super_read_only is ON
	ConnectionID int64  // CONNECTION_ID() of the run connection
}

// String implements fmt.Stringer.
func (s ServerInfo) String() string {
	return fmt.Sprintf("server_id %d (%s, HAProxy active %s)", s.ServerID, s.Hostname, s.Active)
}

// onceConnector dials at most one connection. database/sql silently replaces a broken pooled
// connection; after a failover the replacement could land on another server, so a run refuses
// to reconnect instead.
type onceConnector struct {
	inner driver.Connector
	mu    sync.Mutex
	used  bool
}

func (c *onceConnector) Connect(ctx context.Context) (driver.Conn, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.used {
		return nil, fmt.Errorf("schema: reconnect refused: %w (hint: HAProxy or the server closed the run's connection; check for a failover, then run again)", ErrConnLost)
	}
	c.used = true
	return c.inner.Connect(ctx)
}

func (c *onceConnector) Driver() driver.Driver { return c.inner.Driver() }

// openRunDB returns a pool that holds the run's single connection and never replaces it.
func openRunDB(cfg *mysql.Config) (*sql.DB, error) {
	conn, err := mysql.NewConnector(cfg)
	if err != nil {
		return nil, fmt.Errorf("schema: connect %s: %w", target(cfg), err)
	}
	db := sql.OpenDB(&onceConnector{inner: conn})
	db.SetMaxOpenConns(1)
	db.SetMaxIdleConns(1)
	db.SetConnMaxLifetime(0)
	db.SetConnMaxIdleTime(0)
	return db, nil
}

// classifyConnErr turns a failure to connect into a clear ErrConnect error.
func classifyConnErr(cfg *mysql.Config, err error) error {
	var me *mysql.MySQLError
	var ne net.Error
	switch {
	case errors.Is(err, ErrConnLost):
		return err
	case errors.As(err, &me) && (me.Number == 1045 || me.Number == 1698):
		return fmt.Errorf("schema: connect %s: login refused: %v: %w (hint: check the user and password)", target(cfg), err, ErrConnect)
	case errors.As(err, &me) && me.Number == 1044:
		return fmt.Errorf("schema: connect %s: no access to database %s: %v: %w", target(cfg), cfg.DBName, err, ErrConnect)
	case errors.As(err, &ne), errors.Is(err, mysql.ErrInvalidConn), errors.Is(err, driver.ErrBadConn):
		return fmt.Errorf("schema: connect %s: %v: %w (hint: is HAProxy running and the address right?)", target(cfg), err, ErrConnect)
	}
	return fmt.Errorf("schema: connect %s: %w", target(cfg), err)
}

// prover checks that a connection reaches the writer HAProxy names as active.
type prover struct {
	writer  WriterSource
	servers map[string]int
	target  string
	connID  int64 // CONNECTION_ID() seen first; later proofs must see the same
}

// prove runs the writer proof on conn. It never changes anything.
func (p *prover) prove(ctx context.Context, conn *sql.Conn) (ServerInfo, error) {
	var si ServerInfo
	active, err := p.writer.ActiveServer(ctx)
	if err != nil {
		return si, fmt.Errorf("schema: prove writer %s: cannot tell HAProxy's active server: %v: %w", p.target, err, ErrNotWriter)
	}
	si.Active = active
	want, ok := p.servers[active]
	if !ok {
		return si, fmt.Errorf("schema: prove writer %s: HAProxy's active server %q has no server_id configured (known: %s): %w",
			p.target, active, strings.Join(serverNames(p.servers), ", "), ErrInvalid)
	}
	row := conn.QueryRowContext(ctx, "SELECT @@server_id, @@hostname, VERSION(), CONNECTION_ID()")
	if err := row.Scan(&si.ServerID, &si.Hostname, &si.Version, &si.ConnectionID); err != nil {
		return si, fmt.Errorf("schema: prove writer %s: %w", p.target, err)
	}
	ro, err := readOnlyVars(ctx, conn)
	if err != nil {
		return si, fmt.Errorf("schema: prove writer %s: %w", p.target, err)
	}
	si.ReadOnly = len(ro) > 0
	var why []string
	if si.ReadOnly {
		why = append(why, fmt.Sprintf("%s is ON", strings.Join(ro, " and ")))
	}
	if si.ServerID != want {
		why = append(why, fmt.Sprintf("its server_id is %d but HAProxy's active server %s has server_id %d", si.ServerID, active, want))
	}
	if len(why) > 0 {
		return si, fmt.Errorf("schema: prove writer %s: connected to server_id %d (%s): %s: %w (hint: %s)",
			p.target, si.ServerID, si.Hostname, strings.Join(why, "; "), ErrNotWriter, notWriterHint(si, active, want, p.servers))
	}
	if p.connID == 0 {
		p.connID = si.ConnectionID
	} else if p.connID != si.ConnectionID {
		return si, fmt.Errorf("schema: prove writer %s: connection id changed from %d to %d: %w", p.target, p.connID, si.ConnectionID, ErrConnLost)
	}
	return si, nil
}

func notWriterHint(si ServerInfo, active string, want int, servers map[string]int) string {
	if si.ReadOnly && si.ServerID == want {
		return fmt.Sprintf("HAProxy routes to %s, a read-only server: the primary is probably down and HAProxy failed over to the replica; restore the primary and check HAProxy shows it UP before migrating", active)
	}
	for name, id := range servers {
		if id == si.ServerID && name != active {
			return fmt.Sprintf("the DSN reaches %s directly or through a path other than HAProxy's active server; point the DSN at HAProxy's MySQL frontend", name)
		}
	}
	return "point the DSN at HAProxy's MySQL frontend and check Servers maps each HAProxy server to its @@server_id"
}

// readOnlyVars returns which of read_only/super_read_only are ON. SHOW is used because
// super_read_only exists only on MySQL.
func readOnlyVars(ctx context.Context, conn *sql.Conn) ([]string, error) {
	rows, err := conn.QueryContext(ctx, "SHOW GLOBAL VARIABLES WHERE Variable_name IN ('read_only', 'super_read_only')")
	if err != nil {
		return nil, err
	}
	defer rows.Close()
	var on []string
	for rows.Next() {
		var name, val string
		if err := rows.Scan(&name, &val); err != nil {
			return nil, err
		}
		if strings.EqualFold(val, "ON") || val == "1" {
			on = append(on, strings.ToLower(name))
		}
	}
	sort.Strings(on)
	return on, rows.Err()
}

func serverNames(m map[string]int) []string {
	var out []string
	for n := range m {
		out = append(out, n)
	}
	sort.Strings(out)
	return out
}
