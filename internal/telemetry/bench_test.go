package telemetry

import (
	"context"
	"io"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
)

// benchStream stands in for the server's transport stream, so that the
// correlation interceptor sets its response header as it does in a server.
type benchStream struct{}

func (benchStream) Method() string               { return benchMethod }
func (benchStream) SetHeader(metadata.MD) error  { return nil }
func (benchStream) SendHeader(metadata.MD) error { return nil }
func (benchStream) SetTrailer(metadata.MD) error { return nil }

const benchMethod = "/cloudcockpit.v1.ResellerService/GetReseller"

// chain runs interceptors around handler in order, as grpc.ChainUnaryInterceptor does.
func chain(interceptors []grpc.UnaryServerInterceptor, handler grpc.UnaryHandler) grpc.UnaryHandler {
	info := &grpc.UnaryServerInfo{FullMethod: benchMethod}
	for i := len(interceptors) - 1; i >= 0; i-- {
		next, ic := handler, interceptors[i]
		handler = func(ctx context.Context, req any) (any, error) { return ic(ctx, req, info, next) }
	}
	return handler
}

// BenchmarkInterceptors measures what the server's unary interceptors cost
// per call around a handler that does nothing: each one alone, and the chain
// in the order internal/server installs it (correlation id, metrics, access
// log; the recovery interceptor is a deferred recover). The access log writes
// JSON to io.Discard or to a file (one write system call per line, as in
// production).
func BenchmarkInterceptors(b *testing.B) {
	f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	m := NewMetrics(Build{})
	discard := slog.New(slog.NewJSONHandler(io.Discard, nil))
	file := slog.New(slog.NewJSONHandler(f, nil))
	tests := []struct {
		name         string
		interceptors []grpc.UnaryServerInterceptor
	}{
		{"none", nil},
		{"correlation", []grpc.UnaryServerInterceptor{correlation.UnaryServerInterceptor()}},
		{"metrics", []grpc.UnaryServerInterceptor{m.UnaryServerInterceptor()}},
		{"access-log/discard", []grpc.UnaryServerInterceptor{m.AccessLog(discard)}},
		{"access-log/file", []grpc.UnaryServerInterceptor{m.AccessLog(file)}},
		{"chain/file", []grpc.UnaryServerInterceptor{correlation.UnaryServerInterceptor(), m.UnaryServerInterceptor(), m.AccessLog(file)}},
	}
	md := metadata.Pairs("authorization", "Bearer sandbox-token", "x-tenant", "portal.cloudcockpit.com")
	ctx := grpc.NewContextWithServerTransportStream(metadata.NewIncomingContext(context.Background(), md), benchStream{})
	noop := func(context.Context, any) (any, error) { return struct{}{}, nil }
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			h := chain(tt.interceptors, noop)
			b.ReportAllocs()
			for b.Loop() {
				if _, err := h(ctx, nil); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// nopRoundTripper answers every request with an empty 200.
type nopRoundTripper struct{}

func (nopRoundTripper) RoundTrip(*http.Request) (*http.Response, error) {
	return &http.Response{StatusCode: http.StatusOK, Body: io.NopCloser(strings.NewReader(""))}, nil
}

// BenchmarkTransport measures what the metrics transport adds to each
// upstream request, around a RoundTripper that does nothing.
func BenchmarkTransport(b *testing.B) {
	tr := NewMetrics(Build{}).Transport(nopRoundTripper{})
	ctx, _ := WithCallStats(context.Background())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://upstream.invalid/v1/Resellers/11111111-1111-4111-8111-111111111111", nil)
	if err != nil {
		b.Fatal(err)
	}
	b.ReportAllocs()
	for b.Loop() {
		resp, err := tr.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		_ = resp.Body.Close()
	}
}
