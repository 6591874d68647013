package rest

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

// tenantUpstream answers each request with the handler of its X-Tenant
// (okHandler when none is set) and counts requests per tenant.
type tenantUpstream struct {
	mu       sync.Mutex
	handlers map[string]http.HandlerFunc
	counts   map[string]int
}

func newTenantUpstream(t *testing.T, handlers map[string]http.HandlerFunc) (*tenantUpstream, string) {
	t.Helper()
	u := &tenantUpstream{handlers: handlers, counts: make(map[string]int)}
	return u, newUpstream(t, u.serve).URL
}

func (u *tenantUpstream) serve(w http.ResponseWriter, r *http.Request) {
	tenant := r.Header.Get("X-Tenant")
	u.mu.Lock()
	u.counts[tenant]++
	h, ok := u.handlers[tenant]
	u.mu.Unlock()
	if !ok {
		h = okHandler
	}
	h(w, r)
}

func (u *tenantUpstream) count(tenant string) int {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.counts[tenant]
}

func okHandler(w http.ResponseWriter, _ *http.Request) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, okBody)
}

func statusHandler(code int) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain")
		w.WriteHeader(code)
		_, _ = io.WriteString(w, "x")
	}
}

func tenantCall(tenant string) CallInfo {
	return CallInfo{Tenant: tenant, Authorization: testToken}
}

// breakerRecorder counts breaker transitions by new state.
type breakerRecorder struct {
	mu sync.Mutex
	to map[resilience.BreakerState]int
}

func (r *breakerRecorder) record(_, to resilience.BreakerState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if r.to == nil {
		r.to = make(map[resilience.BreakerState]int)
	}
	r.to[to]++
}

func (r *breakerRecorder) opened() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.to[resilience.BreakerOpen]
}

// TestBreakerCountsOnlyUpstreamTrouble: only 502, 503, 504, connection
// failures and attempt timeouts open a tenant's breaker; 500, 429 and 4xx
// never do, however many there are; a call counts once, after its retries.
func TestBreakerCountsOnlyUpstreamTrouble(t *testing.T) {
	tests := []struct {
		name     string
		handler  http.HandlerFunc
		wantOpen bool
	}{
		{name: "503", handler: statusHandler(503), wantOpen: true},
		{name: "502", handler: statusHandler(502), wantOpen: true},
		{name: "504", handler: statusHandler(504), wantOpen: true},
		{name: "connection reset", handler: func(w http.ResponseWriter, _ *http.Request) { resetConn(w, "") }, wantOpen: true},
		{name: "attempt timeout", handler: func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() }, wantOpen: true},
		{name: "500", handler: statusHandler(500)},
		{name: "429", handler: statusHandler(429)},
		{name: "404", handler: statusHandler(404)},
		{name: "400", handler: statusHandler(400)},
		{name: "401", handler: statusHandler(401)},
		{name: "undecodable 200", handler: func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "<html>") }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			t.Parallel()
			_, base := newTenantUpstream(t, map[string]http.HandlerFunc{"a.example": tt.handler})
			rec := new(breakerRecorder)
			c := newTestClient(t, Config{
				BaseURL: base, MaxAttempts: 2, RetryBackoff: time.Millisecond, AttemptTimeout: 30 * time.Millisecond,
				Breaker: resilience.BreakerSettings{MinCalls: 5, Window: time.Minute, OpenFor: time.Minute, OnStateChange: rec.record},
			})
			for range 8 {
				_, _ = c.GetReseller(testContext(t), tenantCall("a.example"), "r1")
			}
			_, err := c.GetReseller(testContext(t), tenantCall("a.example"), "r1")
			if got := kindOf(err) == KindCircuitOpen; got != tt.wantOpen {
				t.Errorf("after 8 calls: circuit open = %v (%v), want %v", got, err, tt.wantOpen)
			}
			if got := rec.opened() > 0; got != tt.wantOpen {
				t.Errorf("breaker opened = %v, want %v", got, tt.wantOpen)
			}
		})
	}
}

// TestBreakerCountsACallOnceAfterItsRetries: calls that fail once and
// succeed on their retry are successes; the breaker stays closed.
func TestBreakerCountsACallOnceAfterItsRetries(t *testing.T) {
	var n atomic.Int32
	_, base := newTenantUpstream(t, map[string]http.HandlerFunc{"a.example": func(w http.ResponseWriter, r *http.Request) {
		if n.Add(1)%2 == 1 {
			statusHandler(503)(w, r)
			return
		}
		okHandler(w, r)
	}})
	rec := new(breakerRecorder)
	c := newTestClient(t, Config{
		BaseURL: base, MaxAttempts: 2, RetryBackoff: time.Millisecond, RetryRatio: 1,
		Breaker: resilience.BreakerSettings{MinCalls: 2, FailureRatio: 0.5, Window: time.Minute, OnStateChange: rec.record},
	})
	// Every call fails its first attempt: half the attempts fail, no call
	// does. (Four calls: the tenant's retry budget allows that many
	// retries at this failure rate.)
	for range 4 {
		if _, err := c.GetReseller(testContext(t), tenantCall("a.example"), "r1"); err != nil {
			t.Fatalf("GetReseller() = %v, want success on the retry", err)
		}
	}
	if got := rec.opened(); got != 0 {
		t.Errorf("breaker opened %d times, want never", got)
	}
}

// TestFailingTenantLeavesOthersHealthy: one tenant's upstream fails
// (503) at 200 calls/s for a second; its breaker opens and its calls fail
// fast, while every call of another tenant succeeds.
func TestFailingTenantLeavesOthersHealthy(t *testing.T) {
	synctest.Test(t, testFailingTenantLeavesOthersHealthy)
}

func testFailingTenantLeavesOthersHealthy(t *testing.T) {
	u := &tenantUpstream{counts: make(map[string]int), handlers: map[string]http.HandlerFunc{"bad.example": statusHandler(503)}}
	rec := new(breakerRecorder)
	var rejected atomic.Int32
	c := newTestClient(t, Config{
		BaseURL: memBaseURL, Transport: inMemory(u.serve), RetryBackoff: time.Millisecond, DisableCoalescing: true,
		Breaker:    resilience.BreakerSettings{MinCalls: 20, Window: 10 * time.Second, OpenFor: time.Minute, OnStateChange: rec.record},
		OnRejected: func(string, string) { rejected.Add(1) },
	})
	ctx := testContext(t)
	stop := time.Now().Add(time.Second)
	var wg sync.WaitGroup
	var badOpen atomic.Int32
	tick := time.NewTicker(5 * time.Millisecond) // 200 calls/s
	defer tick.Stop()
	for i := 0; time.Now().Before(stop); i++ {
		<-tick.C
		wg.Go(func() {
			_, err := c.GetReseller(ctx, tenantCall("bad.example"), "r"+strconv.Itoa(i))
			if kindOf(err) == KindCircuitOpen {
				badOpen.Add(1)
			}
		})
	}
	var good, goodOK int
	goodDone := make(chan struct{})
	go func() {
		defer close(goodDone)
		for range 50 {
			good++
			if _, err := c.GetReseller(ctx, tenantCall("good.example"), "r1"); err != nil {
				t.Errorf("good tenant: %v", err)
				continue
			}
			goodOK++
		}
	}()
	wg.Wait()
	<-goodDone
	if goodOK != good {
		t.Errorf("good tenant: %d of %d calls succeeded, want all", goodOK, good)
	}
	if rec.opened() != 1 || badOpen.Load() == 0 {
		t.Errorf("bad tenant: breaker opened %d times, %d calls refused; want 1 and some", rec.opened(), badOpen.Load())
	}
	if n := u.count("bad.example"); n > 100 {
		t.Errorf("bad tenant reached the upstream %d times, want the breaker to stop it", n)
	}
}

// TestOutageOpensEveryTenantsBreakerAndRecovers: when the upstream fails
// for everyone, every (proven) tenant's breaker opens and calls fail fast without
// reaching it; once it recovers and the open time is over, a probe closes
// each breaker and calls succeed again.
func TestOutageOpensEveryTenantsBreakerAndRecovers(t *testing.T) {
	synctest.Test(t, testOutageOpensEveryTenantsBreakerAndRecovers)
}

func testOutageOpensEveryTenantsBreakerAndRecovers(t *testing.T) {
	var down atomic.Bool
	var requests atomic.Int32
	upstream := inMemory(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if down.Load() {
			statusHandler(503)(w, r)
			return
		}
		okHandler(w, r)
	})
	const openFor = 200 * time.Millisecond
	c := newTestClient(t, Config{
		BaseURL: memBaseURL, Transport: upstream, MaxAttempts: 1, DisableCoalescing: true,
		Breaker: resilience.BreakerSettings{MinCalls: 5, Window: 10 * time.Second, OpenFor: openFor},
	})
	tenants := []string{"a.example", "b.example", "c.example"}
	for _, tenant := range tenants { // each proven by a success first
		if _, err := c.GetReseller(testContext(t), tenantCall(tenant), "r1"); err != nil {
			t.Fatal(err)
		}
	}
	down.Store(true)
	for _, tenant := range tenants {
		for range 5 {
			_, _ = c.GetReseller(testContext(t), tenantCall(tenant), "r1")
		}
	}
	if got := c.BreakerStates(); got != [3]int{0, 0, 3} {
		t.Fatalf("BreakerStates() = %v, want all 3 open", got)
	}
	before := requests.Load()
	for _, tenant := range tenants {
		_, err := c.GetReseller(testContext(t), tenantCall(tenant), "r1")
		var open *Error
		if !errors.As(err, &open) || open.Kind != KindCircuitOpen || open.RetryAfter <= 0 {
			t.Errorf("%s: error = %v, want KindCircuitOpen with a RetryAfter", tenant, err)
		}
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("open breakers let %d requests through", n)
	}

	down.Store(false)
	<-time.After(openFor + 50*time.Millisecond) // at once in the bubble
	for _, tenant := range tenants {
		if _, err := c.GetReseller(testContext(t), tenantCall(tenant), "r1"); err != nil {
			t.Errorf("%s after recovery: %v", tenant, err)
		}
	}
	if got := c.BreakerStates(); got != [3]int{3, 0, 0} {
		t.Errorf("BreakerStates() after recovery = %v, want all 3 closed", got)
	}
}

// TestThrottledTenantLeavesOthersRetries: one tenant's 429s spend its own
// retry budget only; another tenant's failed attempt is still retried.
func TestThrottledTenantLeavesOthersRetries(t *testing.T) {
	var flaky atomic.Int32
	u, base := newTenantUpstream(t, map[string]http.HandlerFunc{
		"throttled.example": statusHandler(429),
		"other.example": func(w http.ResponseWriter, r *http.Request) {
			if flaky.Add(1)%2 == 1 {
				statusHandler(503)(w, r)
				return
			}
			okHandler(w, r)
		},
	})
	c := newTestClient(t, Config{BaseURL: base, RetryBackoff: time.Millisecond, DisableCoalescing: true})
	for range 20 {
		_, err := c.GetReseller(testContext(t), tenantCall("throttled.example"), "r1")
		var ue *Error
		if !errors.As(err, &ue) || ue.StatusCode != 429 {
			t.Fatalf("throttled tenant: error = %v, want the 429", err)
		}
	}
	// Its budget is spent: one attempt per call now.
	before := u.count("throttled.example")
	_, _ = c.GetReseller(testContext(t), tenantCall("throttled.example"), "r1")
	if n := u.count("throttled.example") - before; n != 1 {
		t.Errorf("throttled tenant made %d attempts with its budget spent, want 1", n)
	}
	for i := range 5 {
		_, err := c.GetReseller(testContext(t), tenantCall("other.example"), "r1")
		if err != nil || attemptCount(err) != 1 {
			t.Fatalf("other tenant call %d: %v, want success on its retry", i, err)
		}
	}
	if n := u.count("other.example"); n != 10 {
		t.Errorf("other tenant made %d attempts for 5 calls, want 10 (each retried once)", n)
	}
}

// TestRotatingTenantsCannotMultiplyRetries: tenants made up on the fly each
// come with a full retry budget, but the global ceiling keeps retries to a
// small share of the first attempts.
func TestRotatingTenantsCannotMultiplyRetries(t *testing.T) {
	var requests atomic.Int32
	srv := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		statusHandler(503)(w, r)
	})
	c := newTestClient(t, Config{
		BaseURL: srv.URL, RetryBackoff: time.Microsecond, MaxRetryBackoff: time.Microsecond,
		Breaker: resilience.BreakerSettings{FailureRatio: -1}, MaxTenants: 16,
	})
	const calls = 300
	for i := range calls {
		_, _ = c.GetReseller(testContext(t), tenantCall(fmt.Sprintf("t%d.example", i)), "r1")
	}
	// 300 first attempts; retries at most 20 (the reserve) + 10% of 300.
	if n := int(requests.Load()); n > calls+20+calls/10 {
		t.Errorf("upstream saw %d requests for %d calls, want at most %d", n, calls, calls+20+calls/10)
	}
	if n := c.Tenants(); n > 16 {
		t.Errorf("Tenants() = %d, want at most MaxTenants (16)", n)
	}
}

// TestFirstAttemptsRefillTheRetryCeiling: each first attempt adds to the
// global ceiling, so that with RetryRatio 1 a retry per call goes on past
// the reserve of 20 for as long as calls come.
func TestFirstAttemptsRefillTheRetryCeiling(t *testing.T) {
	var mu sync.Mutex
	seen := map[string]bool{}
	srv := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		first := !seen[r.Header.Get("X-Tenant")]
		seen[r.Header.Get("X-Tenant")] = true
		mu.Unlock()
		if first {
			statusHandler(503)(w, r)
			return
		}
		okHandler(w, r)
	})
	c := newTestClient(t, Config{
		BaseURL: srv.URL, RetryBackoff: time.Microsecond, MaxRetryBackoff: time.Microsecond, RetryRatio: 1,
		Breaker: resilience.BreakerSettings{FailureRatio: -1},
	})
	for i := range 60 { // each answered after one retry, three times the reserve
		if _, err := c.GetReseller(testContext(t), tenantCall(fmt.Sprintf("t%d.example", i)), "r1"); err != nil {
			t.Fatalf("call %d: error = %v, want the retry's answer", i, err)
		}
	}
}

// TestSlowTenantLeavesOthersFast: 80 slow calls of one tenant take at most
// its share of the upstream slots; another tenant's calls are served at
// once, and the slow tenant's excess is refused for its own limit.
func TestSlowTenantLeavesOthersFast(t *testing.T) {
	synctest.Test(t, testSlowTenantLeavesOthersFast)
}

func testSlowTenantLeavesOthersFast(t *testing.T) {
	release := make(chan struct{})
	var slowArrived atomic.Int32
	u := &tenantUpstream{counts: make(map[string]int), handlers: map[string]http.HandlerFunc{"slow.example": func(w http.ResponseWriter, r *http.Request) {
		slowArrived.Add(1)
		select {
		case <-release:
		case <-r.Context().Done():
			return
		}
		okHandler(w, r)
	}}}
	var mu sync.Mutex
	reasons := map[string]int{}
	c := newTestClient(t, Config{
		BaseURL: memBaseURL, Transport: inMemory(u.serve), MaxConcurrent: 64, QueueTimeout: 100 * time.Millisecond, DisableCoalescing: true,
		OnRejected: func(_, reason string) { mu.Lock(); reasons[reason]++; mu.Unlock() },
	})
	ctx := testContext(t)
	var wg sync.WaitGroup
	for i := range 80 {
		wg.Go(func() { _, _ = c.GetReseller(ctx, tenantCall("slow.example"), "r"+strconv.Itoa(i)) })
	}
	synctest.Wait() // the slow tenant holds its share; its excess is queued
	if n := slowArrived.Load(); n < 32 {
		t.Fatalf("the slow tenant holds %d slots, want its share (32)", n)
	}
	for i := range 40 {
		if _, err := c.GetReseller(ctx, tenantCall("fast.example"), "r"+strconv.Itoa(i)); err != nil {
			t.Fatalf("fast tenant call %d while the slow tenant holds its slots: %v", i, err)
		}
	}
	// The slow tenant's excess waited its queue time and was refused for
	// its own limit; the fast tenant was never refused.
	<-time.After(200 * time.Millisecond) // at once in the bubble
	close(release)
	wg.Wait()
	mu.Lock()
	defer mu.Unlock()
	if reasons[RejectTenantConcurrencyLimit] == 0 || reasons[RejectConcurrencyLimit] != 0 {
		t.Errorf("rejections = %v, want only tenant_concurrency_limit ones", reasons)
	}
}

// TestDrippingBodyIsCutByTheAttemptTimeout: an answer whose body arrives a
// byte at a time and then stalls is cut by the attempt timeout (not the
// caller's much later deadline) and gives its request slot back.
func TestDrippingBodyIsCutByTheAttemptTimeout(t *testing.T) {
	var drip atomic.Bool
	drip.Store(true)
	srv := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if !drip.Load() {
			okHandler(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(okBody)))
		w.WriteHeader(http.StatusOK)
		for i := range len(okBody) - 1 {
			_, _ = io.WriteString(w, okBody[i:i+1])
			w.(http.Flusher).Flush()
			select {
			case <-r.Context().Done():
				return
			case <-time.After(20 * time.Millisecond):
			}
		}
		<-r.Context().Done()
	})
	c := newTestClient(t, Config{BaseURL: srv.URL, MaxAttempts: 1, MaxConcurrent: 1, AttemptTimeout: 100 * time.Millisecond})
	ctx, cancel := context.WithTimeout(testContext(t), 8*time.Second)
	defer cancel()
	_, err := c.GetReseller(ctx, tenantCall("a.example"), "r1")
	if kindOf(err) != KindTimeout {
		t.Fatalf("error = %v, want KindTimeout", err)
	}
	if ctx.Err() != nil {
		t.Fatal("the caller's deadline ended the call, want the attempt timeout")
	}
	drip.Store(false)
	if _, err := c.GetReseller(ctx, tenantCall("a.example"), "r1"); err != nil {
		t.Fatalf("next call on the only slot: %v", err)
	}
}

// TestInventedTenantsLeaveALateTenantServed: 2,000 tenant names made up on
// the fly (more than MaxTenants), each answered 503, neither take a real
// tenant's state nor refuse a tenant that arrives afterwards, and they do
// not multiply the upstream's load: retries stay within the global ceiling.
func TestInventedTenantsLeaveALateTenantServed(t *testing.T) {
	var requests atomic.Int32
	srv := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if strings.HasPrefix(r.Header.Get("X-Tenant"), "invented-") {
			statusHandler(503)(w, r)
			return
		}
		okHandler(w, r)
	})
	c := newTestClient(t, Config{BaseURL: srv.URL, RetryBackoff: time.Microsecond, MaxRetryBackoff: time.Microsecond})
	if _, err := c.GetReseller(testContext(t), tenantCall("known.example"), "r1"); err != nil {
		t.Fatal(err)
	}
	const invented, workers = 2000, 8
	var wg sync.WaitGroup
	for w := range workers {
		wg.Go(func() {
			for i := w; i < invented; i += workers {
				for range 2 {
					_, _ = c.GetReseller(testContext(t), tenantCall(fmt.Sprint("invented-", i, ".example")), "r1")
				}
			}
		})
	}
	wg.Wait()
	t.Logf("upstream requests for %d invented calls: %d", 2*invented, requests.Load()-1)
	if n, limit := int(requests.Load())-1, 2*invented+20+2*invented/10; n > limit {
		t.Errorf("upstream saw %d requests for %d invented calls, want at most %d", n, 2*invented, limit)
	}
	const calls = 200
	for _, tenant := range []string{"late.example", "known.example"} {
		ok := 0
		for range calls {
			if _, err := c.GetReseller(testContext(t), tenantCall(tenant), "r1"); err == nil {
				ok++
			}
		}
		t.Logf("%s after %d invented tenants failed: %d of %d calls succeeded", tenant, invented, ok, calls)
		if ok < calls*95/100 {
			t.Errorf("%s: %d of %d calls succeeded, want at least 95%%", tenant, ok, calls)
		}
	}
	if n := c.Tenants(); n > 2*resilience.DefaultMaxTenants {
		t.Errorf("Tenants() = %d, want at most twice MaxTenants", n)
	}
}

// TestCallerIdentityNeverSharesATenantsSlots: a caller's identity and a tenant
// name are different keys of the request-slot shares even when their texts are
// equal, so that a certificate named like a tenant cannot take (or be refused
// for) that tenant's share.
func TestCallerIdentityNeverSharesATenantsSlots(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{MaxConcurrent: 2, TenantMaxConcurrent: 1, QueueTimeout: -1, DisableCoalescing: true}, step{hold: true})
		errs := make(chan error, 2)
		for _, ci := range []CallInfo{{Tenant: "x.example"}, {Tenant: "y.example", Caller: "x.example"}} {
			go func() {
				_, err := c.GetReseller(testContext(t), ci, "r1")
				errs <- err
			}()
		}
		synctest.Wait()
		sent := u.requests()
		u.release()
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("GetReseller() = %v", err)
			}
		}
		if sent != 2 {
			t.Errorf("%d of 2 calls sent at once, want both: tenant x.example and caller x.example have shares of their own", sent)
		}
	})
}

// TestStalledTenantKeepsItsShareWhoeverCallsForIt: with caller identities
// (mutual TLS), a tenant whose upstream partition stalls still holds at most
// its tenant's share of the slots, however many certificates call for it and
// however they spell its name: two certificates' calls for x.example leave a
// slot for y.example.
func TestStalledTenantKeepsItsShareWhoeverCallsForIt(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{MaxConcurrent: 4, TenantMaxConcurrent: 2, QueueTimeout: -1, DisableCoalescing: true}, step{hold: true})
		var wg sync.WaitGroup
		for i := range 4 {
			ci := CallInfo{Tenant: []string{"x.example", "X.Example"}[i%2], Authorization: testToken, Caller: fmt.Sprint("spiffe://cert-", i%2)}
			wg.Go(func() { _, _ = c.GetReseller(testContext(t), ci, fmt.Sprint("r", i)) })
		}
		synctest.Wait()
		stalled := u.requests()
		var errY error
		wg.Go(func() {
			_, errY = c.GetReseller(testContext(t), CallInfo{Tenant: "y.example", Authorization: testToken, Caller: "spiffe://cert-2"}, "r1")
		})
		synctest.Wait()
		u.release()
		wg.Wait()
		if stalled != 2 || errY != nil {
			t.Errorf("x.example through 2 certificates had %d requests in flight, y.example got %v; want x's share (2) and y served", stalled, errY)
		}
	})
}

// TestTenantNameCaseMakesNoNewTenant: a tenant is a domain name, whose case
// means nothing (RFC 4343), so the spellings of one name have one state. An
// upstream that answers them all with a success would otherwise prove each
// spelling a tenant of its own: one caller's token could fill the proven set
// with made-up spellings and keep a real tenant from being proven.
func TestTenantNameCaseMakesNoNewTenant(t *testing.T) {
	c := newTestClient(t, Config{BaseURL: newUpstream(t, okHandler).URL, MaxTenants: 2})
	for _, tenant := range []string{"t.example", "T.example", "t.EXAMPLE", "T.Example", "late.example"} {
		if _, err := c.GetReseller(testContext(t), tenantCall(tenant), "r1"); err != nil {
			t.Fatal(err)
		}
	}
	if n, states := c.Tenants(), c.BreakerStates(); n != 2 || states[resilience.BreakerClosed] != 2 {
		t.Errorf("after 4 spellings of t.example and late.example: %d tenants, %d proven; want 2 and 2", n, states[resilience.BreakerClosed])
	}
}

// TestCertificateCannotFillATenantsShareByItsName: with caller identities
// (mutual TLS), a certificate sending another tenant's name with a token of
// its own holds its share of slots, not that tenant's: x.example's caller,
// with x.example's token, is still served while it does.
func TestCertificateCannotFillATenantsShareByItsName(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{MaxConcurrent: 8, TenantMaxConcurrent: 2, QueueTimeout: -1, DisableCoalescing: true}, step{hold: true})
		var wg sync.WaitGroup
		for i := range 2 {
			ci := CallInfo{Tenant: "x.example", Authorization: "Bearer made-up", Caller: "spiffe://hostile"}
			wg.Go(func() { _, _ = c.GetReseller(testContext(t), ci, fmt.Sprint("r", i)) })
		}
		synctest.Wait()
		var err error
		wg.Go(func() {
			_, err = c.GetReseller(testContext(t), CallInfo{Tenant: "x.example", Authorization: testToken, Caller: "spiffe://x-service"}, "r1")
		})
		synctest.Wait()
		sent := u.requests()
		u.release()
		wg.Wait()
		if sent != 3 || err != nil {
			t.Errorf("x.example's own caller: %v, with %d requests sent; want it sent beside the other certificate's 2", err, sent)
		}
	})
}
