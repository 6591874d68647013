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
			exp := tracetest.NewInMemoryExporter()
			cfg := DefaultConfig()
			cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
			cfg.Tracing = telemetry.NewTracing(sdktrace.WithSyncer(exp))
			base, _, _ := serveOnLoopback(t, cfg)
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
			// for both spans, bounded.
			var server, client tracetest.SpanStub
			for deadline := time.Now().Add(5 * time.Second); ; time.Sleep(10 * time.Millisecond) {
				for _, s := range exp.GetSpans() {
					switch {
					case s.Name == tt.serverSpan:
						server = s
					case strings.HasPrefix(s.Name, "upstream GetReseller"):
						client = s
					}
				}
				if (server.Name != "" && client.Name != "") || time.Now().After(deadline) {
					break
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
