package server

import (
	"context"
	"log/slog"
	"sync"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// healthServices are the names grpc.health.v1 answers for: the server as a
// whole ("") and each facade service.
var healthServices = []string{"", pb.ResellerService_ServiceDesc.ServiceName, pb.CustomerService_ServiceDesc.ServiceName}

// setServing sets the status of every name in healthServices.
func setServing(hs *health.Server, st healthpb.HealthCheckResponse_ServingStatus) {
	for _, name := range healthServices {
		hs.SetServingStatus(name, st)
	}
}

// readiness makes the health server follow the upstream circuit breaker:
// NOT_SERVING while it is open, SERVING when it is closed or half-open. It
// reports SERVING again as soon as the open period ends (half-open) rather
// than when a probe closes the breaker, because a load balancer that sees
// NOT_SERVING sends no calls, so no probe would ever come and the breaker
// would never close. Liveness (/healthz) does not depend on it. Once the
// health server is shut down it ignores further changes.
type readiness struct {
	mu    sync.Mutex
	hs    *health.Server // nil until attach
	log   *slog.Logger
	state rest.BreakerState
}

// breakerChanged is the rest.Config.OnBreakerStateChange hook. It runs under
// the breaker's lock, so it only records, logs and sets statuses.
func (r *readiness) breakerChanged(s rest.BreakerState) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.state = s
	if r.log != nil {
		level := slog.LevelInfo
		if s == rest.BreakerOpen {
			level = slog.LevelWarn
		}
		r.log.LogAttrs(context.Background(), level, "upstream circuit breaker "+s.String(), slog.String("state", s.String()))
	}
	r.apply()
}

// attach starts driving hs, applying the current state.
func (r *readiness) attach(hs *health.Server, log *slog.Logger) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.hs, r.log = hs, log
	r.apply()
}

// apply sets hs from the breaker state; called with mu held.
func (r *readiness) apply() {
	if r.hs == nil {
		return
	}
	st := healthpb.HealthCheckResponse_SERVING
	if r.state == rest.BreakerOpen {
		st = healthpb.HealthCheckResponse_NOT_SERVING
	}
	setServing(r.hs, st)
}
