package rest

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

// TestCauseOfRealFailures provokes each kind of failure on loopback and
// checks its category, through the client and net/http's transport.
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
			if got := CauseOf(err); got != tt.want {
				t.Errorf("CauseOf(%v) = %q, want %q", err, got, tt.want)
			}
		})
	}
}

func TestCauseOfNotAFailureToReach(t *testing.T) {
	tests := []struct {
		name string
		give error
	}{
		{"nil", nil},
		{"an answer", fmt.Errorf("get: %w", &Error{StatusCode: 503})},
		{"undecodable", &DecodeError{What: "reseller", Err: errors.New("x")}},
		{"too large", &BodyTooLargeError{Limit: 1}},
		{"circuit open", &CircuitOpenError{}},
		{"over the limit", &ConcurrencyLimitError{Limit: 1}},
		{"invalid request", fmt.Errorf("%w: id is empty", ErrInvalidRequest)},
		{"caller cancelled", fmt.Errorf("x: %w", context.Canceled)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CauseOf(tt.give); got != "" {
				t.Errorf("CauseOf(%v) = %q, want none", tt.give, got)
			}
		})
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
