package server

import (
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/metadata"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
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
			if !holdUntil(r, arrived, release) {
				return
			}
		}
		writeReseller(w)
	}))
	defer up.Close()

	cfg, f := mutualTLSConfig(t, up.URL)
	cfg.Upstream.MaxConcurrent, cfg.Upstream.TenantMaxConcurrent = 2*share, share
	cfg.Upstream.QueueTimeout = 300 * time.Millisecond
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

// holdUntil reports r's arrival on arrived and holds it until release is
// closed (true) or the caller leaves (false).
func holdUntil(r *http.Request, arrived chan<- struct{}, release <-chan struct{}) bool {
	arrived <- struct{}{}
	select {
	case <-release:
		return true
	case <-r.Context().Done():
		return false
	}
}

// mutualTLSConfig returns the default configuration with upstream, and
// mutual TLS with certificates made for the test.
func mutualTLSConfig(t *testing.T, upstream string) (Config, *tlsFiles) {
	t.Helper()
	f := newTLSFiles(t)
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = upstream, true
	cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSClientCAFile = f.cert, f.key, f.caFile
	return cfg, f
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

// TestClientCertificateOwnsItsCalls: with mutual TLS, one client certificate
// holds at most half of -max-calls, on both ports together: while client A
// holds its whole share on one port, A's next call is refused on either
// port with CLIENT_CALLS_IN_FLIGHT, and client B is served on both; the
// refusals are counted in cloudcockpit_refused_calls_total.
func TestClientCertificateOwnsItsCalls(t *testing.T) {
	const maxCalls, share = 4, 2
	for _, holdOn := range []string{"grpc", "rest"} {
		t.Run("A holds its share over "+holdOn, func(t *testing.T) {
			release := make(chan struct{})
			arrived := make(chan struct{}, share)
			up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
				// Not coalesced: a tenant each.
				if strings.HasPrefix(r.Header.Get("X-Tenant"), "held-") && !holdUntil(r, arrived, release) {
					return
				}
				writeReseller(w)
			}))
			defer up.Close()
			cfg, f := mutualTLSConfig(t, up.URL)
			cfg.MaxCalls = maxCalls
			srv := serveOnLoopback(t, cfg)
			grpcAddr, httpAddr := srv.grpcAddr, srv.httpAddr
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			certB := f.ca.Client(t, "client-b").TLS(t)
			callA := newCertCaller(t, f, f.ca.Client(t, "client-a").TLS(t), grpcAddr, httpAddr)
			callB := newCertCaller(t, f, certB, grpcAddr, httpAddr)

			var wg sync.WaitGroup
			defer wg.Wait()
			defer close(release)
			for i := range share {
				wg.Go(func() { _ = callA(ctx, holdOn, "held-"+strconv.Itoa(i)+".example") })
			}
			for range share {
				select {
				case <-arrived:
				case <-ctx.Done():
					t.Fatal("client A's calls did not reach the upstream")
				}
			}
			got := map[string]outcome{}
			for _, p := range []string{"grpc", "rest"} {
				got["A over "+p] = certOutcome(callA(ctx, p, "a.example"))
				got["B over "+p] = certOutcome(callB(ctx, p, "b.example"))
			}
			want := map[string]outcome{
				"A over grpc": {Code: "resource_exhausted", Reason: apierr.ReasonClientShare},
				"A over rest": {Code: "429", Reason: apierr.ReasonClientShare},
				"B over grpc": {Code: "ok"},
				"B over rest": {Code: "ok"},
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("calls while A holds its share (-want +got):\n%s", diff)
			}
			if n := refusedCalls(t, scrape(ctx, t, f, certB, httpAddr), "client_share"); n != 2 {
				t.Errorf("client_share refusals counted: %v, want 2", n)
			}
		})
	}
}

// certOutcome reads newCertCaller's error: an HTTP status and the
// ErrorInfo reason of its JSON body, or a gRPC status (outcomeOf).
func certOutcome(err error) outcome {
	var he *httpError
	if !errors.As(err, &he) {
		return outcomeOf(err)
	}
	var body struct{ Details []struct{ Reason string } }
	_ = json.Unmarshal([]byte(he.body), &body)
	o := outcome{Code: strconv.Itoa(he.code)}
	for _, d := range body.Details {
		o.Reason += d.Reason
	}
	return o
}

// scrape returns the HTTP port's /metrics, fetched with cert.
func scrape(ctx context.Context, t *testing.T, f *tlsFiles, cert tls.Certificate, httpAddr string) string {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: &tls.Config{RootCAs: f.ca.Pool(), Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12}}
	defer tr.CloseIdleConnections()
	req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "https://"+httpAddr+"/metrics", nil)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return string(b)
}
