package telemetry

import (
	"context"
	"log/slog"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
)

// AccessLog returns the interceptor that creates the call's CallStats,
// records the upstream attempts metric, and writes the access log line.
func (m *Metrics) AccessLog(log *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		ctx, stats := WithCallStats(ctx)
		resp, err := handler(ctx, req)
		m.done(ctx, log, info.FullMethod, start, stats, err)
		return resp, err
	}
}

// done is AccessLog's work after the call, apart so that its frame (the
// line's attributes) is off the stack during the call.
func (m *Metrics) done(ctx context.Context, log *slog.Logger, method string, start time.Time, stats *CallStats, err error) {
	_, name := splitMethod(method)
	attempts := int(stats.attempts.Load())
	m.callDone(name, attempts)
	code := status.Code(err)
	level := slog.LevelInfo
	switch {
	case code == codes.Internal || code == codes.Unknown || code == codes.DataLoss:
		level = slog.LevelError
	case code == codes.OK && strings.HasPrefix(method, "/grpc.health."): // probes, every few seconds
		level = slog.LevelDebug
	}
	if !log.Enabled(ctx, level) {
		return
	}
	id, _ := correlation.FromContext(ctx)
	attrs := append(make([]slog.Attr, 0, 11),
		slog.String("method", method),
		slog.String("code", code.String()),
		// An integer: slog's JSON handler formats floats through encoding/json.
		slog.Int64("duration_us", time.Since(start).Microseconds()),
		slog.Int("upstream_status", int(stats.lastStatus.Load())),
		slog.Int("attempts", attempts),
		slog.String("correlation_id", id.Value),
		slog.String("tenant", tenantOf(ctx)),
	)
	if with := stats.coalescedWith.Load(); with != nil {
		attrs = append(attrs, slog.String("coalesced_with", *with))
	}
	if stats.stale.Load() {
		attrs = append(attrs, slog.Bool("stale", true))
	}
	if err != nil {
		st := status.Convert(err)
		attrs = append(attrs, slog.String("error", st.Message()))
		if cause := apierr.InfoOf(st).GetMetadata()[apierr.MetaCause]; cause != "" {
			attrs = append(attrs, slog.String("cause", cause))
		}
	}
	log.LogAttrs(ctx, level, "call", attrs...)
}

// tenantOf returns the caller's x-tenant for the log line, cut short so that
// a hostile value cannot flood the log.
func tenantOf(ctx context.Context) string {
	vals := metadata.ValueFromIncomingContext(ctx, apierr.MDTenant)
	if len(vals) == 0 {
		return ""
	}
	v := apierr.Truncate(vals[0], 253)
	if strings.ContainsFunc(v, func(r rune) bool { return r <= ' ' || r > '~' || r == '"' || r == '\\' }) {
		return strconv.QuoteToASCII(v) // not a domain name: shown escaped, never raw
	}
	return v
}
