package watch

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/saitodrom/zdd"

// TestReleaseNeedsNoTestenv: the watcher and `zdd deploy` (releasecmd, which runs --watch)
// reach no package of the test cluster through their non-test imports.
func TestReleaseNeedsNoTestenv(t *testing.T) {
	for _, start := range []string{"watch", "watch/chart", "cmd/zdd/internal/cmd/releasecmd"} {
		seen := map[string]bool{}
		require.NoError(t, walkImports("..", module+"/"+start, seen))
		require.True(t, seen[module+"/"+start], "the walk read %s", start)
		for p := range seen {
			assert.False(t, strings.HasPrefix(p, module+"/testenv"), "%s imports %s", start, p)
		}
	}
}

// walkImports adds pkg and the module's packages it imports (non-test files) to seen; root
// is the module's directory.
func walkImports(root, pkg string, seen map[string]bool) error {
	if seen[pkg] || !strings.HasPrefix(pkg, module) {
		return nil
	}
	seen[pkg] = true
	dir := filepath.Join(root, strings.TrimPrefix(strings.TrimPrefix(pkg, module), "/"))
	ents, err := os.ReadDir(dir)
	if err != nil {
		return err
	}
	for _, e := range ents {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name()), nil, parser.ImportsOnly)
		if err != nil {
			return err
		}
		for _, imp := range f.Imports {
			if err := walkImports(root, strings.Trim(imp.Path.Value, `"`), seen); err != nil {
				return err
			}
		}
	}
	return nil
}
