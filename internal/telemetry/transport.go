package telemetry

import (
	"context"
	"net/http"
	"sync/atomic"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// transport records each upstream HTTP attempt: metrics by operation and
// status, and the call's CallStats.
type transport struct {
	base    http.RoundTripper
	metrics *Metrics
}

// Transport wraps base so that every upstream attempt is measured.
func (m *Metrics) Transport(base http.RoundTripper) http.RoundTripper {
	return &transport{base: base, metrics: m}
}

func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Context().Err() != nil { // nothing will be sent: not an upstream request
		return t.base.RoundTrip(req)
	}
	op := boundedOp(rest.Operation(req.Context()))
	series := t.metrics.ops[op]
	stats := StatsFromContext(req.Context())
	if stats != nil {
		stats.attempts.Add(1)
	}
	series.inFlight.Inc()
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	series.duration.Observe(time.Since(start).Seconds())
	series.inFlight.Dec()
	code := "error"
	switch {
	case err != nil && abandoned(req.Context()):
		code = "canceled"
	case err == nil:
		if stats != nil {
			stats.lastStatus.Store(int32(resp.StatusCode)) //nolint:gosec // G115: HTTP status codes are three digits
		}
		if resp.StatusCode == http.StatusOK {
			series.ok.Inc()
			return resp, nil
		}
		code = statusLabel(resp.StatusCode)
	}
	t.metrics.upstreamRequests.WithLabelValues(op, code).Inc()
	return resp, err
}

// abandoned reports that an attempt's context ended because the caller left:
// its cause (nil before it ends) is the plain context error. An attempt cut by
// the client's own attempt timeout carries another cause and stays an "error".
func abandoned(ctx context.Context) bool {
	cause := context.Cause(ctx)
	return cause == context.Canceled || cause == context.DeadlineExceeded //nolint:errorlint // the plain sentinels, not wrapped causes
}

// CallStats is what one facade call learned about its upstream requests, for
// the access log and metrics. The upstream transport fills it through the
// request context; it is safe for concurrent use.
type CallStats struct {
	attempts      atomic.Int32 // upstream HTTP attempts made
	lastStatus    atomic.Int32 // HTTP status of the last upstream answer, 0 when none came
	stale         atomic.Bool
	coalescedWith atomic.Pointer[string] // the correlation id of the upstream request a coalesced call shared
}

// MarkStale records that the call was answered with a stale answer; a nil
// *CallStats ignores it.
func (s *CallStats) MarkStale() {
	if s != nil {
		s.stale.Store(true)
	}
}

type statsKey struct{}

// WithCallStats returns a context carrying new CallStats.
func WithCallStats(ctx context.Context) (context.Context, *CallStats) {
	s := &CallStats{}
	return context.WithValue(ctx, statsKey{}, s), s
}

// StatsFromContext returns the call's CallStats, or nil.
func StatsFromContext(ctx context.Context) *CallStats {
	s, _ := ctx.Value(statsKey{}).(*CallStats)
	return s
}
