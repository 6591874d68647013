package server

import (
	"context"
	"io"
	"log/slog"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

// TestWatchBreakers: the per-service statuses turn NOT_SERVING only while
// several (proven) tenants' breakers are open or half-open and none is
// closed; one tenant's open breaker never flips them, and the overall
// status never follows the breakers.
func TestWatchBreakers(t *testing.T) {
	const (
		serving    = healthpb.HealthCheckResponse_SERVING
		notServing = healthpb.HealthCheckResponse_NOT_SERVING
	)
	tests := []struct {
		name   string
		states [][3]int // closed, half-open, open: one per poll
		want   []healthpb.HealthCheckResponse_ServingStatus
	}{
		{"no tenants", [][3]int{{0, 0, 0}}, []healthpb.HealthCheckResponse_ServingStatus{serving}},
		{"one tenant open", [][3]int{{0, 0, 1}, {0, 1, 0}}, []healthpb.HealthCheckResponse_ServingStatus{serving, serving}},
		{"one of three open", [][3]int{{2, 0, 1}}, []healthpb.HealthCheckResponse_ServingStatus{serving}},
		{"two open, one closed: the upstream works for someone", [][3]int{{1, 0, 2}}, []healthpb.HealthCheckResponse_ServingStatus{serving}},
		{
			"outage and recovery",
			[][3]int{{0, 0, 2}, {0, 1, 1}, {1, 0, 1}, {0, 0, 3}},
			[]healthpb.HealthCheckResponse_ServingStatus{notServing, notServing, serving, notServing},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				hs := health.NewServer()
				setServing(hs, serving)
				var poll atomic.Int32
				states := func() [3]int { return tt.states[min(int(poll.Load()), len(tt.states)-1)] }
				ctx, cancel := context.WithCancel(t.Context())
				done := make(chan struct{})
				go func() {
					defer close(done)
					watchBreakers(ctx, hs, states, slog.New(slog.NewTextHandler(io.Discard, nil)))
				}()
				var got, overall []healthpb.HealthCheckResponse_ServingStatus
				for range tt.states {
					<-time.After(breakerPoll) // the next poll, at once in the bubble
					synctest.Wait()
					got = append(got, statusOf(t, hs, "cloudcockpit.v1.ResellerService"))
					if c := statusOf(t, hs, "cloudcockpit.v1.CustomerService"); c != got[len(got)-1] {
						t.Errorf("CustomerService status %v, ResellerService %v: want them equal", c, got[len(got)-1])
					}
					overall = append(overall, statusOf(t, hs, ""))
					poll.Add(1)
				}
				cancel()
				<-done
				if diff := cmp.Diff(tt.want, got); diff != "" {
					t.Errorf("per-service status after each poll (-want +got):\n%s", diff)
				}
				for _, st := range overall {
					if st != serving {
						t.Errorf("overall status = %v, want SERVING whatever the breakers", st)
					}
				}
			})
		})
	}
}

// statusOf returns hs's status for svc.
func statusOf(t *testing.T, hs *health.Server, svc string) healthpb.HealthCheckResponse_ServingStatus {
	t.Helper()
	resp, err := hs.Check(t.Context(), &healthpb.HealthCheckRequest{Service: svc})
	if err != nil {
		t.Fatalf("Check(%q): %v", svc, err)
	}
	return resp.GetStatus()
}
