package server

import (
	"context"
	"log/slog"
	"runtime/debug"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
)

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
