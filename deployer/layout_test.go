package deployer

import (
	"go/ast"
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

const module = "github.com/saitodrom/zdd/"

// layerImports are, for each package below the engine, the packages of this module it may
// import (the standard library and other modules are not listed): the plan is pure, the state
// package stores plans. Neither imports the engine, a seam's adapter or the command line.
var layerImports = map[string][]string{
	"deployer/plan":  {"deployer/outcome", "tomcatmgr"},
	"deployer/state": {"deployer/outcome", "deployer/plan", "deployer/statedir", "deployer/wait"},
}

// planTomcat is all the plan may use of tomcatmgr, the Tomcat Manager client: its value types
// and its pure version functions, never the client or anything that does I/O.
var planTomcat = []string{"App", "CompareVersions", "Context", "IsNewest", "StateRunning", "ValidateVersion"}

// moduleImports parses the non-test Go files of the module package rel (a path relative to
// the module root, from this test's directory deployer/) and returns the module packages they
// import, and every name each file uses from each import, by import path.
func moduleImports(t *testing.T, rel string) (imports []string, uses map[string][]string) {
	t.Helper()
	dir := filepath.Join("..", filepath.FromSlash(rel))
	entries, err := os.ReadDir(dir)
	require.NoError(t, err, "read %s", dir)
	seen, uses := map[string]bool{}, map[string][]string{}
	for _, e := range entries {
		if !strings.HasSuffix(e.Name(), ".go") || strings.HasSuffix(e.Name(), "_test.go") {
			continue
		}
		f, err := parser.ParseFile(token.NewFileSet(), filepath.Join(dir, e.Name()), nil, parser.SkipObjectResolution)
		require.NoError(t, err)
		names := map[string]string{} // local name -> import path
		for _, im := range f.Imports {
			p, _ := strconv.Unquote(im.Path.Value)
			local := filepath.Base(p)
			if im.Name != nil {
				local = im.Name.Name
			}
			names[local] = p
			if rest, ok := strings.CutPrefix(p, module); ok && !seen[rest] {
				seen[rest] = true
				imports = append(imports, rest)
			}
		}
		ast.Inspect(f, func(n ast.Node) bool {
			if s, ok := n.(*ast.SelectorExpr); ok {
				if x, ok := s.X.(*ast.Ident); ok && names[x.Name] != "" {
					uses[names[x.Name]] = append(uses[names[x.Name]], s.Sel.Name)
				}
			}
			return true
		})
	}
	sort.Strings(imports)
	return imports, uses
}

// TestLayersImportNothingAbove: the plan and state packages import only the module packages
// layerImports allows them, and nothing they reach imports the engine (package deployer), a
// seam's adapter (lb/..., deployer/schema, connect), the command line, testenv or watch.
// The plan uses nothing of tomcatmgr but planTomcat.
func TestLayersImportNothingAbove(t *testing.T) {
	forbidden := func(p string) bool {
		for _, top := range []string{"deployer", "connect", "deployer/schema", "deployer/deployertest", "lb", "cmd", "testenv", "watch"} {
			if p == top || strings.HasPrefix(p, top+"/") && top != "deployer" {
				return true
			}
		}
		return false
	}
	for pkg, allowed := range layerImports {
		imports, _ := moduleImports(t, pkg)
		for _, im := range imports {
			assert.Contains(t, allowed, im, "%s imports %s, which layerImports does not allow it", pkg, im)
		}
		// Everything reachable from the package, through the module's packages.
		todo, reached := imports, map[string]string{}
		for len(todo) > 0 {
			p := todo[0]
			todo = todo[1:]
			if _, ok := reached[p]; ok {
				continue
			}
			reached[p] = pkg
			next, _ := moduleImports(t, p)
			todo = append(todo, next...)
		}
		for p := range reached {
			assert.False(t, forbidden(p), "%s reaches %s", pkg, p)
		}
	}
	_, uses := moduleImports(t, "deployer/plan")
	for _, name := range uses[module+"tomcatmgr"] {
		assert.Contains(t, planTomcat, name, "deployer/plan uses tomcatmgr.%s", name)
	}
}
