package schema

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func writeTree(t *testing.T, files map[string]string) string {
	t.Helper()
	dir := t.TempDir()
	for _, p := range Phases {
		require.NoError(t, os.MkdirAll(filepath.Join(dir, string(p)), 0o755))
	}
	for name, body := range files {
		require.NoError(t, os.WriteFile(filepath.Join(dir, name), []byte(body), 0o644))
	}
	return dir
}

func TestReadPhaseOrdersByNumberAndChecksums(t *testing.T) {
	body := "ALTER TABLE u ADD COLUMN e INT;\n"
	dir := writeTree(t, map[string]string{
		"expand/10_ten.sql":   "CREATE TABLE ten (id INT)",
		"expand/9_nine.sql":   "CREATE TABLE nine (id INT)",
		"expand/002_two.sql":  body,
		"expand/README.md":    "not a migration; ignored",
		"contract/1_drop.sql": "ALTER TABLE u DROP COLUMN x",
	})
	pf, err := readPhase(dir, Expand)
	require.NoError(t, err)
	var got []string
	var versions []int64
	for _, m := range pf.migrations {
		got = append(got, m.Name)
		versions = append(versions, m.Version)
		assert.Equal(t, Expand, m.Phase)
		assert.Equal(t, filepath.Join(dir, "expand", m.Name), m.Path)
	}
	assert.Equal(t, []string{"002_two.sql", "9_nine.sql", "10_ten.sql"}, got)
	assert.Equal(t, []int64{2, 9, 10}, versions)
	sum := sha256.Sum256([]byte(body))
	assert.Equal(t, hex.EncodeToString(sum[:]), pf.migrations[0].Checksum, "checksum is sha256 of the file's bytes")

	// goose gets the statement wrapped as one statement without a transaction.
	data, err := pf.fsys.Open("002_two.sql")
	require.NoError(t, err)
	defer data.Close()
	buf := make([]byte, 512)
	n, _ := data.Read(buf)
	assert.Equal(t, "-- +goose NO TRANSACTION\n-- +goose Up\n-- +goose StatementBegin\nALTER TABLE u ADD COLUMN e INT\n-- +goose StatementEnd\n", string(buf[:n]))
}

func TestReadPhaseEmptyIsValid(t *testing.T) {
	dir := writeTree(t, nil)
	pf, err := readPhase(dir, Contract)
	require.NoError(t, err)
	assert.Empty(t, pf.migrations)
}

func TestReadPhaseErrors(t *testing.T) {
	tests := []struct {
		name  string
		files map[string]string
		want  string
	}{
		{"duplicate version", map[string]string{"expand/1_a.sql": "SELECT 1", "expand/001_b.sql": "SELECT 2"}, "duplicate migration version 1"},
		{"no version", map[string]string{"expand/add_col.sql": "SELECT 1"}, "add_col.sql: failed to parse version"},
		{"no separator", map[string]string{"expand/001.sql": "SELECT 1"}, "001.sql: no filename separator"},
		{"version zero", map[string]string{"expand/000_x.sql": "SELECT 1"}, "000_x.sql: migration version must be greater than zero"},
		{"two statements", map[string]string{"expand/1_a.sql": "CREATE TABLE a (id INT); CREATE TABLE b (id INT);"}, "2 statements"},
		{"only comments", map[string]string{"expand/1_a.sql": "-- nothing yet\n/* later */\n"}, "no SQL statement"},
		{"goose annotation", map[string]string{"expand/1_a.sql": "-- +goose Up\nCREATE TABLE a (id INT);"}, "goose annotations are not used here"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := writeTree(t, tt.files)
			_, err := readPhase(dir, Expand)
			require.ErrorIs(t, err, ErrInvalid)
			assert.ErrorContains(t, err, tt.want)
		})
	}
}

func TestReadPhaseMissingDirs(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(dir, "expand"), 0o755))
	_, err := readPhase(dir, Contract)
	require.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "no contract/ sub-directory")
	assert.ErrorContains(t, err, "expand/ (additive changes, run before deploying) and contract/")

	_, err = readPhase(filepath.Join(dir, "nope"), Expand)
	require.ErrorIs(t, err, ErrInvalid)
	assert.ErrorContains(t, err, "migrations directory does not exist")
}

func TestSplitStatements(t *testing.T) {
	tests := []struct {
		src  string
		want []string
	}{
		{"CREATE TABLE a (id INT);", []string{"CREATE TABLE a (id INT)"}},
		{"-- lead\nCREATE TABLE a (id INT) -- trail\n;\n# hash comment\n", []string{"CREATE TABLE a (id INT)"}},
		{"ALTER TABLE a COMMENT 'x;y', ALGORITHM=INPLACE;", []string{"ALTER TABLE a COMMENT 'x;y', ALGORITHM=INPLACE"}},
		{"ALTER TABLE `we;ird` ADD c INT", []string{"ALTER TABLE `we;ird` ADD c INT"}},
		{`ALTER TABLE a COMMENT 'it''s; \' ok'`, []string{`ALTER TABLE a COMMENT 'it''s; \' ok'`}},
		{"/* a; b */ SELECT 1 /*!40101 SET x=1 */", []string{"SELECT 1 /*!40101 SET x=1 */"}},
		{"SELECT 1; SELECT 2", []string{"SELECT 1", "SELECT 2"}},
		{"SELECT 3--1", []string{"SELECT 3--1"}},
		{";;  ;", nil},
	}
	for _, tt := range tests {
		assert.Equal(t, tt.want, splitStatements(tt.src), tt.src)
	}
}

func TestCompoundStatementIsOneFile(t *testing.T) {
	src := "CREATE TRIGGER trg BEFORE INSERT ON a FOR EACH ROW BEGIN\n  SET NEW.x = 1;\n  SET NEW.y = 2;\nEND;\n"
	dir := writeTree(t, map[string]string{"expand/1_trg.sql": src})
	pf, err := readPhase(dir, Expand)
	require.NoError(t, err)
	require.Len(t, pf.migrations, 1)
	_, stmt, err := readFile(Expand, pf.migrations[0].Path)
	require.NoError(t, err)
	assert.Equal(t, "CREATE TRIGGER trg BEFORE INSERT ON a FOR EACH ROW BEGIN\n  SET NEW.x = 1;\n  SET NEW.y = 2;\nEND", stmt)
}

func TestParsePhase(t *testing.T) {
	p, err := ParsePhase(" Contract ")
	require.NoError(t, err)
	assert.Equal(t, Contract, p)
	_, err = ParsePhase("migrate")
	assert.True(t, errors.Is(err, ErrInvalid))
}
