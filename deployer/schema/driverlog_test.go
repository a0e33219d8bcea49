package schema

import (
	"context"
	"errors"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/go-sql-driver/mysql"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestDriverLogNeverReachesStderr: a server that hangs up makes the MySQL driver log
// "unexpected EOF"; the line goes to Options.DriverLog (password removed), not to stderr.
func TestDriverLogNeverReachesStderr(t *testing.T) {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			c.Close() // hang up before the handshake
		}
	}()
	var mu sync.Mutex
	var lines []string
	o := Options{DSN: "zdd@tcp(" + ln.Addr().String() + ")/app", Password: "s3cret-pw", DialTimeout: time.Second,
		DriverLog: func(l string) { mu.Lock(); lines = append(lines, l); mu.Unlock() }}
	cfg, err := o.driverConfig()
	require.NoError(t, err)
	db, err := openRunDB(cfg)
	require.NoError(t, err)
	defer db.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	require.Error(t, db.PingContext(ctx))
	mu.Lock()
	defer mu.Unlock()
	require.NotEmpty(t, lines, "the driver's log line is routed to DriverLog")
	assert.Contains(t, strings.Join(lines, "\n"), "EOF")

	// Without DriverLog the lines are dropped (the logger is set, never the driver's default).
	o.DriverLog = nil
	cfg, err = o.driverConfig()
	require.NoError(t, err)
	assert.IsType(t, driverLogger{}, cfg.Logger)
}

// TestStatementErrorCauseOnce: the cause appears once, also when the journal entry could not
// be finished after a lost connection.
func TestStatementErrorCauseOnce(t *testing.T) {
	cause := errors.New("invalid connection")
	e := &StatementError{Phase: Expand, File: "expand/001_a.sql", ServerID: 1,
		Err: &journalLeftError{id: 7, jerr: errors.New("schema: journal finish entry 7: bad connection"), cause: cause}}
	assert.Equal(t, 1, strings.Count(e.Error(), "invalid connection"), e.Error())
	assert.Contains(t, e.Error(), "journal entry 7 left unfinished")
	assert.ErrorIs(t, e, ErrStatement)
	assert.ErrorIs(t, e, cause)

	rej := &StatementError{Phase: Expand, File: "expand/001_a.sql", ServerID: 1, Rejected: true,
		Err: &mysql.MySQLError{Number: 1064, Message: "You have an error in your SQL syntax"}}
	assert.ErrorIs(t, rej, ErrRejected)
	assert.NotErrorIs(t, rej, ErrStatement)
	assert.Equal(t, 1, strings.Count(rej.Error(), "SQL syntax"), rej.Error())
}

func TestNotExecuted(t *testing.T) {
	for n, want := range map[uint16]bool{1064: true, 1149: true, 1146: true, 1205: true, 1644: false, 1062: false, 1050: false} {
		assert.Equal(t, want, NotExecuted(&StatementError{Err: &mysql.MySQLError{Number: n}}), n)
	}
	assert.False(t, NotExecuted(mysql.ErrInvalidConn), "a lost connection may have run the statement")
	assert.False(t, NotExecuted(errors.New("timeout")))
}
