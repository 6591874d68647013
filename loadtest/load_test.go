//go:build load

package loadtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	gwruntime "github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// settings are the knobs of a run, read from the environment (see docs/load.md).
type settings struct {
	duration    time.Duration // LOAD_DURATION: how long callers keep calling
	maxRequests int64         // LOAD_MAX_REQUESTS: stop earlier after this many calls
	grpcCallers int           // LOAD_GRPC_CALLERS
	ownConns    int           // LOAD_GRPC_OWN_CONNS: gRPC callers with their own ClientConn
	restCallers int           // LOAD_REST_CALLERS
	faultRate   float64       // LOAD_FAULT_RATE
	faultSeed   int64         // LOAD_FAULT_SEED
	faultKinds  string        // LOAD_FAULT_KINDS, as cmd/sandbox -fault-kinds reads it
	latency     time.Duration // LOAD_UPSTREAM_LATENCY: the sandbox's -latency
	deadline    time.Duration // LOAD_CALL_DEADLINE: each call's deadline
	settle      time.Duration // LOAD_SETTLE: longest wait for goroutines and heap to come back
	report      string        // LOAD_REPORT: file to write the summary to (Markdown)

	// htmlFaults records that the sandbox injects HTML 200 answers, which the facade
	// must answer with INTERNAL / UPSTREAM_BAD_RESPONSE.
	htmlFaults bool
}

func loadSettings(t *testing.T) settings {
	t.Helper()
	s := settings{
		duration:    envDuration(t, "LOAD_DURATION", 60*time.Second),
		maxRequests: int64(envInt(t, "LOAD_MAX_REQUESTS", 2_000_000)),
		grpcCallers: envInt(t, "LOAD_GRPC_CALLERS", 64),
		ownConns:    envInt(t, "LOAD_GRPC_OWN_CONNS", 8),
		restCallers: envInt(t, "LOAD_REST_CALLERS", 32),
		faultRate:   envFloat(t, "LOAD_FAULT_RATE", 0.05),
		faultSeed:   int64(envInt(t, "LOAD_FAULT_SEED", 1)),
		faultKinds:  envString("LOAD_FAULT_KINDS", "all"),
		latency:     envDuration(t, "LOAD_UPSTREAM_LATENCY", 10*time.Millisecond),
		deadline:    envDuration(t, "LOAD_CALL_DEADLINE", 5*time.Second),
		settle:      envDuration(t, "LOAD_SETTLE", 15*time.Second),
		report:      os.Getenv("LOAD_REPORT"),
	}
	switch {
	case s.duration <= 0 || s.duration > 30*time.Minute:
		t.Fatalf("LOAD_DURATION %v: want more than 0 and at most 30m", s.duration)
	case s.maxRequests <= 0:
		t.Fatalf("LOAD_MAX_REQUESTS %d: want more than 0", s.maxRequests)
	case s.grpcCallers < 1 || s.restCallers < 1 || s.grpcCallers+s.restCallers > 1024:
		t.Fatalf("LOAD_GRPC_CALLERS %d, LOAD_REST_CALLERS %d: want at least 1 each, at most 1024 in all", s.grpcCallers, s.restCallers)
	case s.ownConns < 0 || s.ownConns > s.grpcCallers:
		t.Fatalf("LOAD_GRPC_OWN_CONNS %d: want 0 to LOAD_GRPC_CALLERS", s.ownConns)
	case s.deadline <= 0:
		t.Fatalf("LOAD_CALL_DEADLINE %v: want more than 0", s.deadline)
	}
	kinds, err := sandbox.ParseFaultKinds(s.faultKinds)
	if err != nil {
		t.Fatalf("LOAD_FAULT_KINDS: %v", err)
	}
	s.htmlFaults = slices.Contains(kinds, sandbox.FaultHTMLOK)
	return s
}

func envString(name, def string) string {
	if v := os.Getenv(name); v != "" {
		return v
	}
	return def
}

func envDuration(t *testing.T, name string, def time.Duration) time.Duration {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	d, err := time.ParseDuration(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return d
}

func envInt(t *testing.T, name string, def int) int {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	n, err := strconv.Atoi(v)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return n
}

func envFloat(t *testing.T, name string, def float64) float64 {
	t.Helper()
	v := os.Getenv(name)
	if v == "" {
		return def
	}
	f, err := strconv.ParseFloat(v, 64)
	if err != nil {
		t.Fatalf("%s: %v", name, err)
	}
	return f
}

// The binaries, built once by TestMain.
var serverBin, sandboxBin string

func TestMain(m *testing.M) {
	dir, err := os.MkdirTemp("", "loadtest")
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	build := exec.CommandContext(ctx, "go", "build", "-o", dir+string(filepath.Separator), "../cmd/server", "../cmd/sandbox")
	build.Stdout, build.Stderr = os.Stderr, os.Stderr
	err = build.Run()
	cancel()
	if err != nil {
		fmt.Fprintln(os.Stderr, "build ../cmd/server ../cmd/sandbox:", err)
		_ = os.RemoveAll(dir)
		os.Exit(1)
	}
	serverBin, sandboxBin = filepath.Join(dir, "server"), filepath.Join(dir, "sandbox")
	code := m.Run()
	_ = os.RemoveAll(dir)
	os.Exit(code)
}

// TestLoad is the load and soak test; docs/load.md describes it and its figures.
func TestLoad(t *testing.T) {
	cfg := loadSettings(t)
	started := time.Now()

	// The upstream: faults at the set rate, credential fingerprints, idle keep-alive
	// connections closed after 1s so that the facade's pool drains once load stops.
	portFile := filepath.Join(t.TempDir(), "sandbox.addr")
	sb := startProcess(t, "sandbox", sandboxBin,
		"-addr", "127.0.0.1:0", "-port-file", portFile,
		"-latency", cfg.latency.String(),
		"-fault-rate", strconv.FormatFloat(cfg.faultRate, 'g', -1, 64),
		"-fault-seed", strconv.FormatInt(cfg.faultSeed, 10),
		"-fault-kinds", cfg.faultKinds,
		"-echo-credentials", "-idle-timeout", "1s")
	upstream := "http://" + waitPortFile(t, sb, portFile)

	t.Setenv("GOMEMLIMIT", envString("LOAD_GOMEMLIMIT", manifestMemLimit)) // the manifests' setting; "off" for none
	facade, grpcAddr, httpAddr, debugAddr := startFacade(t, envString("LOAD_SERVER_BIN", serverBin), true, append([]string{
		"-upstream-url", upstream, "-log-level", "warn"}, strings.Fields(os.Getenv("LOAD_SERVER_ARGS"))...)...) // such as -message-timeout=2s
	base := "http://" + httpAddr
	scraper := newScraper(base + "/metrics")

	// Warm up on connections of its own, and take each sample reseller as the facade
	// returns it, as the reference every later success must equal.
	refs := references(t, grpcAddr, base, cfg.deadline)

	// Baseline, once the warm-up's connections are gone.
	before := scraper.quiet(t)
	baseline := snapshot{
		goroutines: before.sum("go_goroutines", nil),
		heapLive:   before.sum("go_memstats_heap_alloc_bytes", nil),
		rss:        before.sum("process_resident_memory_bytes", nil),
	}

	// Load, with floods of held streams on each port in turn.
	floods := newFloods(t, grpcAddr, httpAddr, scraper)
	run := newLoad(cfg, grpcAddr, base, refs, &floods.seq)
	peaks := scraper.sampleUntil(run.done)
	loadStart := time.Now()
	if err := run.start(); err != nil {
		t.Fatal(err)
	}
	floods.run(loadStart.Add(cfg.duration), run.done)
	run.wait()
	elapsed := time.Since(loadStart)
	floods.wait()
	peak := <-peaks
	peak.goroutines, peak.rss = max(peak.goroutines, floods.peak.goroutines), max(peak.rss, floods.peak.rss)

	// Settle: the callers' connections are closed; goroutines, heap and RSS must come
	// back. The heap is judged after a garbage collection that started after the load,
	// forced every second through the debug listener (/debug/pprof/heap?gc=1): without
	// load, the next one might come only minutes later.
	var after snapshot
	var last metricSet
	settleStart := time.Now()
	gcAtEnd := scraper.must(t).sum("go_gc_duration_seconds_count", nil)
	gcSeen := false
	var forced time.Time
	for {
		if time.Since(forced) >= time.Second {
			forceGC(t, debugAddr)
			forced = time.Now()
		}
		last = scraper.must(t)
		after = snapshot{
			goroutines: last.sum("go_goroutines", nil),
			heapLive:   last.sum("go_memstats_heap_alloc_bytes", nil),
			rss:        last.sum("process_resident_memory_bytes", nil),
		}
		gcSeen = gcSeen || last.sum("go_gc_duration_seconds_count", nil) > gcAtEnd+1 // a whole cycle after the load
		if gcSeen && after.goroutines <= baseline.goroutines+goroutineMargin && after.heapLive <= heapLimit(baseline.heapLive) && after.rss <= rssLimit(baseline.rss) ||
			time.Since(settleStart) > cfg.settle {
			break
		}
		<-time.After(50 * time.Millisecond) // the next scrape
	}
	settled := time.Since(settleStart)
	hwm, _ := procStatus(facade.cmd.Process.Pid, "VmHWM")

	// Graceful exit of both processes, then their accounts.
	if err := facade.stop(15 * time.Second); err != nil {
		t.Errorf("facade did not exit cleanly on SIGTERM: %v", err)
	}
	if err := sb.stop(15 * time.Second); err != nil {
		t.Errorf("sandbox did not exit cleanly on SIGTERM: %v", err)
	}
	sbRequests, sbFaults := sandboxSummary(sb.out.String())

	res := run.result()
	rep := report{
		cfg: cfg, elapsed: elapsed, settled: settled, total: time.Since(started),
		res: res, before: before, after: last, baseline: baseline, peak: peak, final: after,
		hwm: hwm, sandboxRequests: sbRequests, sandboxFaults: sbFaults, gcSeen: gcSeen, floods: floods.rows,
		breakerOpened: strings.Count(facade.out.String(), "upstream circuit breaker open"),
		logBytes:      facade.out.total(),
	}
	summary := rep.markdown()
	t.Log("\n" + summary)
	if cfg.report != "" {
		if err := os.WriteFile(cfg.report, []byte(summary), 0o644); err != nil {
			t.Errorf("write LOAD_REPORT: %v", err)
		}
	}

	// The verdict.
	if res.requests == 0 || res.successes() == 0 {
		t.Fatalf("no successful call in %d calls", res.requests)
	}
	for _, p := range res.problems {
		t.Errorf("unexpected: %s", p)
	}
	if res.nProblems > int64(len(res.problems)) {
		t.Errorf("... and %d more unexpected outcomes", res.nProblems-int64(len(res.problems)))
	}
	if limit := cfg.deadline + answerSlack; res.maxLatency > limit {
		t.Errorf("slowest call took %v, more than its deadline %v plus %v: a call hung", res.maxLatency, cfg.deadline, answerSlack)
	}
	for _, m := range []string{getReseller, getLink} {
		if res.verified[m] == 0 {
			t.Errorf("no verified success for %s", m)
		}
	}
	// Every call that reached the gRPC server was completed by it: the facade's count
	// of handled calls grew by exactly the calls made (REST calls rejected by the
	// mirror before any gRPC call excluded).
	handled := last.sum("grpc_server_handled_total", cloudcockpitService) - before.sum("grpc_server_handled_total", cloudcockpitService)
	if want := float64(res.requests - res.mirrorOnly - res.refused); handled != want {
		t.Errorf("facade handled %v calls, the callers made %v that reach it", handled, want)
	}
	if hwm >= podLimit {
		t.Errorf("VmHWM %s, over the pod's limit %s", mib(hwm), mib(podLimit))
	}
	if len(floods.rows) > 0 && res.refused == 0 {
		t.Error("no call was refused during the floods: did they reach the facade?")
	}
	if n := last.sum("grpc_server_in_flight_requests", nil) + last.sum("cloudcockpit_upstream_in_flight_requests", nil); n != 0 {
		t.Errorf("%v calls or upstream requests still in flight after the load", n)
	}
	if coalesced := last.sum("cloudcockpit_upstream_coalesced_calls_total", nil); coalesced == 0 {
		t.Error("no call was coalesced: the credential check did not run under coalescing")
	}
	if cfg.faultRate > 0 && sbFaults["total"] == 0 {
		t.Error("the sandbox injected no fault")
	}
	if after.rss > rssLimit(baseline.rss) {
		t.Errorf("RSS %s after %v of settling, baseline %s: want at most %s", mib(after.rss), settled.Round(time.Millisecond), mib(baseline.rss), mib(rssLimit(baseline.rss)))
	}
	if after.goroutines > baseline.goroutines+goroutineMargin {
		t.Errorf("goroutines %v after %v of settling, baseline %v (margin %d): a leak", after.goroutines, settled.Round(time.Millisecond), baseline.goroutines, goroutineMargin)
	}
	if after.heapLive > heapLimit(baseline.heapLive) {
		t.Errorf("live heap %s after %v of settling, baseline %s: want at most %s", mib(after.heapLive), settled.Round(time.Millisecond), mib(baseline.heapLive), mib(heapLimit(baseline.heapLive)))
	}
	for _, tok := range []string{"load-", "Bearer "} {
		if strings.Contains(facade.out.String(), tok) {
			t.Errorf("the facade's log holds %q: a token was logged", tok)
		}
	}
}

const (
	// goroutineMargin is how far above its baseline go_goroutines may stay after load.
	goroutineMargin = 5
	// answerSlack is how much longer than its deadline a call may take to return.
	answerSlack = 2 * time.Second
)

// forceGC makes the facade collect garbage, through its debug listener.
func forceGC(t *testing.T, debugAddr string) {
	t.Helper()
	resp, err := http.Get("http://" + debugAddr + "/debug/pprof/heap?gc=1")
	if err != nil {
		t.Fatalf("force a garbage collection: %v", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
}

// heapLimit is the most live heap (go_memstats_heap_alloc_bytes after a
// forced collection) allowed after load and floods: the baseline twice over
// plus 16 MiB. A leak of a few hundred bytes per flood stream (30,000 a flood,
// four floods) passes it; the floods' own remains (pooled buffers, fragmented
// spans) stay the same after one flood or four.
func heapLimit(baseline float64) float64 { return 2*baseline + 16<<20 }

// rssLimit is the most resident memory allowed after load and floods: the
// baseline twice over plus 32 MiB. The heap's spans stay partly used after a
// flood (35 MiB in use for 14 MiB live, measured), and the runtime keeps them.
func rssLimit(baseline float64) float64 { return 2*baseline + 32<<20 }

// cloudcockpitService selects the facade's own services (not health or reflection).
func cloudcockpitService(labels string) bool {
	return strings.Contains(labels, `grpc_service="cloudcockpit.v1.`)
}

// Operations, as the facade's metrics name them.
const (
	getReseller = "GetReseller"
	getLink     = "GetAcceptanceLink"
)

// kind is what a call is meant to exercise, which decides the outcomes it may have.
type kind int

const (
	kindReseller        kind = iota // a sample reseller: OK, or a fault's error
	kindResellerUnknown             // a well-formed id no sample has: NOT_FOUND, or a fault's error
	kindLink                        // a known provider instance (and reseller): OK, or a fault's error
	kindLinkUnknown                 // an unknown provider instance or reseller: NOT_FOUND, or a fault's error
	kindInvalid                     // rejected by the facade before any upstream request: exactly want
)

var kindNames = [...]string{"reseller", "reseller-unknown", "link", "link-unknown", "invalid"}

// call is one call a caller makes.
type call struct {
	method       string
	kind         kind
	resellerID   string // GetReseller
	instance     string // GetAcceptanceLink
	linkReseller string // GetAcceptanceLink; empty: none
	auth         string // empty: not sent
	tenant       string // empty: not sent
	correlation  string // empty: not sent
	badQuery     bool   // REST: misspell the resellerId parameter
	// For kindInvalid: the code and ErrorInfo reason the facade must answer.
	wantCode, wantReason string
}

// result is what came back.
type result struct {
	code     string // OK or the canonical code name
	reason   string // the ErrorInfo reason; CLIENT_DEADLINE or TRANSPORT when none came
	reseller *pb.Reseller
	link     string
	detail   string // for problems: what went wrong
}

// Tenants and identities. Each caller has its own token, and shares a group token with
// callers of both protocols; the same token is sent with different tenants at once, so
// that coalescing must tell them apart.
var tenants = []string{"portal.cloudcockpit.com", "contoso.cloudcockpit.com", "fabrikam-partners.example.com"}

const groups = 24

var (
	resellerIDs = sandbox.Resellers()
	instances   = []string{sandbox.SpecProviderInstanceID, sandbox.PlainTextProviderInstanceID}
)

// invalidCalls are the calls the facade must reject itself, with their code and
// reason; restOnly ones exist only on the REST mirror.
var invalidCalls = []struct {
	name     string
	restOnly bool
	modify   func(*call)
	code     string
	reason   string
}{
	{name: "reseller id not a UUID", modify: func(c *call) { c.resellerID = "not-a-uuid" }, code: "INVALID_ARGUMENT", reason: "INVALID_REQUEST"},
	{name: "no authorization", modify: func(c *call) { c.auth = "" }, code: "UNAUTHENTICATED", reason: "MISSING_CREDENTIALS"},
	{name: "basic authorization", modify: func(c *call) { c.auth = "Basic bG9hZDpsb2Fk" }, code: "UNAUTHENTICATED", reason: "MALFORMED_CREDENTIALS"},
	{name: "no tenant", modify: func(c *call) { c.tenant = "" }, code: "INVALID_ARGUMENT", reason: "INVALID_REQUEST"},
	{name: "correlation id not a UUID", modify: func(c *call) { c.correlation = "load-correlation" }, code: "INVALID_ARGUMENT", reason: "INVALID_REQUEST"},
	{name: "misspelled query parameter", restOnly: true, modify: func(c *call) {
		c.method, c.instance, c.linkReseller, c.badQuery = getLink, sandbox.SpecProviderInstanceID, sandbox.ContosoResellerID, true
	}, code: "INVALID_ARGUMENT", reason: "INVALID_QUERY_PARAMETER"},
}

// caller makes calls one after another with its own identity and generator.
type caller struct {
	n     int // 0..callers-1, gRPC callers first
	rest  bool
	group int
	rng   *rand.Rand
}

// next draws the next call. now picks the group's hot reseller, which changes every
// 250 ms, so that callers of a group often ask for the same thing at once.
func (c *caller) next(now time.Time) call {
	var k call
	if c.rng.IntN(2) == 0 {
		k.auth = "Bearer load-" + strconv.Itoa(c.n)
		k.tenant = tenants[c.rng.IntN(len(tenants))]
	} else {
		k.auth = "Bearer load-group-" + strconv.Itoa(c.group)
		k.tenant = tenants[c.rng.IntN(2)]
	}
	hot := int(now.UnixMilli()/250) + c.group
	switch r := c.rng.IntN(100); {
	case r < 55:
		k.method, k.kind = getReseller, kindReseller
		if strings.Contains(k.auth, "group") {
			k.resellerID = resellerIDs[hot%len(resellerIDs)]
		} else {
			k.resellerID = resellerIDs[c.rng.IntN(len(resellerIDs))]
		}
	case r < 63:
		k.method, k.kind = getReseller, kindResellerUnknown
		k.resellerID = sandbox.UnknownResellerID
		if c.rng.IntN(2) == 0 {
			k.resellerID = randomUUID(c.rng)
		}
	case r < 83:
		k.method, k.kind = getLink, kindLink
		k.instance = instances[hot%len(instances)]
		if c.rng.IntN(3) > 0 {
			k.linkReseller = resellerIDs[(hot+c.rng.IntN(2))%len(resellerIDs)]
		}
	case r < 88:
		k.method, k.kind = getLink, kindLinkUnknown
		if c.rng.IntN(2) == 0 {
			k.instance = sandbox.UnknownProviderInstanceID
		} else {
			k.instance, k.linkReseller = sandbox.SpecProviderInstanceID, sandbox.UnknownResellerID
		}
	default:
		k.method, k.kind, k.resellerID = getReseller, kindInvalid, sandbox.ContosoResellerID
		for {
			inv := invalidCalls[c.rng.IntN(len(invalidCalls))]
			if inv.restOnly && !c.rest {
				continue
			}
			inv.modify(&k)
			k.wantCode, k.wantReason = inv.code, inv.reason
			break
		}
	}
	return k
}

// randomUUID returns a version 4 UUID, which no sample uses.
func randomUUID(rng *rand.Rand) string {
	return fmt.Sprintf("%08x-%04x-4%03x-%04x-%012x", rng.Uint32(), rng.Uint32()&0xffff, rng.Uint32()&0xfff,
		0x8000|rng.Uint32()&0x3fff, rng.Uint64()&0xffffffffffff)
}

// load runs the callers and gathers what they saw.
type load struct {
	cfg    settings
	refs   map[string]*pb.Reseller
	oracle *oracle

	grpcAddr, base string
	shared         *grpc.ClientConn
	restTransport  *http.Transport

	floodSeq *atomic.Int64 // the floods' phase (floods.seq)

	issued atomic.Int64
	wg     sync.WaitGroup
	done   chan struct{}

	tallies []*tally // one per caller, in caller order; read once done is closed
}

func newLoad(cfg settings, grpcAddr, base string, refs map[string]*pb.Reseller, floodSeq *atomic.Int64) *load {
	return &load{
		cfg: cfg, refs: refs, oracle: newOracle(), floodSeq: floodSeq,
		grpcAddr: grpcAddr, base: base,
		restTransport: &http.Transport{MaxIdleConns: cfg.restCallers, MaxIdleConnsPerHost: cfg.restCallers, IdleConnTimeout: 30 * time.Second},
		done:          make(chan struct{}),
	}
}

// start starts every caller; they stop after the duration or the request budget.
func (l *load) start() error {
	conn, err := newConn(l.grpcAddr)
	if err != nil {
		return err
	}
	l.shared = conn
	ctx, cancel := context.WithTimeout(context.Background(), l.cfg.duration)
	total := l.cfg.grpcCallers + l.cfg.restCallers
	for n := range total {
		c := &caller{n: n, rest: n >= l.cfg.grpcCallers, group: n % groups, rng: rand.New(rand.NewPCG(uint64(n), uint64(l.cfg.faultSeed)))}
		t := &tally{outcomes: make(map[string]int64), verified: make(map[string]int64)}
		l.tallies = append(l.tallies, t)
		l.wg.Go(func() { l.runCaller(ctx, c, t) })
	}
	go func() {
		l.wg.Wait()
		cancel()
		_ = l.shared.Close()
		l.restTransport.CloseIdleConnections()
		close(l.done)
	}()
	return nil
}

func (l *load) wait() { <-l.done }

func (l *load) runCaller(ctx context.Context, c *caller, t *tally) {
	conn := l.shared
	if !c.rest && c.n < l.cfg.ownConns {
		own, err := newConn(l.grpcAddr)
		if err != nil {
			t.problem("caller %d: dial: %v", c.n, err)
			return
		}
		defer own.Close()
		conn = own
	}
	resellers, customers := pb.NewResellerServiceClient(conn), pb.NewCustomerServiceClient(conn)
	hc := &http.Client{Transport: l.restTransport}
	proto := "grpc"
	if c.rest {
		proto = "rest"
	}
	for ctx.Err() == nil && l.issued.Add(1) <= l.cfg.maxRequests {
		k := c.next(time.Now())
		callCtx, cancel := context.WithTimeout(context.Background(), l.cfg.deadline)
		seq := l.floodSeq.Load()
		start := time.Now()
		var r result
		if c.rest {
			r = doREST(callCtx, hc, l.base, k)
		} else {
			r = doGRPC(callCtx, resellers, customers, k)
		}
		d := time.Since(start)
		cancel()
		phase := phaseOf(seq, l.floodSeq.Load())
		t.record(proto, k, r, d, l.check(k, r, phase%2 == 1), phase)
	}
}

// check returns what is wrong with r as the answer to k, or "". A call that
// overlapped a flood (flooded) may be refused for the calls in flight; any
// other call may not.
func (l *load) check(k call, r result, flooded bool) string {
	if flooded && r.code == "RESOURCE_EXHAUSTED" && r.reason == reasonTooManyCalls {
		return ""
	}
	if k.kind == kindInvalid {
		if r.code != k.wantCode || r.reason != k.wantReason {
			return fmt.Sprintf("%s %+v: got %s/%s, want %s/%s (%s)", k.method, k, r.code, r.reason, k.wantCode, k.wantReason, r.detail)
		}
		return ""
	}
	if r.code != "OK" {
		if allowed(k.kind, r.code, r.reason, l.cfg.htmlFaults) {
			return ""
		}
		return fmt.Sprintf("%s %s (%s): unexpected %s/%s: %s", k.method, kindNames[k.kind], k.resellerID+k.instance, r.code, r.reason, r.detail)
	}
	fp := sandbox.CredentialFingerprint(k.auth, k.tenant)
	switch k.kind {
	case kindReseller:
		want, ok := l.oracle.reseller(k.resellerID, k.auth, k.tenant)
		got := r.reseller
		switch {
		case !ok:
			return "oracle has no reseller " + k.resellerID
		case got.GetId() != want.ID || got.GetCompanyName() != want.CompanyName:
			return fmt.Sprintf("asked for %s, got %s %q (want %q): another reseller's data", k.resellerID, got.GetId(), got.GetCompanyName(), want.CompanyName)
		case got.GetInternalIdentifier() != fp || want.InternalIdentifier != fp:
			return fmt.Sprintf("reseller %s for credentials %s came with %s: another caller's credentials", k.resellerID, fp, got.GetInternalIdentifier())
		}
		clone := proto.CloneOf(got)
		clone.InternalIdentifier = nil
		if !proto.Equal(clone, l.refs[k.resellerID]) {
			return fmt.Sprintf("reseller %s differs from its reference beyond internalIdentifier: %v", k.resellerID, clone)
		}
	case kindLink:
		want, ok := l.oracle.link(k.instance, k.linkReseller, k.auth, k.tenant)
		if !ok || r.link != want {
			return fmt.Sprintf("link for %s/%s with credentials %s: got %q, want %q", k.instance, k.linkReseller, fp, r.link, want)
		}
	default:
		return fmt.Sprintf("%s %s (%s%s): succeeded, want NOT_FOUND", k.method, kindNames[k.kind], k.resellerID, k.instance)
	}
	return ""
}

// allowed reports whether an error is explained by the call's kind and the fault mix.
// The faults make the facade answer: 503/502 → UNAVAILABLE UPSTREAM_UNAVAILABLE; a
// dropped or reset connection → UNAVAILABLE UPSTREAM_UNREACHABLE; 429 →
// RESOURCE_EXHAUSTED UPSTREAM_RATE_LIMITED (each when every attempt failed, or the retry
// budget or Retry-After did not allow another); an open breaker → UNAVAILABLE
// CIRCUIT_OPEN; slow answers holding the upstream slots → RESOURCE_EXHAUSTED
// TOO_MANY_UPSTREAM_REQUESTS; a deadline → DEADLINE_EXCEEDED (from the facade, or
// CLIENT_DEADLINE when the caller's own timer fired first); an HTML 200 → INTERNAL
// UPSTREAM_BAD_RESPONSE. Unknown ids add NOT_FOUND UPSTREAM_NOT_FOUND.
func allowed(k kind, code, reason string, htmlFaults bool) bool {
	switch code + "/" + reason {
	case "UNAVAILABLE/UPSTREAM_UNAVAILABLE", "UNAVAILABLE/UPSTREAM_UNREACHABLE", "UNAVAILABLE/CIRCUIT_OPEN",
		"RESOURCE_EXHAUSTED/UPSTREAM_RATE_LIMITED", "RESOURCE_EXHAUSTED/TOO_MANY_UPSTREAM_REQUESTS",
		"DEADLINE_EXCEEDED/DEADLINE_EXCEEDED", "DEADLINE_EXCEEDED/UPSTREAM_TIMEOUT", "DEADLINE_EXCEEDED/CLIENT_DEADLINE":
		return true
	case "INTERNAL/UPSTREAM_BAD_RESPONSE":
		return htmlFaults
	case "NOT_FOUND/UPSTREAM_NOT_FOUND":
		return k == kindResellerUnknown || k == kindLinkUnknown
	}
	return false
}

// tally is one caller's account; only its caller writes it until the load is over.
type tally struct {
	requests   map[string]int64 // by protocol
	outcomes   map[string]int64 // "proto|method|code|reason"
	verified   map[string]int64 // verified successes by method
	latencies  []int32          // microseconds
	maxLatency time.Duration
	mirrorOnly int64 // REST calls the mirror rejects before any gRPC call
	refused    int64 // calls refused for the calls in flight (during floods)
	phases     map[int64]*phaseTally
	problems   []string
	nProblems  int64
}

// phaseTally counts the calls of one phase of the load (see floods.seq).
type phaseTally struct{ calls, ok, refused, problems int64 }

func (p *phaseTally) add(o *phaseTally) {
	p.calls, p.ok, p.refused, p.problems = p.calls+o.calls, p.ok+o.ok, p.refused+o.refused, p.problems+o.problems
}

// reasonTooManyCalls is the facade's refusal for the calls in flight.
const reasonTooManyCalls = "TOO_MANY_CALLS_IN_FLIGHT"

func (t *tally) record(proto string, k call, r result, d time.Duration, problem string, phase int64) {
	if t.requests == nil {
		t.requests, t.phases = make(map[string]int64), make(map[int64]*phaseTally)
	}
	t.requests[proto]++
	p := t.phases[phase]
	if p == nil {
		p = &phaseTally{}
		t.phases[phase] = p
	}
	p.calls++
	switch {
	case problem != "":
		p.problems++
	case r.code == "OK":
		p.ok++
	case r.reason == reasonTooManyCalls:
		p.refused++
		t.refused++
	}
	t.outcomes[proto+"|"+k.method+"|"+r.code+"|"+r.reason]++
	if r.code == "OK" && problem == "" {
		t.verified[k.method]++
	}
	if k.badQuery && r.reason != reasonTooManyCalls {
		t.mirrorOnly++
	}
	t.latencies = append(t.latencies, int32(min(d.Microseconds(), 1<<31-1)))
	t.maxLatency = max(t.maxLatency, d)
	if problem != "" {
		t.problem("%s: %s", proto, problem)
	}
}

func (t *tally) problem(format string, args ...any) {
	t.nProblems++
	if len(t.problems) < 5 {
		t.problems = append(t.problems, fmt.Sprintf(format, args...))
	}
}

// outcome is the merged account of a run.
type outcome struct {
	requests   int64
	byProto    map[string]int64
	outcomes   map[string]int64
	verified   map[string]int64
	latencies  map[string][]int32
	maxLatency time.Duration
	mirrorOnly int64
	refused    int64
	phases     map[int64]*phaseTally
	problems   []string
	nProblems  int64
}

// phase returns the calls of one phase, none if it had none.
func (o outcome) phase(k int64) phaseTally {
	if p := o.phases[k]; p != nil {
		return *p
	}
	return phaseTally{}
}

func (o outcome) successes() int64 { return o.verified[getReseller] + o.verified[getLink] }

func (l *load) result() outcome {
	o := outcome{byProto: map[string]int64{}, outcomes: map[string]int64{}, verified: map[string]int64{}, latencies: map[string][]int32{}, phases: map[int64]*phaseTally{}}
	for i, t := range l.tallies {
		proto := "grpc"
		if i >= l.cfg.grpcCallers {
			proto = "rest"
		}
		for p, n := range t.requests {
			o.byProto[p] += n
			o.requests += n
		}
		for k, n := range t.outcomes {
			o.outcomes[k] += n
		}
		for k, n := range t.verified {
			o.verified[k] += n
		}
		o.latencies[proto] = append(o.latencies[proto], t.latencies...)
		o.maxLatency = max(o.maxLatency, t.maxLatency)
		o.mirrorOnly += t.mirrorOnly
		o.refused += t.refused
		for k, p := range t.phases {
			if o.phases[k] == nil {
				o.phases[k] = &phaseTally{}
			}
			o.phases[k].add(p)
		}
		o.nProblems += t.nProblems
		if len(o.problems) < 20 {
			o.problems = append(o.problems, t.problems...)
		}
	}
	return o
}

// newConn dials the facade's gRPC port.
func newConn(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}

// doGRPC makes k over gRPC.
func doGRPC(ctx context.Context, resellers pb.ResellerServiceClient, customers pb.CustomerServiceClient, k call) result {
	md := metadata.MD{}
	if k.auth != "" {
		md.Set("authorization", k.auth)
	}
	if k.tenant != "" {
		md.Set("x-tenant", k.tenant)
	}
	if k.correlation != "" {
		md.Set("x-correlation-id", k.correlation)
	}
	ctx = metadata.NewOutgoingContext(ctx, md)
	var r result
	var err error
	switch k.method {
	case getReseller:
		r.reseller, err = resellers.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: k.resellerID})
	case getLink:
		req := &pb.GetAcceptanceLinkRequest{ProviderInstanceId: k.instance}
		if k.linkReseller != "" {
			req.ResellerId = &k.linkReseller
		}
		var resp *pb.GetAcceptanceLinkResponse
		resp, err = customers.GetAcceptanceLink(ctx, req)
		r.link = resp.GetUrl()
	}
	if err == nil {
		r.code = "OK"
		return r
	}
	st := status.Convert(err)
	r.code, r.detail = codeName(st.Code()), st.Message()
	for _, d := range st.Details() {
		if info, ok := d.(*errdetails.ErrorInfo); ok {
			r.reason = info.GetReason()
		}
	}
	if r.reason == "" {
		r.reason = "TRANSPORT"
		// The server's copy of the deadline can end the stream (RST_STREAM CANCEL,
		// which grpc-go reports as DEADLINE_EXCEEDED once the deadline has passed)
		// a moment before the client's own timer ends ctx, on a busy machine.
		if d, ok := ctx.Deadline(); st.Code() == codes.DeadlineExceeded && (ctx.Err() != nil || ok && !time.Now().Before(d)) {
			r.reason = "CLIENT_DEADLINE"
		}
	}
	return r
}

// doREST makes k through the REST mirror.
func doREST(ctx context.Context, hc *http.Client, base string, k call) result {
	var target string
	switch k.method {
	case getReseller:
		target = base + "/v1/Resellers/" + url.PathEscape(k.resellerID)
	case getLink:
		q := url.Values{"providerInstanceId": {k.instance}}
		if k.linkReseller != "" {
			name := "resellerId"
			if k.badQuery {
				name = "resellerID"
			}
			q.Set(name, k.linkReseller)
		}
		target = base + "/v1/Customers/relationship-acceptance?" + q.Encode()
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, target, nil)
	if err != nil {
		return result{code: "CLIENT", reason: "BAD_REQUEST", detail: err.Error()}
	}
	if k.auth != "" {
		req.Header.Set("Authorization", k.auth)
	}
	if k.tenant != "" {
		req.Header.Set("X-Tenant", k.tenant)
	}
	if k.correlation != "" {
		req.Header.Set("X-Correlation-Id", k.correlation)
	}
	resp, err := hc.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			return result{code: "DEADLINE_EXCEEDED", reason: "CLIENT_DEADLINE", detail: err.Error()}
		}
		return result{code: "UNAVAILABLE", reason: "TRANSPORT", detail: err.Error()}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	if err != nil {
		if ctx.Err() != nil {
			return result{code: "DEADLINE_EXCEEDED", reason: "CLIENT_DEADLINE", detail: err.Error()}
		}
		return result{code: "UNAVAILABLE", reason: "TRANSPORT", detail: "read body: " + err.Error()}
	}
	if resp.StatusCode == http.StatusOK {
		r := result{code: "OK"}
		switch k.method {
		case getReseller:
			r.reseller = new(pb.Reseller)
			if err := protojson.Unmarshal(body, r.reseller); err != nil {
				return result{code: "CLIENT", reason: "UNDECODABLE_SUCCESS", detail: fmt.Sprintf("%v: %.200s", err, body)}
			}
		case getLink:
			if err := json.Unmarshal(body, &r.link); err != nil {
				return result{code: "CLIENT", reason: "UNDECODABLE_SUCCESS", detail: fmt.Sprintf("%v: %.200s", err, body)}
			}
		}
		return r
	}
	var e struct {
		Code    int    `json:"code"`
		Message string `json:"message"`
		Details []struct {
			Type   string `json:"@type"`
			Reason string `json:"reason"`
		} `json:"details"`
	}
	if err := json.Unmarshal(body, &e); err != nil {
		return result{code: "CLIENT", reason: "UNDECODABLE_ERROR", detail: fmt.Sprintf("HTTP %d: %.200s", resp.StatusCode, body)}
	}
	r := result{code: codeName(codes.Code(e.Code)), detail: e.Message}
	for _, d := range e.Details {
		if d.Type == "type.googleapis.com/google.rpc.ErrorInfo" {
			r.reason = d.Reason
		}
	}
	if want := gwruntime.HTTPStatusFromCode(codes.Code(e.Code)); resp.StatusCode != want {
		r.reason += fmt.Sprintf("+HTTP_%d_NOT_%d", resp.StatusCode, want)
	}
	return r
}

// codeName returns the canonical name of a gRPC code (INVALID_ARGUMENT, ...).
func codeName(c codes.Code) string {
	names := map[codes.Code]string{
		codes.OK: "OK", codes.Canceled: "CANCELLED", codes.Unknown: "UNKNOWN", codes.InvalidArgument: "INVALID_ARGUMENT",
		codes.DeadlineExceeded: "DEADLINE_EXCEEDED", codes.NotFound: "NOT_FOUND", codes.AlreadyExists: "ALREADY_EXISTS",
		codes.PermissionDenied: "PERMISSION_DENIED", codes.ResourceExhausted: "RESOURCE_EXHAUSTED",
		codes.FailedPrecondition: "FAILED_PRECONDITION", codes.Aborted: "ABORTED", codes.OutOfRange: "OUT_OF_RANGE",
		codes.Unimplemented: "UNIMPLEMENTED", codes.Internal: "INTERNAL", codes.Unavailable: "UNAVAILABLE",
		codes.DataLoss: "DATA_LOSS", codes.Unauthenticated: "UNAUTHENTICATED",
	}
	if n, ok := names[c]; ok {
		return n
	}
	return "CODE_" + strconv.Itoa(int(c))
}

// oracle knows the right answers: an in-process sandbox with credential echo and no
// faults, asked directly (no network) once per distinct question.
type oracle struct {
	sb    *sandbox.Server
	cache sync.Map // question → answer
}

type wantReseller struct {
	ID                 string `json:"id"`
	CompanyName        string `json:"companyName"`
	InternalIdentifier string `json:"internalIdentifier"`
}

type answer struct {
	reseller wantReseller
	link     string
	ok       bool
}

func newOracle() *oracle { return &oracle{sb: sandbox.New(sandbox.WithCredentialEcho())} }

func (o *oracle) ask(target, auth, tenant string, link bool) answer {
	key := target + "\x00" + auth + "\x00" + tenant
	if a, ok := o.cache.Load(key); ok {
		return a.(answer)
	}
	req := httptest.NewRequest(http.MethodGet, target, nil)
	req.Header.Set("Authorization", auth)
	req.Header.Set("X-Tenant", tenant)
	rec := httptest.NewRecorder()
	o.sb.ServeHTTP(rec, req)
	var a answer
	if rec.Code == http.StatusOK {
		switch {
		case !link:
			a.ok = json.Unmarshal(rec.Body.Bytes(), &a.reseller) == nil // encoding/json matches names in any casing
		case strings.HasPrefix(rec.Header().Get("Content-Type"), "text/plain"):
			a.link, a.ok = rec.Body.String(), true
		default:
			a.ok = json.Unmarshal(rec.Body.Bytes(), &a.link) == nil
		}
	}
	o.cache.Store(key, a)
	return a
}

func (o *oracle) reseller(id, auth, tenant string) (wantReseller, bool) {
	a := o.ask("/v1/Resellers/"+id, auth, tenant, false)
	return a.reseller, a.ok
}

func (o *oracle) link(instance, reseller, auth, tenant string) (string, bool) {
	q := url.Values{"providerInstanceId": {instance}}
	if reseller != "" {
		q.Set("resellerId", reseller)
	}
	a := o.ask("/v1/Customers/relationship-acceptance?"+q.Encode(), auth, tenant, true)
	return a.link, a.ok
}

// references fetches every sample reseller once over gRPC and once over REST (retrying
// through the faults), and returns the gRPC ones without internalIdentifier.
func references(t *testing.T, grpcAddr, base string, deadline time.Duration) map[string]*pb.Reseller {
	t.Helper()
	conn, err := newConn(grpcAddr)
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	tr := &http.Transport{}
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr}
	resellers, customers := pb.NewResellerServiceClient(conn), pb.NewCustomerServiceClient(conn)
	refs := make(map[string]*pb.Reseller)
	for _, id := range resellerIDs {
		k := call{method: getReseller, kind: kindReseller, resellerID: id, auth: "Bearer load-reference", tenant: tenants[0]}
		for attempt := 1; ; attempt++ {
			ctx, cancel := context.WithTimeout(t.Context(), deadline)
			r := doGRPC(ctx, resellers, customers, k)
			rr := doREST(ctx, hc, base, k)
			cancel()
			if r.code == "OK" && rr.code == "OK" {
				ref := proto.CloneOf(r.reseller)
				ref.InternalIdentifier = nil
				refs[id] = ref
				break
			}
			if attempt == 20 {
				t.Fatalf("warm-up: GetReseller %s failed 20 times: %s/%s, REST %s/%s", id, r.code, r.reason, rr.code, rr.reason)
			}
		}
	}
	return refs
}

// process is a started binary.
type process struct {
	name    string
	cmd     *exec.Cmd
	out     *cappedBuffer
	exited  chan struct{}
	exitErr error
}

func startProcess(t *testing.T, name, bin string, args ...string) *process {
	t.Helper()
	p := &process{name: name, out: &cappedBuffer{limit: 16 << 20}, exited: make(chan struct{})}
	p.cmd = exec.Command(bin, args...)
	p.cmd.Stdout, p.cmd.Stderr = p.out, p.out
	if err := p.cmd.Start(); err != nil {
		t.Fatalf("start %s: %v", name, err)
	}
	go func() { p.exitErr = p.cmd.Wait(); close(p.exited) }()
	t.Cleanup(func() {
		select {
		case <-p.exited:
		default:
			_ = p.cmd.Process.Kill()
			<-p.exited
		}
		if t.Failed() {
			t.Logf("%s output (first %d of %d bytes):\n%s", p.name, min(p.out.total(), 64<<10), p.out.total(), truncate(p.out.String(), 64<<10))
		}
	})
	return p
}

// stop sends SIGTERM and waits for the process to exit, killing it after timeout.
func (p *process) stop(timeout time.Duration) error {
	_ = p.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-p.exited:
		return p.exitErr
	case <-time.After(timeout):
		_ = p.cmd.Process.Kill()
		<-p.exited
		return fmt.Errorf("%s still running %v after SIGTERM: killed", p.name, timeout)
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}

// cappedBuffer keeps the first limit bytes written to it and counts the rest.
type cappedBuffer struct {
	mu    sync.Mutex
	limit int
	buf   bytes.Buffer
	n     int
}

func (b *cappedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	b.n += len(p)
	if room := b.limit - b.buf.Len(); room > 0 {
		b.buf.Write(p[:min(room, len(p))])
	}
	return len(p), nil
}

func (b *cappedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *cappedBuffer) total() int {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.n
}

func freePort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().String()
}

// waitPortFile waits (bounded) for the sandbox to write its address.
func waitPortFile(t *testing.T, p *process, path string) string {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(path); err == nil && len(b) > 0 {
			return string(b)
		}
		select {
		case <-p.exited:
			t.Fatalf("%s exited early: %v\n%s", p.name, p.exitErr, p.out.String())
		case <-time.After(50 * time.Millisecond):
		}
	}
	t.Fatalf("%s wrote no address to %s within 15s", p.name, path)
	return ""
}

// ready waits, at most 15s, until readyz answers 200; it fails at once if
// the process exits.
func ready(p *process, readyz string) error {
	c := &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: time.Second}
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if resp, err := c.Get(readyz); err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		select {
		case <-p.exited:
			return fmt.Errorf("%s exited early: %v\n%s", p.name, p.exitErr, p.out.String())
		case <-time.After(100 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not ready at %s within 15s\n%s", p.name, readyz, p.out.String())
}

// startFacade starts the facade binary bin with args on free loopback ports
// (gRPC, HTTP and, with debug, the profiles' listener: LOAD_DEBUG_ADDR if
// set) and waits until it is ready. A port picked here can be taken by
// another socket before the binary binds it; the binary then exits at once
// and is started again, on new ports, at most three times in all.
func startFacade(t *testing.T, bin string, debug bool, args ...string) (p *process, grpcAddr, httpAddr, debugAddr string) {
	t.Helper()
	for attempt := 1; ; attempt++ {
		grpcAddr, httpAddr = freePort(t), freePort(t)
		listen := []string{"-grpc-addr", grpcAddr, "-http-addr", httpAddr}
		if debug {
			debugAddr = envString("LOAD_DEBUG_ADDR", freePort(t))
			listen = append(listen, "-debug-addr", debugAddr)
		}
		p = startProcess(t, "facade", bin, append(listen, args...)...)
		err := ready(p, "http://"+httpAddr+"/readyz")
		if err == nil {
			return p, grpcAddr, httpAddr, debugAddr
		}
		select {
		case <-p.exited:
			if attempt < 3 {
				t.Logf("facade exited at start (a port taken?), starting again: %v", p.exitErr)
				continue
			}
		default:
		}
		t.Fatal(err)
	}
}

// metricSet is one scrape of /metrics: value by "name{labels}".
type metricSet map[string]float64

// sum adds the values of the series of a metric whose labels match (nil: all).
func (m metricSet) sum(name string, match func(labels string) bool) float64 {
	var total float64
	for series, v := range m {
		n, labels, _ := strings.Cut(series, "{")
		if n == name && (match == nil || match(labels)) {
			total += v
		}
	}
	return total
}

// by sums a metric's series by the value of one label.
func (m metricSet) by(name, label string) map[string]float64 {
	re := regexp.MustCompile(label + `="([^"]*)"`)
	out := make(map[string]float64)
	for series, v := range m {
		n, labels, _ := strings.Cut(series, "{")
		if n != name {
			continue
		}
		key := ""
		if sm := re.FindStringSubmatch(labels); sm != nil {
			key = sm[1]
		}
		out[key] += v
	}
	return out
}

// scraper reads the facade's /metrics over a connection per scrape, so that it holds
// no connection (and no server goroutine) between scrapes.
type scraper struct {
	url string
	hc  *http.Client
}

func newScraper(u string) *scraper {
	return &scraper{url: u, hc: &http.Client{Transport: &http.Transport{DisableKeepAlives: true}, Timeout: 5 * time.Second}}
}

func (s *scraper) scrape() (metricSet, error) {
	resp, err := s.hc.Get(s.url)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s", s.url, resp.Status)
	}
	m := make(metricSet)
	sc := bufio.NewScanner(resp.Body)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if line == "" || line[0] == '#' {
			continue
		}
		i := strings.LastIndexByte(line, ' ')
		if i < 0 {
			continue
		}
		v, err := strconv.ParseFloat(line[i+1:], 64)
		if err != nil {
			continue
		}
		m[line[:i]] = v
	}
	return m, sc.Err()
}

// quiet scrapes every 100ms until go_goroutines no longer falls (the
// connections of earlier calls are gone), at most 5s, and returns the last
// scrape.
func (s *scraper) quiet(t *testing.T) metricSet {
	t.Helper()
	last := s.must(t)
	poll := time.NewTicker(100 * time.Millisecond)
	defer poll.Stop()
	for bound := time.After(5 * time.Second); ; {
		select {
		case <-poll.C:
		case <-bound:
			t.Fatal("the facade's goroutines still fell after 5s")
		}
		next := s.must(t)
		if next.sum("go_goroutines", nil) >= last.sum("go_goroutines", nil) {
			return last
		}
		last = next
	}
}

func (s *scraper) must(t *testing.T) metricSet {
	t.Helper()
	m, err := s.scrape()
	if err != nil {
		t.Fatalf("scrape metrics: %v", err)
	}
	return m
}

// snapshot is the facade's resource use at one time.
type snapshot struct {
	goroutines, heapLive, rss float64
}

// sampleUntil scrapes every second until done is closed and then sends the peaks.
func (s *scraper) sampleUntil(done <-chan struct{}) <-chan snapshot {
	out := make(chan snapshot, 1)
	go func() {
		var peak snapshot
		tick := time.NewTicker(time.Second)
		defer tick.Stop()
		for {
			select {
			case <-done:
				out <- peak
				return
			case <-tick.C:
			}
			if m, err := s.scrape(); err == nil {
				peak.goroutines = max(peak.goroutines, m.sum("go_goroutines", nil))
				peak.heapLive = max(peak.heapLive, m.sum("go_memstats_heap_alloc_bytes", nil))
				peak.rss = max(peak.rss, m.sum("process_resident_memory_bytes", nil))
			}
		}
	}()
	return out
}

// procStatus reads one "kB" field of /proc/<pid>/status, in bytes.
func procStatus(pid int, field string) (float64, error) {
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		return 0, err
	}
	for line := range strings.Lines(string(b)) {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSpace(strings.TrimSuffix(strings.TrimSpace(v), "kB")), 64)
			return kb * 1024, err
		}
	}
	return 0, errors.New(field + " not in /proc/pid/status")
}

// sandboxSummary parses the sandbox's last line: "sandbox: requests=N faults=M kind=n ...".
func sandboxSummary(out string) (requests int64, faults map[string]int64) {
	faults = make(map[string]int64)
	lines := strings.Split(strings.TrimSpace(out), "\n")
	last := lines[len(lines)-1]
	for field := range strings.FieldsSeq(strings.TrimPrefix(last, "sandbox: ")) {
		k, v, ok := strings.Cut(field, "=")
		n, err := strconv.ParseInt(v, 10, 64)
		if !ok || err != nil {
			continue
		}
		switch k {
		case "requests":
			requests = n
		case "faults":
			faults["total"] = n
		default:
			faults[k] = n
		}
	}
	return requests, faults
}

// report formats a run's figures.
type report struct {
	cfg                     settings
	elapsed, settled, total time.Duration
	res                     outcome
	before, after           metricSet
	baseline, peak, final   snapshot
	hwm                     float64
	sandboxRequests         int64
	sandboxFaults           map[string]int64
	breakerOpened, logBytes int
	gcSeen                  bool
	floods                  []floodRow
}

func mib(b float64) string { return fmt.Sprintf("%.1f MiB", b/(1<<20)) }

func percentile(us []int32, p float64) time.Duration {
	if len(us) == 0 {
		return 0
	}
	s := slices.Clone(us)
	slices.Sort(s)
	return time.Duration(s[min(len(s)-1, int(p*float64(len(s))))]) * time.Microsecond
}

func (r report) markdown() string {
	var b strings.Builder
	diff := func(name string, match func(string) bool) float64 {
		return r.after.sum(name, match) - r.before.sum(name, match)
	}
	res := r.res
	loadavg, _ := os.ReadFile("/proc/loadavg")
	fmt.Fprintf(&b, "Load run: %s, %d CPUs (%s/%s), %s, load average at the end %s\n\n",
		time.Now().UTC().Format("2006-01-02 15:04 MST"), runtime.NumCPU(), runtime.GOOS, runtime.GOARCH, runtime.Version(),
		strings.Join(strings.Fields(string(loadavg))[:min(3, len(strings.Fields(string(loadavg))))], " "))
	fmt.Fprintf(&b, "Settings: %v of load (max %d calls), %d gRPC callers (%d on their own connection, the rest on one shared) + %d REST callers, deadline %v per call; sandbox upstream latency %v, fault rate %v (seed %d, kinds %s), credential echo on.\n\n",
		r.cfg.duration, r.cfg.maxRequests, r.cfg.grpcCallers, r.cfg.ownConns, r.cfg.restCallers, r.cfg.deadline, r.cfg.latency, r.cfg.faultRate, r.cfg.faultSeed, r.cfg.faultKinds)

	b.WriteString("| figure | value |\n|---|---|\n")
	row := func(k string, format string, args ...any) {
		fmt.Fprintf(&b, "| %s | %s |\n", k, fmt.Sprintf(format, args...))
	}
	row("calls (all answered)", "%d in %v (%.0f/s): gRPC %d, REST %d", res.requests, r.elapsed.Round(time.Millisecond), float64(res.requests)/r.elapsed.Seconds(), res.byProto["grpc"], res.byProto["rest"])
	row("verified successes", "%d (GetReseller %d, GetAcceptanceLink %d): right reseller or link, caller's own credential fingerprint", res.successes(), res.verified[getReseller], res.verified[getLink])
	row("unexpected outcomes", "%d", res.nProblems)
	row("latency gRPC p50 / p99", "%v / %v", percentile(res.latencies["grpc"], 0.5), percentile(res.latencies["grpc"], 0.99))
	row("latency REST p50 / p99", "%v / %v", percentile(res.latencies["rest"], 0.5), percentile(res.latencies["rest"], 0.99))
	row("slowest call", "%v (deadline %v)", res.maxLatency.Round(time.Millisecond), r.cfg.deadline)
	row("facade calls handled", "%.0f (grpc_server_handled_total; REST mirror rejects excluded: %d)", diff("grpc_server_handled_total", cloudcockpitService), res.mirrorOnly)
	var statuses []string
	for st, n := range r.after.by("cloudcockpit_upstream_requests_total", "status") {
		if n -= r.before.by("cloudcockpit_upstream_requests_total", "status")[st]; n > 0 {
			statuses = append(statuses, fmt.Sprintf("%s %.0f", st, n))
		}
	}
	slices.Sort(statuses)
	row("upstream attempts (facade)", "%.0f: %s", diff("cloudcockpit_upstream_requests_total", nil), strings.Join(statuses, ", "))
	row("retries", "%.0f", diff("cloudcockpit_upstream_retries_total", nil))
	row("coalesced calls", "%.0f", diff("cloudcockpit_upstream_coalesced_calls_total", nil))
	var faults []string
	for _, k := range sandbox.AllFaultKinds() {
		if n := r.sandboxFaults[k.String()]; n > 0 {
			faults = append(faults, fmt.Sprintf("%s %d", k, n))
		}
	}
	row("sandbox requests / faults", "%d / %d: %s", r.sandboxRequests, r.sandboxFaults["total"], strings.Join(faults, ", "))
	row("circuit breaker openings", "%d", r.breakerOpened)
	row("goroutines", "baseline %.0f, peak %.0f, after %.0f (settled in %v)", r.baseline.goroutines, r.peak.goroutines, r.final.goroutines, r.settled.Round(time.Millisecond))
	gc := "after a garbage collection"
	if !r.gcSeen {
		gc = "no garbage collection seen"
	}
	row("live heap (heap_alloc)", "baseline %s, peak %s, after %s (%s)", mib(r.baseline.heapLive), mib(r.peak.heapLive), mib(r.final.heapLive), gc)
	row("RSS", "baseline %s, peak %s (VmHWM), after %s", mib(r.baseline.rss), mib(r.hwm), mib(r.final.rss))
	row("facade log (level warn)", "%d bytes", r.logBytes)
	row("wall time", "%v", r.total.Round(time.Second))

	if len(r.floods) > 0 {
		b.WriteString("\nFloods during the load (each after a quiet gap; calls that overlapped a flood may be refused with TOO_MANY_CALLS_IN_FLIGHT, calls after it may not):\n\n" +
			"| flood | port | streams ended within 1 s / ended by the server | connections that sent every stream | goroutines (peak) | RSS (peak) | calls overlapping it: answered / refused / all | recovery (goroutines back) | calls after it: answered / all, unexpected |\n|---|---|---|---|---|---|---|---|---|\n")
	}
	for i, f := range r.floods {
		during, after := res.phase(int64(2*i+1)), res.phase(int64(2*i+2))
		fmt.Fprintf(&b, "| %d | %s | %d / %d | %d | %.0f | %s | %d / %d / %d | %v | %d / %d, %d |\n", i+1, f.port, f.refusedFast, f.ended, f.conns,
			f.peak.goroutines, mib(f.peak.rss), during.ok, during.refused, during.calls, f.recovered.Round(10*time.Millisecond), after.ok, after.calls, after.problems)
	}
	b.WriteString("\nError mix (calls by protocol, method, code and ErrorInfo reason; invalid calls and unknown ids included):\n\n| protocol | method | code | reason | calls |\n|---|---|---|---|---|\n")
	keys := make([]string, 0, len(res.outcomes))
	for k := range res.outcomes {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	for _, k := range keys {
		f := strings.Split(k, "|")
		fmt.Fprintf(&b, "| %s | %s | %s | %s | %d |\n", f[0], f[1], f[2], f[3], res.outcomes[k])
	}
	return b.String()
}
