package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// startResilienceServer runs Serve with cfg on loopback listeners and returns
// a gRPC connection to it and the HTTP base URL. Serve is stopped, and must
// return nil, when the test ends.
func startResilienceServer(t *testing.T, cfg Config) (*grpc.ClientConn, string) {
	t.Helper()
	gl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, cfg, gl, hl) }()
	conn, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		cancel()
		select {
		case err := <-errc:
			if err != nil {
				t.Errorf("Serve = %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("Serve did not return within 10s")
		}
	})
	return conn, "http://" + hl.Addr().String()
}

// TestBreakerReadinessAndStatus drives the assembled server against an
// upstream that fails: the circuit breaker opens, calls fail fast with
// UNAVAILABLE, CIRCUIT_OPEN and RetryInfo, health reports NOT_SERVING for the
// server and both services (and /readyz follows, while /healthz stays up),
// then it all recovers once the upstream does.
func TestBreakerReadinessAndStatus(t *testing.T) {
	const (
		resellerID = "11111111-1111-4111-8111-111111111111"
		openFor    = 500 * time.Millisecond
	)
	var failing atomic.Bool
	var requests atomic.Int32
	failing.Store(true)
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if failing.Load() {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "<html>down</html>")
			return
		}
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+resellerID+`","companyName":"Contoso"}`)
	}))
	defer up.Close()

	cfg := DefaultConfig()
	cfg.UpstreamURL, cfg.UpstreamURLSet = up.URL, true
	cfg.UpstreamMaxAttempts = 1
	cfg.BreakerFailures = 2
	cfg.BreakerOpenDuration = openFor
	conn, httpBase := startResilienceServer(t, cfg)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer test-token", "x-tenant", "portal.cloudcockpit.com")
	resellers := pb.NewResellerServiceClient(conn)
	health := healthpb.NewHealthClient(conn)
	services := []string{"", "cloudcockpit.v1.ResellerService", "cloudcockpit.v1.CustomerService"}

	checkHealth := func(want healthpb.HealthCheckResponse_ServingStatus) {
		t.Helper()
		for _, svc := range services {
			resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
			if err != nil || resp.GetStatus() != want {
				t.Errorf("health %q = %v, %v; want %v", svc, resp.GetStatus(), err, want)
			}
		}
	}
	httpStatus := func(path string) int {
		t.Helper()
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, httpBase+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatalf("GET %s: %v", path, err)
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		_ = resp.Body.Close()
		return resp.StatusCode
	}
	checkHealth(healthpb.HealthCheckResponse_SERVING)

	// Two failures open the breaker.
	for range 2 {
		_, err := resellers.GetReseller(callCtx, &pb.GetResellerRequest{ResellerId: resellerID})
		if code := status.Code(err); code != codes.Unavailable {
			t.Fatalf("GetReseller() code = %v (%v), want UNAVAILABLE from the 503", code, err)
		}
	}

	// Open: fails fast with CIRCUIT_OPEN and RetryInfo, without upstream calls.
	_, err := resellers.GetReseller(callCtx, &pb.GetResellerRequest{ResellerId: resellerID})
	st := status.Convert(err)
	if st.Code() != codes.Unavailable {
		t.Fatalf("GetReseller() code = %v, want UNAVAILABLE", st.Code())
	}
	var info *errdetails.ErrorInfo
	var retry *errdetails.RetryInfo
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.RetryInfo:
			retry = d
		}
	}
	if info.GetReason() != "CIRCUIT_OPEN" {
		t.Errorf("ErrorInfo.reason = %q, want CIRCUIT_OPEN", info.GetReason())
	}
	if d := retry.GetRetryDelay().AsDuration(); retry == nil || d <= 0 || d > openFor {
		t.Errorf("RetryInfo = %v, want a delay in (0, %v]", retry, openFor)
	}
	if n := requests.Load(); n != 2 {
		t.Errorf("upstream saw %d requests, want 2", n)
	}
	checkHealth(healthpb.HealthCheckResponse_NOT_SERVING)
	if code := httpStatus("/readyz"); code != http.StatusServiceUnavailable {
		t.Errorf("/readyz = %d while the breaker is open, want 503", code)
	}
	if code := httpStatus("/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d while the breaker is open, want 200", code)
	}

	// The upstream recovers: readiness returns when the open period ends, and
	// the probe closes the breaker.
	failing.Store(false)
	deadline := time.Now().Add(5 * time.Second)
	for {
		resp, err := health.Check(ctx, &healthpb.HealthCheckRequest{})
		if err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("health did not return to SERVING: %v, %v", resp.GetStatus(), err)
		}
		time.Sleep(20 * time.Millisecond)
	}
	if _, err := resellers.GetReseller(callCtx, &pb.GetResellerRequest{ResellerId: resellerID}); err != nil {
		t.Fatalf("GetReseller() after recovery: %v", err)
	}
	checkHealth(healthpb.HealthCheckResponse_SERVING)
	if code := httpStatus("/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d after recovery, want 200", code)
	}
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("test ran out of time")
	}
}
