package telemetry

import (
	"context"
	"sync/atomic"

	"google.golang.org/grpc/metadata"
)

// CallStats is what one facade call learned about its upstream requests, for
// the access log and metrics. The upstream transport fills it through the
// request context; it is safe for concurrent use.
type CallStats struct {
	attempts   atomic.Int32
	lastStatus atomic.Int32

	// traceparent and tracestate are the caller's W3C trace context, passed
	// through to the upstream when tracing is off. Set before the handler
	// runs, read-only after.
	traceparent, tracestate string
}

// Attempts returns how many upstream HTTP attempts the call made.
func (s *CallStats) Attempts() int { return int(s.attempts.Load()) }

// UpstreamStatus returns the HTTP status of the last upstream answer, 0 when
// none came.
func (s *CallStats) UpstreamStatus() int { return int(s.lastStatus.Load()) }

type statsKey struct{}

// WithCallStats returns a context carrying new CallStats.
func WithCallStats(ctx context.Context) (context.Context, *CallStats) {
	s := &CallStats{}
	if vals := metadata.ValueFromIncomingContext(ctx, "traceparent"); len(vals) == 1 && validTraceparent(vals[0]) {
		s.traceparent = vals[0]
		if ts := metadata.ValueFromIncomingContext(ctx, "tracestate"); len(ts) == 1 && validTracestate(ts[0]) {
			s.tracestate = ts[0]
		}
	}
	return context.WithValue(ctx, statsKey{}, s), s
}

// StatsFromContext returns the call's CallStats, or nil.
func StatsFromContext(ctx context.Context) *CallStats {
	s, _ := ctx.Value(statsKey{}).(*CallStats)
	return s
}

// validTraceparent checks the W3C version-00 layout
// 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags> (other versions may
// be longer; only the fixed prefix is checked for them).
func validTraceparent(v string) bool {
	if len(v) < 55 || len(v) > 128 || v[2] != '-' || v[35] != '-' || v[52] != '-' {
		return false
	}
	for i := 0; i < 55; i++ {
		if i == 2 || i == 35 || i == 52 {
			continue
		}
		c := v[i]
		if !('0' <= c && c <= '9' || 'a' <= c && c <= 'f') {
			return false
		}
	}
	return (v[:2] != "00" || len(v) == 55) && v[:2] != "ff"
}

// validTracestate accepts a bounded, printable ASCII tracestate.
func validTracestate(v string) bool {
	if len(v) > 512 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if c := v[i]; c < 0x20 || c > 0x7e {
			return false
		}
	}
	return true
}
