package service

import (
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// TestCoalescingTarget: 64 callers on one reseller make at most one upstream
// request per 10 facade calls, and every call succeeds.
func TestCoalescingTarget(t *testing.T) {
	var requests atomic.Int32
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		time.Sleep(5 * time.Millisecond) // a slow peer: an upstream round trip
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `{"id":"`+testResellerID+`","companyName":"Contoso"}`)
	}))
	defer srv.Close()
	f := newFacade(t, srv.URL)
	const callers, perCaller = 64, 20
	var wg sync.WaitGroup
	var failed atomic.Int32
	for range callers {
		wg.Go(func() {
			for range perCaller {
				r, err := f.resellers.GetReseller(callCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID})
				if err != nil || r.GetCompanyName() != "Contoso" {
					failed.Add(1)
				}
			}
		})
	}
	wg.Wait()
	if n := failed.Load(); n != 0 {
		t.Errorf("%d of %d calls failed", n, callers*perCaller)
	}
	if n := requests.Load(); n > callers*perCaller/10 {
		t.Errorf("upstream saw %d requests for %d facade calls, want at most 10%%", n, callers*perCaller)
	}
}

// sharedUpstream hands every caller the same *rest.Reseller, as coalesced
// calls receive it.
type sharedUpstream struct{ r *rest.Reseller }

func (u sharedUpstream) GetReseller(context.Context, rest.CallInfo, string) (*rest.Reseller, error) {
	return u.r, nil
}

func (u sharedUpstream) GetAcceptanceLink(context.Context, rest.CallInfo, string, string) (string, error) {
	return "", nil
}

// TestCoalescedCallersGetTheirOwnMessage: callers that share one upstream
// result each get a message of their own, so that nothing one of them does
// to it reaches another: not its strings, not its lists.
func TestCoalescedCallersGetTheirOwnMessage(t *testing.T) {
	shared, err := rest.DecodeReseller([]byte(`{"id":"` + testResellerID + `","companyName":"Contoso",` +
		`"providerResellers":[{"resellerProviderData":"{\"SecondaryMpnIds\":[\"111\"]}"}]}`))
	if err != nil {
		t.Fatal(err)
	}
	s := NewResellerServer(sharedUpstream{shared})
	first, err := s.GetReseller(beginCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID})
	if err != nil {
		t.Fatal(err)
	}
	second, err := s.GetReseller(beginCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID})
	if err != nil {
		t.Fatal(err)
	}
	if first == second {
		t.Fatal("two callers got the same message")
	}
	*first.CompanyName = "changed"
	first.GetProviderResellers()[0].GetProviderData().GetSecondaryMpnIds()[0] = "changed"
	if got, ids := second.GetCompanyName(), second.GetProviderResellers()[0].GetProviderData().GetSecondaryMpnIds(); got != "Contoso" || len(ids) != 1 || ids[0] != "111" {
		t.Errorf("changing one caller's message changed another's: %q, %q", got, ids)
	}
}
