package stale_test

import (
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

// fakeUpstream answers a reseller named after the caller and the id asked
// until fail is set, then fails with it.
type fakeUpstream struct {
	mu    sync.Mutex
	fail  error
	calls int
}

func (u *fakeUpstream) setFail(err error) { u.mu.Lock(); u.fail = err; u.mu.Unlock() }

func (u *fakeUpstream) GetReseller(_ context.Context, c rest.CallInfo, id string) (*rest.Reseller, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	u.calls++
	if u.fail != nil {
		return nil, u.fail
	}
	name := c.Tenant + " " + c.Authorization + " " + id
	return &rest.Reseller{ID: &id, CompanyName: &name}, nil
}

func (u *fakeUpstream) GetAcceptanceLink(_ context.Context, c rest.CallInfo, p, r string) (string, error) {
	u.mu.Lock()
	defer u.mu.Unlock()
	if u.fail != nil {
		return "", u.fail
	}
	return "https://example.com/" + c.Tenant + "/" + p + "/" + r, nil
}

// newReseller returns a fake upstream, a store of answers up to a minute
// old, and a ResellerServer over both.
func newReseller(t *testing.T) (*fakeUpstream, *stale.Store, *service.ResellerServer) {
	up := &fakeUpstream{}
	st := stale.New(time.Minute, 0, nil)
	t.Cleanup(st.Close)
	return up, st, service.NewResellerServer(up, service.WithStale(st))
}

// headers records the response header metadata a handler sets.
type headers struct {
	grpc.ServerTransportStream
	md metadata.MD
}

func (h *headers) Method() string                  { return "/cloudcockpit.v1.ResellerService/GetReseller" }
func (h *headers) SetHeader(md metadata.MD) error  { h.md = metadata.Join(h.md, md); return nil }
func (h *headers) SendHeader(md metadata.MD) error { return h.SetHeader(md) }
func (h *headers) SetTrailer(metadata.MD) error    { return nil }

// call calls GetReseller as tenant with token and the extra metadata kv;
// it returns the answer's company name, its labels and its code.
func call(srv *service.ResellerServer, tenant, token, id string, kv ...string) (string, metadata.MD, codes.Code) {
	md := metadata.Pairs(append([]string{"authorization", "Bearer " + token, "x-tenant", tenant}, kv...)...)
	h := &headers{}
	ctx := grpc.NewContextWithServerTransportStream(metadata.NewIncomingContext(context.Background(), md), h)
	r, err := srv.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: id})
	return r.GetCompanyName(), h.md, status.Code(err)
}

var (
	err503  = &rest.Error{Kind: rest.KindAnswered, StatusCode: 503}
	ids     = []string{"11111111-1111-4111-8111-111111111111", "22222222-2222-4222-8222-222222222222", "33333333-3333-4333-8333-333333333333", "44444444-4444-4444-8444-444444444444"}
	tenants = []string{"a.example.com", "b.example.com", "c.example.com"}
	tokens  = []string{"t0", "t1", "t2", "t3"}
)

// TestOnlyToWhoFetched: 3 tenants × 4 tokens × overlapping ids, the upstream
// failing after a first success: each stale answer goes only to the tenant
// and token that fetched it (asked in upper case: ids are GUIDs); the others
// get the error.
func TestOnlyToWhoFetched(t *testing.T) {
	up, _, srv := newReseller(t)
	fetched := func(ti, ki, ii int) bool { return (ti+ki+ii)%2 == 0 } // overlapping ids, not all
	for ti, tenant := range tenants {
		for ki, token := range tokens {
			for ii, id := range ids {
				if fetched(ti, ki, ii) {
					if _, _, code := call(srv, tenant, token, id); code != codes.OK {
						t.Fatalf("first call: %v", code)
					}
				}
			}
		}
	}
	up.setFail(err503)
	for ti, tenant := range tenants {
		for ki, token := range tokens {
			for ii, id := range ids {
				name, md, code := call(srv, tenant, token, strings.ToUpper(id))
				type answer struct {
					Name        string
					Code        codes.Code
					CacheStatus []string
				}
				want := answer{Code: codes.Unavailable}
				if fetched(ti, ki, ii) {
					want = answer{Name: tenant + " Bearer " + token + " " + id, Code: codes.OK, CacheStatus: []string{"cloudcockpit-facade; hit; detail=upstream-503"}}
				}
				if diff := cmp.Diff(want, answer{name, code, md.Get("cache-status")}); diff != "" {
					t.Errorf("%s %s %s (-want +got):\n%s", tenant, token, id, diff)
				}
			}
		}
	}
}

// TestWhenServed: which failures a stale answer stands in for, and what the
// upstream's answers about the request do to the store.
func TestWhenServed(t *testing.T) {
	tests := []struct {
		name      string
		fail      error
		kv        []string
		want      codes.Code
		wantAfter codes.Code // a 503 afterwards, with the same credentials
		wantLen   int        // entries left (two were stored)
	}{
		{"503", err503, nil, codes.OK, codes.OK, 2},
		{"429", &rest.Error{Kind: rest.KindAnswered, StatusCode: 429}, nil, codes.OK, codes.OK, 2},
		{"500", &rest.Error{Kind: rest.KindAnswered, StatusCode: 500}, nil, codes.OK, codes.OK, 2},
		{"502", &rest.Error{Kind: rest.KindAnswered, StatusCode: 502}, nil, codes.OK, codes.OK, 2},
		{"504", &rest.Error{Kind: rest.KindAnswered, StatusCode: 504}, nil, codes.OK, codes.OK, 2},
		{"unreachable", &rest.Error{Kind: rest.KindUnreachable, Cause: rest.CauseRefused}, nil, codes.OK, codes.OK, 2},
		{"timeout", &rest.Error{Kind: rest.KindTimeout}, nil, codes.OK, codes.OK, 2},
		{"no slot", &rest.Error{Kind: rest.KindOverLimit}, nil, codes.OK, codes.OK, 2},
		{"breaker open", &rest.Error{Kind: rest.KindCircuitOpen}, nil, codes.OK, codes.OK, 2},
		{"400", &rest.Error{Kind: rest.KindAnswered, StatusCode: 400}, nil, codes.InvalidArgument, codes.OK, 2},
		{"undecodable", &rest.Error{Kind: rest.KindUndecodable}, nil, codes.Internal, codes.OK, 2},
		{"404 forgets the entry", &rest.Error{Kind: rest.KindAnswered, StatusCode: 404}, nil, codes.NotFound, codes.Unavailable, 1},
		{"401 forgets the credentials", &rest.Error{Kind: rest.KindAnswered, StatusCode: 401}, nil, codes.Unauthenticated, codes.Unavailable, 0},
		{"403 forgets the credentials", &rest.Error{Kind: rest.KindAnswered, StatusCode: 403}, nil, codes.PermissionDenied, codes.Unavailable, 0},
		{"caller refuses", err503, []string{"cache-control", "stale-if-error=0"}, codes.Unavailable, codes.OK, 2},
		{"caller refuses, among other directives", err503, []string{"cache-control", "no-cache, Stale-If-Error=0"}, codes.Unavailable, codes.OK, 2},
		{"caller refuses, quoted", err503, []string{"cache-control", `stale-if-error="0"`}, codes.Unavailable, codes.OK, 2},
		{"caller accepts less, still enough", err503, []string{"cache-control", "stale-if-error=30"}, codes.OK, codes.OK, 2},
		{"of two bounds the caller sends, the strictest", err503, []string{"cache-control", "stale-if-error=0, stale-if-error=60"}, codes.Unavailable, codes.OK, 2},
		{"of two headers the caller sends, the strictest", err503, []string{"cache-control", "stale-if-error=60", "cache-control", "stale-if-error=0"}, codes.Unavailable, codes.OK, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, st, srv := newReseller(t)
			call(srv, tenants[0], tokens[0], ids[0])
			call(srv, tenants[0], tokens[0], ids[1])
			call(srv, tenants[1], tokens[1], ids[0]) // another caller's: forgotten only when it expires
			up.setFail(tt.fail)
			_, _, code := call(srv, tenants[0], tokens[0], ids[0], tt.kv...)
			up.setFail(err503)
			_, _, after := call(srv, tenants[0], tokens[0], ids[0])
			got := []any{code, after, st.Len() - 1}
			if diff := cmp.Diff([]any{tt.want, tt.wantAfter, tt.wantLen}, got); diff != "" {
				t.Errorf("code, code after, entries (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRefusedCredentialsLoseTheirOnlyAnswer: a 401 or 403 forgets the
// credentials' answer also when they hold just one, stored twice (the second
// replacing the first), so a revoked token is never served stale data.
func TestRefusedCredentialsLoseTheirOnlyAnswer(t *testing.T) {
	for _, code := range []int{401, 403} {
		up, st, srv := newReseller(t)
		call(srv, tenants[0], tokens[0], ids[0])
		call(srv, tenants[0], tokens[0], ids[0]) // replaces it: still one answer of the token
		up.setFail(&rest.Error{Kind: rest.KindAnswered, StatusCode: code})
		call(srv, tenants[0], tokens[0], ids[0])
		up.setFail(err503)
		if _, _, got := call(srv, tenants[0], tokens[0], ids[0]); got != codes.Unavailable || st.Len() != 0 {
			t.Errorf("%d, then 503: %v with %d entries, want UNAVAILABLE and none", code, got, st.Len())
		}
	}
}

// TestKeyIDs: each id has its place in the key, so two providers' links for
// one reseller are separate answers; an id that is not a GUID gives the zero
// Key, which is never stored.
func TestKeyIDs(t *testing.T) {
	st := stale.New(time.Minute, 0, nil)
	defer st.Close()
	key := func(ids ...string) stale.Key { return st.Key("GetAcceptanceLink", tenants[0], "Bearer t0", ids...) }
	if key(ids[0], ids[2]) == key(ids[1], ids[2]) {
		t.Error("(P1, R) and (P2, R) have one key")
	}
	if key(ids[0], ids[1]) == key(ids[1], ids[0]) {
		t.Error("(P1, R) and (R, P1) have one key")
	}
	if key(ids[0], "not-a-guid") != (stale.Key{}) {
		t.Error("an id that is not a GUID gives a key")
	}
	if key(ids[0], ids[1], ids[2]) != (stale.Key{}) {
		t.Error("three ids give a key")
	}
	if off := stale.New(0, 0, nil); off != nil {
		t.Error("New with no age to keep answers for returned a store")
	}
	st.Put(stale.Key{}, &pb.Reseller{})
	if n := st.Len(); n != 0 {
		t.Errorf("the zero Key was stored: %d entries", n)
	}
}

// TestStaleness: the age label counts whole seconds; past the operator's
// bound or the caller's (even by half a second, or at once for 0), the error;
// the entry is gone after the bound.
func TestStaleness(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		up, st, srv := newReseller(t)
		_, md, _ := call(srv, tenants[0], tokens[0], ids[0])
		if got := append(md.Get("age"), md.Get("cache-status")...); len(got) != 0 {
			t.Errorf("fresh answer labelled %q", got)
		}
		up.setFail(err503)
		if _, _, code := call(srv, tenants[0], tokens[0], ids[0], "cache-control", "stale-if-error=0"); code != codes.Unavailable {
			t.Errorf("caller accepting 0 s, at 0 s: %v, want UNAVAILABLE", code)
		}
		<-time.After(42*time.Second + 500*time.Millisecond) // at once in the bubble
		_, md, code := call(srv, tenants[0], tokens[0], ids[0])
		if diff := cmp.Diff([]any{codes.OK, []string{"42"}}, []any{code, md.Get("age")}); diff != "" {
			t.Errorf("at 42.5 s (-want +got):\n%s", diff)
		}
		for accepts, want := range map[string]codes.Code{"40": codes.Unavailable, "42": codes.Unavailable, "43": codes.OK} {
			if _, _, code := call(srv, tenants[0], tokens[0], ids[0], "cache-control", "stale-if-error="+accepts); code != want {
				t.Errorf("caller accepting %s s, at 42.5 s: %v, want %v", accepts, code, want)
			}
		}
		<-time.After(18 * time.Second) // at once in the bubble
		if _, _, code := call(srv, tenants[0], tokens[0], ids[0]); code != codes.Unavailable {
			t.Errorf("past the bound: %v, want UNAVAILABLE", code)
		}
		if n := st.Len(); n != 0 {
			t.Errorf("%d entries past the bound, want 0", n)
		}
	})
}

// TestCopies: callers served at once get equal, separate messages, and no
// caller's change reaches the store.
func TestCopies(t *testing.T) {
	up, _, srv := newReseller(t)
	ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer t0", "x-tenant", tenants[0]))
	first, err := srv.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: ids[0]})
	if err != nil {
		t.Fatal(err)
	}
	want := proto.Clone(first)
	first.CompanyName = proto.String("changed by its caller")
	up.setFail(err503)
	const callers = 8
	got := make([]*pb.Reseller, callers)
	var wg sync.WaitGroup
	for i := range got {
		wg.Go(func() { got[i], _ = srv.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: ids[0]}) })
	}
	wg.Wait()
	for i, m := range got {
		if !proto.Equal(m, want) {
			t.Fatalf("caller %d got %v, want %v", i, m, want)
		}
		for _, o := range got[:i] {
			if m == o {
				t.Fatalf("callers share one message")
			}
		}
	}
}

// TestBreakerOpen: with the tenant's breaker open, stale answers come
// without any upstream request, labelled circuit-open.
func TestBreakerOpen(t *testing.T) {
	var requests, failing atomic.Int32
	upstream := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		requests.Add(1)
		if failing.Load() == 1 {
			w.WriteHeader(http.StatusServiceUnavailable)
			return
		}
		id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
		_, _ = io.WriteString(w, `{"id":"`+id+`","companyName":"Contoso"}`)
	}))
	defer upstream.Close()
	tr := rest.NewPools(rest.NewTransport(rest.TransportConfig{}), 0)
	defer tr.CloseIdleConnections()
	client, err := rest.New(rest.Config{BaseURL: upstream.URL, MaxAttempts: 1, Transport: tr,
		Breaker: resilience.BreakerSettings{FailureRatio: 0.5, MinCalls: 2, Window: time.Minute, OpenFor: time.Hour}})
	if err != nil {
		t.Fatal(err)
	}
	st := stale.New(time.Minute, 0, nil)
	defer st.Close()
	srv := service.NewResellerServer(client, service.WithStale(st))
	for _, id := range ids {
		if _, _, code := call(srv, tenants[0], tokens[0], id); code != codes.OK {
			t.Fatalf("first call: %v", code)
		}
	}
	failing.Store(1)
	for range 4 { // opens the breaker: 503s on top of the successes
		call(srv, tenants[0], tokens[0], ids[0])
	}
	before := requests.Load()
	for _, id := range ids {
		name, md, code := call(srv, tenants[0], tokens[0], id)
		if diff := cmp.Diff([]any{"Contoso", codes.OK, []string{"cloudcockpit-facade; hit; detail=circuit-open"}}, []any{name, code, md.Get("cache-status")}); diff != "" {
			t.Errorf("%s (-want +got):\n%s", id, diff)
		}
	}
	if n := requests.Load() - before; n != 0 {
		t.Errorf("%d upstream requests with the breaker open, want 0", n)
	}
}

// TestAcceptanceLink: the other operation, its ids compared as GUIDs.
func TestAcceptanceLink(t *testing.T) {
	up := &fakeUpstream{}
	st := stale.New(time.Minute, 0, nil)
	defer st.Close()
	srv := service.NewCustomerServer(up, service.WithStale(st))
	ask := func(p, r string) (string, error) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer t0", "x-tenant", tenants[0]))
		req := &pb.GetAcceptanceLinkRequest{ProviderInstanceId: p}
		if r != "" {
			req.ResellerId = proto.String(r)
		}
		m, err := srv.GetAcceptanceLink(ctx, req)
		return m.GetUrl(), err
	}
	want, err := ask(ids[0], ids[1])
	if err != nil {
		t.Fatal(err)
	}
	up.setFail(&rest.Error{Kind: rest.KindUnreachable})
	got, err := ask(strings.ToUpper(ids[0]), ids[1])
	if got != want || err != nil {
		t.Errorf("stale link = %q, %v; want %q", got, err, want)
	}
	if _, err := ask(ids[0], ""); status.Code(err) != codes.Unavailable {
		t.Errorf("without the reseller id: %v, want UNAVAILABLE (another request)", err)
	}
	if _, err := ask(ids[2], ids[1]); status.Code(err) != codes.Unavailable {
		t.Errorf("another provider's link for the reseller: %v, want UNAVAILABLE", err)
	}
}

// ExampleStore_Key shows that ids are compared as GUIDs and credentials by
// their fingerprint.
func ExampleStore_Key() {
	st := stale.New(time.Minute, 0, nil)
	defer st.Close()
	a := st.Key("GetReseller", "a.example.com", "Bearer t0", "11111111-1111-4111-8111-111111111111")
	b := st.Key("GetReseller", "a.example.com", "Bearer t0", "{11111111-1111-4111-8111-111111111111}")
	c := st.Key("GetReseller", "a.example.com", "Bearer t1", "11111111-1111-4111-8111-111111111111")
	fmt.Println(a == b, a == c)
	// Output: true false
}

// TestRefusedTokenForgottenWhateverItsSchemeSpelling: the scheme of
// `authorization` is case-insensitive (the facade accepts `bearer`, and
// forwards the value as sent), so a 401 to the token spelt `bearer <token>`
// refuses the same credentials as `Bearer <token>`: every answer stored
// under the token goes, and none is served afterwards.
func TestRefusedTokenForgottenWhateverItsSchemeSpelling(t *testing.T) {
	up, st, srv := newReseller(t)
	ask := func(authorization string) codes.Code {
		md := metadata.Pairs("authorization", authorization, "x-tenant", tenants[0])
		ctx := grpc.NewContextWithServerTransportStream(metadata.NewIncomingContext(context.Background(), md), &headers{})
		_, err := srv.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: ids[0]})
		return status.Code(err)
	}
	if code := ask("Bearer t0"); code != codes.OK {
		t.Fatalf("first call: %v", code)
	}
	up.setFail(&rest.Error{Kind: rest.KindAnswered, StatusCode: 401})
	if code := ask("bearer t0"); code != codes.Unauthenticated {
		t.Fatalf("revoked token: %v, want UNAUTHENTICATED", code)
	}
	up.setFail(err503)
	if code := ask("Bearer t0"); code != codes.Unavailable || st.Len() != 0 {
		t.Errorf("revoked token, then 503: %v with %d entries, want UNAVAILABLE and none", code, st.Len())
	}
}

// TestAcceptanceLinkWithoutResellerIsNotTheNilGUIDs: a link asked without a
// reseller id (the customer's relationship with the CSP) and one asked for
// the nil GUID, a valid UUID, are different upstream requests (with and
// without `resellerId`), so neither is served for the other.
func TestAcceptanceLinkWithoutResellerIsNotTheNilGUIDs(t *testing.T) {
	const nilGUID = "00000000-0000-0000-0000-000000000000"
	up := &fakeUpstream{}
	st := stale.New(time.Minute, 0, nil)
	defer st.Close()
	srv := service.NewCustomerServer(up, service.WithStale(st))
	ask := func(r *string) (string, error) {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("authorization", "Bearer t0", "x-tenant", tenants[0]))
		m, err := srv.GetAcceptanceLink(ctx, &pb.GetAcceptanceLinkRequest{ProviderInstanceId: ids[0], ResellerId: r})
		return m.GetUrl(), err
	}
	if _, err := ask(nil); err != nil {
		t.Fatal(err)
	}
	up.setFail(err503)
	if got, err := ask(proto.String(nilGUID)); status.Code(err) != codes.Unavailable {
		t.Errorf("for the nil GUID, after a link for no reseller: %q, %v; want UNAVAILABLE (another request)", got, err)
	}
}
