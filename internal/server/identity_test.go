package server

import (
	"context"
	"crypto/tls"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// TestClientCertificateOwnsItsShare: with mutual TLS, the share of upstream
// slots belongs to the client certificate, on every protocol (gRPC, the REST
// mirror, Connect): client A, sending a new tenant name with each of its
// slow calls, holds at most its share, and client B's calls still find
// slots.
func TestClientCertificateOwnsItsShare(t *testing.T) {
	const share = 4
	release := make(chan struct{})
	arrived := make(chan struct{}, 16)
	var inFlightA, maxA atomic.Int32
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if strings.HasPrefix(r.Header.Get("X-Tenant"), "a-") {
			n := inFlightA.Add(1)
			defer inFlightA.Add(-1)
			for m := maxA.Load(); n > m && !maxA.CompareAndSwap(m, n); m = maxA.Load() {
			}
			arrived <- struct{}{}
			select {
			case <-release:
			case <-r.Context().Done():
				return
			}
		}
		writeReseller(w)
	}))
	defer up.Close()

	f := newTLSFiles(t)
	cfg := DefaultConfig()
	cfg.UpstreamURL, cfg.UpstreamURLSet = up.URL, true
	cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSClientCAFile = f.cert, f.key, f.caFile
	cfg.UpstreamMaxConcurrent, cfg.UpstreamTenantMaxConcurrent = 2*share, share
	cfg.UpstreamQueueTimeout = 300 * time.Millisecond
	srv := serveOnLoopback(t, cfg)
	grpcAddr, httpAddr := srv.grpcAddr, srv.httpAddr
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	callA := newCertCaller(t, f, f.ca.Client(t, "client-a").TLS(t), grpcAddr, httpAddr)
	callB := newCertCaller(t, f, f.ca.Client(t, "client-b").TLS(t), grpcAddr, httpAddr)
	protocols := []string{"grpc", "rest", "connect"}

	var wg sync.WaitGroup
	for i := range 2 * share { // twice A's share, each with a tenant of its own
		wg.Go(func() { _ = callA(ctx, protocols[i%len(protocols)], "a-"+string(rune('0'+i))+".example") })
	}
	for range share {
		select {
		case <-arrived:
		case <-ctx.Done():
			t.Fatal("client A's calls did not reach the upstream")
		}
	}
	servedB := 0
	for _, p := range protocols {
		if err := callB(ctx, p, "b.example"); err != nil {
			t.Errorf("client B over %s while A holds its share: %v", p, err)
		} else {
			servedB++
		}
	}
	close(release)
	wg.Wait()
	t.Logf("client A, %d tenant names: at most %d upstream slots at once; client B: %d of %d calls served", 2*share, maxA.Load(), servedB, len(protocols))
	if n := maxA.Load(); n > share {
		t.Errorf("client A held %d upstream slots with %d tenant names, want at most its share (%d)", n, 2*share, share)
	}
}

// newCertCaller returns a function that makes a GetReseller call with cert
// over protocol "grpc", "rest" or "connect", returning nil on success.
func newCertCaller(t *testing.T, f *tlsFiles, cert tls.Certificate, grpcAddr, httpAddr string) func(ctx context.Context, protocol, tenant string) error {
	t.Helper()
	tc := &tls.Config{RootCAs: f.ca.Pool(), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}
	conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(tc)))
	if err != nil {
		t.Fatal(err)
	}
	tr := &http.Transport{TLSClientConfig: tc, ForceAttemptHTTP2: true}
	t.Cleanup(func() { _ = conn.Close(); tr.CloseIdleConnections() })
	resellers := pb.NewResellerServiceClient(conn)
	return func(ctx context.Context, protocol, tenant string) error {
		if protocol == "grpc" {
			_, err := resellers.GetReseller(metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer test-token", "x-tenant", tenant),
				&pb.GetResellerRequest{ResellerId: testResellerID})
			return err
		}
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+httpAddr+"/v1/Resellers/"+testResellerID, nil)
		if protocol == "connect" {
			req, _ = http.NewRequestWithContext(ctx, http.MethodPost, "https://"+httpAddr+"/cloudcockpit.v1.ResellerService/GetReseller",
				strings.NewReader(`{"resellerId":"`+testResellerID+`"}`))
			req.Header.Set("Content-Type", "application/json")
			req.Header.Set("Connect-Protocol-Version", "1")
		}
		req.Header.Set("Authorization", "Bearer test-token")
		req.Header.Set("X-Tenant", tenant)
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		body, _ := io.ReadAll(resp.Body)
		if resp.StatusCode != http.StatusOK {
			return &httpError{resp.StatusCode, string(body)}
		}
		return nil
	}
}

// httpError is a non-200 answer.
type httpError struct {
	code int
	body string
}

func (e *httpError) Error() string { return http.StatusText(e.code) + ": " + e.body }
