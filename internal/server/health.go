package server

import (
	"context"
	"log/slog"
	"time"

	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

// facadeServices are the services whose per-service health status reports
// the upstream's breakers (see watchBreakers).
var facadeServices = []string{pb.ResellerService_ServiceDesc.ServiceName, pb.CustomerService_ServiceDesc.ServiceName}

// setServing sets the overall status (service "") and every facade
// service's.
func setServing(hs *health.Server, st healthpb.HealthCheckResponse_ServingStatus) {
	hs.SetServingStatus("", st)
	for _, name := range facadeServices {
		hs.SetServingStatus(name, st)
	}
}

// breakerPoll is how often watchBreakers reads the breakers.
const breakerPoll = time.Second

// watchBreakers makes the per-service health statuses (ResellerService,
// CustomerService) report NOT_SERVING while the upstream looks down for
// everyone: at least one tenant's circuit breaker is open or half-open and
// none is closed. The overall status (service "", which the Kubernetes probes
// and /readyz use) never follows the upstream: it follows the process only
// (SERVING once started, NOT_SERVING when draining). It returns when ctx
// ends; after hs.Shutdown its updates are ignored.
func watchBreakers(ctx context.Context, hs *health.Server, states func() [3]int, log *slog.Logger) {
	t := time.NewTicker(breakerPoll)
	defer t.Stop()
	down := false
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		n := states()
		now := n[resilience.BreakerOpen]+n[resilience.BreakerHalfOpen] > 0 && n[resilience.BreakerClosed] == 0
		if now == down {
			continue
		}
		down = now
		st := healthpb.HealthCheckResponse_SERVING
		if down {
			st = healthpb.HealthCheckResponse_NOT_SERVING
			log.Warn("no tenant's upstream circuit breaker is closed: per-service health NOT_SERVING (overall health unaffected)")
		} else {
			log.Info("a tenant's upstream circuit breaker is closed again: per-service health SERVING")
		}
		for _, name := range facadeServices {
			hs.SetServingStatus(name, st)
		}
	}
}
