package telemetry

import (
	"context"
	"net/http"
	"strings"
	"time"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
)

// transport records each upstream HTTP attempt: metrics by operation and
// status, the call's CallStats, and (when tracing is off) the caller's trace
// context passed through unchanged.
type transport struct {
	base      http.RoundTripper
	metrics   *Metrics
	passTrace bool
}

// Transport wraps base so that every upstream attempt is measured. With
// passTrace, a caller's traceparent/tracestate is forwarded upstream as is
// (used when tracing is off; with tracing on, the OpenTelemetry transport
// injects the client span's context instead).
func (m *Metrics) Transport(base http.RoundTripper, passTrace bool) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &transport{base: base, metrics: m, passTrace: passTrace}
}

// RoundTrip implements http.RoundTripper.
func (t *transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if req.Context().Err() != nil {
		// Nothing will be sent: not an upstream request.
		return t.base.RoundTrip(req)
	}
	op := opFromPath(req.URL.Path)
	stats := StatsFromContext(req.Context())
	if stats != nil {
		stats.attempts.Add(1)
		if t.passTrace && stats.caller.IsValid() && req.Header.Get("traceparent") == "" {
			req = req.Clone(req.Context()) // a RoundTripper must not modify its request
			traceContext.Inject(trace.ContextWithRemoteSpanContext(req.Context(), stats.caller), propagation.HeaderCarrier(req.Header))
		}
	}
	inFlight := t.metrics.upstreamInFlight.WithLabelValues(op)
	inFlight.Inc()
	start := time.Now()
	resp, err := t.base.RoundTrip(req)
	t.metrics.upstreamDuration.WithLabelValues(op).Observe(time.Since(start).Seconds())
	inFlight.Dec()
	code := "error"
	switch {
	case err != nil && abandoned(req.Context()):
		code = "canceled"
	case err == nil:
		code = statusLabel(resp.StatusCode)
		if stats != nil {
			stats.lastStatus.Store(int32(resp.StatusCode)) //nolint:gosec // G115: HTTP status codes are three digits
		}
	}
	t.metrics.upstreamRequests.WithLabelValues(op, code).Inc()
	return resp, err
}

// abandoned reports that an attempt's context ended because the caller left
// (cancelled, or its deadline passed), not because of the upstream: its
// cause is the plain context error. An attempt cut by the client's own
// attempt timeout carries another cause and stays an "error".
func abandoned(ctx context.Context) bool {
	if ctx.Err() == nil {
		return false
	}
	cause := context.Cause(ctx)
	return cause == context.Canceled || cause == context.DeadlineExceeded //nolint:errorlint // the plain sentinels, not wrapped causes
}

// opFromPath names the upstream operation of a request path (bounded).
func opFromPath(p string) string {
	switch {
	case strings.Contains(p, "/v1/Resellers/"):
		return OpGetReseller
	case strings.HasSuffix(p, "/v1/Customers/relationship-acceptance"):
		return OpGetAcceptanceLink
	}
	return opOther
}
