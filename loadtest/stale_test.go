//go:build load

package loadtest

import (
	"context"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// TestStaleOutage measures what stale-if-error buys through an upstream
// outage: two facades, one with -stale-if-error=5m and one without, share
// the sandbox upstream, which answers every request 503 for
// STALE_OUTAGE (default 60s) after a 5 s warm-up. STALE_CALLERS callers
// (default 16) per facade, each its own tenant and token, ask for the
// sample resellers round-robin. It prints, per facade and phase, the share
// of calls answered fresh, answered stale and failed.
//
//	STALE_OUTAGE=60s go test -tags load -count=1 -v -run TestStaleOutage ./loadtest/
func TestStaleOutage(t *testing.T) {
	outage := 60 * time.Second
	if v := os.Getenv("STALE_OUTAGE"); v != "" {
		d, err := time.ParseDuration(v)
		if err != nil {
			t.Fatal(err)
		}
		outage = d
	}
	callers := 16
	if v := os.Getenv("STALE_CALLERS"); v != "" {
		if _, err := fmt.Sscan(v, &callers); err != nil {
			t.Fatal(err)
		}
	}
	const warmUp = 5 * time.Second
	var down atomic.Bool
	sb := sandbox.New(sandbox.WithLatency(2 * time.Millisecond))
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if down.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		sb.ServeHTTP(w, r)
	}))
	defer upstream.Close()

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	type counts struct{ fresh, stale, failed atomic.Int64 }
	type facade struct {
		name   string
		phases [2]counts // warm-up, outage
	}
	facades := []*facade{{name: "-stale-if-error=5m"}, {name: "-stale-if-error=0 (off)"}}
	var wg sync.WaitGroup
	var phase atomic.Int32
	for i, f := range facades {
		cfg := server.DefaultConfig()
		cfg.Upstream.BaseURL = upstream.URL
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
		if i == 0 {
			cfg.StaleIfError = 5 * time.Minute
		}
		gl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		hl, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		wg.Go(func() { _ = server.Serve(ctx, cfg, gl, hl) })
		conn, err := grpc.NewClient(gl.Addr().String(), grpc.WithTransportCredentials(insecure.NewCredentials()))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		client := pb.NewResellerServiceClient(conn)
		ids := sandbox.Resellers()
		for c := range callers {
			wg.Go(func() {
				md := metadata.Pairs("authorization", fmt.Sprintf("Bearer token-%d", c), "x-tenant", fmt.Sprintf("t%d.example.com", c))
				for n := c; ctx.Err() == nil; n++ {
					var hdr metadata.MD
					cctx, ccancel := context.WithTimeout(metadata.NewOutgoingContext(ctx, md), 5*time.Second)
					_, err := client.GetReseller(cctx, &pb.GetResellerRequest{ResellerId: ids[n%len(ids)]}, grpc.Header(&hdr))
					ccancel()
					if ctx.Err() != nil {
						return
					}
					p := &f.phases[phase.Load()]
					switch {
					case err != nil:
						p.failed.Add(1)
						select { // a caller backs off a little, or the phase ends
						case <-time.After(10 * time.Millisecond):
						case <-ctx.Done():
						}
					case len(hdr.Get("cache-status")) > 0:
						p.stale.Add(1)
					default:
						p.fresh.Add(1)
					}
				}
			})
		}
	}
	<-time.After(warmUp) // the phases' lengths: nothing to wait for
	phase.Store(1)
	down.Store(true)
	<-time.After(outage)
	cancel()
	wg.Wait()
	fmt.Printf("| facade | phase | calls | fresh | stale | failed | answered |\n|---|---|---|---|---|---|---|\n")
	for _, f := range facades {
		for i, name := range []string{"warm-up " + warmUp.String(), "outage " + outage.String()} {
			p := &f.phases[i]
			fresh, stale, failed := p.fresh.Load(), p.stale.Load(), p.failed.Load()
			all := max(fresh+stale+failed, 1)
			fmt.Printf("| %s | %s | %d | %.1f %% | %.1f %% | %.1f %% | %.1f %% |\n", f.name, name, all,
				100*float64(fresh)/float64(all), 100*float64(stale)/float64(all), 100*float64(failed)/float64(all), 100*float64(fresh+stale)/float64(all))
		}
	}
}
