package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"connectrpc.com/connect"
	"google.golang.org/grpc/connectivity"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// TestShutdownDrainsRPCOnTheHTTPPort: a Connect, gRPC-Web or gRPC call on
// the HTTP port that is in flight when the server is told to stop gets
// -shutdown-timeout to finish, as REST calls and gRPC-port calls do
// (docs/deployment.md, "Graceful shutdown"): it is answered, not cancelled.
func TestShutdownDrainsRPCOnTheHTTPPort(t *testing.T) {
	for _, p := range []struct {
		name   string
		client func() *http.Client
		opts   []connect.ClientOption
	}{
		{name: "connect", client: func() *http.Client { return &http.Client{Transport: &http.Transport{}} }},
		{name: "grpc-web", client: func() *http.Client { return &http.Client{Transport: &http.Transport{}} }, opts: []connect.ClientOption{connect.WithGRPCWeb()}},
		{name: "grpc-h2c", client: h2cClient, opts: []connect.ClientOption{connect.WithGRPC()}},
	} {
		t.Run(p.name, func(t *testing.T) {
			arrived := make(chan struct{})
			release := make(chan struct{})
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				close(arrived)
				select {
				case <-release:
				case <-r.Context().Done():
					return
				}
				w.Header().Set("Content-Type", "application/json")
				_, _ = io.WriteString(w, `{"id":"`+sandbox.ContosoResellerID+`","companyName":"Contoso"}`)
			}))
			defer up.Close()
			cfg := DefaultConfig()
			cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
			s := serveOnLoopback(t, cfg)

			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			// A gRPC-port connection, to see the gRPC server drain (its GOAWAY).
			grpcConn := dialGRPC(t, s.grpcAddr)
			if _, err := healthpb.NewHealthClient(grpcConn).Check(ctx, &healthpb.HealthCheckRequest{}); err != nil {
				t.Fatal(err)
			}
			hc := p.client()
			defer hc.CloseIdleConnections()
			client := connect.NewClient[pb.GetResellerRequest, pb.Reseller](hc, s.httpURL+pb.ResellerService_GetReseller_FullMethodName, p.opts...)
			done := make(chan error, 1)
			go func() {
				req := connect.NewRequest(&pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})
				req.Header().Set("Authorization", "Bearer "+sandbox.SampleToken)
				req.Header().Set("X-Tenant", sandbox.SampleTenant)
				_, err := client.CallUnary(ctx, req)
				done <- err
			}()
			select {
			case <-arrived:
			case <-ctx.Done():
				t.Fatal("the call did not reach the upstream")
			}
			s.stop()
			select {
			case <-s.httpClosed: // the drain has begun while the call waits
			case <-ctx.Done():
				t.Fatal("the HTTP listener was not closed")
			}
			// The gRPC server's GracefulStop has drained its connections too.
			for state := grpcConn.GetState(); state == connectivity.Ready; state = grpcConn.GetState() {
				if !grpcConn.WaitForStateChange(ctx, state) {
					t.Fatal("the gRPC port's connection was not drained")
				}
			}
			close(release)
			if err := <-done; err != nil {
				t.Errorf("call in flight at shutdown (shutdown timeout %v): %v; want it answered", cfg.ShutdownTimeout, err)
			}
			if err := s.wait(); err != nil {
				t.Errorf("Serve = %v, want nil", err)
			}
		})
	}
}
