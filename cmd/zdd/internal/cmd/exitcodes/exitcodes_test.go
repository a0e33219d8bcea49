package exitcodes

import (
	"bytes"
	"fmt"
	"os"
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/saitodrom/zdd/deployer/outcome"
)

func TestPrintListsEveryCode(t *testing.T) {
	var b bytes.Buffer
	require.NoError(t, Print(&b))
	for _, info := range outcome.Table() {
		assert.Regexp(t, fmt.Sprintf(`(?m)^%d +%s +%s$`, info.Code, info.Name, regexp.QuoteMeta(info.Meaning)), b.String())
	}
}

// TestDocsMatchTable keeps docs/exit-codes.md in step with outcome.Table.
func TestDocsMatchTable(t *testing.T) {
	data, err := os.ReadFile("../../../../../docs/exit-codes.md")
	require.NoError(t, err)
	rows := regexp.MustCompile("(?m)^\\| (\\d+) \\| `([a-z_]+)` \\|").FindAllStringSubmatch(string(data), -1)
	var got []string
	for _, r := range rows {
		got = append(got, r[1]+" "+r[2])
	}
	var want []string
	for _, info := range outcome.Table() {
		want = append(want, fmt.Sprintf("%d %s", info.Code, info.Name))
	}
	assert.Equal(t, want, got)
}
