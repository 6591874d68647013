package rest

import (
	"bufio"
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// TestUnsolicitedAnswerIsNeverHandedToTheNextCaller: an upstream that,
// after each answer, writes a second, unrequested answer on the same
// keep-alive connection a few milliseconds later. Callers with different
// tenants and tokens call in turn; each must receive its own data. The
// upstream is on in-memory connections (net.Pipe) dialed by the service's
// transport, in a synctest bubble.
func TestUnsolicitedAnswerIsNeverHandedToTheNextCaller(t *testing.T) {
	synctest.Test(t, testUnsolicitedAnswerIsNeverHandedToTheNextCaller)
}

func testUnsolicitedAnswerIsNeverHandedToTheNextCaller(t *testing.T) {
	// intruded gets a value once each unsolicited answer is written, so
	// that the next caller starts only after it is on the wire (an answer
	// that arrives after the next request is sent cannot be told from the
	// real one by any HTTP client: the reseller id check is the defence).
	intruded := make(chan struct{}, 100)
	answer := func(tenant string) string {
		body := `{"id":"r1","companyName":"` + tenant + `"}`
		return fmt.Sprintf("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s", len(body), body)
	}
	serve := func(conn net.Conn) {
		defer func() { _ = conn.Close() }()
		br := bufio.NewReader(conn)
		for {
			req, err := http.ReadRequest(br)
			if err != nil {
				return
			}
			tenant := req.Header.Get("X-Tenant")
			if _, err := conn.Write([]byte(answer(tenant))); err != nil {
				return
			}
			time.Sleep(5 * time.Millisecond) // a slow peer: the unsolicited answer comes later
			if _, err := conn.Write([]byte(answer("intruder-after-" + tenant))); err != nil {
				return
			}
			intruded <- struct{}{}
		}
	}
	tr := NewTransport(TransportConfig{})
	tr.DialContext = func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		go serve(server)
		return client, nil
	}
	t.Cleanup(tr.CloseIdleConnections)
	c := newTestClient(t, Config{BaseURL: memBaseURL, Transport: tr, MaxAttempts: 1, DisableCoalescing: true})
	ok := 0
	for i := range 20 {
		tenant := fmt.Sprintf("t%d.example", i)
		ci := CallInfo{Tenant: tenant, Authorization: fmt.Sprintf("Bearer token-%d", i)}
		r, err := c.GetReseller(testContext(t), ci, "r1")
		if err != nil {
			// A connection that turned bad may fail a call; it must never
			// answer with someone else's data.
			continue
		}
		if got := *r.CompanyName; got != tenant {
			t.Fatalf("caller %d (tenant %s) received %q", i, tenant, got)
		}
		ok++
		select {
		case <-intruded:
		case <-time.After(5 * time.Second):
			t.Fatal("the upstream wrote no unsolicited answer")
		}
		synctest.Wait() // the client sees it on the idle connection
	}
	if ok < 10 {
		t.Errorf("%d of 20 calls succeeded, want most", ok)
	}
}

// TestTransportTLS: the upstream TLS configuration applies, HTTP/1.1 is used
// even when the upstream offers HTTP/2, and an upstream whose certificate does not
// verify fails without a retry.
func TestTransportTLS(t *testing.T) {
	var proto atomic.Value
	srv := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		proto.Store(r.Proto)
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(okBody))
	}))
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)
	roots := x509.NewCertPool()
	roots.AddCert(srv.Certificate())

	tr := NewTransport(TransportConfig{TLS: &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}, MaxConns: 4})
	t.Cleanup(tr.CloseIdleConnections)
	c := newTestClient(t, Config{BaseURL: srv.URL, Transport: tr})
	if _, err := c.GetReseller(testContext(t), testCallInfo, "r1"); err != nil {
		t.Fatalf("GetReseller() over TLS: %v", err)
	}
	if got, _ := proto.Load().(string); got != "HTTP/1.1" {
		t.Errorf("upstream saw %q, want HTTP/1.1", got)
	}

	untrusted := NewTransport(TransportConfig{})
	t.Cleanup(untrusted.CloseIdleConnections)
	c = newTestClient(t, Config{BaseURL: srv.URL, Transport: untrusted})
	_, err := c.GetReseller(testContext(t), testCallInfo, "r1")
	var certErr *tls.CertificateVerificationError
	if !errors.As(err, &certErr) || attemptCount(err) != 1 {
		t.Fatalf("error = %v (%d attempts), want a certificate error after one attempt", err, attemptCount(err))
	}
	if strings.Contains(err.Error(), testToken) {
		t.Error("the error holds the token")
	}
}

// TestAnswersNetHTTPHandsOverRaw: a 101 (net/http's body is then the raw
// connection, which no context ends) is refused at once, unread, and not
// retried; a 200 whose gzip encoding is corrupt is an undecodable answer,
// not a network failure to retry; a 200 that declares a body over the limit
// is refused at once, without waiting for any of it. Each upstream holds its
// connection open.
func TestAnswersNetHTTPHandsOverRaw(t *testing.T) {
	for _, tt := range []struct {
		name, raw string
		want      Kind
	}{
		{"101 holding the connection", "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", KindAnswered},
		{"corrupt gzip", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 21\r\n\r\nthis is not gzip data", KindUndecodable},
		{"gzip failing its checksum", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 25\r\n\r\n" +
			"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xab\xae\x05\x00\x00\x00\x00\x00\x02\x00\x00\x00", KindUndecodable},
		{"declared over the limit, never sent", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 10000000\r\n\r\n", KindTooLarge},
		{"gzip with corrupt deflate data", "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Encoding: gzip\r\nContent-Length: 16\r\n\r\n" +
			"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff\xff\xff\xff\xff\xff\xff", KindUndecodable},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var requests atomic.Int32
				done := make(chan struct{})
				defer close(done)
				tr := NewTransport(TransportConfig{})
				tr.DialContext = func(context.Context, string, string) (net.Conn, error) {
					client, server := net.Pipe()
					go func() {
						defer server.Close()
						if _, err := http.ReadRequest(bufio.NewReader(server)); err == nil {
							requests.Add(1)
							_, _ = server.Write([]byte(tt.raw))
							<-done
						}
					}()
					return client, nil
				}
				defer tr.CloseIdleConnections()
				c := newTestClient(t, Config{BaseURL: memBaseURL, Transport: tr, MaxAttempts: 3, DisableCoalescing: true})
				start := time.Now()
				_, err := c.GetReseller(testContext(t), CallInfo{Tenant: "t.example", Authorization: "Bearer token-1"}, "r1")
				e, ok := errors.AsType[*Error](err)
				if !ok || e.Kind != tt.want {
					t.Fatalf("error %v, want kind %v", err, tt.want)
				}
				if waited := time.Since(start); waited != 0 || requests.Load() != 1 {
					t.Errorf("%d requests, answered after %v; want 1, at once", requests.Load(), waited)
				}
			})
		})
	}
}

// TestTransportResponseHeaderTimeout: NewTransport applies
// TransportConfig.ResponseHeaderTimeout, the backstop under the attempt
// timeout: with the attempt timeout off, an upstream that never sends its
// headers fails the attempt with KindTimeout once it passes, not when the
// caller's deadline does.
func TestTransportResponseHeaderTimeout(t *testing.T) {
	srv := newUpstream(t, func(_ http.ResponseWriter, r *http.Request) { <-r.Context().Done() })
	tr := NewPools(NewTransport(TransportConfig{ResponseHeaderTimeout: 50 * time.Millisecond}), 0)
	t.Cleanup(tr.CloseIdleConnections)
	c := newTestClient(t, Config{BaseURL: srv.URL, Transport: tr, MaxAttempts: 1, AttemptTimeout: -1})
	ctx, cancel := context.WithTimeout(testContext(t), 2*time.Second)
	defer cancel()
	_, err := c.GetReseller(ctx, testCallInfo, "r1")
	if k := kindOf(err); k != KindTimeout {
		t.Errorf("GetReseller() = %v (%v); want %v, the header timeout's, not the caller's deadline", err, k, KindTimeout)
	}
}

// TestTransportBoundsResponseHeaders: an upstream answer whose headers are
// over 64 KiB is refused, not held (net/http keeps a header line in about
// 16 times its size; its default bound is 1 MiB).
func TestTransportBoundsResponseHeaders(t *testing.T) {
	srv := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("X-Padding", strings.Repeat("p", 100<<10))
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(`{"id":"r1"}`))
	})
	tr := NewPools(NewTransport(TransportConfig{}), 0)
	t.Cleanup(tr.CloseIdleConnections)
	c := newTestClient(t, Config{BaseURL: srv.URL, Transport: tr, MaxAttempts: 1})
	if _, err := c.GetReseller(testContext(t), testCallInfo, "r1"); err == nil {
		t.Error("GetReseller() of an answer with 100 KiB of headers succeeded, want an error")
	}
}
