package sandbox_test

import (
	"context"
	"errors"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

func TestWithLatency(t *testing.T) {
	tests := []struct {
		name    string
		latency time.Duration
	}{
		{name: "none", latency: 0},
		{name: "negative is none", latency: -time.Second},
		{name: "short", latency: 5 * time.Millisecond},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s, ts := startServer(t, sandbox.New(sandbox.WithLatency(tt.latency)))
			res := do(t, ts, http.MethodGet, resellerPath, validHeader())
			if res.status != http.StatusOK {
				t.Errorf("status = %d, want 200", res.status)
			}
			if got := s.Requests(); got != 1 {
				t.Errorf("Requests() = %d, want 1", got)
			}
		})
	}
}

// TestWithLatencyHonoursCancellation checks that a waiting request ends when its context
// does, without an answer; a broken wait would hang until the test binary's timeout.
func TestWithLatencyHonoursCancellation(t *testing.T) {
	s := sandbox.New(sandbox.WithLatency(time.Hour))

	t.Run("ServeHTTP returns when the request is cancelled", func(t *testing.T) {
		ctx, cancel := context.WithCancel(t.Context())
		req := httptest.NewRequestWithContext(ctx, http.MethodGet, resellerPath, nil)
		req.Header = validHeader()
		rec := httptest.NewRecorder()
		done := make(chan struct{})
		go func() {
			defer close(done)
			s.ServeHTTP(rec, req)
		}()
		cancel()
		select {
		case <-done:
		case <-time.After(testTimeout):
			t.Fatal("ServeHTTP still waiting after its request was cancelled")
		}
		if rec.Body.Len() != 0 || rec.Header().Get("Content-Type") != "" {
			t.Errorf("a cancelled request got an answer: %v %q", rec.Header(), rec.Body)
		}
	})

	t.Run("client deadline over HTTP", func(t *testing.T) {
		_, ts := startServer(t, s)
		// The request must reach the sandbox (and be counted) before the
		// deadline passes: 50ms was little for a dial and a handler on a busy
		// machine. What is checked is a deadline far short of the hour's wait.
		ctx, cancel := context.WithTimeout(t.Context(), time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, ts.URL+resellerPath, nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header = validHeader()
		resp, err := ts.Client().Do(req)
		if err == nil {
			resp.Body.Close()
			t.Fatalf("got status %d, want the client's deadline to pass first", resp.StatusCode)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("error = %v, want context.DeadlineExceeded", err)
		}
	})

	if got := s.Requests(); got != 2 {
		t.Errorf("Requests() = %d, want 2 (abandoned requests count)", got)
	}
}
