package telemetry

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/url"
	"os"
	"strings"
	"syscall"
	"testing"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
)

// TestUpstreamSpansNeverHoldTheToken: net/http quotes a malformed header or
// trailer line of an answer in its error, and otelhttp writes that text into
// the attempt's span status; an upstream that echoes the caller's token into
// such a line put it in the exported span (docs/security.md#tokens).
func TestUpstreamSpansNeverHoldTheToken(t *testing.T) {
	const token = "eyJhbGciOiJIUzI1NiJ9.c2VjcmV0LXBheWxvYWQ.c2lnbmF0dXJl" //nolint:gosec // G101: a fake token that must be redacted
	tests := []struct {
		name, answer string
	}{
		{"header line", "HTTP/1.1 200 OK\r\nContent-Length: 2\r\nBearer " + token + "\r\n\r\n{}"},
		{"trailer line", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n0\r\nBearer " + token + "\r\n\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp := tracetest.NewInMemoryExporter()
			tr := NewTracing(sdktrace.WithSyncer(exp))
			t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
			client := &http.Client{Transport: tr.Transport(&http.Transport{})}
			t.Cleanup(client.CloseIdleConnections)
			req, err := http.NewRequestWithContext(context.Background(), http.MethodGet, "http://"+rawAnswer(t, tt.answer)+"/", nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer "+token)
			res, err := client.Do(req)
			if err == nil {
				_, err = io.ReadAll(res.Body)
				_ = res.Body.Close()
			}
			if err == nil || !strings.Contains(err.Error(), "malformed") || strings.Contains(err.Error(), token[:20]) {
				t.Errorf("error = %v, want net/http's malformed-line error without the token", err)
			}
			spans := exp.GetSpans()
			if len(spans) != 1 {
				t.Fatalf("%d spans, want 1", len(spans))
			}
			if d := spans[0].Status.Description; !strings.Contains(d, "malformed") || strings.Contains(d, token[:20]) {
				t.Errorf("span status = %q, want net/http's error without the token", d)
			}
			for _, a := range spans[0].Attributes {
				if strings.Contains(fmt.Sprint(a.Value.AsInterface()), token[:20]) {
					t.Errorf("span attribute %s holds the token", a.Key)
				}
			}
		})
	}
}

// TestRedactedErrorIsTheOriginal: apart from its text, a redacted error is
// the one it wraps: url.Error's Timeout asks its Err directly, and otelhttp's
// error.type names the original's type.
func TestRedactedErrorIsTheOriginal(t *testing.T) {
	orig := &net.OpError{Op: "read", Net: "tcp", Err: os.ErrDeadlineExceeded}
	err := redact(&http.Request{Header: http.Header{"Authorization": {"Bearer 0123456789abcdef"}}}, orig)
	if ue := (&url.Error{Op: "Get", URL: "http://x", Err: err}); !ue.Timeout() || !errors.Is(ue, os.ErrDeadlineExceeded) {
		t.Errorf("url.Error around a redacted timeout: Timeout() = %v, errors.Is(os.ErrDeadlineExceeded) = %v; want both true", ue.Timeout(), errors.Is(ue, os.ErrDeadlineExceeded))
	}
	if got, want := err.(interface{ ErrorType() string }).ErrorType(), "*net.OpError"; got != want {
		t.Errorf("ErrorType() = %q, want %q", got, want)
	}
	refused := redact(&http.Request{}, &net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})
	if ue := (&url.Error{Op: "Get", URL: "http://x", Err: refused}); ue.Timeout() {
		t.Error("url.Error around a redacted refused connection: Timeout() = true, want false")
	}
}

// rawAnswer serves one connection on 127.0.0.1: it reads a request's header
// and writes answer as it is.
func rawAnswer(t *testing.T, answer string) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	t.Cleanup(func() { _ = ln.Close(); <-done })
	go func() {
		defer close(done)
		conn, err := ln.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		if _, err := http.ReadRequest(bufio.NewReader(conn)); err == nil {
			_, _ = io.WriteString(conn, answer)
		}
	}()
	return ln.Addr().String()
}
