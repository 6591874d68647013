package server

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// serveStale serves the facade, stale answers kept a minute (one attempt, no
// breakers), over an upstream that answers with answer until the flag
// returned is set, then with 503.
func serveStale(t *testing.T, answer http.HandlerFunc) (*atomic.Bool, *served) {
	t.Helper()
	failing := new(atomic.Bool)
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if failing.Load() {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		answer(w, r)
	}))
	t.Cleanup(upstream.Close)
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.Upstream.MaxAttempts, cfg.Upstream.Breaker.FailureRatio, cfg.StaleIfError = upstream.URL, 1, 0, time.Minute
	return failing, serveOnLoopback(t, cfg)
}

// TestStaleAnswerLabelled: after a success, with the upstream answering 503,
// gRPC, the REST mirror and Connect answer the stored reseller labelled with
// Cache-Status and Age, unless the caller refuses stale answers.
func TestStaleAnswerLabelled(t *testing.T) {
	failing, srv := serveStale(t, func(w http.ResponseWriter, _ *http.Request) { writeReseller(w) })
	conn, base := dialGRPC(t, srv.grpcAddr), srv.httpURL
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	grpcCall := func() (string, []string) {
		var md metadata.MD
		r, err := pb.NewResellerServiceClient(conn).GetReseller(tenantContext(ctx, "a.example.com"), &pb.GetResellerRequest{ResellerId: testResellerID}, grpc.Header(&md))
		if err != nil {
			return err.Error(), nil
		}
		return r.GetCompanyName(), append(md.Get("cache-status"), md.Get("age")...)
	}
	httpCall := func(method, path, body string, header ...string) (int, []string) {
		req, _ := http.NewRequestWithContext(ctx, method, base+path, strings.NewReader(body))
		req.Header.Set("Authorization", "Bearer test-token")
		req.Header.Set("X-Tenant", "a.example.com")
		for i := 0; i+1 < len(header); i += 2 {
			req.Header.Set(header[i], header[i+1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		readAll(t, resp)
		return resp.StatusCode, append(resp.Header.Values("Cache-Status"), resp.Header.Values("Age")...)
	}
	rest := func(h ...string) (int, []string) {
		return httpCall(http.MethodGet, "/v1/Resellers/"+testResellerID, "", h...)
	}
	connect := func(h ...string) (int, []string) {
		return httpCall(http.MethodPost, "/cloudcockpit.v1.ResellerService/GetReseller", `{"resellerId":"`+testResellerID+`"}`,
			append([]string{"Content-Type", "application/json", "Connect-Protocol-Version", "1"}, h...)...)
	}
	type answer struct {
		Status int
		Labels []string
	}
	fresh := []answer{{200, nil}, {200, nil}}
	if name, labels := grpcCall(); name != "Contoso" || len(labels) != 0 {
		t.Fatalf("fresh gRPC answer: %q %q", name, labels)
	}
	s1, l1 := rest()
	s2, l2 := connect()
	if diff := cmp.Diff(fresh, []answer{{s1, l1}, {s2, l2}}); diff != "" {
		t.Fatalf("fresh answers, REST and Connect (-want +got):\n%s", diff)
	}

	failing.Store(true)
	labels := []string{"cloudcockpit-facade; hit; detail=upstream-503", "0"}
	if name, got := grpcCall(); name != "Contoso" || !cmp.Equal(got, labels) {
		t.Errorf("stale gRPC answer: %q %q, want Contoso %q", name, got, labels)
	}
	s1, l1 = rest()
	s2, l2 = connect()
	s3, l3 := rest("Cache-Control", "stale-if-error=0")
	s4, l4 := connect("Cache-Control", "stale-if-error=0")
	want := []answer{{200, labels}, {200, labels}, {503, nil}, {503, nil}}
	if diff := cmp.Diff(want, []answer{{s1, l1}, {s2, l2}, {s3, l3}, {s4, l4}}); diff != "" {
		t.Errorf("stale answers, REST and Connect, then refused (-want +got):\n%s", diff)
	}
}

// TestStaleAnswerOnlyToWhoFetchedIt: a stored answer is served, while the
// upstream fails, only to calls with the same tenant, token and ids as the
// call that fetched it; any other gets the upstream's failure.
func TestStaleAnswerOnlyToWhoFetchedIt(t *testing.T) {
	failing, srv := serveStale(t, func(w http.ResponseWriter, r *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		if id, ok := strings.CutPrefix(r.URL.Path, "/v1/Resellers/"); ok {
			_, _ = io.WriteString(w, `{"id":"`+id+`","companyName":"Contoso"}`)
			return
		}
		_, _ = io.WriteString(w, `"https://example.com/accept?r=`+r.URL.Query().Get("resellerId")+`"`)
	})
	conn := dialGRPC(t, srv.grpcAddr)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	const other = "22222222-2222-4222-8222-222222222222"
	reseller := func(tenant, token, id string) error {
		ctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+token, "x-tenant", tenant)
		_, err := pb.NewResellerServiceClient(conn).GetReseller(ctx, &pb.GetResellerRequest{ResellerId: id})
		return err
	}
	link := func(resellerID string) error {
		ctx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer token-a", "x-tenant", "a.example.com")
		req := &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testResellerID}
		if resellerID != "" {
			req.ResellerId = &resellerID
		}
		_, err := pb.NewCustomerServiceClient(conn).GetAcceptanceLink(ctx, req)
		return err
	}
	if err := reseller("a.example.com", "token-a", testResellerID); err != nil {
		t.Fatal(err)
	}
	if err := link(other); err != nil {
		t.Fatal(err)
	}
	failing.Store(true)
	for _, tt := range []struct {
		name  string
		err   error
		stale bool
	}{
		{"the caller that fetched it", reseller("a.example.com", "token-a", testResellerID), true},
		{"another tenant, same token", reseller("b.example.com", "token-a", testResellerID), false},
		{"another token, same tenant", reseller("a.example.com", "token-b", testResellerID), false},
		{"another reseller", reseller("a.example.com", "token-a", other), false},
		{"the link that was fetched", link(other), true},
		{"a link for another reseller", link(testResellerID), false},
		{"a link for no reseller", link(""), false},
	} {
		if got := tt.err == nil; got != tt.stale {
			t.Errorf("%s: %v, want a stale answer: %v", tt.name, tt.err, tt.stale)
		}
	}
}
