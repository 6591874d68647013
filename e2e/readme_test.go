//go:build e2e

package e2e

import (
	"bufio"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"reflect"
	"regexp"
	"strings"
	"testing"
	"time"
)

// example is one command of a ```console block of the README and the output
// shown under it.
type example struct {
	line    int    // of the command in the README
	command string // continuation lines joined
	want    string
}

// consoleExamples returns every `$ command` of the ```console blocks of the
// Markdown file, with the output shown after it (up to the next command or
// the end of the block).
func consoleExamples(t *testing.T, path string) []example {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var (
		out     []example
		cur     *example
		inBlock bool
		contd   bool // the command's last line ended with a backslash
	)
	flush := func() {
		if cur != nil {
			cur.want = strings.TrimSpace(cur.want)
			out = append(out, *cur)
			cur = nil
		}
	}
	sc := bufio.NewScanner(f)
	for n := 1; sc.Scan(); n++ {
		line := sc.Text()
		switch {
		case !inBlock:
			inBlock = line == "```console"
		case line == "```":
			flush()
			inBlock = false
		case contd:
			cur.command += "\n" + line
			contd = strings.HasSuffix(line, `\`)
		case strings.HasPrefix(line, "$ "):
			flush()
			cur = &example{line: n, command: strings.TrimPrefix(line, "$ ")}
			contd = strings.HasSuffix(line, `\`)
		case cur != nil:
			cur.want += line + "\n"
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return out
}

// TestREADMEExamples runs every grpcurl and curl example of the README
// against the built binary with -sandbox (on free ports instead of the
// README's :9090 and :8080) and checks that the output shown in the README
// is there: JSON compared as values (objects may hold more members, arrays
// more elements, and the string "…" stands for any value or any run of
// characters in a string); other lines must appear in the same order.
func TestREADMEExamples(t *testing.T) {
	examples := consoleExamples(t, "../README.md")
	var grpcurls, curls int
	for _, ex := range examples {
		switch {
		case strings.HasPrefix(ex.command, "grpcurl "):
			grpcurls++
		case strings.HasPrefix(ex.command, "curl "):
			curls++
		default:
			t.Errorf("README.md:%d: %q is neither a grpcurl nor a curl example; this test cannot run it", ex.line, ex.command)
		}
	}
	if grpcurls < 5 || curls < 3 {
		t.Fatalf("README.md has %d grpcurl and %d curl examples in console blocks, want at least 5 and 3", grpcurls, curls)
	}
	if _, err := exec.LookPath("curl"); err != nil {
		t.Fatalf("curl is needed to run the README's examples: %v", err)
	}
	p := start(t, "-sandbox")
	env := append(os.Environ(), "PATH="+filepath.Dir(grpcurlBin)+string(os.PathListSeparator)+os.Getenv("PATH"))
	for _, ex := range examples {
		t.Run(fmt.Sprintf("line%d", ex.line), func(t *testing.T) {
			cmd := strings.NewReplacer("localhost:9090", p.grpc, "localhost:8080", p.http).Replace(ex.command)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			c := exec.CommandContext(ctx, "bash", "-c", cmd)
			c.Env = env
			got, err := c.CombinedOutput() // grpcurl prints errors on stderr and exits non-zero
			if ctx.Err() != nil {
				t.Fatalf("README.md:%d: %s: timed out", ex.line, cmd)
			}
			if msg := outputMatches(ex.want, string(got)); msg != "" {
				t.Errorf("README.md:%d: %s\n(exit: %v)\n%s\ngot:\n%s\nwant (README):\n%s", ex.line, cmd, err, msg, got, ex.want)
			}
		})
	}
}

// outputMatches reports how got fails to show want ("" when it does).
func outputMatches(want, got string) string {
	if want == "" {
		return ""
	}
	if w, ok := jsonValues(want); ok {
		if g, ok := jsonValues(got); ok {
			if !subsequence(w, g) {
				return "the JSON output lacks what the README shows"
			}
			return literalStrings(want, got)
		}
	}
	lines := strings.Split(got, "\n")
	i := 0
	for _, w := range strings.Split(want, "\n") {
		w = strings.TrimSpace(w)
		if w == "" {
			continue
		}
		for ; i < len(lines) && !lineMatches(w, strings.TrimSpace(lines[i])); i++ {
		}
		if i == len(lines) {
			return fmt.Sprintf("no line (in order) matches %q", w)
		}
		i++
	}
	return ""
}

var jsonStringRE = regexp.MustCompile(`"(?:[^"\\]|\\.)*"`)

// literalStrings reports a JSON string of want (a member name or a value,
// "…" standing for any run of characters) that got does not print as the
// README writes it: equal as JSON values, "a&b" and "a\u0026b" still read
// differently to the person comparing them.
func literalStrings(want, got string) string {
	for _, w := range jsonStringRE.FindAllString(want, -1) {
		if !stringMatches("…"+w+"…", strings.ReplaceAll(got, "\n", " ")) {
			return fmt.Sprintf("the output does not print %s as the README shows it", w)
		}
	}
	return ""
}

// jsonValues decodes s as a sequence of JSON values.
func jsonValues(s string) ([]any, bool) {
	dec := json.NewDecoder(strings.NewReader(s))
	var vs []any
	for {
		var v any
		if err := dec.Decode(&v); err != nil {
			return vs, errors.Is(err, io.EOF) && len(vs) > 0
		}
		vs = append(vs, v)
	}
}

func lineMatches(want, got string) bool {
	if wv, ok := jsonValues(want); ok && len(wv) == 1 {
		if gv, ok := jsonValues(got); ok && len(gv) == 1 {
			return jsonMatches(wv[0], gv[0])
		}
	}
	return stringMatches(want, got)
}

// jsonMatches says whether got holds what want shows.
func jsonMatches(want, got any) bool {
	switch w := want.(type) {
	case string:
		g, ok := got.(string)
		return w == "…" || ok && stringMatches(w, g)
	case map[string]any:
		g, ok := got.(map[string]any)
		if !ok {
			return false
		}
		for k, wv := range w {
			gv, ok := g[k]
			if !ok || !jsonMatches(wv, gv) {
				return false
			}
		}
		return true
	case []any:
		g, ok := got.([]any)
		return ok && subsequence(w, g)
	}
	return reflect.DeepEqual(want, got)
}

// subsequence says whether every element of want matches an element of
// got, in order.
func subsequence(want, got []any) bool {
	i := 0
	for _, w := range want {
		for ; i < len(got) && !jsonMatches(w, got[i]); i++ {
		}
		if i == len(got) {
			return false
		}
		i++
	}
	return true
}

// stringMatches compares with "…" standing for any run of characters.
func stringMatches(want, got string) bool {
	if !strings.Contains(want, "…") {
		return want == got
	}
	parts := strings.Split(want, "…")
	for i, p := range parts {
		parts[i] = regexp.QuoteMeta(p)
	}
	return regexp.MustCompile("^" + strings.Join(parts, ".*") + "$").MatchString(got)
}

// TestOutputMatches pins the comparison TestREADMEExamples relies on, so
// that a lax comparison cannot make it pass by accident.
func TestOutputMatches(t *testing.T) {
	tests := []struct {
		name, want, got string
		ok              bool
	}{
		{"json subset", `{"a": 1, "b": {"c": "x"}}`, `{"a":1,"b":{"c":"x","d":2},"e":3}`, true},
		{"json value differs", `{"a": 1}`, `{"a":2}`, false},
		{"json member missing", `{"a": 1, "z": 1}`, `{"a":1}`, false},
		{"json wildcard", `{"id": "…", "url": "https://x/…"}`, `{"id":"7","url":"https://x/y?z"}`, true},
		{"json wildcard prefix differs", `{"url": "https://x/…"}`, `{"url":"https://y/z"}`, false},
		{"json array in order", `{"d": [{"t": 1}, {"t": 3}]}`, `{"d":[{"t":1},{"t":2},{"t":3}]}`, true},
		{"json array out of order", `{"d": [{"t": 3}, {"t": 1}]}`, `{"d":[{"t":1},{"t":3}]}`, false},
		{"json string escaped differently", `{"url": "https://x/?a=1&b=…"}`, `{"url":"https://x/?a=1\u0026b=2"}`, false},
		{"json string as printed", `{"url": "https://x/?a=1\u0026b=…"}`, `{"url":"https://x/?a=1\u0026b=2"}`, true},
		{"lines in order", "HTTP/1.1 200 OK\nX-A: 1\n\"body\"", "HTTP/1.1 200 OK\nDate: now\nX-A: 1\n\n\"body\"\n", true},
		{"lines out of order", "X-A: 1\nHTTP/1.1 200 OK", "HTTP/1.1 200 OK\nX-A: 1\n", false},
		{"line json", `{"code":5,"details":[{"reason":"R"}]}`, "{\"code\":5, \"message\":\"m\", \"details\":[{\"reason\":\"R\"}]}\n", true},
		{"not json, missing", "grpc.health.v1.Health", "cloudcockpit.v1.ResellerService\n", false},
		{"error text is not an answer", `{"status": "SERVING"}`, "Failed to dial target host \"127.0.0.1:1\": connection refused\n", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			msg := outputMatches(tt.want, tt.got)
			if (msg == "") != tt.ok {
				t.Errorf("outputMatches(%q, %q) = %q, want ok=%v", tt.want, tt.got, msg, tt.ok)
			}
		})
	}
}
