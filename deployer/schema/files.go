package schema

import (
	"context"
	"crypto/sha256"
	"database/sql"
	"database/sql/driver"
	"encoding/hex"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing/fstest" // an in-memory fs.FS (no testing dependency) for the files goose runs

	"github.com/pressly/goose/v3"
)

// Migration is one migration file.
type Migration struct {
	Phase    Phase
	Name     string // file name, e.g. 002_add_email.sql; the journal key within the phase
	Path     string // path on disk
	Version  int64  // numeric prefix; orders the phase
	Checksum string // sha256 of the file's bytes, hex
	// The statement itself is kept out of Migration, so that printing one never shows what a
	// file holds (e.g. IDENTIFIED BY '...'); read Path to show it.
}

// phaseFiles is one phase read from disk, ready to run through goose.
type phaseFiles struct {
	phase      Phase
	migrations []Migration // in goose's order
	fsys       fs.FS       // what goose reads: one synthesized goose file per migration
}

// readPhase reads, checks and orders the files of dir/<phase>.
func readPhase(dir string, phase Phase) (*phaseFiles, error) {
	pdir := filepath.Join(dir, string(phase))
	entries, err := os.ReadDir(pdir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			if _, derr := os.Stat(dir); derr != nil {
				return nil, fmt.Errorf("schema: read %s: migrations directory does not exist: %w (hint: set the migrations dir to a directory holding expand/ and contract/)", dir, ErrInvalid)
			}
			return nil, fmt.Errorf("schema: read %s: no %s/ sub-directory: %w (hint: a migrations dir holds expand/ (additive changes, run before deploying) and contract/ (removals, run after every node runs the new version); create both, even if one stays empty)", dir, phase, ErrInvalid)
		}
		return nil, fmt.Errorf("schema: read %s: %w", pdir, err)
	}
	mfs := fstest.MapFS{}
	byName := map[string]Migration{}
	for _, e := range entries {
		if e.IsDir() || filepath.Ext(e.Name()) != ".sql" {
			continue
		}
		// goose silently skips names without a version; here such a file would never run.
		if _, err := goose.NumericComponent(e.Name()); err != nil {
			return nil, fmt.Errorf("schema: read %s: %s: %v: %w (hint: name files NNN_description.sql, NNN >= 1)", pdir, e.Name(), err, ErrInvalid)
		}
		m, stmt, err := readFile(phase, filepath.Join(pdir, e.Name()))
		if err != nil {
			return nil, err
		}
		byName[m.Name] = m
		mfs[m.Name] = &fstest.MapFile{Data: []byte(gooseSource(stmt)), Mode: 0o444}
	}
	pf := &phaseFiles{phase: phase, fsys: mfs}
	if len(byName) == 0 {
		return pf, nil
	}
	p, err := newGoose(noDialDB, mfs)
	if err != nil {
		return nil, fmt.Errorf("schema: read %s: %v: %w (hint: name files NNN_description.sql with unique numbers)", pdir, err, ErrInvalid)
	}
	for _, s := range p.ListSources() {
		m := byName[filepath.Base(s.Path)]
		m.Version = s.Version
		pf.migrations = append(pf.migrations, m)
	}
	return pf, nil
}

// newGoose returns a goose Provider that orders and runs fsys on db; versioning is off because
// the journal is kept by this package (see the package doc).
func newGoose(db *sql.DB, fsys fs.FS) (*goose.Provider, error) {
	return goose.NewProvider(goose.DialectMySQL, db, fsys,
		goose.WithDisableVersioning(true), goose.WithDisableGlobalRegistry(true))
}

// gooseSource wraps a plain statement as a goose SQL file: no transaction (MySQL DDL commits
// implicitly) and the whole text as one statement.
func gooseSource(stmt string) string {
	return "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\n" + stmt + "\n-- +goose StatementEnd\n"
}

var compoundRE = regexp.MustCompile(`(?is)^CREATE\s+(OR\s+REPLACE\s+)?(DEFINER\s*=\s*\S+\s+)?(AGGREGATE\s+)?(TRIGGER|PROCEDURE|FUNCTION|EVENT)\b`)

// readFile reads one migration and checks that it holds exactly one statement, which it returns
// without comments at its edges or a trailing semicolon.
func readFile(phase Phase, path string) (Migration, string, error) {
	data, err := os.ReadFile(path)
	if err != nil {
		return Migration{}, "", fmt.Errorf("schema: read %s: %w", path, err)
	}
	sum := sha256.Sum256(data)
	m := Migration{Phase: phase, Name: filepath.Base(path), Path: path, Checksum: hex.EncodeToString(sum[:])}
	if strings.Contains(string(data), "+goose") {
		return m, "", fmt.Errorf("schema: read %s: goose annotations are not used here: %w (hint: write the plain statement only)", path, ErrInvalid)
	}
	stmts := splitStatements(string(data))
	switch {
	case len(stmts) == 0:
		return m, "", fmt.Errorf("schema: read %s: no SQL statement: %w (hint: one statement per file)", path, ErrInvalid)
	case len(stmts) > 1 && !compoundRE.MatchString(stmts[0]):
		return m, "", fmt.Errorf("schema: read %s: %d statements: %w (hint: MySQL DDL is not transactional; put one statement in each file so a failure stops at a known point)", path, len(stmts), ErrInvalid)
	case len(stmts) > 1:
		return m, stripTrailingSemicolon(string(data)), nil
	}
	return m, stmts[0], nil
}

func stripTrailingSemicolon(s string) string {
	s = strings.TrimSpace(s)
	return strings.TrimSuffix(s, ";")
}

// splitStatements splits SQL text at top-level semicolons, skipping quoted strings, quoted
// identifiers and comments; it returns the non-empty statements without comments at their edges.
func splitStatements(src string) []string {
	var out []string
	var cur strings.Builder
	hasCode := false
	flush := func() {
		if s := strings.TrimSpace(cur.String()); hasCode && s != "" {
			out = append(out, s)
		}
		cur.Reset()
		hasCode = false
	}
	for i := 0; i < len(src); i++ {
		c := src[i]
		switch {
		case c == '\'' || c == '"' || c == '`':
			j := skipQuoted(src, i)
			cur.WriteString(src[i:j])
			hasCode = true
			i = j - 1
		case c == '#' || (c == '-' && strings.HasPrefix(src[i:], "--") && (i+2 == len(src) || src[i+2] == ' ' || src[i+2] == '\t' || src[i+2] == '\n' || src[i+2] == '\r')):
			j := strings.IndexByte(src[i:], '\n')
			if j < 0 {
				i = len(src)
			} else {
				i += j
				cur.WriteByte('\n')
			}
		case c == '/' && strings.HasPrefix(src[i:], "/*") && !strings.HasPrefix(src[i:], "/*!"):
			j := strings.Index(src[i+2:], "*/")
			if j < 0 {
				i = len(src)
			} else {
				i += j + 3
				cur.WriteByte(' ')
			}
		case c == ';':
			flush()
		default:
			cur.WriteByte(c)
			if c != ' ' && c != '\t' && c != '\n' && c != '\r' {
				hasCode = true
			}
		}
	}
	flush()
	return out
}

// skipQuoted returns the index just after the quoted run starting at src[i].
func skipQuoted(src string, i int) int {
	q := src[i]
	for j := i + 1; j < len(src); j++ {
		switch {
		case src[j] == '\\' && q != '`':
			j++
		case src[j] == q && j+1 < len(src) && src[j+1] == q:
			j++
		case src[j] == q:
			return j + 1
		}
	}
	return len(src)
}

// noDialDB lets goose order files without a database: it never connects.
var noDialDB = sql.OpenDB(noDialConnector{})

type noDialConnector struct{}

func (noDialConnector) Connect(context.Context) (driver.Conn, error) { return nil, errNoDial }
func (noDialConnector) Driver() driver.Driver                        { return noDialDriver{} }

type noDialDriver struct{}

func (noDialDriver) Open(string) (driver.Conn, error) { return nil, errNoDial }
