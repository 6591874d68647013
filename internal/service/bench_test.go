package service

import (
	"context"
	"errors"
	"fmt"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// The benchmarks of the handler's hot path. `make bench-micro` runs them
// with the other packages' benchmarks; profile one with, for example:
//
//	go test -run '^$' -bench GetResellerInProcess -benchmem -cpuprofile cpu.out ./internal/service
//	go tool pprof -top internal/service.test cpu.out

// benchCorrelationID is a fixed caller correlation id, so that no benchmark
// pays for generating one unless it means to.
const benchCorrelationID = "0f8fad5b-d9cb-469f-a165-70867728950e"

// benchContosoBody returns the sandbox's full sample reseller as the
// upstream sends it (about 1.5 KB of JSON).
func benchContosoBody(b *testing.B) []byte {
	b.Helper()
	req := httptest.NewRequest(http.MethodGet, "/v1/Resellers/"+sandbox.ContosoResellerID, nil)
	req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
	req.Header.Set("X-Tenant", sandbox.SampleTenant)
	rec := httptest.NewRecorder()
	sandbox.New().ServeHTTP(rec, req)
	if rec.Code != http.StatusOK {
		b.Fatalf("sandbox answered %d: %s", rec.Code, rec.Body)
	}
	return rec.Body.Bytes()
}

// benchContoso returns the decoded sample reseller.
func benchContoso(b *testing.B) *rest.Reseller {
	b.Helper()
	r, err := rest.DecodeReseller(benchContosoBody(b))
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkResellerToProto measures the DTO → protobuf mapping of a full
// reseller (resellerProviderData was parsed by rest.DecodeReseller).
func BenchmarkResellerToProto(b *testing.B) {
	r := benchContoso(b)
	b.ReportAllocs()
	for b.Loop() {
		if p := resellerToProto(r, nil); len(p.GetProviderResellers()) == 0 {
			b.Fatal("no provider resellers")
		}
	}
}

// BenchmarkToStatus measures the error mapping, from the error the upstream
// client returns to the status with its details, for the common cases.
func BenchmarkToStatus(b *testing.B) {
	c := &call{op: apierr.OpGetReseller,
		info: rest.CallInfo{Tenant: sandbox.SampleTenant, Authorization: "Bearer " + sandbox.SampleToken, CorrelationID: benchCorrelationID}}
	res := sandbox.UnknownResellerID
	wrap := func(err error) error { return fmt.Errorf("get reseller %q: %w", sandbox.UnknownResellerID, err) }
	tests := []struct {
		name string
		err  error
	}{
		{"upstream-404", wrap(&rest.Error{Kind: rest.KindAnswered, StatusCode: http.StatusNotFound, Envelope: &rest.Envelope{
			StatusCode: 404, Type: "NotFound", Description: "Reseller not found.", CorrelationID: benchCorrelationID,
		}})},
		{"upstream-400-violations", wrap(&rest.Error{Kind: rest.KindAnswered, StatusCode: http.StatusBadRequest, Envelope: &rest.Envelope{
			StatusCode: 400, Type: "ValidationError", Description: "One or more validation errors occurred.", CorrelationID: benchCorrelationID,
			Errors: []rest.PropertyError{
				{PropertyName: "resellerId", Description: []string{"The value is not valid for resellerId."}},
				{PropertyName: "X-Tenant", Description: []string{"The X-Tenant header is required.", "It must be a domain."}},
			},
		}})},
		{"upstream-503-retry-after", wrap(&rest.Error{Kind: rest.KindAnswered, StatusCode: http.StatusServiceUnavailable, RetryAfter: 2 * time.Second, HasRetryAfter: true})},
		{"unreachable", wrap(&net.OpError{Op: "dial", Net: "tcp", Err: syscall.ECONNREFUSED})},
	}
	ctx := context.Background()
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			b.ReportAllocs()
			for b.Loop() {
				if err := toStatus(ctx, c, tt.err, res); err == nil {
					b.Fatal("nil status")
				}
			}
		})
	}
}

// benchStream stands in for the server's transport stream, so that
// correlation.Ensure can set the response header as it does in a server.
type benchStream struct{}

func (benchStream) Method() string               { return pb.ResellerService_GetReseller_FullMethodName }
func (benchStream) SetHeader(metadata.MD) error  { return nil }
func (benchStream) SendHeader(metadata.MD) error { return nil }
func (benchStream) SetTrailer(metadata.MD) error { return nil }

// BenchmarkBegin measures what every call does before going upstream: the
// correlation id (the caller's, or a generated one) and the validation of
// credentials, tenant and request.
func BenchmarkBegin(b *testing.B) {
	cfg := newConfig(nil)
	for _, tt := range []struct {
		name string
		md   metadata.MD
	}{
		{"caller-correlation-id", metadata.Pairs("authorization", "Bearer "+sandbox.SampleToken, "x-tenant", sandbox.SampleTenant, apierr.MDCorrelationID, benchCorrelationID)},
		{"generated-correlation-id", metadata.Pairs("authorization", "Bearer "+sandbox.SampleToken, "x-tenant", sandbox.SampleTenant)},
	} {
		b.Run(tt.name, func(b *testing.B) {
			ctx := grpc.NewContextWithServerTransportStream(metadata.NewIncomingContext(context.Background(), tt.md), benchStream{})
			req := &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID}
			b.ReportAllocs()
			for b.Loop() {
				if _, _, err := begin(ctx, apierr.OpGetReseller, cfg, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkValidateRequest measures the check of a request's fields against
// its buf.validate rules (protovalidate), valid and invalid.
func BenchmarkValidateRequest(b *testing.B) {
	for _, tt := range []struct{ name, id string }{{"valid", sandbox.ContosoResellerID}, {"invalid", "nope"}} {
		b.Run(tt.name, func(b *testing.B) {
			req := &pb.GetResellerRequest{ResellerId: tt.id}
			b.ReportAllocs()
			for b.Loop() {
				var v violations
				v.request(req)
				if (len(v) == 0) != (tt.name == "valid") {
					b.Fatalf("violations %v", v)
				}
			}
		})
	}
}

// benchFixedUpstream answers every call with the same decoded reseller.
type benchFixedUpstream struct{ r *rest.Reseller }

func (u benchFixedUpstream) GetReseller(context.Context, rest.CallInfo, string) (*rest.Reseller, error) {
	return u.r, nil
}

func (u benchFixedUpstream) GetAcceptanceLink(context.Context, rest.CallInfo, string, string) (string, error) {
	return "", errors.New("not benchmarked")
}

// benchDecodeUpstream decodes the same upstream body for every call: an
// upstream without the HTTP round trip.
type benchDecodeUpstream struct{ body []byte }

func (u benchDecodeUpstream) GetReseller(context.Context, rest.CallInfo, string) (*rest.Reseller, error) {
	return rest.DecodeReseller(u.body)
}

func (u benchDecodeUpstream) GetAcceptanceLink(context.Context, rest.CallInfo, string, string) (string, error) {
	return "", errors.New("not benchmarked")
}

// benchSandboxClient returns a REST client of an in-process sandbox served
// over loopback HTTP, closed at cleanup.
func benchSandboxClient(b *testing.B, disableCoalescing bool) Upstream {
	b.Helper()
	srv := httptest.NewServer(sandbox.New())
	tr := rest.NewPools(rest.NewTransport(rest.TransportConfig{}), 0)
	b.Cleanup(func() {
		tr.CloseIdleConnections()
		srv.Close()
	})
	c, err := rest.New(rest.Config{BaseURL: srv.URL, Transport: tr, DisableCoalescing: disableCoalescing})
	if err != nil {
		b.Fatal(err)
	}
	return c
}

// benchGRPCClient serves the services over upstream on an in-memory
// connection (bufconn), with the correlation interceptor, and returns a
// client; both are stopped at cleanup. The production server's other
// interceptors (access log, metrics, recovery) live in internal/server.
func benchGRPCClient(b *testing.B, upstream Upstream) pb.ResellerServiceClient {
	b.Helper()
	l := bufconn.Listen(256 << 10)
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(correlation.UnaryServerInterceptor()))
	pb.RegisterResellerServiceServer(gs, NewResellerServer(upstream, WithLogger(slog.New(slog.NewJSONHandler(io.Discard, nil)))))
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = gs.Serve(l)
	}()
	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = conn.Close()
		gs.Stop()
		<-served
	})
	return pb.NewResellerServiceClient(conn)
}

// BenchmarkGetResellerInProcess measures whole GetReseller calls through a
// gRPC client and server connected in memory (bufconn), peeling the upstream
// layer by layer: a fixed DTO (gRPC, validation, mapping), the JSON decoding
// of the upstream body on top, then the REST client against an in-process
// sandbox over loopback HTTP, with and without its request coalescing.
func BenchmarkGetResellerInProcess(b *testing.B) {
	body := benchContosoBody(b)
	dto := benchContoso(b)
	tests := []struct {
		name     string
		upstream func(b *testing.B) Upstream
	}{
		{"upstream=fixed", func(*testing.B) Upstream { return benchFixedUpstream{dto} }},
		{"upstream=decode", func(*testing.B) Upstream { return benchDecodeUpstream{body} }},
		{"upstream=http", func(b *testing.B) Upstream { return benchSandboxClient(b, false) }},
		{"upstream=http-no-coalescing", func(b *testing.B) Upstream { return benchSandboxClient(b, true) }},
	}
	md := metadata.Pairs("authorization", "Bearer "+sandbox.SampleToken, "x-tenant", sandbox.SampleTenant)
	req := &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			client := benchGRPCClient(b, tt.upstream(b))
			ctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(b.Context(), md), 5*time.Minute)
			defer cancel()
			if _, err := client.GetReseller(ctx, req); err != nil { // connect outside the measurement
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if _, err := client.GetReseller(ctx, req); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
