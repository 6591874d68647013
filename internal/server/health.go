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

// setServing sets the status of the facade's services, which reports the
// upstream's breakers (watchBreakers). The overall one (service "") is
// SERVING from health.NewServer until hs.Shutdown.
func setServing(hs *health.Server, st healthpb.HealthCheckResponse_ServingStatus) {
	for _, name := range []string{pb.ResellerService_ServiceDesc.ServiceName, pb.CustomerService_ServiceDesc.ServiceName} {
		hs.SetServingStatus(name, st)
	}
}

const breakerPoll = time.Second

// watchBreakers makes the per-service health statuses report NOT_SERVING while
// the breaker counts of proven tenants say the upstream is down for everyone
// (docs/resilience.md, "Readiness and health"); the overall status follows the
// process only. It returns when ctx ends; after hs.Shutdown its updates are ignored.
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
		if down == (n[resilience.BreakerOpen]+n[resilience.BreakerHalfOpen] >= 2 && n[resilience.BreakerClosed] == 0) {
			continue
		}
		if down = !down; down {
			log.Warn("several tenants' upstream circuit breakers are open and none is closed: per-service health NOT_SERVING (overall health unaffected)")
			setServing(hs, healthpb.HealthCheckResponse_NOT_SERVING)
		} else {
			log.Info("the upstream circuit breakers no longer say the upstream is down: per-service health SERVING")
			setServing(hs, healthpb.HealthCheckResponse_SERVING)
		}
	}
}
