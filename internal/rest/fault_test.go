package rest

import (
	"context"
	"errors"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

// step is what the fault upstream does with one request.
type step struct {
	status      int    // 0: 200
	contentType string // default application/json
	body        string // default: a small reseller
	retryAfter  string // Retry-After header, when not empty
	delay       time.Duration
	hang        bool // answer only when the request ends
	drop        bool // close the connection without answering (RST)
	resetBody   bool // 200 headers and half the body, then RST
	endless     bool // a body (status, default 200) that never ends, trickling in 4 KiB a millisecond
	echo        bool // a reseller whose companyName and city echo Authorization and X-Tenant
	hold        bool // wait for release() before answering
}

const okBody = `{"id":"r1","companyName":"Contoso"}`

var (
	stepOK   = step{}
	stepHang = step{hang: true}
	stepDrop = step{drop: true}
)

func stepStatus(code int) step { return step{status: code, contentType: "text/plain", body: "x"} }

// faultUpstream is an httptest upstream that follows a script: request n
// gets script[n-1], and the last step repeats.
type faultUpstream struct {
	srv *httptest.Server

	mu       sync.Mutex
	script   []step
	headers  []http.Header
	released chan struct{}
	stop     chan struct{}

	count     atomic.Int32
	cancelled atomic.Int32 // requests whose context ended before an answer
	arrived   chan struct{}
}

func newFaultUpstream(t *testing.T, script ...step) *faultUpstream {
	t.Helper()
	u := &faultUpstream{script: script, released: make(chan struct{}), stop: make(chan struct{}), arrived: make(chan struct{}, 1000)}
	u.srv = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.srv.Close)
	t.Cleanup(func() { close(u.stop) }) // runs before srv.Close
	return u
}

// newMemClient returns a fault upstream that answers in memory and a
// client of it, for tests in a synctest bubble: a socket does not block
// durably in one. The steps that need a connection (drop, resetBody,
// endless) are not for it.
func newMemClient(t *testing.T, cfg Config, script ...step) (*faultUpstream, *Client) {
	t.Helper()
	u := &faultUpstream{script: script, released: make(chan struct{}), stop: make(chan struct{}), arrived: make(chan struct{}, 1000)}
	t.Cleanup(func() { close(u.stop) })
	cfg.BaseURL, cfg.Transport = memBaseURL, inMemory(u.serve)
	return u, newTestClient(t, cfg)
}

// newPipeClient returns a fault upstream served by an http.Server on
// in-memory connections (net.Pipe) that the service's transport dials, and a
// client of it, for tests in a synctest bubble that need the real transport:
// an endless body, cut mid-way when the attempt's context ends, rather than
// an answer recorded whole. The steps that reset a TCP connection (drop,
// resetBody) are not for it: a pipe only closes.
func newPipeClient(t *testing.T, cfg Config, script ...step) (*faultUpstream, *Client) {
	t.Helper()
	u := &faultUpstream{script: script, released: make(chan struct{}), stop: make(chan struct{}), arrived: make(chan struct{}, 1000)}
	l := &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
	srv := &http.Server{Handler: http.HandlerFunc(u.serve), ReadHeaderTimeout: 10 * time.Second}
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(l)
	}()
	t.Cleanup(func() {
		_ = srv.Close()
		<-served
	})
	t.Cleanup(func() { close(u.stop) }) // runs before srv.Close
	tr := NewTransport(TransportConfig{})
	tr.DialContext = l.dial
	pools := NewPools(tr, 0)
	t.Cleanup(pools.CloseIdleConnections)
	cfg.BaseURL, cfg.Transport = memBaseURL, pools
	return u, newTestClient(t, cfg)
}

// pipeListener hands the server ends of the pipes its dial makes to
// http.Server.Serve.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func (l *pipeListener) dial(ctx context.Context, _, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
		return nil, net.ErrClosed
	case <-ctx.Done():
		return nil, ctx.Err()
	}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return pipeAddr{} }

type pipeAddr struct{}

func (pipeAddr) Network() string { return "pipe" }
func (pipeAddr) String() string  { return "pipe" }

// URL returns the upstream's base URL.
func (u *faultUpstream) URL() string {
	if u.srv == nil {
		return memBaseURL
	}
	return u.srv.URL
}

// requests returns how many requests the upstream received.
func (u *faultUpstream) requests() int { return int(u.count.Load()) }

// setScript replaces the script; the request count goes on.
func (u *faultUpstream) setScript(script ...step) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.script = script
	u.count.Store(0)
}

// release lets every held request, present and future, answer.
func (u *faultUpstream) release() {
	u.mu.Lock()
	defer u.mu.Unlock()
	select {
	case <-u.released:
	default:
		close(u.released)
	}
}

func (u *faultUpstream) header(i int) http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	return u.headers[i]
}

func (u *faultUpstream) serve(w http.ResponseWriter, r *http.Request) {
	n := int(u.count.Add(1))
	u.mu.Lock()
	st := u.script[min(n, len(u.script))-1]
	u.headers = append(u.headers, r.Header.Clone())
	released := u.released
	u.mu.Unlock()
	u.arrived <- struct{}{}

	wait := func(c <-chan time.Time, ch <-chan struct{}) bool {
		select {
		case <-c:
		case <-ch:
		case <-r.Context().Done():
			u.cancelled.Add(1)
			return false
		case <-u.stop:
			return false
		}
		return true
	}
	if st.delay > 0 && !wait(time.After(st.delay), nil) {
		return
	}
	if st.hold && !wait(nil, released) {
		return
	}
	body := st.body
	if body == "" {
		body = okBody
	}
	ctype := st.contentType
	if ctype == "" {
		ctype = "application/json"
	}
	if st.echo {
		body = `{"id":"r1","companyName":"` + r.Header.Get("Authorization") + `","city":"` + r.Header.Get("X-Tenant") + `"}`
	}
	switch {
	case st.hang:
		wait(nil, nil)
	case st.drop:
		resetConn(w, "")
	case st.resetBody:
		resetConn(w, "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: "+strconv.Itoa(len(body)+1000)+"\r\n\r\n"+body[:len(body)/2])
	case st.endless:
		w.Header().Set("Content-Type", ctype)
		w.WriteHeader(cmpOr(st.status, http.StatusOK))
		chunk := []byte(strings.Repeat(" ", 4096))
		for {
			if _, err := w.Write(chunk); err != nil {
				return
			}
			select {
			case <-r.Context().Done():
				return
			case <-u.stop:
				return
			case <-time.After(time.Millisecond):
			}
		}
	default:
		w.Header().Set("Content-Type", ctype)
		if st.retryAfter != "" {
			w.Header().Set("Retry-After", st.retryAfter)
		}
		w.WriteHeader(cmpOr(st.status, http.StatusOK))
		_, _ = w.Write([]byte(body)) //nolint:gosec // G705: a test upstream echoing test headers
	}
}

// resetConn writes raw (if any) on the hijacked connection and resets it.
func resetConn(w http.ResponseWriter, raw string) {
	conn, buf, err := w.(http.Hijacker).Hijack()
	if err != nil {
		panic(err)
	}
	if raw != "" {
		_, _ = buf.WriteString(raw)
		_ = buf.Flush()
		time.Sleep(10 * time.Millisecond) // a slow peer: it stalls mid-body (the client reads the headers), then resets
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0) // RST instead of FIN
	}
	_ = conn.Close()
}

func cmpOr(v, def int) int {
	if v == 0 {
		return def
	}
	return v
}

// fastRetries makes back-off short so that tests are quick.
func fastRetries(cfg Config) Config {
	if cfg.RetryBackoff == 0 {
		cfg.RetryBackoff = time.Millisecond
	}
	if cfg.MaxRetryBackoff == 0 {
		cfg.MaxRetryBackoff = 5 * time.Millisecond
	}
	return cfg
}

// slack absorbs scheduling noise in deadline checks; it is generous on
// purpose: the checks say a deadline held, not how fast anything is.
const slack = 750 * time.Millisecond

func TestFaults(t *testing.T) {
	type want struct {
		ok           bool
		status       int   // *Error with this status
		is           error // errors.Is target
		kind         Kind  // the error's kind, when no other field says more
		transport    bool  // a transport error: KindUnreachable, no context error
		attempts     int   // upstream requests (and attemptCount(err) on error)
		minElapsed   time.Duration
		maxElapsed   time.Duration // 0: no bound
		retryAfterGE time.Duration // on *Error
	}
	retryDate := func(d time.Duration) string { return time.Now().Add(d).UTC().Format(http.TimeFormat) }
	tests := []struct {
		name     string
		script   []step
		cfg      Config
		deadline time.Duration // 0: the test context (10s)
		fake     bool          // in a synctest bubble, on the in-memory upstream: its waits take no time
		pipe     bool          // in a synctest bubble, on the service's transport to an upstream on net.Pipe
		want     want
	}{
		{name: "success", script: []step{stepOK}, want: want{ok: true, attempts: 1}},
		{name: "503 then success", script: []step{stepStatus(503), stepOK}, want: want{ok: true, attempts: 2}},
		{name: "502 twice then success", script: []step{stepStatus(502), stepStatus(502), stepOK}, want: want{ok: true, attempts: 3}},
		{name: "429 then success", script: []step{stepStatus(429), stepOK}, want: want{ok: true, attempts: 2}},
		{name: "504 always", script: []step{stepStatus(504)}, want: want{status: 504, attempts: 3}},
		{name: "503 with Retry-After in the past is retried at once", script: []step{{status: 503, retryAfter: retryDate(-time.Hour)}, stepOK}, want: want{ok: true, attempts: 2}},
		{
			name:   "429 with Retry-After 1 is honoured",
			script: []step{{status: 429, retryAfter: "1"}, stepOK},
			fake:   true,
			want:   want{ok: true, attempts: 2, minElapsed: 900 * time.Millisecond},
		},
		{
			name:     "429 with Retry-After beyond the deadline is not retried",
			script:   []step{{status: 429, retryAfter: "30"}, stepOK},
			deadline: 2 * time.Second,
			want:     want{status: 429, attempts: 1, retryAfterGE: 30 * time.Second},
		},
		{
			name:     "503 with a Retry-After date beyond the deadline is not retried",
			script:   []step{{status: 503, retryAfter: retryDate(time.Hour)}, stepOK},
			deadline: 2 * time.Second,
			want:     want{status: 503, attempts: 1, retryAfterGE: 58 * time.Minute},
		},
		{
			name:     "back-off beyond the deadline is not waited for",
			script:   []step{stepStatus(503), stepOK},
			cfg:      Config{RetryBackoff: time.Hour, MaxRetryBackoff: time.Hour},
			deadline: 300 * time.Millisecond,
			fake:     true,
			// full jitter may draw a tiny wait: then the retry happens.
		},
		{name: "500 is not retried", script: []step{stepStatus(500), stepOK}, want: want{status: 500, attempts: 1}},
		{name: "501 is not retried", script: []step{stepStatus(501), stepOK}, want: want{status: 501, attempts: 1}},
		{name: "400 is not retried", script: []step{stepStatus(400), stepOK}, want: want{status: 400, attempts: 1}},
		{name: "401 is not retried", script: []step{stepStatus(401), stepOK}, want: want{status: 401, attempts: 1}},
		{name: "404 is not retried", script: []step{stepStatus(404), stepOK}, want: want{status: 404, attempts: 1}},
		{name: "409 is not retried", script: []step{stepStatus(409), stepOK}, want: want{status: 409, attempts: 1}},
		{name: "HTML 502 from a proxy is retried", script: []step{{status: 502, contentType: "text/html", body: "<html>bad gateway</html>"}, stepOK}, want: want{ok: true, attempts: 2}},
		{name: "dropped connection then success", script: []step{stepDrop, stepOK}, want: want{ok: true, attempts: 2}},
		{name: "dropped connection always", script: []step{stepDrop}, want: want{transport: true, attempts: 3}},
		{name: "reset mid-body then success", script: []step{{resetBody: true}, stepOK}, want: want{ok: true, attempts: 2}},
		{name: "reset mid-body always", script: []step{{resetBody: true}}, want: want{transport: true, attempts: 3}},
		{name: "HTML 200 is not retried", script: []step{{contentType: "text/html", body: "<html>maintenance</html>"}, stepOK}, want: want{kind: KindUndecodable, attempts: 1}},
		{name: "truncated JSON 200 is not retried", script: []step{{body: `{"id":"r1","compa`}, stepOK}, want: want{kind: KindUndecodable, attempts: 1}},
		{name: "endless body", script: []step{{endless: true}}, cfg: Config{MaxBodyBytes: 64 << 10}, want: want{kind: KindTooLarge, attempts: 1}},
		{
			// read to the limit, drained 64 KiB more at most, then closed: the slot is not held to the attempt timeout
			name:   "endless error body",
			script: []step{{status: 400, endless: true}},
			cfg:    Config{MaxBodyBytes: 16 << 10, AttemptTimeout: 5 * time.Second},
			want:   want{status: 400, attempts: 1, maxElapsed: 2 * time.Second}, // about 20 ms of trickle
		},
		{
			name:   "slow headers past the attempt timeout, then success",
			script: []step{{delay: 5 * time.Second}, stepOK},
			cfg:    Config{AttemptTimeout: 200 * time.Millisecond},
			fake:   true,
			want:   want{ok: true, attempts: 2, minElapsed: 150 * time.Millisecond},
		},
		{
			name:   "hang past every attempt timeout",
			script: []step{stepHang},
			cfg:    Config{AttemptTimeout: 100 * time.Millisecond},
			fake:   true,
			want:   want{kind: KindTimeout, attempts: 3, minElapsed: 250 * time.Millisecond},
		},
		{
			name:     "hang past the caller's deadline",
			script:   []step{stepHang},
			deadline: 300 * time.Millisecond,
			fake:     true,
			want:     want{is: context.DeadlineExceeded, attempts: 1, minElapsed: 250 * time.Millisecond},
		},
		{
			name:   "a dripping body is cut by the attempt timeout",
			script: []step{{endless: true}},
			// the endless body trickles in 4 KiB writes; a huge cap keeps it going.
			// On a socket, a loaded machine could spend an attempt's 50 ms before
			// the request reached the upstream: in the bubble each one does.
			cfg:      Config{MaxBodyBytes: 1 << 40, AttemptTimeout: 50 * time.Millisecond},
			deadline: 2 * time.Second,
			pipe:     true,
			want:     want{kind: KindTimeout, attempts: 3},
		},
	}
	for _, tt := range tests {
		run := func(t *testing.T) {
			var u *faultUpstream
			var c *Client
			switch {
			case tt.fake:
				u, c = newMemClient(t, fastRetries(tt.cfg), tt.script...)
			case tt.pipe:
				u, c = newPipeClient(t, fastRetries(tt.cfg), tt.script...)
			default:
				u = newFaultUpstream(t, tt.script...)
				cfg := fastRetries(tt.cfg)
				cfg.BaseURL = u.URL()
				c = newTestClient(t, cfg)
			}
			ctx := testContext(t)
			budget := 10 * time.Second
			if tt.deadline > 0 {
				var cancel context.CancelFunc
				ctx, cancel = context.WithTimeout(ctx, tt.deadline)
				defer cancel()
				budget = tt.deadline
			}

			start := time.Now()
			got, err := c.GetReseller(ctx, testCallInfo, "r1")
			elapsed := time.Since(start)

			if elapsed > budget+slack {
				t.Errorf("call took %v, deadline %v", elapsed, budget)
			}
			if elapsed < tt.want.minElapsed || tt.want.maxElapsed > 0 && elapsed > tt.want.maxElapsed {
				t.Errorf("call took %v, want at least %v and at most %v", elapsed, tt.want.minElapsed, tt.want.maxElapsed)
			}
			w := tt.want
			if w == (want{}) { // outcome left to chance: only the deadline matters
				if err == nil && u.requests() != 2 || err != nil && u.requests() != 1 {
					t.Errorf("got %v after %d requests", err, u.requests())
				}
				return
			}
			if n := u.requests(); n != w.attempts {
				t.Errorf("upstream saw %d requests, want %d", n, w.attempts)
			}
			if w.ok {
				if err != nil || got == nil || got.ID == nil || *got.ID != "r1" {
					t.Fatalf("GetReseller() = %+v, %v; want reseller r1", got, err)
				}
				return
			}
			if err == nil || got != nil {
				t.Fatalf("GetReseller() = %+v, %v; want an error", got, err)
			}
			if n := attemptCount(err); n != w.attempts {
				t.Errorf("Attempts(%v) = %d, want %d", err, n, w.attempts)
			}
			if strings.Contains(err.Error(), "secret-payload") {
				t.Errorf("error %q leaks the token", err)
			}
			var ue *Error
			errors.As(err, &ue)
			switch {
			case w.status != 0:
				if ue.Kind != KindAnswered || ue.StatusCode != w.status {
					t.Fatalf("error = %v, want *Error %d", err, w.status)
				}
				if w.retryAfterGE > 0 && (!ue.HasRetryAfter || ue.RetryAfter < w.retryAfterGE) {
					t.Errorf("RetryAfter = %v (%v), want ≥ %v", ue.RetryAfter, ue.HasRetryAfter, w.retryAfterGE)
				}
			case w.is != nil:
				if !errors.Is(err, w.is) {
					t.Fatalf("error = %v, want errors.Is %v", err, w.is)
				}
			case w.kind != KindNone:
				if k := kindOf(err); k != w.kind {
					t.Fatalf("error = %v (%v), want %v", err, k, w.kind)
				}
			case w.transport:
				if k := kindOf(err); k != KindUnreachable || errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
					t.Fatalf("error = %v (%v), want a transport error", err, k)
				}
			}
		}
		t.Run(tt.name, func(t *testing.T) {
			if tt.fake || tt.pipe {
				synctest.Test(t, run)
			} else {
				run(t)
			}
		})
	}
}

func TestNoDeadlineUsesTimeout(t *testing.T) {
	synctest.Test(t, testNoDeadlineUsesTimeout)
}

func testNoDeadlineUsesTimeout(t *testing.T) {
	_, c := newMemClient(t, Config{Timeout: 300 * time.Millisecond}, stepHang)
	start := time.Now()
	_, err := c.GetReseller(context.Background(), testCallInfo, "r1")
	if !errors.Is(err, context.DeadlineExceeded) || kindOf(err) != KindTimeout {
		t.Fatalf("GetReseller() error = %v (%v), want DeadlineExceeded, KindTimeout: the upstream did not answer in time", err, kindOf(err))
	}
	if elapsed := time.Since(start); elapsed > 300*time.Millisecond+slack {
		t.Errorf("call took %v, want about 300ms", elapsed)
	}
}

func TestRetryBudget(t *testing.T) {
	u := newFaultUpstream(t, stepStatus(503))
	c := newTestClient(t, fastRetries(Config{BaseURL: u.URL(), Breaker: resilience.BreakerSettings{FailureRatio: -1}}))

	attempts := func() int {
		t.Helper()
		before := u.requests()
		if _, err := c.GetReseller(testContext(t), testCallInfo, "r1"); err == nil {
			t.Fatal("GetReseller() succeeded, want an error")
		}
		return u.requests() - before
	}
	// 10 tokens: 3 attempts (7 left), 2 attempts (5 left: no more retries),
	// then one attempt per call.
	var got []int
	for range 6 {
		got = append(got, attempts())
	}
	want := []int{3, 2, 1, 1, 1, 1}
	if !slicesEqual(got, want) {
		t.Fatalf("attempts per call = %v, want %v", got, want)
	}

	// 1 token is left; 60 successes bring it to 7, so the next failing call
	// may retry once (7 → 6 → 5).
	u.setScript(stepOK)
	for range 60 {
		if _, err := c.GetReseller(testContext(t), testCallInfo, "r1"); err != nil {
			t.Fatal(err)
		}
	}
	u.setScript(stepStatus(503))
	if n := attempts(); n != 2 {
		t.Errorf("attempts after recovery = %d, want 2", n)
	}
}

func slicesEqual(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

// waitWaiters waits until every goroutine of the synctest bubble is
// blocked and checks that the in-flight reseller call has n waiters.
func waitWaiters(t *testing.T, c *Client, n int) {
	t.Helper()
	synctest.Wait()
	if got := c.resellers.Waiting(); got != n {
		t.Fatalf("in-flight calls have %d waiters, want %d", got, n)
	}
}

func TestCoalescing(t *testing.T) {
	synctest.Test(t, testCoalescing)
}

func testCoalescing(t *testing.T) {
	u, c := newMemClient(t, Config{}, step{hold: true})

	const callers = 50
	results := make([]*Reseller, callers)
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		ci := testCallInfo
		ci.CorrelationID = "corr-" + strconv.Itoa(i)
		wg.Go(func() { results[i], errs[i] = c.GetReseller(testContext(t), ci, "r1") })
		if i == 0 {
			<-u.arrived // the first caller leads
		}
	}
	waitWaiters(t, c, callers)
	u.release()
	wg.Wait()

	if n := u.requests(); n != 1 {
		t.Fatalf("upstream saw %d requests for %d identical calls, want 1", n, callers)
	}
	if got := u.header(0).Get("X-Correlation-Id"); got != "corr-0" {
		t.Errorf("upstream X-Correlation-Id = %q, want the leader's corr-0", got)
	}
	// The callers of one shared request share its result (read-only), as
	// with singleflight.
	for i := range callers {
		if errs[i] != nil || results[i] == nil || *results[i].CompanyName != "Contoso" {
			t.Fatalf("caller %d: %+v, %v", i, results[i], errs[i])
		}
		if results[i] != results[0] {
			t.Fatalf("caller %d got a *Reseller of its own, want the shared one", i)
		}
	}
	if n := c.resellers.Waiting(); n != 0 {
		t.Errorf("%d callers still waiting", n)
	}
}

func TestCoalescingNeverMixesCredentials(t *testing.T) {
	// The upstream echoes each request's credentials and tenant, so that a
	// mix-up would show; the delay lets identical calls pile up.
	u := newFaultUpstream(t, step{echo: true, delay: 50 * time.Millisecond})
	c := newTestClient(t, Config{BaseURL: u.URL()})

	infos := []CallInfo{
		{Tenant: "a.example", Authorization: "Bearer token-a"},
		{Tenant: "a.example", Authorization: "Bearer token-b"},
		{Tenant: "b.example", Authorization: "Bearer token-a"},
	}
	const perInfo = 10
	var wg sync.WaitGroup
	var mixed atomic.Int32
	for _, ci := range infos {
		for range perInfo {
			wg.Go(func() {
				r, err := c.GetReseller(testContext(t), ci, "r1")
				if err != nil || *r.CompanyName != ci.Authorization || *r.City != ci.Tenant {
					mixed.Add(1)
				}
			})
		}
	}
	wg.Wait()
	if n := mixed.Load(); n != 0 {
		t.Fatalf("%d calls got another caller's result", n)
	}
	if n := u.requests(); n < len(infos) || n > len(infos)*perInfo {
		t.Errorf("upstream saw %d requests, want between %d and %d", n, len(infos), len(infos)*perInfo)
	}
}

func TestCoalescingSharesErrors(t *testing.T) {
	synctest.Test(t, testCoalescingSharesErrors)
}

func testCoalescingSharesErrors(t *testing.T) {
	u, c := newMemClient(t, Config{}, step{hold: true, status: 404, body: `{"statusCode":404,"description":"Reseller not found."}`})
	const callers = 10
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() { _, errs[i] = c.GetReseller(testContext(t), testCallInfo, "r1") })
	}
	waitWaiters(t, c, callers)
	u.release()
	wg.Wait()
	for i, err := range errs {
		var ue *Error
		if !errors.As(err, &ue) || ue.StatusCode != 404 || ue.Envelope == nil {
			t.Fatalf("caller %d: error = %v, want *Error 404 with envelope", i, err)
		}
	}
	if n := u.requests(); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

func TestCoalescingCancelledLeaderDoesNotCancelOthers(t *testing.T) {
	synctest.Test(t, testCoalescingCancelledLeaderDoesNotCancelOthers)
}

func testCoalescingCancelledLeaderDoesNotCancelOthers(t *testing.T) {
	u, c := newMemClient(t, Config{}, step{hold: true})

	leaderCtx, cancelLeader := context.WithCancel(testContext(t))
	leaderErr := make(chan error, 1)
	go func() {
		_, err := c.GetReseller(leaderCtx, testCallInfo, "r1")
		leaderErr <- err
	}()
	<-u.arrived
	otherDone := make(chan error, 1)
	go func() {
		r, err := c.GetReseller(testContext(t), testCallInfo, "r1")
		if err == nil && r.ID == nil {
			err = errors.New("empty reseller")
		}
		otherDone <- err
	}()
	waitWaiters(t, c, 2)

	// The leader leaves; the shared request goes on for the other waiter.
	// (The leader performs the request on its own goroutine, so it returns
	// when the request ends; its caller has had its answer already.)
	cancelLeader()
	waitWaiters(t, c, 1)
	u.release()
	if err := <-otherDone; err != nil {
		t.Fatalf("other waiter: error = %v, want success", err)
	}
	if err := <-leaderErr; !errors.Is(err, context.Canceled) {
		t.Fatalf("leader error = %v, want Canceled", err)
	}
	if n, cancelled := u.requests(), u.cancelled.Load(); n != 1 || cancelled != 0 {
		t.Errorf("upstream saw %d requests, %d cancelled; want 1, 0", n, cancelled)
	}
}

func TestCoalescingCancelledFollowerReturnsAtOnce(t *testing.T) {
	synctest.Test(t, testCoalescingCancelledFollowerReturnsAtOnce)
}

func testCoalescingCancelledFollowerReturnsAtOnce(t *testing.T) {
	u, c := newMemClient(t, Config{}, step{hold: true})

	leaderDone := make(chan error, 1)
	go func() {
		_, err := c.GetReseller(testContext(t), testCallInfo, "r1")
		leaderDone <- err
	}()
	<-u.arrived
	followerCtx, cancelFollower := context.WithCancel(testContext(t))
	followerErr := make(chan error, 1)
	go func() {
		_, err := c.GetReseller(followerCtx, testCallInfo, "r1")
		followerErr <- err
	}()
	waitWaiters(t, c, 2)

	cancelFollower()
	select {
	case err := <-followerErr:
		if !errors.Is(err, context.Canceled) {
			t.Fatalf("follower error = %v, want Canceled", err)
		}
	case <-time.After(5 * time.Second):
		t.Fatal("the cancelled follower did not return while the request was held")
	}
	u.release()
	if err := <-leaderDone; err != nil {
		t.Fatalf("leader: error = %v, want success", err)
	}
	if n, cancelled := u.requests(), u.cancelled.Load(); n != 1 || cancelled != 0 {
		t.Errorf("upstream saw %d requests, %d cancelled; want 1, 0", n, cancelled)
	}
}

func TestCoalescingAllWaitersGoneCancelsUpstream(t *testing.T) {
	synctest.Test(t, testCoalescingAllWaitersGoneCancelsUpstream)
}

func testCoalescingAllWaitersGoneCancelsUpstream(t *testing.T) {
	u, c := newMemClient(t, Config{}, stepHang)

	ctx, cancel := context.WithCancel(testContext(t))
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() { _, _ = c.GetReseller(ctx, testCallInfo, "r1") })
	}
	<-u.arrived
	waitWaiters(t, c, 3)
	cancel()
	wg.Wait()

	synctest.Wait()
	if n := u.cancelled.Load(); n != 1 {
		t.Fatalf("upstream saw %d cancelled requests, want 1", n)
	}
	// A new identical call starts a new upstream request.
	u.setScript(stepOK)
	if _, err := c.GetReseller(testContext(t), testCallInfo, "r1"); err != nil {
		t.Fatalf("GetReseller() after cancellation: %v", err)
	}
}

// TestCoalescedRetryUsesTheLatestDeadline: a caller that joins a
// shared request keeps its own, later deadline for the retry decision
// (docs/resilience.md, Coalescing). The first attempt's 503 comes after the
// first caller's deadline passed; the joiner, with time left, must get the
// retry's answer, not the 503 that the first caller's deadline, read before
// the joiner came, refused to retry.
func TestCoalescedRetryUsesTheLatestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{}, step{hold: true, status: 503, contentType: "text/plain", body: "x"}, stepOK)

		leaderErr := goGetReseller(t, c, time.Second)
		<-u.arrived
		joinerErr := goGetReseller(t, c, 30*time.Second)
		waitWaiters(t, c, 2)

		<-time.After(2 * time.Second) // at once in the bubble: the first caller's deadline passes
		waitWaiters(t, c, 1)
		u.release() // the 503, with 28 s of the joiner's deadline left
		if err := <-joinerErr; err != nil {
			t.Errorf("joiner: error = %v after %d upstream requests; want the retry's answer", err, u.requests())
		}
		if err := <-leaderErr; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("first caller: error = %v, want DeadlineExceeded", err)
		}
	})
}

// TestCoalescedAttemptKeepsItsTimeout: the attempt timeout bounds each
// attempt of a shared request (docs/resilience.md, Timeouts), even when the
// first caller's deadline was nearer than it: the shared request runs on a
// context detached from the callers', so once that caller has left, a joiner
// with a later deadline must get a retry after the attempt timeout, not wait
// on a hung upstream until its own deadline.
func TestCoalescedAttemptKeepsItsTimeout(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{AttemptTimeout: 5 * time.Second}, stepHang, stepOK)

		leaderErr := goGetReseller(t, c, time.Second)
		<-u.arrived
		joinerCtx, cancelJoiner := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancelJoiner()
		start := time.Now()
		_, err := c.GetReseller(joinerCtx, testCallInfo, "r1")
		if err != nil || time.Since(start) > 10*time.Second {
			t.Errorf("joiner: error = %v after %v and %d upstream requests; want the retry's answer within the attempt timeout", err, time.Since(start), u.requests())
		}
		<-leaderErr
	})
}

// TestCoalescedQueueWaitUsesTheLatestDeadline: a shared request waiting for
// a request slot keeps waiting for a caller that joined with a later deadline
// once the first caller's has passed (docs/resilience.md, Coalescing): one
// caller's short deadline must not refuse the others' calls.
func TestCoalescedQueueWaitUsesTheLatestDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{MaxConcurrent: 1, TenantMaxConcurrent: -1, QueueTimeout: time.Second}, step{hold: true})
		held := make(chan error, 1)
		go func() { _, err := c.GetReseller(testContext(t), tenantCall("other.example"), "r1"); held <- err }()
		<-u.arrived // the only slot is taken
		leaderErr := goGetReseller(t, c, 50*time.Millisecond)
		synctest.Wait()                     // queued for the slot
		<-time.After(10 * time.Millisecond) // at once in the bubble
		joinerErr := goGetReseller(t, c, 30*time.Second)
		waitWaiters(t, c, 3)                 // with the call holding the slot
		<-time.After(300 * time.Millisecond) // the first caller's deadline has passed; the queue wait has not
		u.release()
		if err := <-joinerErr; err != nil {
			t.Errorf("joiner: error = %v; want the answer once the slot came free within the queue wait", err)
		}
		if err := <-leaderErr; !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("first caller: error = %v, want DeadlineExceeded", err)
		}
		if err := <-held; err != nil {
			t.Errorf("the call holding the slot: %v", err)
		}
	})
}

// TestCoalescingKeepsCertificatesApart: calls of two client certificates
// (mutual TLS) never share an upstream request, even with the same tenant and
// token: a shared request holds its first caller's share of the slots, so
// certificate B, joining A's call queued behind A's full share, was refused
// although its own share was free.
func TestCoalescingKeepsCertificatesApart(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{MaxConcurrent: 4, TenantMaxConcurrent: 1, QueueTimeout: time.Second}, step{hold: true})
		certA := CallInfo{Tenant: "t.example", Authorization: testToken, Caller: "spiffe://a"}
		certB := certA
		certB.Caller = "spiffe://b"
		errs := make(chan error, 3)
		held := certA
		held.Tenant = "held.example"
		go func() { _, err := c.GetReseller(testContext(t), held, "r1"); errs <- err }()
		<-u.arrived // A's share is full
		go func() { _, err := c.GetReseller(testContext(t), certA, "r1"); errs <- err }()
		synctest.Wait() // queued behind A's share
		var errB error
		done := make(chan struct{})
		go func() { _, errB = c.GetReseller(testContext(t), certB, "r1"); close(done) }()
		synctest.Wait()
		sent := u.requests()
		u.release()
		<-done
		for range 2 {
			if err := <-errs; err != nil {
				t.Errorf("certificate A: %v", err)
			}
		}
		if sent != 2 || errB != nil {
			t.Errorf("certificate B: %v, with %d requests sent while A's share was full; want its own request, sent at once", errB, sent)
		}
	})
}

// TestCoalescedCallersKeepTheirCorrelationIDs: the shared request carries
// the first caller's X-Correlation-Id, which the upstream's error envelope
// echoes; a caller that joined gets the envelope with its own id in its
// place, so that its status never names another caller's id.
func TestCoalescedCallersKeepTheirCorrelationIDs(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		release := make(chan struct{})
		c := newTestClient(t, Config{BaseURL: memBaseURL, MaxAttempts: 1, Transport: inMemory(func(w http.ResponseWriter, r *http.Request) {
			<-release
			w.Header().Set("Content-Type", "application/json")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = w.Write([]byte(`{"statusCode":503,"description":"unavailable","correlationId":"` + r.Header.Get("X-Correlation-Id") + `"}`))
		})})
		ids := []string{"first-caller", "joiner"}
		errs := make([]chan error, len(ids))
		for i, id := range ids {
			errs[i] = make(chan error, 1)
			ci := testCallInfo
			ci.CorrelationID = id
			go func() { _, err := c.GetReseller(testContext(t), ci, "r1"); errs[i] <- err }()
			synctest.Wait()
		}
		waitWaiters(t, c, 2)
		close(release)
		for i, id := range ids {
			var e *Error
			if err := <-errs[i]; !errors.As(err, &e) || e.Envelope == nil || e.Envelope.CorrelationID != id {
				t.Errorf("caller %s: error = %v with envelope %+v, want the envelope with its own correlation id", id, err, e.Envelope)
			}
		}
	})
}

// TestAttemptTimeoutUnderAFarDeadline: without coalescing the attempt runs
// on the caller's context; a deadline farther than the attempt timeout must
// not lift it: the hung attempt is cut after the attempt timeout and retried.
func TestAttemptTimeoutUnderAFarDeadline(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{AttemptTimeout: 5 * time.Second, DisableCoalescing: true}, stepHang, stepOK)
		ctx, cancel := context.WithTimeout(t.Context(), 60*time.Second)
		defer cancel()
		start := time.Now()
		_, err := c.GetReseller(ctx, testCallInfo, "r1")
		if err != nil || time.Since(start) > 10*time.Second {
			t.Errorf("error = %v after %v and %d upstream requests; want the retry's answer within the attempt timeout", err, time.Since(start), u.requests())
		}
	})
}

// goGetReseller starts GetReseller of "r1" with a deadline of d and returns
// the channel of its error.
func goGetReseller(t *testing.T, c *Client, d time.Duration) <-chan error {
	ctx, cancel := context.WithTimeout(t.Context(), d)
	errc := make(chan error, 1)
	go func() {
		defer cancel()
		_, err := c.GetReseller(ctx, testCallInfo, "r1")
		errc <- err
	}()
	return errc
}

func TestCoalescingAcceptanceLink(t *testing.T) {
	synctest.Test(t, testCoalescingAcceptanceLink)
}

func testCoalescingAcceptanceLink(t *testing.T) {
	u, c := newMemClient(t, Config{}, step{hold: true, contentType: "text/plain", body: testLink})
	const callers = 20
	links := make([]string, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			var err error
			if links[i], err = c.GetAcceptanceLink(testContext(t), testCallInfo, "p1", ""); err != nil {
				t.Errorf("caller %d: %v", i, err)
			}
		})
	}
	synctest.Wait()
	if n := c.links.Waiting(); n != callers {
		t.Fatalf("in-flight link call has %d waiters, want %d", n, callers)
	}
	u.release()
	wg.Wait()
	for i, l := range links {
		if l != testLink {
			t.Fatalf("caller %d: link %q", i, l)
		}
	}
	if n := u.requests(); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
}

func TestConcurrencyLimit(t *testing.T) {
	synctest.Test(t, testConcurrencyLimit)
}

func testConcurrencyLimit(t *testing.T) {
	u, c := newMemClient(t, Config{MaxConcurrent: 2, TenantMaxConcurrent: -1, QueueTimeout: 200 * time.Millisecond}, step{hold: true})

	// Two calls take both slots.
	held := make(chan error, 2)
	for _, id := range []string{"a", "b"} {
		go func() {
			_, err := c.GetReseller(testContext(t), testCallInfo, id)
			held <- err
		}()
		<-u.arrived
	}

	// A third queues, then is rejected without reaching the upstream.
	start := time.Now()
	_, err := c.GetReseller(testContext(t), testCallInfo, "c")
	var le *Error
	if !errors.As(err, &le) || le.Kind != KindOverLimit || le.Limit != 2 {
		t.Fatalf("error = %v, want KindOverLimit with Limit 2", err)
	}
	if elapsed := time.Since(start); elapsed < 150*time.Millisecond || elapsed > 200*time.Millisecond+slack {
		t.Errorf("rejection after %v, want after the 200ms queue wait", elapsed)
	}
	if n := u.requests(); n != 2 {
		t.Errorf("upstream saw %d requests, want 2", n)
	}

	// A queued call proceeds when a slot frees in time.
	u.setScript(stepOK)
	queued := make(chan error, 1)
	go func() {
		_, err := c.GetReseller(testContext(t), testCallInfo, "d")
		queued <- err
	}()
	synctest.Wait() // the call is queued
	u.release()
	for range 2 {
		if err := <-held; err != nil {
			t.Fatalf("held call: %v", err)
		}
	}
	if err := <-queued; err != nil {
		t.Fatalf("queued call: %v", err)
	}
}

func TestConcurrencyLimitWithoutQueue(t *testing.T) {
	synctest.Test(t, testConcurrencyLimitWithoutQueue)
}

func testConcurrencyLimitWithoutQueue(t *testing.T) {
	u, c := newMemClient(t, Config{MaxConcurrent: 1, QueueTimeout: -1}, step{hold: true})
	done := make(chan struct{})
	go func() {
		defer close(done)
		_, _ = c.GetReseller(testContext(t), testCallInfo, "a")
	}()
	<-u.arrived
	start := time.Now()
	_, err := c.GetReseller(testContext(t), testCallInfo, "b")
	var le *Error
	if !errors.As(err, &le) || le.Kind != KindOverLimit {
		t.Fatalf("error = %v, want KindOverLimit", err)
	}
	if elapsed := time.Since(start); elapsed > slack {
		t.Errorf("rejection took %v, want at once", elapsed)
	}
	u.release()
	<-done
}

// TestWithAttempts: the count is set on a copy, since a coalesced call's
// error is shared by its callers.
func TestWithAttempts(t *testing.T) {
	e := &Error{Kind: KindAnswered, StatusCode: 503, Attempts: 1}
	if got := withAttempts(e, 3); got.Attempts != 3 || e.Attempts != 1 || attemptCount(got) != 3 {
		t.Errorf("withAttempts(e, 3) = %d attempts (e: %d), want 3 (e: 1)", got.Attempts, e.Attempts)
	}
	if withAttempts(e, 1) != e {
		t.Error("withAttempts(e, 1) copied an error whose count did not change")
	}
	if n := attemptCount(errors.New("boom")); n != 1 {
		t.Errorf("attemptCount(plain) = %d, want 1", n)
	}
}

func TestPanicInDecodeDoesNotWedgeTheClient(t *testing.T) {
	u := newFaultUpstream(t, stepOK)
	c := newTestClient(t, Config{BaseURL: u.URL(), MaxConcurrent: 1})
	boom := func([]byte) (*Reseller, error) { panic("decoder bug") }
	for range 3 { // the slot must come back each time
		_, err := call(testContext(t), c, &c.resellers, request[*Reseller]{op: apierr.OpGetReseller, info: testCallInfo, url: u.URL() + "/v1/Resellers/r1", decode: boom})
		if kindOf(err) != KindUndecodable {
			t.Fatalf("error = %v, want KindUndecodable from the recovered panic", err)
		}
	}
	if _, err := c.GetReseller(testContext(t), testCallInfo, "r1"); err != nil {
		t.Fatalf("GetReseller() after panics: %v", err)
	}
}

// TestAttemptOutcome: what one failed attempt means for the tenant's retry
// budget: an attempt worth retrying or a sign of trouble fails; the caller's
// end and a request never sent say nothing; an answer that blames the
// request shows the upstream working.
func TestAttemptOutcome(t *testing.T) {
	tests := []struct {
		name string
		give *Error
		want resilience.Outcome
	}{
		{"503", &Error{Kind: KindAnswered, StatusCode: 503}, resilience.Failure},
		{"429", &Error{Kind: KindAnswered, StatusCode: 429}, resilience.Failure},
		{"404", &Error{Kind: KindAnswered, StatusCode: 404}, resilience.Success},
		{"canceled", &Error{Kind: KindCanceled}, resilience.Neutral},
		{"deadline exceeded", &Error{Kind: KindDeadlineExceeded}, resilience.Neutral},
		{"invalid, never sent", &Error{Kind: KindInvalid}, resilience.Neutral},
		{"undecodable", &Error{Kind: KindUndecodable}, resilience.Success},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := attemptOutcome(tt.give, tt.give.retryable()); got != tt.want {
				t.Errorf("attemptOutcome(%v) = %v, want %v", tt.give, got, tt.want)
			}
		})
	}
}

// panickingTransport is a transport with a bug.
type panickingTransport struct{}

func (panickingTransport) RoundTrip(*http.Request) (*http.Response, error) { panic("transport bug") }

// TestPanicProvesNoTenant: a call that panics (a bug) had no success, so its
// tenant stays unproven: it is not counted in BreakerStates.
func TestPanicProvesNoTenant(t *testing.T) {
	c := newTestClient(t, Config{BaseURL: memBaseURL, Transport: panickingTransport{}, DisableCoalescing: true})
	func() {
		defer func() { _ = recover() }()
		_, _ = c.GetReseller(testContext(t), testCallInfo, "r1")
		t.Error("GetReseller() returned, want the transport's panic")
	}()
	if got := c.BreakerStates(); got != [3]int{} {
		t.Errorf("BreakerStates() = %v after a panic, want no proven tenant", got)
	}
}

func TestPanicInSharedDecodeReachesEveryWaiter(t *testing.T) {
	synctest.Test(t, testPanicInSharedDecodeReachesEveryWaiter)
}

func testPanicInSharedDecodeReachesEveryWaiter(t *testing.T) {
	u, c := newMemClient(t, Config{}, step{hold: true})
	boom := func([]byte) (*Reseller, error) { panic("decoder bug") }
	const callers = 5
	errs := make([]error, callers)
	var wg sync.WaitGroup
	for i := range callers {
		wg.Go(func() {
			_, errs[i] = call(testContext(t), c, &c.resellers, request[*Reseller]{op: apierr.OpGetReseller, info: testCallInfo, url: u.URL() + "/v1/Resellers/r1", decode: boom})
		})
	}
	waitWaiters(t, c, callers)
	u.release()
	wg.Wait()
	for i, err := range errs {
		if kindOf(err) != KindUndecodable {
			t.Errorf("caller %d: error = %v, want KindUndecodable from the recovered panic", i, err)
		}
	}
	if n := u.requests(); n != 1 {
		t.Errorf("upstream saw %d requests, want 1", n)
	}
	if _, err := c.GetReseller(testContext(t), testCallInfo, "r1"); err != nil {
		t.Fatalf("GetReseller() after the panic: %v", err)
	}
}
