package server_test

import (
	"context"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/test/bufconn"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// benchFacade is the production server (server.Serve: interceptors, upstream
// client with its retries and coalescing, REST mirror) in this process, its
// gRPC listener in memory and its HTTP listener on loopback, in front of an
// in-process sandbox.
type benchFacade struct {
	grpc    pb.ResellerServiceClient
	httpURL string
	http    *http.Client
}

// startBenchFacade serves the facade until cleanup, logging JSON to logTo.
func startBenchFacade(b *testing.B, logTo io.Writer) *benchFacade {
	b.Helper()
	upstream := httptest.NewServer(sandbox.New())
	gl := bufconn.Listen(256 << 10)
	hl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		b.Fatal(err)
	}
	cfg := server.DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = upstream.URL, true
	cfg.Logger = slog.New(slog.NewJSONHandler(logTo, nil))
	cfg.ShutdownTimeout = 5 * time.Second
	ctx, stop := context.WithCancel(context.Background())
	served := make(chan error, 1)
	go func() { served <- server.Serve(ctx, cfg, gl, hl) }()

	conn, err := grpc.NewClient("passthrough:///bufconn",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return gl.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		b.Fatal(err)
	}
	tr := &http.Transport{MaxIdleConnsPerHost: 256}
	b.Cleanup(func() {
		_ = conn.Close()
		tr.CloseIdleConnections()
		stop()
		if err := <-served; err != nil {
			b.Error(err)
		}
		upstream.Close()
	})
	return &benchFacade{
		grpc:    pb.NewResellerServiceClient(conn),
		httpURL: "http://" + hl.Addr().String() + "/v1/Resellers/" + sandbox.ContosoResellerID,
		http:    &http.Client{Transport: tr},
	}
}

// benchTokens hands every benchmark goroutine its own token: calls with
// different credentials are never coalesced, so each is one upstream request.
var benchTokens atomic.Int64

func nextToken() string { return "Bearer bench-token-" + strconv.FormatInt(benchTokens.Add(1), 10) }

func (f *benchFacade) callGRPC(ctx context.Context, md metadata.MD) error {
	_, err := f.grpc.GetReseller(metadata.NewOutgoingContext(ctx, md), &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})
	return err
}

func (f *benchFacade) callREST(ctx context.Context, token string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, f.httpURL, nil)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("X-Tenant", sandbox.SampleTenant)
	resp, err := f.http.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if _, err := io.Copy(io.Discard, resp.Body); err != nil {
		return err
	}
	if resp.StatusCode != http.StatusOK {
		return &statusError{resp.StatusCode}
	}
	return nil
}

type statusError struct{ code int }

func (e *statusError) Error() string { return "HTTP " + strconv.Itoa(e.code) }

// benchLogs are the access-log destinations compared: discarded, and a file
// (what production pays: one write system call per line).
func benchLogs(b *testing.B) []struct {
	name string
	w    io.Writer
} {
	f, err := os.Create(filepath.Join(b.TempDir(), "access.log"))
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = f.Close() })
	return []struct {
		name string
		w    io.Writer
	}{{"log=discard", io.Discard}, {"log=file", f}}
}

// BenchmarkServe measures one GetReseller through the production server,
// over gRPC and over the REST mirror, one call at a time. Compare with
// internal/service's BenchmarkGetResellerInProcess/upstream=http (the
// handler with the correlation interceptor only) for what the production
// wiring adds.
func BenchmarkServe(b *testing.B) {
	for _, l := range benchLogs(b) {
		b.Run("grpc/"+l.name, func(b *testing.B) {
			f := startBenchFacade(b, l.w)
			ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
			defer cancel()
			md := metadata.Pairs("authorization", nextToken(), "x-tenant", sandbox.SampleTenant)
			if err := f.callGRPC(ctx, md); err != nil { // connect outside the measurement
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := f.callGRPC(ctx, md); err != nil {
					b.Fatal(err)
				}
			}
		})
		b.Run("rest/"+l.name, func(b *testing.B) {
			f := startBenchFacade(b, l.w)
			ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
			defer cancel()
			token := nextToken()
			if err := f.callREST(ctx, token); err != nil {
				b.Fatal(err)
			}
			b.ReportAllocs()
			b.ResetTimer()
			for b.Loop() {
				if err := f.callREST(ctx, token); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkServeParallel is BenchmarkServe over gRPC with 16 goroutines per
// CPU, each with its own token, as the harness's 32 callers on two cores.
func BenchmarkServeParallel(b *testing.B) {
	f := startBenchFacade(b, io.Discard)
	ctx, cancel := context.WithTimeout(b.Context(), 5*time.Minute)
	defer cancel()
	if err := f.callGRPC(ctx, metadata.Pairs("authorization", nextToken(), "x-tenant", sandbox.SampleTenant)); err != nil {
		b.Fatal(err)
	}
	b.SetParallelism(16)
	b.ReportAllocs()
	b.ResetTimer()
	b.RunParallel(func(pb *testing.PB) {
		md := metadata.Pairs("authorization", nextToken(), "x-tenant", sandbox.SampleTenant)
		for pb.Next() {
			if err := f.callGRPC(ctx, md); err != nil {
				b.Error(err)
				return
			}
		}
	})
}
