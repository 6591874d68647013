package gateway

import (
	"net/http"
	"net/http/httptest"
	"testing"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestHealth: /healthz is liveness; /readyz follows the gRPC health status.
func TestHealth(t *testing.T) {
	s := newStack(t, http.HandlerFunc(okUpstream))
	tests := []struct {
		name   string
		status healthpb.HealthCheckResponse_ServingStatus
		path   string
		want   int
		body   string
	}{
		{name: "live", status: healthpb.HealthCheckResponse_SERVING, path: HealthzPath, want: 200, body: `{"status":"SERVING"}` + "\n"},
		{name: "ready", status: healthpb.HealthCheckResponse_SERVING, path: ReadyzPath, want: 200, body: `{"status":"SERVING"}` + "\n"},
		{name: "not ready", status: healthpb.HealthCheckResponse_NOT_SERVING, path: ReadyzPath, want: 503, body: `{"status":"NOT_SERVING"}` + "\n"},
		{name: "live while not ready", status: healthpb.HealthCheckResponse_NOT_SERVING, path: HealthzPath, want: 200, body: `{"status":"SERVING"}` + "\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			s.health.SetServingStatus("", tt.status)
			r := s.do(t, http.MethodGet, tt.path)
			if r.status != tt.want || string(r.body) != tt.body || r.header.Get("Content-Type") != "application/json" {
				t.Errorf("GET %s = %d %q (%s), want %d %q JSON", tt.path, r.status, r.body, r.header.Get("Content-Type"), tt.want, tt.body)
			}
		})
	}
	if got := s.seen(); len(got) != 0 {
		t.Errorf("probes made gRPC calls %q, want none", got)
	}
}

// TestReadyzWithoutHealth: without a health checker, /readyz answers like /healthz.
func TestReadyzWithoutHealth(t *testing.T) {
	h, err := New(nil, nil, nil, nil)
	if err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, ReadyzPath, nil))
	if rec.Code != http.StatusOK {
		t.Errorf("GET /readyz = %d, want 200", rec.Code)
	}
}
