package docs

import (
	"bytes"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// modulePath is the import path prefix of the repository's own packages.
const modulePath = "github.com/cloudcockpit/cloudcockpit-facade/"

// repo is the repository, read-only.
var repo = os.DirFS(root)

// goSources returns the repository paths of the non-test Go files under top.
func goSources(t *testing.T, top string) []string {
	t.Helper()
	var out []string
	err := fs.WalkDir(repo, top, func(p string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() && strings.HasSuffix(p, ".go") && !strings.HasSuffix(p, "_test.go") {
			out = append(out, p)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	return out
}

// codeImports returns, for every package under internal/ and cmd/, the
// repository packages its non-test files import (gen/ left out: it is the
// contract's generated code, imported nearly everywhere).
func codeImports(t *testing.T) map[string][]string {
	t.Helper()
	got := map[string][]string{}
	for _, p := range append(goSources(t, "internal"), goSources(t, "cmd")...) {
		src, err := fs.ReadFile(repo, p)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(token.NewFileSet(), p, src, parser.ImportsOnly)
		if err != nil {
			t.Fatal(err)
		}
		pkg := path.Dir(p)
		if _, ok := got[pkg]; !ok {
			got[pkg] = nil
		}
		for _, imp := range f.Imports {
			dep, ok := strings.CutPrefix(strings.Trim(imp.Path.Value, `"`), modulePath)
			if !ok || strings.HasPrefix(dep, "gen/") || slices.Contains(got[pkg], dep) {
				continue
			}
			got[pkg] = append(got[pkg], dep)
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

// sizeBound matches the sentence of architecture.md that states the bound on
// internal/'s size.
var sizeBound = regexp.MustCompile("`internal/` holds at most ([0-9,]+) lines of non-test Go")

// TestInternalStaysSmall fails when internal/, internal/stale left out, holds
// more lines of non-test Go than architecture.md allows.
func TestInternalStaysSmall(t *testing.T) {
	page, err := os.ReadFile(filepath.Join(root, "docs", "architecture.md"))
	if err != nil {
		t.Fatal(err)
	}
	m := sizeBound.FindSubmatch(bytes.Join(bytes.Fields(page), []byte(" ")))
	if m == nil {
		t.Fatal("architecture.md states no bound on internal/'s lines")
	}
	bound, err := strconv.Atoi(strings.ReplaceAll(string(m[1]), ",", ""))
	if err != nil {
		t.Fatal(err)
	}
	lines := map[string]int{}
	total := 0
	for _, p := range goSources(t, "internal") {
		if strings.HasPrefix(p, "internal/stale/") {
			continue
		}
		b, err := fs.ReadFile(repo, p)
		if err != nil {
			t.Fatal(err)
		}
		n := bytes.Count(b, []byte("\n"))
		lines[path.Dir(p)] += n
		total += n
	}
	if total > bound {
		t.Errorf("internal/ holds %d lines of non-test Go, over the %d of architecture.md; by package: %v", total, bound, lines)
	}
}
