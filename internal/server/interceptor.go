package server

import (
	"context"
	"log/slog"
	"runtime/debug"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
)

// accessLog writes one line per call: method, code, duration, correlation id
// and tenant. It never logs credentials or bodies.
func accessLog(l *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		start := time.Now()
		resp, err := handler(ctx, req)
		code := status.Code(err)
		level := slog.LevelInfo
		if code == codes.Internal || code == codes.Unknown || code == codes.DataLoss {
			level = slog.LevelError
		}
		if !l.Enabled(ctx, level) {
			return resp, err
		}
		id, _ := correlation.FromContext(ctx)
		attrs := []slog.Attr{
			slog.String("method", info.FullMethod),
			slog.String("code", code.String()),
			slog.Duration("duration", time.Since(start)),
			slog.String("correlation_id", id.Value),
			slog.String("tenant", tenantOf(ctx)),
		}
		if err != nil {
			attrs = append(attrs, slog.String("error", status.Convert(err).Message()))
		}
		l.LogAttrs(ctx, level, "call", attrs...)
		return resp, err
	}
}

// tenantOf returns the caller's x-tenant for the log line, cut short so that
// a hostile value cannot flood the log.
func tenantOf(ctx context.Context) string {
	vals := metadata.ValueFromIncomingContext(ctx, "x-tenant")
	if len(vals) == 0 {
		return ""
	}
	if len(vals[0]) > 253 {
		return vals[0][:253]
	}
	return vals[0]
}

// recoverer turns a handler panic into INTERNAL and logs its stack, so that one
// bad call cannot take the process down.
func recoverer(l *slog.Logger) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (resp any, err error) {
		defer func() {
			if p := recover(); p != nil {
				id, _ := correlation.FromContext(ctx)
				l.LogAttrs(ctx, slog.LevelError, "panic in handler",
					slog.String("method", info.FullMethod), slog.Any("panic", p),
					slog.String("stack", string(debug.Stack())), slog.String("correlation_id", id.Value))
				err = status.Error(codes.Internal, "internal error")
			}
		}()
		return handler(ctx, req)
	}
}
