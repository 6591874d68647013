package gateway

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/grpc/codes"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// TestQueryParameters: the upstream's camelCase names and the proto's
// snake_case names work; anything else is a 400 with a BadRequest and no
// upstream request.
func TestQueryParameters(t *testing.T) {
	const link = "/v1/Customers/relationship-acceptance?"
	tests := []struct {
		name      string
		path      string
		wantQuery url.Values // what the upstream gets; nil: a 400 and no request
		wantField []string   // the BadRequest fields of a 400
	}{
		{name: "camelCase", path: link + "providerInstanceId=" + testPI + "&resellerId=" + testID,
			wantQuery: url.Values{"providerInstanceId": {testPI}, "resellerId": {testID}}},
		{name: "snake_case", path: link + "provider_instance_id=" + testPI + "&reseller_id=" + testID,
			wantQuery: url.Values{"providerInstanceId": {testPI}, "resellerId": {testID}}},
		{name: "mixed spellings of different fields", path: link + "provider_instance_id=" + testPI + "&resellerId=" + testID,
			wantQuery: url.Values{"providerInstanceId": {testPI}, "resellerId": {testID}}},
		{name: "without reseller", path: link + "providerInstanceId=" + testPI,
			wantQuery: url.Values{"providerInstanceId": {testPI}}},
		{name: "misspelled resellerID", path: link + "providerInstanceId=" + testPI + "&resellerID=" + testID,
			wantField: []string{"resellerID"}},
		{name: "lower-case resellerid", path: link + "providerInstanceId=" + testPI + "&resellerid=" + testID,
			wantField: []string{"resellerid"}},
		{name: "unknown extra", path: link + "providerInstanceId=" + testPI + "&debug=1&a=2",
			wantField: []string{"a", "debug"}},
		{name: "repeated", path: link + "providerInstanceId=" + testPI + "&resellerId=" + testID + "&resellerId=" + testID,
			wantField: []string{"resellerId"}},
		{name: "both spellings", path: link + "providerInstanceId=" + testPI + "&provider_instance_id=" + testPI,
			wantField: []string{"provider_instance_id"}},
		{name: "map syntax", path: link + "providerInstanceId=" + testPI + "&resellerId[x]=" + testID,
			wantField: []string{"resellerId[x]"}},
		{name: "malformed", path: link + "providerInstanceId=%zz", wantField: []string{"query"}},
		{name: "semicolon", path: link + "providerInstanceId=" + testPI + ";resellerId=" + testID, wantField: []string{"query"}},
		{name: "query on the reseller route", path: "/v1/Resellers/" + testID + "?reseller_id=" + testID,
			wantField: []string{"reseller_id"}},
	}
	up := &recorder{answer: okUpstream}
	s := newStack(t, up)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := len(up.requests())
			r := s.get(t, tt.path)
			reqs := up.requests()[before:]
			if tt.wantQuery != nil {
				if r.status != http.StatusOK || len(reqs) != 1 {
					t.Fatalf("status %d with %d upstream requests, want 200 and 1: %s", r.status, len(reqs), r.body)
				}
				if diff := cmp.Diff(tt.wantQuery, reqs[0].URL.Query()); diff != "" {
					t.Errorf("upstream query (-want +got):\n%s", diff)
				}
				return
			}
			if r.status != http.StatusBadRequest || len(reqs) != 0 {
				t.Fatalf("status %d with %d upstream requests, want 400 and none: %s", r.status, len(reqs), r.body)
			}
			st := decodeStatus(t, r)
			if st.Code() != codes.InvalidArgument {
				t.Errorf("code = %v, want InvalidArgument", st.Code())
			}
			d := details(t, st)
			var fields []string
			for _, fv := range d.bad.GetFieldViolations() {
				fields = append(fields, fv.GetField())
			}
			if diff := cmp.Diff(tt.wantField, fields); diff != "" {
				t.Errorf("BadRequest fields (-want +got):\n%s", diff)
			}
			if d.info.GetReason() != apierr.ReasonInvalidQuery {
				t.Errorf("reason = %q, want %s", d.info.GetReason(), apierr.ReasonInvalidQuery)
			}
		})
	}
}

// TestEmptyResellerIDIsNotDropped: `resellerId=` sets the optional field to
// "", which the service rejects, rather than asking for the CSP's link.
func TestEmptyResellerIDIsNotDropped(t *testing.T) {
	up := &recorder{answer: okUpstream}
	s := newStack(t, up)
	r := s.get(t, "/v1/Customers/relationship-acceptance?providerInstanceId="+testPI+"&resellerId=")
	if r.status != http.StatusBadRequest {
		t.Fatalf("status = %d, want 400: %s", r.status, r.body)
	}
	if d := details(t, decodeStatus(t, r)); d.bad.GetFieldViolations()[0].GetField() != "resellerId" {
		t.Errorf("BadRequest = %v, want resellerId, the name the caller sent", d.bad)
	}
	if n := len(up.requests()); n != 0 {
		t.Errorf("upstream got %d requests, want 0", n)
	}
}

// TestBodyIsBounded: no route takes a body. One declared over maxBodyBytes
// gets 413 with ErrorInfo before the handler runs; one of unknown length
// (chunked) is drained by the generated handlers, which the middleware stops
// after maxBodyBytes.
func TestBodyIsBounded(t *testing.T) {
	g, err := newGateway(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		length     int64 // the declared Content-Length; -1: unknown
		wantStatus int
		wantReason string
		wantRead   bool // the handler ran and stopped at maxBodyBytes
	}{
		{name: "declared", length: 4 * maxBodyBytes, wantStatus: http.StatusRequestEntityTooLarge, wantReason: apierr.ReasonRequestTooLarge},
		{name: "declared at the bound", length: maxBodyBytes, wantStatus: http.StatusOK, wantRead: true},
		{name: "declared one byte over", length: maxBodyBytes + 1, wantStatus: http.StatusRequestEntityTooLarge, wantReason: apierr.ReasonRequestTooLarge},
		{name: "chunked", length: -1, wantStatus: http.StatusOK, wantRead: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var read int64
			var readErr error
			ran := false
			h := g.checkRequest(func(_ http.ResponseWriter, r *http.Request, _ map[string]string) {
				ran = true
				read, readErr = io.Copy(io.Discard, r.Body)
			})
			req := httptest.NewRequest(http.MethodGet, "/v1/Resellers/"+testID, strings.NewReader(strings.Repeat("x", 4*maxBodyBytes)))
			req.ContentLength = tt.length
			rec := httptest.NewRecorder()
			h(rec, req, nil)
			if rec.Code != tt.wantStatus || ran != tt.wantRead {
				t.Fatalf("status %d, handler ran %v; want %d, %v", rec.Code, ran, tt.wantStatus, tt.wantRead)
			}
			if tt.wantRead {
				var tooLarge *http.MaxBytesError
				if read > maxBodyBytes || !errors.As(readErr, &tooLarge) {
					t.Errorf("read %d bytes, error %v; want at most %d and *http.MaxBytesError", read, readErr, maxBodyBytes)
				}
				return
			}
			st := decodeStatus(t, response{status: rec.Code, body: rec.Body.Bytes()})
			if st.Code() != codes.ResourceExhausted || details(t, st).info.GetReason() != tt.wantReason {
				t.Errorf("status %v %v, want RESOURCE_EXHAUSTED with reason %s", st.Code(), st.Details(), tt.wantReason)
			}
		})
	}
}

// TestFormPostNeverReachesGetRoute: a POST with a form body is 405 on a GET
// route; grpc-gateway would otherwise serve it as the GET (its path-length
// fallback), the form's fields as query parameters past the checks here.
func TestFormPostNeverReachesGetRoute(t *testing.T) {
	up := &recorder{answer: okUpstream}
	s := newStack(t, up)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, s.url+"/v1/Customers/relationship-acceptance",
		strings.NewReader("providerInstanceId="+testPI+"&debug=1"))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	req.Header.Set("X-Tenant", testTenant)
	req.Header.Set("Authorization", testAuth)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed || len(up.requests()) != 0 {
		t.Errorf("form POST: status %d with %d upstream requests, want 405 and none", resp.StatusCode, len(up.requests()))
	}
}

// TestBadQueryListsEveryProblem: a refused query names its operation, and
// an invalid X-Correlation-Id is one more violation beside the query's.
func TestBadQueryListsEveryProblem(t *testing.T) {
	s := newStack(t, &recorder{answer: okUpstream})
	r := s.do(t, http.MethodGet, "/v1/Resellers/"+testID+"?debug=1", "Authorization", testAuth, "X-Tenant", testTenant, "X-Correlation-Id", "not-a-uuid")
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400: %s", r.status, r.body)
	}
	d := details(t, decodeStatus(t, r))
	var fields []string
	for _, fv := range d.bad.GetFieldViolations() {
		fields = append(fields, fv.GetField())
	}
	if diff := cmp.Diff([]string{"debug", "X-Correlation-Id"}, fields); diff != "" {
		t.Errorf("BadRequest fields (-want +got):\n%s", diff)
	}
	if op := d.info.GetMetadata()[apierr.MetaOperation]; op != "GetReseller" {
		t.Errorf("ErrorInfo operation = %q, want GetReseller", op)
	}
}

// TestBadQueryIsBounded: a query of many unknown parameters lists at most 16
// of them, each name quoted in at most 64 bytes.
func TestBadQueryIsBounded(t *testing.T) {
	q := url.Values{}
	for i := range 40 {
		q.Set(fmt.Sprintf("%03d%s", i, strings.Repeat("n", 500)), "1")
	}
	s := newStack(t, &recorder{answer: okUpstream})
	r := s.get(t, "/v1/Resellers/"+testID+"?"+q.Encode())
	if r.status != http.StatusBadRequest {
		t.Fatalf("status %d, want 400", r.status)
	}
	fvs := details(t, decodeStatus(t, r)).bad.GetFieldViolations()
	if len(fvs) != 16 {
		t.Errorf("%d violations listed, want 16", len(fvs))
	}
	for _, fv := range fvs {
		if n := len(fv.GetField()); n > 64+len("…") {
			t.Errorf("a field of %d bytes, want at most 64 and an ellipsis", n)
		}
	}
}
