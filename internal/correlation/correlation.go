// Package correlation owns the correlation id of a call: it reads the caller's
// x-correlation-id, generates a UUID when there is none, returns the id in the
// response header metadata and carries it in the context for the upstream
// request, the error details and every log line.
package correlation

import (
	"context"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// ID is the correlation id of one call.
type ID struct {
	// Value is the id used for the call: the caller's when it sent one valid
	// UUID, a generated UUID otherwise.
	Value string
	// Rejected is what the caller sent, joined by commas, when that was not
	// one valid UUID; empty when the caller's value was used or none was sent.
	Rejected string
}

type ctxKey struct{}

// FromContext returns the id stored by Ensure, and whether there is one.
func FromContext(ctx context.Context) (ID, bool) {
	id, ok := ctx.Value(ctxKey{}).(ID)
	return id, ok
}

// Ensure returns the call's correlation id and a context that carries it. The
// first call for an incoming gRPC context resolves the id (see Resolve) and sends
// it to the caller as response header metadata; later calls return the stored id.
func Ensure(ctx context.Context) (context.Context, ID) {
	if id, ok := FromContext(ctx); ok {
		return ctx, id
	}
	id := Resolve(metadata.ValueFromIncomingContext(ctx, apierr.MDCorrelationID))
	// SetHeader fails only outside a server call (plain unit tests); the id
	// is still used for the upstream request and the error details.
	_ = grpc.SetHeader(ctx, metadata.Pairs(apierr.MDCorrelationID, id.Value))
	return context.WithValue(ctx, ctxKey{}, id), id
}

// Resolve returns the correlation id of a call whose caller sent vals (the
// values of its x-correlation-id metadata or X-Correlation-Id header): the
// caller's when it sent exactly one UUID, a new UUID otherwise.
func Resolve(vals []string) ID {
	if len(vals) == 1 && IsUUID(vals[0]) {
		return ID{Value: vals[0]}
	}
	return ID{Value: uuid.NewString(), Rejected: strings.Join(vals, ",")} // "" when nothing was sent
}

// UnaryServerInterceptor establishes the correlation id before the handler and
// the interceptors after it run, so that all of them see the same id.
func UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, _ *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		ctx, _ = Ensure(ctx)
		return handler(ctx, req)
	}
}

// IsUUID reports whether s is a UUID in its canonical 8-4-4-4-12 form, in either
// case; the other forms uuid.Parse accepts are rejected, so that the value can
// be placed in a URL or header unchanged.
func IsUUID(s string) bool { return len(s) == 36 && uuid.Validate(s) == nil }
