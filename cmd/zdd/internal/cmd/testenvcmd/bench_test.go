package testenvcmd

import (
	"testing"

	"github.com/stretchr/testify/assert"

	"github.com/saitodrom/zdd/testenv/bench"
)

func TestRowsFlag(t *testing.T) {
	assert.NoError(t, checkRows([]string{"faults", bench.RowZddRR}))
	err := checkRows([]string{"zdd deploy"})
	if assert.Error(t, err) {
		assert.Contains(t, err.Error(), `--rows "zdd deploy" names no row`)
		assert.Contains(t, err.Error(), bench.RowFaultKill, "the refusal lists the rows")
	}
	assert.Equal(t, append(append([]string{bench.RowNaive}, bench.FaultRows...), bench.RowZddSticky),
		expandRows([]string{bench.RowNaive, "faults", bench.RowZddSticky}))
	assert.Nil(t, expandRows(nil), "no --rows: every row")
}
