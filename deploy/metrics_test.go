package deploy

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/prometheus/promql/parser"
)

// The fake upstream's cases (see fakeUpstream).
const (
	contosoID     = "11111111-1111-4111-8111-111111111111" // ../internal/sandbox/data/contoso.json
	otherID       = "22222222-2222-4222-8222-222222222222" // answered with contoso's body: a mismatched answer
	healthyTenant = "portal.cloudcockpit.com"
	failingTenant = "failing.cloudcockpit.com" // every request answers 503
	holdFor       = 300 * time.Millisecond     // contoso's answers wait this long, so that identical calls coalesce
)

// TestMonitoringUsesExportedMetrics checks that every metric the rules and
// the dashboard query is one the facade exports: it builds cmd/server, runs
// it against a fake upstream that succeeds, fails, answers slowly and
// answers for the wrong id, makes calls that exercise retries, coalescing,
// the breaker and the concurrency limit (so that the labelled series exist),
// and scrapes /metrics. The metrics table of docs/observability.md must
// name the same grpc_server_* and cloudcockpit_* metrics.
func TestMonitoringUsesExportedMetrics(t *testing.T) {
	if testing.Short() {
		t.Skip("builds and runs the server")
	}
	used := usedMetrics(t)
	exported := scrapeExercisedServer(t)
	documented := map[string]bool{}
	for line := range strings.SplitSeq(string(readFile(t, observabilityDoc)), "\n") {
		if name, ok := strings.CutPrefix(line, "| `"); ok && (strings.HasPrefix(name, "grpc_server_") || strings.HasPrefix(name, "cloudcockpit_")) {
			name, _, _ = strings.Cut(name, "`")
			documented[name] = true
			if !exported[name] && !exported[name+"_count"] {
				t.Errorf("%s lists %s, which the server does not export", observabilityDoc, name)
			}
		}
	}
	for name := range exported {
		base := strings.TrimSuffix(strings.TrimSuffix(strings.TrimSuffix(name, "_bucket"), "_sum"), "_count")
		if (strings.HasPrefix(name, "grpc_server_") || strings.HasPrefix(name, "cloudcockpit_")) && !documented[name] && !documented[base] {
			t.Errorf("the server exports %s, which %s's metrics table does not list", name, observabilityDoc)
		}
	}
	var missing []string
	for name, where := range used {
		if !exported[name] {
			missing = append(missing, fmt.Sprintf("%s (used by %s)", name, strings.Join(where, "; ")))
		}
	}
	slices.Sort(missing)
	for _, m := range missing {
		t.Errorf("not exported by the server: %s", m)
	}
	if len(used) < 10 {
		t.Errorf("only %d metric names found in the rules and dashboard: is the extraction broken?", len(used))
	}
}

// usedMetrics returns the metric names that rules.yaml and dashboard.json
// select, each with where it is used; recording rules' own names and "up"
// (which Prometheus makes) are left out.
func usedMetrics(t *testing.T) map[string][]string {
	t.Helper()
	exprs := map[string]string{}
	recorded := map[string]bool{"up": true}
	for _, g := range loadRules(t).Groups {
		for _, r := range g.Rules {
			exprs["rule "+r.Record+r.Alert] = r.Expr.String()
			if r.Record != "" {
				recorded[r.Record] = true
			}
		}
	}
	for where, expr := range dashboardExprs(t) {
		exprs["dashboard "+where] = expr
	}
	used := map[string][]string{}
	p := parser.NewParser(parser.Options{})
	for where, expr := range exprs {
		e, err := p.ParseExpr(expr)
		if err != nil {
			t.Fatalf("%s: %v", where, err)
		}
		parser.Inspect(e, func(n parser.Node, _ []parser.Node) error {
			if vs, ok := n.(*parser.VectorSelector); ok {
				if vs.Name == "" {
					t.Errorf("%s: selector %s has no metric name", where, vs)
				} else if !recorded[vs.Name] {
					used[vs.Name] = append(used[vs.Name], where)
				}
			}
			return nil
		})
	}
	for name := range used {
		slices.Sort(used[name])
		used[name] = slices.Compact(used[name])
		if len(used[name]) > 2 {
			used[name] = append(used[name][:2], fmt.Sprintf("%d more", len(used[name])-2))
		}
	}
	return used
}

// scrapeExercisedServer runs the server binary, makes calls and returns the
// names of the series /metrics shows.
func scrapeExercisedServer(t *testing.T) map[string]bool {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	t.Cleanup(cancel)

	bin := filepath.Join(t.TempDir(), "server")
	build := exec.CommandContext(ctx, "go", "build", "-o", bin, "./cmd/server")
	build.Dir = ".."
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build ../cmd/server: %v\n%s", err, out)
	}

	held := make(chan struct{}, 100)
	upstream := httptest.NewServer(fakeUpstream(t, held))
	t.Cleanup(upstream.Close)

	cmd := exec.CommandContext(ctx, bin,
		"-upstream-url", upstream.URL,
		"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0",
		"-log-format", "json",
	)
	// The resilience knobs go in the environment, where a variable the
	// server does not know is ignored, so that this test runs on the breaker
	// settings of every version (BREAKER_FAILURES: consecutive failures;
	// BREAKER_FAILURE_RATIO and BREAKER_MIN_CALLS: per-tenant windows).
	cmd.Env = []string{
		"PATH=" + os.Getenv("PATH"), "HOME=" + os.Getenv("HOME"), "TMPDIR=" + os.TempDir(),
		// One upstream slot and no queue: concurrent calls for different
		// resellers are refused.
		"UPSTREAM_MAX_CONCURRENT=1", "UPSTREAM_TENANT_MAX_CONCURRENT=1", "UPSTREAM_QUEUE_TIMEOUT=0s",
		// Two attempts per call, retries never throttled, and two failed
		// calls open the tenant's breaker.
		"UPSTREAM_MAX_ATTEMPTS=2", "UPSTREAM_RETRY_RATIO=1",
		"BREAKER_FAILURES=2", "BREAKER_FAILURE_RATIO=0.5", "BREAKER_MIN_CALLS=2", "BREAKER_OPEN_DURATION=1m",
		// Stale answers kept, so that their store's gauges exist.
		"STALE_IF_ERROR=1m",
	}
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	var logMu sync.Mutex
	var log strings.Builder
	addr := make(chan string, 1)
	copied := make(chan struct{})
	go func() {
		defer close(copied)
		sc := bufio.NewScanner(stderr)
		for sc.Scan() {
			logMu.Lock()
			log.WriteString(sc.Text() + "\n")
			logMu.Unlock()
			var line struct{ Msg, HTTP string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "cloudcockpit-facade listening" {
				addr <- line.HTTP
			}
		}
	}()
	t.Cleanup(func() {
		_ = cmd.Process.Kill()
		<-copied
		_ = cmd.Wait()
		if t.Failed() {
			logMu.Lock()
			t.Logf("server log:\n%s", log.String())
			logMu.Unlock()
		}
	})
	var base string
	select {
	case a := <-addr:
		base = "http://" + a
	case <-copied:
		t.Fatal("the server exited before listening")
	case <-time.After(30 * time.Second):
		t.Fatal("the server did not listen within 30s")
	}

	client := &http.Client{Timeout: 20 * time.Second}
	call := func(id, tenant string) {
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/Resellers/"+id, nil)
		if err != nil {
			t.Error(err)
			return
		}
		req.Header.Set("Authorization", "Bearer metrics-test")
		req.Header.Set("X-Tenant", tenant)
		resp, err := client.Do(req)
		if err != nil {
			t.Error(err)
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		t.Logf("GET %s as %s: %s", id, tenant, resp.Status)
	}

	call(contosoID, healthyTenant)
	<-held
	// Identical calls while the first waits on the upstream coalesce;
	// calls for another reseller find the only slot taken.
	var wg sync.WaitGroup
	for range 6 {
		wg.Go(func() { call(contosoID, healthyTenant) })
	}
	select {
	case <-held: // the slot is taken
	case <-ctx.Done():
		t.Fatal("no call reached the upstream")
	}
	for range 3 {
		wg.Go(func() { call(otherID, healthyTenant) })
	}
	wg.Wait()
	call(otherID, healthyTenant) // a mismatched answer
	for range 4 {
		call(contosoID, failingTenant) // retried, then the breaker opens and refuses
	}

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/metrics", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("/metrics: %s", resp.Status)
	}
	names := map[string]bool{}
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		if i := strings.IndexAny(line, "{ "); i > 0 {
			names[line[:i]] = true
		}
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	return names
}

// fakeUpstream answers GET /v1/Resellers/{id}: 503 for failingTenant;
// contoso's body after holdFor for contosoID (held gets a value when such a
// request arrives); contoso's body at once for any other id (an answer for
// the wrong reseller).
func fakeUpstream(t *testing.T, held chan<- struct{}) http.Handler {
	t.Helper()
	body, err := os.ReadFile("../internal/sandbox/data/contoso.json")
	if err != nil {
		t.Fatal(err)
	}
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		id, ok := strings.CutPrefix(strings.ToLower(r.URL.Path), "/v1/resellers/")
		if !ok || r.Method != http.MethodGet {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		if r.Header.Get("X-Tenant") == failingTenant {
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, `{"statusCode":503,"type":"ServiceUnavailable","description":"down for maintenance","errors":[]}`)
			return
		}
		if id == contosoID {
			held <- struct{}{}
			select {
			case <-time.After(holdFor):
			case <-r.Context().Done():
				return
			}
		}
		_, _ = w.Write(body)
	})
}
