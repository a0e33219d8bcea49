package schema

import (
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	redaction "github.com/saitodrom/zdd/internal/redact"
)

func validOptions() Options {
	return Options{
		DSN: "zdd@tcp(127.0.0.1:13300)/zdd", Password: "hunter2-secret", Dir: "/migrations",
		Servers: map[string]int{"db1": 1, "db2": 2},
		Writer:  WriterSourceFunc(func(context.Context) (string, error) { return "db1", nil }),
	}
}

func TestNewDefaultsAndDriverConfig(t *testing.T) {
	m, err := New(validOptions())
	require.NoError(t, err)
	assert.Equal(t, DefaultLockWait, m.opts.LockWait)
	assert.Equal(t, DefaultLockWaitTimeout, m.opts.LockWaitTimeout)
	assert.Equal(t, DefaultJournalTable, m.opts.JournalTable)
	assert.True(t, m.cfg.RejectReadOnly, "a read-only server after failover must be rejected by the driver")
	assert.False(t, m.cfg.MultiStatements)
	assert.Equal(t, "hunter2-secret", m.cfg.Passwd)
	assert.Equal(t, "zdd-schema:zdd.zdd_schema_journal", m.lock)
}

func TestNewRejectsBadOptions(t *testing.T) {
	tests := []struct {
		name string
		mod  func(*Options)
		want string
	}{
		{"password in DSN", func(o *Options) { o.DSN = "zdd:hunter2-secret@tcp(127.0.0.1:13300)/zdd" }, "DSN contains a password"},
		{"no db", func(o *Options) { o.DSN = "zdd@tcp(127.0.0.1:13300)/" }, "names no database"},
		{"bad dsn", func(o *Options) { o.DSN = "hunter2-secret" }, "DSN"},
		{"no dir", func(o *Options) { o.Dir = "" }, "Dir is empty"},
		{"no writer", func(o *Options) { o.Writer = nil }, "Writer is nil"},
		{"no servers", func(o *Options) { o.Servers = nil }, "Servers is empty"},
		{"bad table", func(o *Options) { o.JournalTable = "j; DROP" }, "journal table"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			o := validOptions()
			tt.mod(&o)
			_, err := New(o)
			require.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tt.want)
			assert.NotContains(t, err.Error(), "hunter2-secret")
		})
	}
}

func TestPrintedFormsHidePassword(t *testing.T) {
	o := validOptions()
	o.DSN = "zdd:hunter2-secret@tcp(127.0.0.1:13300)/zdd"
	m, err := New(validOptions())
	require.NoError(t, err)
	for _, s := range []string{fmt.Sprintf("%v %+v %#v", o, o, o), fmt.Sprintf("%v %+v %#v %v", m, m, m, *m)} {
		assert.NotContains(t, s, "hunter2-secret")
		assert.True(t, strings.Contains(s, "zdd@127.0.0.1:13300/zdd"), s)
	}
}

func TestRedactKeepsErrorsIs(t *testing.T) {
	err := redact(fmt.Errorf("near 'hunter2-secret': %w", ErrStatement), "hunter2-secret")
	assert.Equal(t, "near '"+redaction.Text+"': migration statement failed", err.Error())
	assert.ErrorIs(t, err, ErrStatement)
	plain := fmt.Errorf("x: %w", ErrLocked)
	assert.Same(t, plain, redact(plain, "hunter2-secret"), "untouched when clean")
}

func TestLockNameFitsGetLock(t *testing.T) {
	n := lockName(strings.Repeat("d", 40), strings.Repeat("t", 59))
	assert.LessOrEqual(t, len(n), 64)
	assert.NotEqual(t, n, lockName(strings.Repeat("d", 40), strings.Repeat("u", 59)))
}

func TestLockedErrorNamesHolder(t *testing.T) {
	err := error(&LockedError{Lock: "zdd-schema:zdd.j", Waited: 1500 * time.Millisecond, Holder: Holder{
		ConnectionID: 42, User: "zdd", Host: "127.0.0.1:5000", Who: "ci", From: "runner-7", Phase: Expand,
		Since: time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)}})
	assert.ErrorIs(t, err, ErrLocked)
	assert.Equal(t, "schema: lock zdd-schema:zdd.j: held by connection 42 (zdd@127.0.0.1:5000), run by ci from runner-7 (expand) since 2026-01-02T03:04:05Z;"+
		" gave up after 1.5s (hint: wait for that run to finish, or check that it is still alive)", err.Error())
}
