package sandbox_test

import (
	"context"
	"io"
	"maps"
	"math"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// faultResult is what a client sees of one request to a faulty server: the status and
// the headers it cares about, or how the exchange broke.
type faultResult struct {
	status      int
	retryAfter  string
	contentType string
	body        string
	err         string // "send" (no answer) or "body" (answer cut mid-way)
	duration    time.Duration
}

// newFaultClient returns a client that opens a connection per request, so that a
// fault on one request cannot be retried by the transport on another connection.
func newFaultClient(t *testing.T) *http.Client {
	t.Helper()
	tr := &http.Transport{DisableKeepAlives: true}
	t.Cleanup(tr.CloseIdleConnections)
	return &http.Client{Transport: tr}
}

// get sends one well-formed GET and classifies the outcome.
func get(t *testing.T, c *http.Client, ts *httptest.Server, target string) faultResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), testTimeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+target, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header = validHeader()
	start := time.Now()
	resp, err := c.Do(req)
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("GET %s: %v", target, err)
		}
		return faultResult{err: "send", duration: time.Since(start)}
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	res := faultResult{
		status:      resp.StatusCode,
		retryAfter:  resp.Header.Get("Retry-After"),
		contentType: resp.Header.Get("Content-Type"),
		body:        string(body),
		duration:    time.Since(start),
	}
	if err != nil {
		if ctx.Err() != nil {
			t.Fatalf("GET %s: read body: %v", target, err)
		}
		res.err = "body"
	}
	return res
}

func TestWithFaultsKinds(t *testing.T) {
	tests := []struct {
		kind  sandbox.FaultKind
		check func(t *testing.T, res faultResult)
	}{
		{kind: sandbox.FaultUnavailable, check: func(t *testing.T, res faultResult) {
			if res.status != http.StatusServiceUnavailable || res.retryAfter != "0" || !strings.HasPrefix(res.contentType, "text/html") {
				t.Errorf("got %d Retry-After %q %q, want 503 Retry-After 0 text/html", res.status, res.retryAfter, res.contentType)
			}
		}},
		{kind: sandbox.FaultBadGateway, check: func(t *testing.T, res faultResult) {
			if res.status != http.StatusBadGateway || res.retryAfter != "" || !strings.Contains(res.body, "<html>") {
				t.Errorf("got %d Retry-After %q %q, want 502 HTML without Retry-After", res.status, res.retryAfter, res.body)
			}
		}},
		{kind: sandbox.FaultRateLimited, check: func(t *testing.T, res faultResult) {
			if res.status != http.StatusTooManyRequests || res.retryAfter != "1" || !strings.Contains(res.body, `"statusCode":429`) {
				t.Errorf("got %d Retry-After %q %q, want 429 Retry-After 1", res.status, res.retryAfter, res.body)
			}
		}},
		{kind: sandbox.FaultDrop, check: func(t *testing.T, res faultResult) {
			if res.err != "send" {
				t.Errorf("got %+v, want the connection to end without an answer", res)
			}
		}},
		{kind: sandbox.FaultReset, check: func(t *testing.T, res faultResult) {
			if res.err != "body" || res.status != http.StatusOK || !strings.HasPrefix(res.body, `{"id":"`) {
				t.Errorf("got %+v, want a 200 whose body is cut mid-way", res)
			}
		}},
		{kind: sandbox.FaultSlow, check: func(t *testing.T, res faultResult) {
			if res.status != http.StatusOK || res.err != "" || !strings.Contains(res.body, sandbox.ContosoResellerID) {
				t.Errorf("got %+v, want the usual 200", res)
			}
			if res.duration < 200*time.Millisecond {
				t.Errorf("answered after %v, want at least 200ms", res.duration)
			}
		}},
		{kind: sandbox.FaultHTMLOK, check: func(t *testing.T, res faultResult) {
			if res.status != http.StatusOK || !strings.HasPrefix(res.contentType, "text/html") || !strings.Contains(res.body, "<html>") {
				t.Errorf("got %d %q %q, want 200 text/html", res.status, res.contentType, res.body)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.kind.String(), func(t *testing.T) {
			s, ts := startServer(t, sandbox.New(sandbox.WithFaults(1, 1, tt.kind)))
			c := newFaultClient(t)
			tt.check(t, get(t, c, ts, resellerPath))
			if diff := cmp.Diff(map[sandbox.FaultKind]int64{tt.kind: 1}, s.Faults()); diff != "" {
				t.Errorf("Faults() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestWithFaultsRate(t *testing.T) {
	const n = 400
	tests := []struct {
		name     string
		rate     float64
		min, max int64 // bounds on the faults injected in n requests
	}{
		{name: "zero", rate: 0, min: 0, max: 0},
		{name: "negative", rate: -1, min: 0, max: 0},
		{name: "NaN", rate: math.NaN(), min: 0, max: 0},
		{name: "quarter", rate: 0.25, min: 60, max: 140}, // mean 100, sd ~8.7
		{name: "one", rate: 1, min: n, max: n},
		{name: "above one", rate: 7, min: n, max: n},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Statuses only: every request gets a complete answer, quickly.
			s := sandbox.New(sandbox.WithFaults(tt.rate, 42, sandbox.FaultUnavailable, sandbox.FaultRateLimited))
			for range n {
				req := httptest.NewRequest(http.MethodGet, resellerPath, nil)
				req.Header = validHeader()
				s.ServeHTTP(httptest.NewRecorder(), req)
			}
			var got int64
			for _, c := range s.Faults() {
				got += c
			}
			if got < tt.min || got > tt.max {
				t.Errorf("%d faults in %d requests at rate %v, want %d to %d", got, n, tt.rate, tt.min, tt.max)
			}
		})
	}
}

// TestWithFaultsDeterministic checks that a seed fixes the sequence of decisions.
func TestWithFaultsDeterministic(t *testing.T) {
	sequence := func(seed int64, kinds ...sandbox.FaultKind) []int {
		s := sandbox.New(sandbox.WithFaults(0.5, seed, kinds...))
		out := make([]int, 0, 200)
		for range 200 {
			req := httptest.NewRequest(http.MethodGet, resellerPath, nil)
			req.Header = validHeader()
			rec := httptest.NewRecorder()
			s.ServeHTTP(rec, req)
			out = append(out, rec.Code)
		}
		return out
	}
	statuses := []sandbox.FaultKind{sandbox.FaultUnavailable, sandbox.FaultBadGateway, sandbox.FaultRateLimited, sandbox.FaultHTMLOK}
	a, b, c := sequence(7, statuses...), sequence(7, statuses...), sequence(8, statuses...)
	if diff := cmp.Diff(a, b); diff != "" {
		t.Errorf("same seed, different sequences (-first +second):\n%s", diff)
	}
	if cmp.Equal(a, c) {
		t.Error("seeds 7 and 8 gave the same sequence")
	}
	seen := make(map[int]bool)
	for _, code := range a {
		seen[code] = true
	}
	for _, want := range []int{200, 502, 503, 429} {
		if !seen[want] {
			t.Errorf("status %d never seen in %v", want, a)
		}
	}
}

// TestWithFaultsConcurrent runs every kind of fault from many goroutines over real
// connections (go test -race checks the shared generator and counters).
func TestWithFaultsConcurrent(t *testing.T) {
	s, ts := startServer(t, sandbox.New(sandbox.WithFaults(0.5, 3, sandbox.AllFaultKinds()...)))
	const workers, each = 8, 25
	tr := &http.Transport{MaxIdleConnsPerHost: workers}
	t.Cleanup(tr.CloseIdleConnections)
	c := &http.Client{Transport: tr}
	var wg sync.WaitGroup
	var mu sync.Mutex
	outcomes := make(map[string]int)
	for range workers {
		wg.Go(func() {
			for range each {
				res := get(t, c, ts, resellerPath)
				key := res.err
				if key == "" {
					key = http.StatusText(res.status)
				}
				mu.Lock()
				outcomes[key]++
				mu.Unlock()
			}
		})
	}
	wg.Wait()
	var faults int64
	for _, n := range s.Faults() {
		faults += n
	}
	// The transport may resend a request whose reused connection was dropped, so the
	// server can see more requests than the client sent.
	if got := s.Requests(); got < workers*each {
		t.Errorf("Requests() = %d, want at least %d", got, workers*each)
	}
	if faults == 0 || faults > s.Requests() {
		t.Errorf("%d faults in %d requests", faults, s.Requests())
	}
	t.Logf("outcomes %v, faults %v", outcomes, s.Faults())
}

// TestWithFaultsHonoursCancellation checks that a slow fault ends when its
// request does. In a synctest bubble the clock moves only when every goroutine
// waits: a handler that waited out its 200 to 500 ms shows it, and a busy
// machine cannot make one that did not look slow.
func TestWithFaultsHonoursCancellation(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		s := sandbox.New(sandbox.WithFaults(1, 1, sandbox.FaultSlow))
		ctx, cancel := context.WithCancel(t.Context())
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, resellerPath, nil)
		req.Header = validHeader()
		rec := httptest.NewRecorder()
		cancel()
		start := time.Now()
		s.ServeHTTP(rec, req)
		if d := time.Since(start); d != 0 {
			t.Errorf("ServeHTTP took %v after its request was cancelled, want no wait", d)
		}
		if rec.Body.Len() != 0 {
			t.Errorf("a cancelled request got an answer: %q", rec.Body)
		}
	})
}

// TestWithFaultsWithoutHijacker checks that drop and reset abort the handler where the
// connection cannot be taken over.
// TestWithFaultsDefaultKinds: WithFaults given no kinds injects every one of
// DefaultFaultKinds, and no other.
func TestWithFaultsDefaultKinds(t *testing.T) {
	synctest.Test(t, func(t *testing.T) { // FaultSlow's waits pass at once
		s := sandbox.New(sandbox.WithFaults(1, 7))
		serve := func() {
			defer func() { _ = recover() }() // drop and reset abort the handler without a hijacker
			req := httptest.NewRequest(http.MethodGet, resellerPath, nil)
			req.Header = validHeader()
			s.ServeHTTP(httptest.NewRecorder(), req)
		}
		for range 300 {
			serve()
		}
		got := slices.Sorted(maps.Keys(s.Faults()))
		if want := slices.Sorted(slices.Values(sandbox.DefaultFaultKinds())); !slices.Equal(got, want) {
			t.Errorf("kinds injected %v, want %v", got, want)
		}
	})
}

func TestWithFaultsWithoutHijacker(t *testing.T) {
	for _, kind := range []sandbox.FaultKind{sandbox.FaultDrop, sandbox.FaultReset} {
		t.Run(kind.String(), func(t *testing.T) {
			s := sandbox.New(sandbox.WithFaults(1, 1, kind))
			req := httptest.NewRequest(http.MethodGet, resellerPath, nil)
			req.Header = validHeader()
			defer func() {
				if p := recover(); p != http.ErrAbortHandler { //nolint:errorlint // the panic value itself
					t.Errorf("recovered %v, want http.ErrAbortHandler", p)
				}
			}()
			s.ServeHTTP(httptest.NewRecorder(), req)
		})
	}
}

func TestParseFaultKinds(t *testing.T) {
	tests := []struct {
		give    string
		want    []sandbox.FaultKind
		wantErr string
	}{
		{give: "default", want: sandbox.DefaultFaultKinds()},
		{give: "all", want: sandbox.AllFaultKinds()},
		{give: "reset, slow", want: []sandbox.FaultKind{sandbox.FaultReset, sandbox.FaultSlow}},
		{give: "default,html-200", want: sandbox.AllFaultKinds()},
		{give: "unavailable,bad-gateway,rate-limited,drop,reset,slow,html-200", want: sandbox.AllFaultKinds()},
		{give: "", wantErr: `unknown fault kind ""`},
		{give: "timeout", wantErr: `unknown fault kind "timeout"`},
		{give: "slow,slow", wantErr: "given twice"},
		{give: "all,drop", wantErr: "given twice"},
	}
	for _, tt := range tests {
		t.Run(tt.give, func(t *testing.T) {
			got, err := sandbox.ParseFaultKinds(tt.give)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseFaultKinds(%q) = %v, %v; want an error containing %q", tt.give, got, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("ParseFaultKinds(%q) mismatch (-want +got):\n%s", tt.give, diff)
			}
			for _, k := range got {
				back, err := sandbox.ParseFaultKinds(k.String())
				if err != nil || len(back) != 1 || back[0] != k {
					t.Errorf("%v does not round-trip: %v, %v", k, back, err)
				}
			}
		})
	}
	if got := sandbox.FaultKind(99).String(); got != "FaultKind(99)" {
		t.Errorf("String() of an unknown kind = %q", got)
	}
}

// TestWithoutFaults checks that a server built without the option injects nothing.
func TestWithoutFaults(t *testing.T) {
	s, ts := startServer(t, nil)
	for range 20 {
		if res := do(t, ts, http.MethodGet, resellerPath, validHeader()); res.status != http.StatusOK {
			t.Fatalf("status = %d, want 200", res.status)
		}
	}
	if got := s.Faults(); len(got) != 0 {
		t.Errorf("Faults() = %v, want none", got)
	}
}
