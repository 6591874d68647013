package server

import (
	"context"
	"net/http"
	"strings"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

// TestRESTCallsAreTraced: the REST mirror calls the services in process, not
// through the gRPC server's stats handler, so its server span comes from the
// HTTP handler; the upstream attempt's client span must be its child, in the
// caller's trace.
func TestRESTCallsAreTraced(t *testing.T) {
	const traceID = "4bf92f3577b34da6a3ce929d0e0e4736"
	exp := tracetest.NewInMemoryExporter()
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	cfg.Tracing = telemetry.NewTracing(sdktrace.WithSyncer(exp))
	base, _, _ := serveOnLoopback(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/Resellers/"+sandbox.ContosoResellerID, nil)
	if err != nil {
		t.Fatal(err)
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

	var server, client tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		switch {
		case s.Name == "GET /v1/Resellers/{resellerId}":
			server = s
		case strings.HasPrefix(s.Name, "upstream GetReseller"):
			client = s
		}
	}
	if server.Name == "" || client.Name == "" {
		t.Fatalf("want a REST server span and an upstream client span, got %v", exp.GetSpans())
	}
	if got := server.SpanContext.TraceID().String(); got != traceID {
		t.Errorf("server span trace = %s, want the caller's %s", got, traceID)
	}
	if client.Parent.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("client span parent = %s, want the REST server span %s", client.Parent.SpanID(), server.SpanContext.SpanID())
	}
	for _, s := range exp.GetSpans() {
		if strings.Contains(s.Name, sandbox.ContosoResellerID) {
			t.Errorf("span name %q holds an id", s.Name)
		}
	}
}

// TestConnectCallsAreTraced: a Connect call on the HTTP port goes through
// the gRPC server, whose stats handler starts the server span from the
// caller's traceparent; the upstream attempt's client span is its child.
func TestConnectCallsAreTraced(t *testing.T) {
	const traceID = "5bf92f3577b34da6a3ce929d0e0e4737"
	exp := tracetest.NewInMemoryExporter()
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	cfg.Tracing = telemetry.NewTracing(sdktrace.WithSyncer(exp))
	base, _, _ := serveOnLoopback(t, cfg)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	body := strings.NewReader(`{"resellerId":"` + sandbox.ContosoResellerID + `"}`)
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+"/cloudcockpit.v1.ResellerService/GetReseller", body)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/json")
	req.Header.Set("Connect-Protocol-Version", "1")
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

	var server, client tracetest.SpanStub
	for _, s := range exp.GetSpans() {
		switch {
		case s.Name == "cloudcockpit.v1.ResellerService/GetReseller":
			server = s
		case strings.HasPrefix(s.Name, "upstream GetReseller"):
			client = s
		}
	}
	if server.Name == "" || client.Name == "" {
		t.Fatalf("want a gRPC server span and an upstream client span, got %v", exp.GetSpans())
	}
	if got := server.SpanContext.TraceID().String(); got != traceID {
		t.Errorf("server span trace = %s, want the caller's %s", got, traceID)
	}
	if client.Parent.SpanID() != server.SpanContext.SpanID() {
		t.Errorf("client span parent = %s, want the server span %s", client.Parent.SpanID(), server.SpanContext.SpanID())
	}
}
