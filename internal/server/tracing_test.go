package server

import (
	"context"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

// exportNotifier is an in-memory exporter that tells, on exported, that
// spans were exported since it was last read.
type exportNotifier struct {
	*tracetest.InMemoryExporter
	exported chan struct{}
}

func (e exportNotifier) ExportSpans(ctx context.Context, spans []sdktrace.ReadOnlySpan) error {
	err := e.InMemoryExporter.ExportSpans(ctx, spans)
	select {
	case e.exported <- struct{}{}:
	default:
	}
	return err
}

// serveTraced serves the sandbox with every span exported to exp; it
// returns exp and the HTTP port's base URL.
func serveTraced(t *testing.T) (exp exportNotifier, base string) {
	t.Helper()
	exp = exportNotifier{tracetest.NewInMemoryExporter(), make(chan struct{}, 1)}
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	cfg.Tracing = telemetry.NewTracing(sdktrace.WithSyncer(exp))
	return exp, serveOnLoopback(t, cfg).httpURL
}

// TestHTTPPortCallsAreTraced: calls on the HTTP port join the caller's trace,
// and the upstream attempt's client span is the child of the call's server
// span. The REST mirror calls the services in process, not through the gRPC
// server's stats handler, so its server span comes from the HTTP handler; a
// Connect call goes through the gRPC server, whose stats handler starts it.
func TestHTTPPortCallsAreTraced(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		body       string
		header     map[string]string
		serverSpan string
	}{
		{
			name:       "REST mirror",
			method:     http.MethodGet,
			path:       "/v1/Resellers/" + sandbox.ContosoResellerID,
			serverSpan: "GET /v1/Resellers/{resellerId}",
		},
		{
			name:       "Connect",
			method:     http.MethodPost,
			path:       "/cloudcockpit.v1.ResellerService/GetReseller",
			body:       `{"resellerId":"` + sandbox.ContosoResellerID + `"}`,
			header:     map[string]string{"Content-Type": "application/json", "Connect-Protocol-Version": "1"},
			serverSpan: "cloudcockpit.v1.ResellerService/GetReseller",
		},
	}
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			exp, base := serveTraced(t)
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()

			var body io.Reader
			if tt.body != "" {
				body = strings.NewReader(tt.body)
			}
			req, err := http.NewRequestWithContext(ctx, tt.method, base+tt.path, body)
			if err != nil {
				t.Fatal(err)
			}
			for k, v := range tt.header {
				req.Header.Set(k, v)
			}
			req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
			req.Header.Set("X-Tenant", sandbox.SampleTenant)
			req.Header.Set("Traceparent", "00-"+traceID+"-00f067aa0ba902b7-01")
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				t.Fatalf("status = %d", resp.StatusCode)
			}

			// A server span may end just after the answer went out: wait
			// for both spans, at most until ctx ends.
			var server, client tracetest.SpanStub
			for server.Name == "" || client.Name == "" {
				for _, s := range exp.GetSpans() {
					switch {
					case s.Name == tt.serverSpan:
						server = s
					case strings.HasPrefix(s.Name, "upstream GetReseller"):
						client = s
					}
				}
				if server.Name != "" && client.Name != "" {
					break
				}
				select {
				case <-exp.exported:
				case <-ctx.Done():
					t.Fatalf("want a server span %q and an upstream client span, got %v", tt.serverSpan, exp.GetSpans())
				}
			}
			if server.Name == "" || client.Name == "" {
				t.Fatalf("want a server span %q and an upstream client span, got %v", tt.serverSpan, exp.GetSpans())
			}
			if got := server.SpanContext.TraceID().String(); got != traceID {
				t.Errorf("server span trace = %s, want the caller's %s", got, traceID)
			}
			if client.Parent.SpanID() != server.SpanContext.SpanID() {
				t.Errorf("client span parent = %s, want the server span %s", client.Parent.SpanID(), server.SpanContext.SpanID())
			}
			for _, s := range exp.GetSpans() {
				if strings.Contains(s.Name, sandbox.ContosoResellerID) {
					t.Errorf("span name %q holds an id", s.Name)
				}
			}
		})
	}
}

// TestUnroutedRequestSpanNameHasNoPath: a request no route takes is traced
// under its method alone, never the caller's path (ids, anything).
func TestUnroutedRequestSpanNameHasNoPath(t *testing.T) {
	exp, base := serveTraced(t)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/no-such/0123456789abcdef", nil)
	if err != nil {
		t.Fatal(err)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	for len(exp.GetSpans()) == 0 { // the span may end just after the answer
		select {
		case <-exp.exported:
		case <-ctx.Done():
			t.Fatal("no span")
		}
	}
	for _, s := range exp.GetSpans() {
		if s.Name != http.MethodGet {
			t.Errorf("span name %q, want %s alone", s.Name, http.MethodGet)
		}
	}
}

// stuckExporter is a span exporter whose collector never answers: an export
// waits for its context, or for unstuck.
type stuckExporter struct{ unstuck chan struct{} }

func (e stuckExporter) ExportSpans(ctx context.Context, _ []sdktrace.ReadOnlySpan) error {
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-e.unstuck:
		return nil
	}
}

func (stuckExporter) Shutdown(context.Context) error { return nil }

// TestStuckCollectorCannotHoldShutdown: spans still queued at shutdown are
// flushed within the drain's deadline (-shutdown-timeout), not for as long as
// the exporter cares to wait (the batch processor's 30 s export timeout), so
// that a collector that does not answer cannot keep the process past the
// bound its termination grace period is sized from (docs/deployment.md).
func TestStuckCollectorCannotHoldShutdown(t *testing.T) {
	exp := stuckExporter{unstuck: make(chan struct{})}
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true
	cfg.ShutdownTimeout = time.Second
	cfg.Tracing = telemetry.NewTracing(sdktrace.WithBatcher(exp))
	s := serveOnLoopback(t, cfg)
	t.Cleanup(func() { close(exp.unstuck) })              // before serveOnLoopback's: lets the exporter go
	resp, _, err := get(t.Context(), s.httpURL+"/readyz") // a span to flush
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /readyz: %v, %v", resp, err)
	}
	start := time.Now()
	s.stop()
	if err := s.wait(); err != nil || time.Since(start) > 5*time.Second {
		t.Errorf("Serve with a collector that never answers, shutdown timeout 1s: returned %v after %v, want nil within the timeout", err, time.Since(start))
	}
}
