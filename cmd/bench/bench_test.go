package main

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"slices"
	"strings"
	"testing"
	"testing/synctest"
	"time"

	"go.uber.org/goleak"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

func TestMain(m *testing.M) {
	goleak.VerifyTestMain(m)
}

func TestBuckets(t *testing.T) {
	prev := -1
	for v := uint64(0); v < 1<<22; v += 1 + v/1000 {
		i := bucketOf(v)
		if i < prev {
			t.Fatalf("bucketOf(%d) = %d, below bucketOf of a smaller value (%d)", v, i, prev)
		}
		prev = i
		if mid := bucketMid(i); bucketOf(mid) != i {
			t.Fatalf("bucketOf(bucketMid(%d) = %d) = %d", i, mid, bucketOf(mid))
		}
		if mid := float64(bucketMid(i)); v >= subCount && (mid < float64(v)*0.99 || mid > float64(v)*1.01) {
			t.Fatalf("bucketMid(bucketOf(%d)) = %.0f, more than 1%% away", v, mid)
		}
	}
	if got := bucketOf(1 << 62); got != numBuckets-1 {
		t.Errorf("bucketOf(2^62) = %d, want the last bucket %d", got, numBuckets-1)
	}
}

func TestHistogramQuantiles(t *testing.T) {
	var h, other histogram
	for i := 1; i <= 100_000; i++ {
		target := &h
		if i%2 == 0 {
			target = &other
		}
		target.record(time.Duration(i) * time.Microsecond)
	}
	h.merge(&other)
	tests := []struct {
		q    float64
		want time.Duration
	}{{0.5, 50 * time.Millisecond}, {0.99, 99 * time.Millisecond}, {1, 100 * time.Millisecond}}
	for _, tt := range tests {
		got := h.quantile(tt.q)
		if d := got - tt.want; d < -tt.want/100 || d > tt.want/100 {
			t.Errorf("quantile(%v) = %v, want %v ± 1%%", tt.q, got, tt.want)
		}
	}
	if got, want := h.mean(), 50_000_500*time.Nanosecond; got != want {
		t.Errorf("mean = %v, want %v", got, want)
	}
	var empty histogram
	if got := empty.quantile(0.5); got != 0 {
		t.Errorf("empty quantile = %v, want 0", got)
	}
}

// TestLoadGen runs in a synctest bubble, where each call's millisecond is
// exactly one: on the wall clock a busy machine slowed the sleeps and the
// window's throughput with them.
func TestLoadGen(t *testing.T) {
	synctest.Test(t, testLoadGen)
}

func testLoadGen(t *testing.T) {
	g := newLoadGen(4)
	var starts, ends int
	res := g.run(context.Background(), 4, 20*time.Millisecond, 100*time.Millisecond, func(context.Context, int) error {
		time.Sleep(time.Millisecond) // a slow peer: each call takes a millisecond
		return nil
	}, windowHooks{start: func() { starts++ }, end: func() { ends++ }})
	if starts != 1 || ends != 1 {
		t.Errorf("hooks called %d and %d times, want once each", starts, ends)
	}
	if res.errors != 0 || res.hist.n == 0 || res.total < res.hist.n {
		t.Errorf("errors %d, window calls %d, total %d", res.errors, res.hist.n, res.total)
	}
	// Four callers of 1 ms calls make at most 4000 calls a second.
	if rps := res.rps(); rps > 4000 || rps < 400 {
		t.Errorf("rps = %.0f, want about 4 callers / 1ms", rps)
	}
	if p50 := res.hist.quantile(0.5); p50 < time.Millisecond {
		t.Errorf("p50 = %v, want at least the 1ms the calls sleep", p50)
	}
	t.Logf("rps %.0f, p50 %v", res.rps(), res.hist.quantile(0.5))
}

func TestCountingProxy(t *testing.T) {
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		_, _ = io.WriteString(w, r.URL.Path+" "+r.Header.Get("Authorization"))
	}))
	defer upstream.Close()
	p, err := startCountingProxy(context.Background(), upstream.URL, time.Millisecond, 4)
	if err != nil {
		t.Fatal(err)
	}
	defer p.close()
	c := newHTTPClient(4)
	defer c.CloseIdleConnections()
	for range 3 {
		req, _ := http.NewRequest(http.MethodGet, p.url()+"/v1/Resellers/x", nil)
		req.Header.Set("Authorization", "Bearer t")
		resp, err := c.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		body, _ := io.ReadAll(resp.Body)
		resp.Body.Close()
		if got, want := string(body), "/v1/Resellers/x Bearer t"; got != want {
			t.Errorf("body %q, want %q", got, want)
		}
	}
	if got := p.requests.Load(); got != 3 {
		t.Errorf("counted %d requests, want 3", got)
	}
}

func TestParseFlags(t *testing.T) {
	cfg, err := parseFlags([]string{"-quick", "-rounds", "5", "-callers", "1, 8"}, io.Discard)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.rounds != 5 || cfg.duration != 600*time.Millisecond || cfg.out != "bench/results-quick.md" {
		t.Errorf("-quick -rounds 5: rounds %d, duration %v, out %q; want 5, 600ms, bench/results-quick.md", cfg.rounds, cfg.duration, cfg.out)
	}
	if len(cfg.callers) != 2 || cfg.callers[0] != 1 || cfg.callers[1] != 8 {
		t.Errorf("callers = %v, want [1 8]", cfg.callers)
	}
	for _, args := range [][]string{{"-callers", "0"}, {"-rounds", "0"}, {"extra"}} {
		if _, err := parseFlags(args, io.Discard); err == nil {
			t.Errorf("parseFlags(%q) succeeded, want an error", args)
		}
	}
}

// phaseWith returns a one-round result with rps calls a second and every
// latency equal to lat.
func phaseWith(kind string, callers int, rps float64, lat time.Duration) *phaseResult {
	var l loadResult
	l.callers, l.window = callers, time.Second
	for range int(rps) {
		l.hist.record(lat)
	}
	l.total = l.hist.n
	return &phaseResult{phase: &phase{kind: kind, callers: callers}, rounds: []roundResult{{load: l}}}
}

func TestJudge(t *testing.T) {
	cfg := config{callers: []int{1, 32}, memCallers: 0, coalesceCallers: 64}
	results := []*phaseResult{
		phaseWith(kindDirect, 1, 100, 200*time.Microsecond),
		phaseWith(kindFloor, 1, 100, 100*time.Microsecond),
		phaseWith(kindGRPC, 1, 100, 330*time.Microsecond),
		phaseWith(kindCeiling, 1, 100, 310*time.Microsecond),
		phaseWith(kindDirect, 32, 3000, time.Millisecond),
		phaseWith(kindFloor, 32, 6000, time.Millisecond),
		phaseWith(kindGRPC, 32, 1600, time.Millisecond),    // ideal 2000: 0.80
		phaseWith(kindCeiling, 32, 1800, time.Millisecond), // 0.90, the facade 0.889 of it
		phaseWith(kindREST, 32, 1200, time.Millisecond),    // 0.75
		phaseWith(kindDirectTLS, 32, 2000, time.Millisecond),
		phaseWith(kindGRPCTLS, 32, 1300, time.Millisecond), // ideal 1500: 0.87
	}
	results[len(results)-3].rounds[0].rssPeak = memSample{rss: 31 << 20, anon: 9 << 20, file: 22 << 20} // facade-rest/32
	r := newReport(cfg, machine{}, results, nil, memoryResult{facadeHWM: 32 << 20, coalescerHWM: 20 << 20}, []uint64{30 << 20, 31 << 20})
	want := map[string]string{
		"throughput efficiency, 32 callers: facade-grpc /":     "FAIL",
		"throughput efficiency, 32 callers: facade-grpc-tls /": "PASS",
		"latency overhead":                       "PASS", // 330 − 200 − 100 = 30 µs
		"REST mirror":                            "PASS",
		"coalescing, 64 callers on one reseller": "n/a",
		"memory: facade peak":                    "PASS",
		"memory: no growth":                      "PASS",
		"errors":                                 "PASS",
	}
	for prefix, result := range want {
		found := false
		for _, v := range r.verdicts {
			if strings.HasPrefix(v.target, prefix) {
				found = true
				if v.result != result {
					t.Errorf("%s: %s (%s), want %s", v.target, v.result, v.value, result)
				}
			}
		}
		if !found {
			t.Errorf("no verdict for %q", prefix)
		}
	}
	if !r.missed() {
		t.Error("missed() = false with a FAIL")
	}
	// The ceiling-grpc phases are noted beside facade-grpc's figures, and
	// the largest memory sample's parts beside the peak.
	notes := map[string]string{
		"throughput efficiency, 32 callers: facade-grpc /":     "ceiling-grpc 0.900, so facade-grpc / ceiling-grpc 0.889",
		"throughput efficiency, 32 callers: facade-grpc-tls /": "",
		"latency overhead, 1 caller(s)":                        "ceiling-grpc: 10.0 µs",
		"memory: facade peak RSS":                              "largest sample 31.0 MiB, in facade-rest/32: 9.0 anonymous, 22.0 file-backed (the binary); coalescing facade: 20.0 MiB",
	}
	for prefix, note := range notes {
		i := slices.IndexFunc(r.verdicts, func(v verdict) bool { return strings.HasPrefix(v.target, prefix) })
		if i < 0 || r.verdicts[i].note != note {
			t.Errorf("%s: verdicts %+v, want the note %q", prefix, r.verdicts, note)
		}
	}
}

// TestEfficiencyByRound: the efficiency verdict notes each round's figure,
// from the phases of that round, and their median.
func TestEfficiencyByRound(t *testing.T) {
	rounds := func(kind string, rps ...float64) *phaseResult {
		p := phaseWith(kind, 32, rps[0], time.Millisecond)
		for _, x := range rps[1:] {
			p.rounds = append(p.rounds, phaseWith(kind, 32, x, time.Millisecond).rounds[0])
		}
		return p
	}
	results := []*phaseResult{
		rounds(kindDirect, 3000, 3000, 6000),
		rounds(kindFloor, 6000, 6000, 6000),
		rounds(kindGRPC, 1600, 1000, 1800), // limits 2000, 2000, 3000
	}
	r := newReport(config{callers: []int{32}}, machine{}, results, nil, memoryResult{}, nil)
	v := r.verdicts[0]
	if want := "rounds 0.800 · 0.500 · 0.600; median 0.600"; v.note != want {
		t.Errorf("note %q, want %q", v.note, want)
	}
	if want := "0.611 (1467 of 2400 rps)"; v.value != want { // the rounds summed: 1,467 calls a second, direct 4,000 and floor 6,000
		t.Errorf("value %q, want %q", v.value, want)
	}
	one := newReport(config{callers: []int{32}}, machine{}, []*phaseResult{
		phaseWith(kindDirect, 32, 3000, time.Millisecond), phaseWith(kindFloor, 32, 6000, time.Millisecond), phaseWith(kindGRPC, 32, 1600, time.Millisecond),
	}, nil, memoryResult{}, nil)
	if n := one.verdicts[0].note; n != "" {
		t.Errorf("one round: note %q, want none", n)
	}
}

// TestCeilingUpstream: the ceiling's upstream sends the call's headers,
// decodes a 200 answer, and fails on any other.
func TestCeilingUpstream(t *testing.T) {
	var got http.Header
	sb := sandbox.New()
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		got = r.Header.Clone()
		sb.ServeHTTP(w, r)
	}))
	defer up.Close()
	u := ceilingUpstream{base: up.URL, client: up.Client()}
	ci := rest.CallInfo{Tenant: tenant, Authorization: "Bearer " + sharedToken, CorrelationID: "corr-1"}
	r, err := u.GetReseller(t.Context(), ci, sandbox.ContosoResellerID)
	if err != nil {
		t.Fatal(err)
	}
	if r.ID == nil || *r.ID != sandbox.ContosoResellerID || len(r.ProviderResellers) == 0 {
		t.Errorf("decoded %+v, want the sandbox's Contoso reseller", r)
	}
	for name, want := range map[string]string{apierr.HeaderTenant: ci.Tenant, apierr.HeaderAuthorization: ci.Authorization, apierr.HeaderCorrelationID: ci.CorrelationID} {
		if v := got.Values(name); len(v) != 1 || v[0] != want {
			t.Errorf("%s sent as %q, want [%q]", name, v, want)
		}
	}
	ci.Authorization = ""
	if _, err := u.GetReseller(t.Context(), ci, sandbox.ContosoResellerID); err == nil || !strings.Contains(err.Error(), "401") {
		t.Errorf("without a token: %v, want the upstream's 401", err)
	}
	up.CloseClientConnections()
}

// TestProcMem reads this process's memory: its anonymous and file-backed
// parts are both there and add up to at most the whole.
func TestProcMem(t *testing.T) {
	m, hwm, err := procMem(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.anon == 0 || m.file == 0 || m.anon+m.file > m.rss || hwm < m.rss {
		t.Errorf("procMem = %+v, VmHWM %d: want both parts, adding up to at most VmRSS, itself at most VmHWM", m, hwm)
	}
}
