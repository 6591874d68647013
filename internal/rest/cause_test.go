package rest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

// TestCauseOfRealFailures provokes each kind of failure on loopback and
// checks its kind and category, through the client and net/http's transport.
func TestCauseOfRealFailures(t *testing.T) {
	tests := []struct {
		name     string
		upstream func(t *testing.T) string // returns the base URL
		want     Cause
	}{
		{"closed port", closedPort, CauseRefused},
		{"TLS to a plain server", func(t *testing.T) string {
			srv := httptest.NewServer(http.NotFoundHandler())
			t.Cleanup(srv.Close)
			return "https://" + srv.Listener.Addr().String()
		}, CauseTLS},
		{"untrusted certificate", func(t *testing.T) string {
			srv := httptest.NewTLSServer(http.NotFoundHandler())
			t.Cleanup(srv.Close)
			return srv.URL
		}, CauseTLS},
		{"unresolvable name", func(t *testing.T) string {
			requireResolver(t, "cloudcockpit-upstream.invalid")
			return "http://cloudcockpit-upstream.invalid"
		}, CauseDNS},
		{"stalled server", func(t *testing.T) string {
			return rawServer(t, func(c net.Conn) {
				buf := make([]byte, 4096)
				_, _ = c.Read(buf) // the request
				_, _ = c.Read(buf) // never answered: returns when the client gives up
			})
		}, CauseTimeout},
		{"reset", func(t *testing.T) string {
			return rawServer(t, func(c net.Conn) {
				_, _ = c.Read(make([]byte, 4096))
				_ = c.(*net.TCPConn).SetLinger(0) // close with RST
			})
		}, CauseReset},
		{"closed without an answer", func(t *testing.T) string {
			return rawServer(t, func(c net.Conn) { _, _ = c.Read(make([]byte, 4096)) })
		}, CauseClosed},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			attemptTimeout := 5 * time.Second
			if tt.want == CauseTimeout {
				attemptTimeout = 200 * time.Millisecond
			}
			tr := NewTransport(TransportConfig{})
			t.Cleanup(tr.CloseIdleConnections)
			c := newTestClient(t, Config{BaseURL: tt.upstream(t), Transport: tr, MaxAttempts: 1, AttemptTimeout: attemptTimeout, Breaker: resilience.BreakerSettings{FailureRatio: -1}})
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			_, err := c.GetReseller(ctx, CallInfo{Authorization: "Bearer t0ken", Tenant: "portal.example.com"}, "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f")
			if err == nil {
				t.Fatal("GetReseller succeeded, want an error")
			}
			wantKind := KindUnreachable
			if tt.want == CauseTimeout {
				wantKind = KindTimeout
			}
			if got := AsError(ctx, err); got.Kind != wantKind || got.Cause != tt.want {
				t.Errorf("AsError(%v) = %v, %q; want %v, %q", err, got.Kind, got.Cause, wantKind, tt.want)
			}
		})
	}
}

// TestKindOf: errors that are not about reaching the upstream have no
// cause; a plain error is classified.
func TestKindOf(t *testing.T) {
	tests := []struct {
		name      string
		give      error
		want      Kind
		wantCause Cause
	}{
		{"nil", nil, KindNone, ""},
		{"an answer", fmt.Errorf("get: %w", &Error{Kind: KindAnswered, StatusCode: 503}), KindAnswered, ""},
		{"undecodable", undecodable("reseller", errors.New("x")), KindUndecodable, ""},
		{"too large", &Error{Kind: KindTooLarge, Limit: 1}, KindTooLarge, ""},
		{"circuit open", &Error{Kind: KindCircuitOpen}, KindCircuitOpen, ""},
		{"over the limit", &Error{Kind: KindOverLimit, Limit: 1}, KindOverLimit, ""},
		{"caller cancelled", fmt.Errorf("x: %w", context.Canceled), KindCanceled, ""},
		{"a deadline of the client's own", fmt.Errorf("x: %w", context.DeadlineExceeded), KindTimeout, CauseTimeout},
		{"reset", fmt.Errorf("x: %w", syscall.ECONNRESET), KindUnreachable, CauseReset},
		{"broken pipe", fmt.Errorf("x: %w", syscall.EPIPE), KindUnreachable, CauseReset},
		{"TLS, known by its text only", errors.New("remote error: tls: handshake failure"), KindUnreachable, CauseTLS},
		{"a TLS handshake cut by a deadline", fmt.Errorf("tls: handshake: %w", context.DeadlineExceeded), KindTimeout, CauseTimeout},
		{"DNS timed out", &net.DNSError{Err: "i/o timeout", Name: "x.example", IsTimeout: true}, KindTimeout, CauseTimeout},
		{"a closed connection", fmt.Errorf("x: %w", net.ErrClosed), KindUnreachable, CauseClosed},
		{"anything else", errors.New("boom"), KindUnreachable, CauseNetwork},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := kindOf(tt.give); got != tt.want {
				t.Errorf("kindOf(%v) = %v, want %v", tt.give, got, tt.want)
			}
			if tt.give == nil {
				return
			}
			if got := AsError(context.Background(), tt.give).Cause; got != tt.wantCause {
				t.Errorf("Cause of %v = %q, want %q", tt.give, got, tt.wantCause)
			}
		})
	}
}

// TestAsErrorCallerGone: once the caller's context has ended, an error
// without an answer is the caller's cancellation or deadline, and a shared
// *Error is not modified.
func TestAsErrorCallerGone(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	shared := &Error{Kind: KindUnreachable, Cause: CauseReset, Err: syscall.ECONNRESET}
	got := AsError(canceled, shared)
	if got.Kind != KindCanceled || got.Cause != "" || !errors.Is(got, context.Canceled) {
		t.Errorf("AsError(canceled, reset) = %v, %q (%v), want KindCanceled", got.Kind, got.Cause, got)
	}
	if shared.Kind != KindUnreachable {
		t.Errorf("the shared error became %v", shared.Kind)
	}
	// An error that already holds the caller's context error keeps it as it
	// is, not wrapped a second time; one with none gets the context's own.
	wrapped := fmt.Errorf("read: %w", context.Canceled)
	if got := AsError(canceled, &Error{Kind: KindUnreachable, Cause: CauseClosed, Err: wrapped}); got.Err != wrapped { //nolint:errorlint // the same value
		t.Errorf("AsError(canceled, unreachable wrapping Canceled).Err = %v, want %v", got.Err, wrapped)
	}
	if got := AsError(canceled, &Error{Kind: KindTimeout, Cause: CauseTimeout}); got.Err != context.Canceled { //nolint:errorlint // the same value
		t.Errorf("AsError(canceled, timeout without Err).Err = %v, want context.Canceled", got.Err)
	}
	answer := &Error{Kind: KindAnswered, StatusCode: 404}
	if got := AsError(canceled, answer); got != answer {
		t.Errorf("AsError(canceled, answer) = %v, want the answer", got)
	}
}

// closedPort returns the URL of a loopback port nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	_ = l.Close()
	return "http://" + addr
}

// rawServer accepts connections on loopback and hands each to handle,
// closing it afterwards; it stops with the test.
func rawServer(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { _ = l.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer func() { _ = c.Close() }()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				handle(c)
			}()
		}
	}()
	return "http://" + l.Addr().String()
}

// requireResolver skips the test when no DNS resolver answers here: the
// lookup of an unresolvable name then times out instead of failing with
// "no such host".
func requireResolver(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := net.DefaultResolver.LookupHost(ctx, name)
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Skipf("no DNS resolver answers for %s here: %v", name, err)
	}
}

// TestAsErrorCallerGoneKeepsAMismatch: a mismatched answer (KindMismatch, set
// by the service after the upstream answered) stays a mismatch when the
// caller's context has ended since, as an answer does: it is what the upstream
// said, not a failure to get an answer. (It could be a line of
// TestAsErrorCallerGone.)
func TestAsErrorCallerGoneKeepsAMismatch(t *testing.T) {
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	mismatch := &Error{Kind: KindMismatch}
	if got := AsError(canceled, mismatch); got != mismatch {
		t.Errorf("AsError(canceled, mismatch) = %v (%v), want the mismatch", got, got.Kind)
	}
}

// TestCauseOfTimeouts: errors that net and net/http report as timeouts (a read
// or dial deadline, a DNS lookup that timed out, an http.Transport timeout) are
// KindTimeout with CauseTimeout (retryable, UPSTREAM_TIMEOUT), not "network" or
// "dns". (Rows that could join TestKindOf.)
func TestCauseOfTimeouts(t *testing.T) {
	for _, tt := range []struct {
		name string
		give error
	}{
		{"read deadline", &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}},
		{"dial timeout", &net.OpError{Op: "dial", Net: "tcp", Err: os.ErrDeadlineExceeded}},
		{"dns timeout", &net.DNSError{Err: "i/o timeout", Name: "upstream.test", IsTimeout: true}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			e := AsError(context.Background(), tt.give)
			if e.Kind != KindTimeout || e.Cause != CauseTimeout {
				t.Errorf("AsError(%v) = %v, %q; want %v, %q", tt.give, e.Kind, e.Cause, KindTimeout, CauseTimeout)
			}
		})
	}
}

// TestKindString: every kind has its name; a value past the table is
// "unknown", not a panic.
func TestKindString(t *testing.T) {
	for k := range Kind(len(kinds)) {
		if k.String() == "unknown" || k.String() == "" {
			t.Errorf("Kind(%d) has no name", k)
		}
	}
	if got := Kind(len(kinds)).String(); got != "unknown" {
		t.Errorf("Kind(len(kinds)).String() = %q, want unknown", got)
	}
}
