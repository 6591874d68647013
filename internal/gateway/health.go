package gateway

import (
	"fmt"
	"net/http"

	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// serveHealthz is the liveness probe: the process answers HTTP.
func serveHealthz(w http.ResponseWriter, _ *http.Request, _ map[string]string) {
	writeHealth(w, http.StatusOK, healthpb.HealthCheckResponse_SERVING.String())
}

// serveReadyz is the readiness probe: the gRPC health status of the server as
// a whole, checked in-process (no gRPC call, so probes neither log nor count
// as calls).
func (g *gateway) serveReadyz(w http.ResponseWriter, r *http.Request, _ map[string]string) {
	if g.health == nil {
		serveHealthz(w, r, nil)
		return
	}
	resp, err := g.health.Check(r.Context(), &healthpb.HealthCheckRequest{})
	if err != nil {
		writeHealth(w, http.StatusServiceUnavailable, status.Code(err).String())
		return
	}
	code := http.StatusOK
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		code = http.StatusServiceUnavailable
	}
	writeHealth(w, code, resp.GetStatus().String())
}

// writeHealth writes {"status": st}.
func writeHealth(w http.ResponseWriter, code int, st string) {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-store")
	w.WriteHeader(code)
	_, _ = fmt.Fprintf(w, "{\"status\":%q}\n", st)
}
