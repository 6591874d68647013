// Package docs holds the project's documentation. Its tests keep the
// documentation honest: README.md within 250 lines, every relative link and
// every mention of a docs/ page resolving, every Makefile target listed by
// `make help`, and CONTRIBUTING.md naming every make target that .ci/run runs.
package docs

import (
	"bufio"
	"context"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode"
)

// pendingDocs are pages written on other branches of this round; links to
// them are accepted while they do not exist here. Once a page exists the
// test fails until its name is removed from this list, so that its links
// are checked like every other.
var pendingDocs = []string{}

// root is the repository root, relative to this package.
const root = ".."

// markdownFiles are the pages whose links are checked, relative to root.
func markdownFiles(t *testing.T) []string {
	t.Helper()
	files := []string{"README.md", "CONTRIBUTING.md"}
	pages, err := filepath.Glob(filepath.Join(root, "docs", "*.md"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range pages {
		files = append(files, filepath.ToSlash(strings.TrimPrefix(p, root+string(filepath.Separator))))
	}
	return files
}

func TestREADMEIsShort(t *testing.T) {
	b, err := os.ReadFile(filepath.Join(root, "README.md"))
	if err != nil {
		t.Fatal(err)
	}
	if n := strings.Count(string(b), "\n"); n > 250 {
		t.Errorf("README.md has %d lines, want at most 250: move reference material into docs/", n)
	}
}

func TestPendingDocsStillPending(t *testing.T) {
	for _, p := range pendingDocs {
		if _, err := os.Stat(filepath.Join(root, p)); err == nil {
			t.Errorf("%s exists now: remove it from pendingDocs in docs/docs_test.go so that links to it are checked", p)
		}
	}
}

var (
	linkRE    = regexp.MustCompile(`\[[^\]]*\]\(([^)\s]+)\)`)
	docsRefRE = regexp.MustCompile(`\bdocs/[a-z0-9-]+\.md\b(?:#[a-z0-9-]+)?`)
)

// TestRelativeLinks checks that every relative link of the Markdown pages
// names an existing file and, with a #fragment, a heading of that page.
func TestRelativeLinks(t *testing.T) {
	var checked int
	for _, file := range markdownFiles(t) {
		for _, l := range links(t, file) {
			checked++
			target, frag, _ := strings.Cut(l.target, "#")
			path := file
			if target != "" {
				path = filepath.ToSlash(filepath.Join(filepath.Dir(file), target))
			}
			if _, err := os.Stat(filepath.Join(root, path)); err != nil {
				if slices.Contains(pendingDocs, path) {
					continue
				}
				t.Errorf("%s:%d: link %q: %s does not exist", file, l.line, l.target, path)
				continue
			}
			if frag != "" && strings.HasSuffix(path, ".md") && !slices.Contains(anchors(t, path), frag) {
				t.Errorf("%s:%d: link %q: %s has no heading #%s", file, l.line, l.target, path, frag)
			}
		}
	}
	if checked < 20 {
		t.Errorf("checked %d links, want the pages' links (at least 20)", checked)
	}
}

// TestDocsMentionsResolve checks that every mention of a docs/ page in the
// pages, the Makefile, the CI script and the Go sources names a page that
// exists and, with a #fragment, a heading of that page.
func TestDocsMentionsResolve(t *testing.T) {
	files := append(markdownFiles(t), "Makefile", ".ci/run", "interop/run.sh")
	err := filepath.WalkDir(root, func(path string, d os.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "node_modules" || d.Name() == "build" || d.Name() == ".bin") {
			return filepath.SkipDir
		}
		if !d.IsDir() && strings.HasSuffix(path, ".go") && !strings.HasPrefix(filepath.ToSlash(path), "../gen/") {
			files = append(files, strings.TrimPrefix(filepath.ToSlash(path), "../"))
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
	for _, file := range files {
		b, err := os.ReadFile(filepath.Join(root, file))
		if err != nil {
			t.Fatal(err)
		}
		for i, line := range strings.Split(string(b), "\n") {
			for _, ref := range docsRefRE.FindAllString(line, -1) {
				ref, frag, _ := strings.Cut(ref, "#")
				if slices.Contains(pendingDocs, ref) {
					continue
				}
				if _, err := os.Stat(filepath.Join(root, ref)); err != nil { //nolint:gosec // G703: a docs/ path our own files name, checked in a test
					t.Errorf("%s:%d mentions %s, which does not exist", file, i+1, ref)
				} else if frag != "" && !slices.Contains(anchors(t, ref), frag) {
					t.Errorf("%s:%d mentions %s#%s, which has no such heading", file, i+1, ref, frag)
				}
			}
		}
	}
}

type link struct {
	line   int
	target string
}

// links returns the relative links of a Markdown page outside code blocks.
func links(t *testing.T, file string) []link {
	t.Helper()
	f, err := os.Open(filepath.Join(root, file))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out []link
	fenced := false
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
			continue
		}
		if fenced {
			continue
		}
		for _, m := range linkRE.FindAllStringSubmatch(line, -1) {
			target := m[1]
			if strings.Contains(target, "://") || strings.HasPrefix(target, "mailto:") {
				continue
			}
			out = append(out, link{n, target})
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// anchors returns the GitHub anchors of a page's headings.
func anchors(t *testing.T, file string) []string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, file)) //nolint:gosec // G703: a docs/ page our own files name, read in a test
	if err != nil {
		t.Fatal(err)
	}
	var out []string
	seen := map[string]int{}
	fenced := false
	for _, line := range strings.Split(string(b), "\n") {
		if strings.HasPrefix(strings.TrimSpace(line), "```") {
			fenced = !fenced
		}
		if fenced || !strings.HasPrefix(line, "#") {
			continue
		}
		a := slug(strings.TrimLeft(line, "#"))
		if n := seen[a]; n > 0 {
			out = append(out, a+"-"+strconv.Itoa(n))
		} else {
			out = append(out, a)
		}
		seen[a]++
	}
	return out
}

// slug is GitHub's anchor for a heading: lower case, punctuation dropped,
// spaces as hyphens.
func slug(heading string) string {
	var b strings.Builder
	for _, r := range strings.ToLower(strings.TrimSpace(heading)) {
		switch {
		case r == ' ':
			b.WriteRune('-')
		case r == '-' || r == '_' || unicode.IsLetter(r) || unicode.IsDigit(r):
			b.WriteRune(r)
		}
	}
	return b.String()
}

func TestSlug(t *testing.T) {
	tests := []struct{ give, want string }{
		{" Call it with curl: the REST mirror", "call-it-with-curl-the-rest-mirror"},
		{" Latency, faults and credential echo (`cmd/sandbox`)", "latency-faults-and-credential-echo-cmdsandbox"},
		{" CI: what `.ci/run` does", "ci-what-cirun-does"},
	}
	for _, tt := range tests {
		if got := slug(tt.give); got != tt.want {
			t.Errorf("slug(%q) = %q, want %q", tt.give, got, tt.want)
		}
	}
}

var targetRE = regexp.MustCompile(`^([A-Za-z0-9_.-]+):([^=]|$)`)

// makeTargets returns the Makefile's targets and whether each has a "## "
// description.
func makeTargets(t *testing.T) map[string]bool {
	t.Helper()
	b, err := os.ReadFile(filepath.Join(root, "Makefile"))
	if err != nil {
		t.Fatal(err)
	}
	targets := map[string]bool{}
	for _, line := range strings.Split(string(b), "\n") {
		if m := targetRE.FindStringSubmatch(line); m != nil && !strings.HasPrefix(m[1], ".") {
			targets[m[1]] = strings.Contains(line, "## ")
		}
	}
	return targets
}

// TestMakeHelpListsEveryTarget runs `make help` and checks that it lists
// every target of the Makefile.
func TestMakeHelpListsEveryTarget(t *testing.T) {
	targets := makeTargets(t)
	if len(targets) < 10 {
		t.Fatalf("found %d Makefile targets, want at least 10", len(targets))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, "make", "-s", "--no-print-directory", "help")
	cmd.Dir = root
	out, err := cmd.Output()
	if errors.Is(err, exec.ErrNotFound) {
		t.Fatalf("make is needed: %v", err)
	}
	if err != nil {
		t.Fatalf("make help: %v", err)
	}
	listed := map[string]bool{}
	for _, line := range strings.Split(string(out), "\n") {
		if f := strings.Fields(line); len(f) > 0 {
			listed[f[0]] = true
		}
	}
	for name, described := range targets {
		if !described {
			t.Errorf("Makefile target %s has no \"## description\", so make help leaves it out", name)
		} else if !listed[name] {
			t.Errorf("make help does not list %s:\n%s", name, out)
		}
	}
}

// TestContributingDescribesCI checks that CONTRIBUTING.md names every make
// target .ci/run runs, and that every target it names exists.
func TestContributingDescribesCI(t *testing.T) {
	ci, err := os.ReadFile(filepath.Join(root, ".ci", "run"))
	if err != nil {
		t.Fatal(err)
	}
	contributing, err := os.ReadFile(filepath.Join(root, "CONTRIBUTING.md"))
	if err != nil {
		t.Fatal(err)
	}
	targets := makeTargets(t)
	makeRE := regexp.MustCompile(`\bmake ([a-z0-9][a-z0-9-]*)`)
	var ran []string
	for _, m := range makeRE.FindAllStringSubmatch(string(ci), -1) {
		if _, ok := targets[m[1]]; ok && !slices.Contains(ran, m[1]) {
			ran = append(ran, m[1])
		}
	}
	if len(ran) < 10 {
		t.Fatalf(".ci/run runs %d make targets (%v), want the whole pipeline", len(ran), ran)
	}
	for _, name := range ran {
		if !strings.Contains(string(contributing), "`make "+name) {
			t.Errorf(".ci/run runs make %s, which CONTRIBUTING.md does not describe", name)
		}
	}
	for _, m := range makeRE.FindAllStringSubmatch(string(contributing), -1) {
		if _, ok := targets[m[1]]; !ok {
			t.Errorf("CONTRIBUTING.md names make %s, which the Makefile does not define", m[1])
		}
	}
}
