package docs

import (
	"go/parser"
	"go/token"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// modulePath is the import path prefix of the repository's own packages.
const modulePath = "github.com/cloudcockpit/cloudcockpit-facade/"

// codeImports returns, for every package under internal/ and cmd/, the
// repository packages its non-test files import (gen/ left out: it is the
// contract's generated code, imported nearly everywhere).
func codeImports(t *testing.T) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, top := range []string{"internal", "cmd"} {
		err := filepath.WalkDir(filepath.Join(root, top), func(p string, d os.DirEntry, err error) error {
			if err != nil || d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
				return err
			}
			f, err := parser.ParseFile(token.NewFileSet(), p, nil, parser.ImportsOnly)
			if err != nil {
				return err
			}
			rel, err := filepath.Rel(root, filepath.Dir(p))
			if err != nil {
				return err
			}
			pkg := filepath.ToSlash(rel)
			if _, ok := got[pkg]; !ok {
				got[pkg] = nil
			}
			for _, imp := range f.Imports {
				path := strings.Trim(imp.Path.Value, `"`)
				dep, ok := strings.CutPrefix(path, modulePath)
				if !ok || strings.HasPrefix(dep, "gen/") || slices.Contains(got[pkg], dep) {
					continue
				}
				got[pkg] = append(got[pkg], dep)
			}
			return nil
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	for _, deps := range got {
		slices.Sort(deps)
	}
	return got
}

// importsRow matches a row of architecture.md's imports table:
// | `internal/service` | `internal/apierr`, `internal/rest` |.
var importsRow = regexp.MustCompile("^\\| `((?:internal|cmd)/[a-z0-9/]+)` \\| (.*) \\|$")

// TestArchitectureMatchesImports fails when a package under internal/ or
// cmd/ is missing from docs/architecture.md's package table, or when the
// page's imports table differs from what the code imports.
func TestArchitectureMatchesImports(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	page := string(b)
	code := codeImports(t)
	documented := map[string][]string{}
	inImports := false
	for line := range strings.SplitSeq(page, "\n") {
		if strings.HasPrefix(line, "## ") {
			inImports = line == "## Imports"
			continue
		}
		m := importsRow.FindStringSubmatch(line)
		if !inImports || m == nil {
			continue
		}
		deps := []string{}
		for d := range strings.SplitSeq(m[2], ",") {
			if d = strings.Trim(strings.TrimSpace(d), "`"); d != "" && d != "(none)" {
				deps = append(deps, d)
			}
		}
		slices.Sort(deps)
		documented[m[1]] = deps
	}
	for pkg, deps := range code {
		if deps == nil {
			code[pkg] = []string{}
		}
		if !strings.Contains(page, "`"+pkg+"`") {
			t.Errorf("docs/architecture.md does not name the package %s", pkg)
		}
	}
	if diff := cmp.Diff(code, documented); diff != "" {
		t.Errorf("docs/architecture.md's imports table differs from the code (-code +doc):\n%s", diff)
	}
}
