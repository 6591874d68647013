package telemetry

import (
	"context"
	"errors"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

// TestUpstreamRequestStatus: an attempt that was never sent is not counted,
// one the caller abandoned counts as "canceled", and only one that got no
// answer for another reason (refused, the client's own attempt timeout)
// counts as "error".
func TestUpstreamRequestStatus(t *testing.T) {
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Query().Has("hang") {
			<-r.Context().Done()
			return
		}
		w.WriteHeader(http.StatusNoContent)
	}))
	defer srv.Close()
	refused := func() string {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		addr := l.Addr().String()
		_ = l.Close()
		return "http://" + addr
	}()
	attemptTimeout := errors.New("attempt timeout")
	tests := []struct {
		name string
		url  string
		ctx  func() (context.Context, context.CancelFunc)
		want string // the status label counted, "" for none
	}{
		{name: "answered", url: srv.URL + "/v1/Resellers/r1", want: "204"},
		{name: "never sent", url: srv.URL + "/v1/Resellers/r1", want: "", ctx: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			cancel()
			return ctx, cancel
		}},
		{name: "caller cancelled", url: srv.URL + "/v1/Resellers/r1?hang", want: "canceled", ctx: func() (context.Context, context.CancelFunc) {
			ctx, cancel := context.WithCancel(context.Background())
			time.AfterFunc(50*time.Millisecond, cancel)
			return ctx, cancel
		}},
		{name: "caller deadline", url: srv.URL + "/v1/Resellers/r1?hang", want: "canceled", ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeout(context.Background(), 50*time.Millisecond)
		}},
		{name: "attempt timeout", url: srv.URL + "/v1/Resellers/r1?hang", want: "error", ctx: func() (context.Context, context.CancelFunc) {
			return context.WithTimeoutCause(context.Background(), 50*time.Millisecond, attemptTimeout)
		}},
		{name: "connection refused", url: refused + "/v1/Resellers/r1", want: "error"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics(Build{})
			base := http.DefaultTransport.(*http.Transport).Clone()
			defer base.CloseIdleConnections()
			rt := m.Transport(base)
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			if tt.ctx != nil {
				ctx, cancel = tt.ctx()
			}
			defer cancel()
			req, _ := http.NewRequestWithContext(rest.WithOperation(ctx, apierr.OpGetReseller), http.MethodGet, tt.url, nil)
			if resp, err := rt.RoundTrip(req); err == nil {
				_ = resp.Body.Close()
			}
			var got []string
			for _, status := range []string{"204", "canceled", "error"} {
				if v := testutil.ToFloat64(m.upstreamRequests.WithLabelValues(apierr.OpGetReseller, status)); v > 0 {
					got = append(got, status)
				}
			}
			if want := strings.Fields(tt.want); strings.Join(got, " ") != strings.Join(want, " ") {
				t.Errorf("counted statuses = %v, want %v", got, want)
			}
		})
	}
}

type fakeUpstreamState struct{}

func (fakeUpstreamState) BreakerStates() [3]int { return [3]int{5, 1, 2} }
func (fakeUpstreamState) Tenants() int          { return 8 }

// TestResilienceMetrics: the per-tenant gauges read the observed state; the
// counters keep their labels bounded.
func TestResilienceMetrics(t *testing.T) {
	m := NewMetrics(Build{})
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(`# HELP cloudcockpit_upstream_tenants Tenants with live upstream resilience state (breaker, retry budget), proven or not; two bounded sets.
# TYPE cloudcockpit_upstream_tenants gauge
cloudcockpit_upstream_tenants 0
`), "cloudcockpit_upstream_tenants"); err != nil {
		t.Error(err)
	}
	m.ObserveUpstream(fakeUpstreamState{})
	m.Rejected(apierr.OpGetReseller, "circuit_open")
	m.Rejected(apierr.OpGetReseller, "made-up")
	m.BreakerTransition(resilience.BreakerOpen)
	m.BreakerTransition(resilience.BreakerState(7)) // no such state
	want := `# HELP cloudcockpit_upstream_breakers Upstream circuit breakers of tenants the upstream has answered with a success, in each state (closed, half_open, open).
# TYPE cloudcockpit_upstream_breakers gauge
cloudcockpit_upstream_breakers{state="closed"} 5
cloudcockpit_upstream_breakers{state="half_open"} 1
cloudcockpit_upstream_breakers{state="open"} 2
# HELP cloudcockpit_upstream_breaker_transitions_total State changes of the per-tenant upstream circuit breakers, by new state.
# TYPE cloudcockpit_upstream_breaker_transitions_total counter
cloudcockpit_upstream_breaker_transitions_total{to="open"} 1
cloudcockpit_upstream_breaker_transitions_total{to="unknown"} 1
# HELP cloudcockpit_upstream_rejected_total Upstream calls or retries refused before anything was sent, by operation and reason (circuit_open, concurrency_limit, tenant_concurrency_limit).
# TYPE cloudcockpit_upstream_rejected_total counter
cloudcockpit_upstream_rejected_total{operation="GetReseller",reason="circuit_open"} 1
cloudcockpit_upstream_rejected_total{operation="GetReseller",reason="other"} 1
# HELP cloudcockpit_upstream_tenants Tenants with live upstream resilience state (breaker, retry budget), proven or not; two bounded sets.
# TYPE cloudcockpit_upstream_tenants gauge
cloudcockpit_upstream_tenants 8
`
	if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want),
		"cloudcockpit_upstream_breakers", "cloudcockpit_upstream_breaker_transitions_total", "cloudcockpit_upstream_rejected_total", "cloudcockpit_upstream_tenants"); err != nil {
		t.Error(err)
	}
}
