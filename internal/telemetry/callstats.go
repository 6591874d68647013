package telemetry

import (
	"context"
	"sync/atomic"
)

// CallStats is what one facade call learned about its upstream requests, for
// the access log and metrics. The upstream transport fills it through the
// request context; it is safe for concurrent use.
type CallStats struct {
	attempts   atomic.Int32
	lastStatus atomic.Int32
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
	return context.WithValue(ctx, statsKey{}, s), s
}

// StatsFromContext returns the call's CallStats, or nil.
func StatsFromContext(ctx context.Context) *CallStats {
	s, _ := ctx.Value(statsKey{}).(*CallStats)
	return s
}
