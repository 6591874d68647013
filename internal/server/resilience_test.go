package server

import (
	"context"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// healthOf returns the gRPC health status of svc ("" for the server).
func healthOf(ctx context.Context, t *testing.T, conn *grpc.ClientConn, svc string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		t.Fatalf("health %q: %v", svc, err)
	}
	return resp.GetStatus()
}

// httpStatusOf returns the status of GET base+path.
func httpStatusOf(ctx context.Context, t *testing.T, base, path string) int {
	t.Helper()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, base+path, nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", path, err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	return resp.StatusCode
}

// details returns the ErrorInfo and RetryInfo of err's status.
func details(err error) (*errdetails.ErrorInfo, *errdetails.RetryInfo) {
	var info *errdetails.ErrorInfo
	var retry *errdetails.RetryInfo
	for _, d := range status.Convert(err).Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.RetryInfo:
			retry = d
		}
	}
	return info, retry
}

// tenantContext returns ctx with the call metadata of tenant.
func tenantContext(ctx context.Context, tenant string) context.Context {
	return metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer test-token", "x-tenant", tenant)
}

const testResellerID = "11111111-1111-4111-8111-111111111111"

// writeReseller answers with a small reseller.
func writeReseller(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "application/json")
	_, _ = io.WriteString(w, `{"id":"`+testResellerID+`","companyName":"Contoso"}`)
}

// TestFailingTenantKeepsOthersAndReadiness drives the assembled server at
// 200 calls/s for a second with a tenant (or one reseller id) that fails,
// while another tenant calls: every call of the other tenant succeeds, and
// the overall health and /readyz stay SERVING, before, during and after.
func TestFailingTenantKeepsOthersAndReadiness(t *testing.T) {
	const badID = "22222222-2222-4222-8222-222222222222"
	tests := []struct {
		name string
		fail func(r *http.Request) bool
	}{
		{name: "failing tenant", fail: func(r *http.Request) bool { return r.Header.Get("X-Tenant") == "bad.example.com" }},
		{name: "failing reseller id", fail: func(r *http.Request) bool { return strings.HasSuffix(r.URL.Path, badID) }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				if tt.fail(r) {
					w.Header().Set("Content-Type", "text/html")
					w.WriteHeader(http.StatusServiceUnavailable)
					_, _ = io.WriteString(w, "<html>down</html>")
					return
				}
				writeReseller(w)
			}))
			defer up.Close()
			cfg := DefaultConfig()
			cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
			cfg.Upstream.DisableCoalescing = true
			conn, httpBase := startLoggedServer(t, cfg, io.Discard)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			resellers := pb.NewResellerServiceClient(conn)

			// The failing caller starts a call every 5 ms (200 calls/s)
			// until stopBad. It is counted in wg itself, so that the calls
			// it adds never race with wg.Wait.
			var wg sync.WaitGroup
			var badCalls, badOpen atomic.Int32
			stop := time.Now().Add(time.Second)
			done := make(chan struct{})
			stopBad := sync.OnceFunc(func() { close(done); wg.Wait() })
			defer stopBad() // also after t.Fatalf
			wg.Go(func() {
				tick := time.NewTicker(5 * time.Millisecond)
				defer tick.Stop()
				for {
					select {
					case <-done:
						return
					case <-tick.C:
					}
					wg.Go(func() {
						badCalls.Add(1)
						_, err := resellers.GetReseller(tenantContext(ctx, "bad.example.com"), &pb.GetResellerRequest{ResellerId: badID})
						if info, _ := details(err); info.GetReason() == "CIRCUIT_OPEN" {
							badOpen.Add(1)
						}
					})
				}
			})
			good, goodOK := 0, 0
			goodTick := time.NewTicker(10 * time.Millisecond) // 100 calls/s
			defer goodTick.Stop()
			for now := time.Now(); now.Before(stop); now = <-goodTick.C {
				good++
				if _, err := resellers.GetReseller(tenantContext(ctx, "good.example.com"), &pb.GetResellerRequest{ResellerId: testResellerID}); err != nil {
					t.Errorf("good tenant: %v", err)
				} else {
					goodOK++
				}
				if st := healthOf(ctx, t, conn, ""); st != healthpb.HealthCheckResponse_SERVING {
					t.Fatalf("overall health = %v during a partial failure, want SERVING", st)
				}
				if code := httpStatusOf(ctx, t, httpBase, "/readyz"); code != http.StatusOK {
					t.Fatalf("/readyz = %d during a partial failure, want 200", code)
				}
			}
			stopBad()
			if goodOK != good || good == 0 {
				t.Errorf("good tenant: %d of %d calls succeeded, want all", goodOK, good)
			}
			if badOpen.Load() == 0 {
				t.Errorf("bad calls: none of %d refused by an open breaker, want the failing tenant's breaker open", badCalls.Load())
			}
			for _, svc := range []string{"", "cloudcockpit.v1.ResellerService"} {
				if st := healthOf(ctx, t, conn, svc); st != healthpb.HealthCheckResponse_SERVING {
					t.Errorf("health %q = %v with one tenant failing, want SERVING", svc, st)
				}
			}
		})
	}
}

// TestOutageFailsFastAndReadinessStays drives the assembled server against
// an upstream that fails for everyone: the breakers open, calls fail fast
// with UNAVAILABLE, CIRCUIT_OPEN and RetryInfo, the per-service health
// statuses report NOT_SERVING (two proven tenants' breakers are open) while the overall one and /readyz stay
// SERVING, then it all recovers once the upstream does.
func TestOutageFailsFastAndReadinessStays(t *testing.T) {
	// The breakers stay open this long: the checks of an open breaker run
	// within it (500ms was little on a busy machine), the recovery waits it out.
	const openFor = 2 * time.Second
	var failing atomic.Bool
	var requests atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if failing.Load() {
			w.Header().Set("Content-Type", "text/html")
			w.WriteHeader(http.StatusServiceUnavailable)
			_, _ = io.WriteString(w, "<html>down</html>")
			return
		}
		writeReseller(w)
	}))
	defer up.Close()

	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
	cfg.Upstream.MaxAttempts = 1
	cfg.Upstream.Breaker.MinCalls = 3 // a success and two failures
	cfg.Upstream.Breaker.OpenFor = openFor
	conn, httpBase := startLoggedServer(t, cfg, io.Discard)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	resellers := pb.NewResellerServiceClient(conn)
	tenants := []string{"a.example.com", "b.example.com"}

	// A success proves each tenant; then two failures open its breaker.
	for _, tenant := range tenants {
		if _, err := resellers.GetReseller(tenantContext(ctx, tenant), &pb.GetResellerRequest{ResellerId: testResellerID}); err != nil {
			t.Fatal(err)
		}
	}
	failing.Store(true)
	for _, tenant := range tenants {
		for range 2 {
			_, err := resellers.GetReseller(tenantContext(ctx, tenant), &pb.GetResellerRequest{ResellerId: testResellerID})
			if code := status.Code(err); code != codes.Unavailable {
				t.Fatalf("GetReseller() code = %v (%v), want UNAVAILABLE from the 503", code, err)
			}
		}
		// Open: fails fast with CIRCUIT_OPEN and RetryInfo, without upstream
		// calls, checked at once (the open time is a wall-clock window).
		_, err := resellers.GetReseller(tenantContext(ctx, tenant), &pb.GetResellerRequest{ResellerId: testResellerID})
		if st := status.Convert(err); st.Code() != codes.Unavailable {
			t.Fatalf("GetReseller() code = %v, want UNAVAILABLE", st.Code())
		}
		info, retry := details(err)
		if info.GetReason() != "CIRCUIT_OPEN" {
			t.Errorf("ErrorInfo.reason = %q, want CIRCUIT_OPEN", info.GetReason())
		}
		if d := retry.GetRetryDelay().AsDuration(); retry == nil || d <= 0 || d > openFor {
			t.Errorf("RetryInfo = %v, want a delay in (0, %v]", retry, openFor)
		}
	}
	if n := requests.Load(); n != 6 {
		t.Errorf("upstream saw %d requests, want 6", n)
	}
	// The per-service statuses report the outage (polled once a second);
	// the overall status and /readyz never follow the upstream.
	waitHealth(ctx, t, conn, "cloudcockpit.v1.ResellerService", healthpb.HealthCheckResponse_NOT_SERVING)
	if st := healthOf(ctx, t, conn, ""); st != healthpb.HealthCheckResponse_SERVING {
		t.Errorf("overall health = %v during an outage, want SERVING", st)
	}
	if code := httpStatusOf(ctx, t, httpBase, "/readyz"); code != http.StatusOK {
		t.Errorf("/readyz = %d during an outage, want 200", code)
	}
	if code := httpStatusOf(ctx, t, httpBase, "/healthz"); code != http.StatusOK {
		t.Errorf("/healthz = %d during an outage, want 200", code)
	}

	// The upstream recovers: after the open time a probe closes each
	// tenant's breaker. Each caller waits as RetryInfo tells it before it
	// calls again (the server keeps real time: no synctest bubble here).
	failing.Store(false)
	for _, tenant := range tenants {
		for {
			_, err := resellers.GetReseller(tenantContext(ctx, tenant), &pb.GetResellerRequest{ResellerId: testResellerID})
			if err == nil {
				break
			}
			_, retry := details(err)
			if retry == nil || ctx.Err() != nil {
				t.Fatalf("GetReseller() after recovery: %v", err)
			}
			select { // a caller backing off as told, or out of time (checked below)
			case <-time.After(retry.GetRetryDelay().AsDuration()):
			case <-ctx.Done():
			}
		}
	}
	waitHealth(ctx, t, conn, "cloudcockpit.v1.ResellerService", healthpb.HealthCheckResponse_SERVING)
	if err := ctx.Err(); errors.Is(err, context.DeadlineExceeded) {
		t.Fatal("test ran out of time")
	}
}

// waitHealth waits, at most 5s, until svc's health status is want, as a
// Watch stream reports it.
func waitHealth(ctx context.Context, t *testing.T, conn *grpc.ClientConn, svc string, want healthpb.HealthCheckResponse_ServingStatus) {
	t.Helper()
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	w, err := healthpb.NewHealthClient(conn).Watch(ctx, &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		t.Fatalf("health %q: %v", svc, err)
	}
	for {
		r, err := w.Recv()
		if err != nil {
			t.Fatalf("health %q never %v: %v", svc, want, err)
		}
		if r.GetStatus() == want {
			return
		}
	}
}

// TestThrottlingIsSurfacedWithRetryInfo: a tenant's 429 reaches the caller
// as RESOURCE_EXHAUSTED with RetryInfo from Retry-After, and never opens a
// breaker or affects another tenant.
func TestThrottlingIsSurfacedWithRetryInfo(t *testing.T) {
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Header.Get("X-Tenant") == "throttled.example.com" {
			w.Header().Set("Retry-After", "30")
			w.WriteHeader(http.StatusTooManyRequests)
			return
		}
		writeReseller(w)
	}))
	defer up.Close()
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
	cfg.Upstream.Breaker.MinCalls = 2
	conn, _ := startLoggedServer(t, cfg, io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	resellers := pb.NewResellerServiceClient(conn)
	for range 10 {
		_, err := resellers.GetReseller(tenantContext(ctx, "throttled.example.com"), &pb.GetResellerRequest{ResellerId: testResellerID})
		if code := status.Code(err); code != codes.ResourceExhausted {
			t.Fatalf("throttled call: code = %v (%v), want RESOURCE_EXHAUSTED", code, err)
		}
		if _, retry := details(err); retry.GetRetryDelay().AsDuration() != 30*time.Second {
			t.Fatalf("throttled call: RetryInfo = %v, want 30s", retry)
		}
	}
	if _, err := resellers.GetReseller(tenantContext(ctx, "other.example.com"), &pb.GetResellerRequest{ResellerId: testResellerID}); err != nil {
		t.Errorf("other tenant: %v", err)
	}
}
