package telemetry

import (
	"context"
	"sync/atomic"

	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/grpc/metadata"
)

// CallStats is what one facade call learned about its upstream requests, for
// the access log and metrics. The upstream transport fills it through the
// request context; it is safe for concurrent use.
type CallStats struct {
	attempts   atomic.Int32
	lastStatus atomic.Int32

	// caller is the caller's W3C trace context, passed through to the
	// upstream when tracing is off; invalid when none (or a malformed one)
	// came. Set before the handler runs, read-only after.
	caller trace.SpanContext
}

// Attempts returns how many upstream HTTP attempts the call made.
func (s *CallStats) Attempts() int { return int(s.attempts.Load()) }

// UpstreamStatus returns the HTTP status of the last upstream answer, 0 when
// none came.
func (s *CallStats) UpstreamStatus() int { return int(s.lastStatus.Load()) }

type statsKey struct{}

// WithCallStats returns a context carrying new CallStats.
func WithCallStats(ctx context.Context) (context.Context, *CallStats) {
	s := &CallStats{caller: trace.SpanContextFromContext(traceContext.Extract(context.Background(), incoming{ctx}))}
	return context.WithValue(ctx, statsKey{}, s), s
}

// StatsFromContext returns the call's CallStats, or nil.
func StatsFromContext(ctx context.Context) *CallStats {
	s, _ := ctx.Value(statsKey{}).(*CallStats)
	return s
}

// traceContext reads and writes the W3C trace context (traceparent,
// tracestate).
var traceContext propagation.TraceContext

// incoming is the propagator's view of a call's incoming gRPC metadata: a
// key sent more than once counts as absent.
type incoming struct{ ctx context.Context }

func (c incoming) Get(key string) string {
	if v := metadata.ValueFromIncomingContext(c.ctx, key); len(v) == 1 {
		return v[0]
	}
	return ""
}

func (incoming) Set(string, string) {}
func (incoming) Keys() []string     { return nil }
