package gateway

import (
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
)

// TestHeaderForwarding checks both directions: exactly X-Tenant,
// Authorization and X-Correlation-Id reach the upstream, nothing else the
// caller sent does, and the response carries X-Correlation-Id as a plain
// header and no other metadata.
func TestHeaderForwarding(t *testing.T) {
	up := &recorder{answer: okUpstream}
	s := newStack(t, up)
	r := s.get(t, "/v1/Resellers/"+testID,
		"X-Secret", "s3cr3t-header",
		"Cookie", "session=s3cr3t-cookie",
		"Grpc-Metadata-X-Secret", "s3cr3t-md",
		"Grpc-Metadata-X-Tenant", "s3cr3t.example",
		"X-Forwarded-For", "203.0.113.9",
		"User-Agent", "s3cr3t-agent",
	)
	if r.status != http.StatusOK {
		t.Fatalf("status = %d, want 200: %s", r.status, r.body)
	}
	reqs := up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests, want 1", len(reqs))
	}
	got := reqs[0].Header
	for name, want := range map[string][]string{
		"X-Tenant":         {testTenant},
		"Authorization":    {testAuth},
		"X-Correlation-Id": {testCID},
	} {
		if diff := cmp.Diff(want, got.Values(name)); diff != "" {
			t.Errorf("upstream %s (-want +got):\n%s", name, diff)
		}
	}
	for name, vals := range got {
		for _, v := range vals {
			if strings.Contains(v, "s3cr3t") || strings.Contains(v, "203.0.113.9") {
				t.Errorf("upstream got the caller's %s: %q", name, v)
			}
		}
	}

	if diff := cmp.Diff([]string{testCID}, r.header.Values("X-Correlation-Id")); diff != "" {
		t.Errorf("response X-Correlation-Id (-want +got):\n%s", diff)
	}
	for name := range r.header {
		if strings.HasPrefix(name, "Grpc-") {
			t.Errorf("response has metadata header %s", name)
		}
	}
	if diff := cmp.Diff([]string{"/cloudcockpit.v1.ResellerService/GetReseller"}, s.seen()); diff != "" {
		t.Errorf("calls seen by the gRPC interceptors (-want +got):\n%s", diff)
	}
}

// TestLargeAnswerHasLength checks that an answer larger than net/http's
// 2 KB response buffer declares its Content-Length instead of being chunked.
func TestLargeAnswerHasLength(t *testing.T) {
	big := strings.Replace(resellerJSON, "Contoso Cloud Lda", strings.Repeat("Contoso ", 400), 1)
	s := newStack(t, &recorder{answer: func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(big))
	}})
	r := s.get(t, "/v1/Resellers/"+testID)
	if r.status != http.StatusOK || len(r.body) < 3000 {
		t.Fatalf("status = %d, %d bytes; want 200 and the whole reseller", r.status, len(r.body))
	}
	if got, want := r.header.Get("Content-Length"), strconv.Itoa(len(r.body)); got != want {
		t.Errorf("Content-Length = %q, want %q (Transfer-Encoding %q)", got, want, r.transfer)
	}
}

// TestHeaderMapping covers what the service sees of each header, through the
// answers it gives: a missing or repeated header is the same error as over
// gRPC, and Grpc-Metadata-* headers are not metadata.
func TestHeaderMapping(t *testing.T) {
	tests := []struct {
		name       string
		headers    []string
		wantStatus int
		wantReason string // ErrorInfo reason when an error
	}{
		{name: "all three", headers: []string{"X-Tenant", testTenant, "Authorization", testAuth, "X-Correlation-Id", testCID}, wantStatus: 200},
		{name: "lower-case names", headers: []string{"x-tenant", testTenant, "authorization", testAuth}, wantStatus: 200},
		{name: "no authorization", headers: []string{"X-Tenant", testTenant}, wantStatus: 401, wantReason: "MISSING_CREDENTIALS"},
		{name: "authorization as metadata header", headers: []string{"X-Tenant", testTenant, "Grpc-Metadata-Authorization", testAuth}, wantStatus: 401, wantReason: "MISSING_CREDENTIALS"},
		{name: "two authorizations", headers: []string{"X-Tenant", testTenant, "Authorization", testAuth, "Authorization", testAuth}, wantStatus: 401, wantReason: "MALFORMED_CREDENTIALS"},
		{name: "no tenant", headers: []string{"Authorization", testAuth}, wantStatus: 400, wantReason: "INVALID_REQUEST"},
		{name: "tenant as metadata header", headers: []string{"Authorization", testAuth, "Grpc-Metadata-X-Tenant", testTenant}, wantStatus: 400, wantReason: "INVALID_REQUEST"},
		{name: "two tenants", headers: []string{"Authorization", testAuth, "X-Tenant", testTenant, "X-Tenant", testTenant}, wantStatus: 400, wantReason: "INVALID_REQUEST"},
		{name: "bad correlation id", headers: []string{"Authorization", testAuth, "X-Tenant", testTenant, "X-Correlation-Id", "nope"}, wantStatus: 400, wantReason: "INVALID_REQUEST"},
	}
	up := &recorder{answer: okUpstream}
	s := newStack(t, up)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := s.do(t, http.MethodGet, "/v1/Resellers/"+testID, tt.headers...)
			if r.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d: %s", r.status, tt.wantStatus, r.body)
			}
			cid := r.header.Get("X-Correlation-Id")
			if !correlation.IsUUID(cid) {
				t.Errorf("X-Correlation-Id = %q, want a UUID", cid)
			}
			if tt.wantReason == "" {
				return
			}
			d := details(t, decodeStatus(t, r))
			if d.info.GetReason() != tt.wantReason || d.request.GetRequestId() != cid {
				t.Errorf("ErrorInfo %v, RequestInfo %v: want reason %s and request id %s", d.info, d.request, tt.wantReason, cid)
			}
		})
	}
}

func TestHeaderProblems(t *testing.T) {
	tests := []struct {
		name        string
		give        http.Header
		wantBadAuth bool
		wantFields  []string
	}{
		{"clean", http.Header{"Authorization": {"Bearer abc"}, "X-Tenant": {"portal.cloudcockpit.com"}, "X-Correlation-Id": {"0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"}}, false, nil},
		{"non-ascii token", http.Header{"Authorization": {"Bearer t\u00f6ken"}}, true, nil},
		{"control char in token", http.Header{"Authorization": {"Bearer a\x01b"}}, true, nil},
		{"DEL in token", http.Header{"Authorization": {"Bearer a\x7fb"}}, true, nil},
		{"tilde and space are printable", http.Header{"Authorization": {"Bearer a~b"}, "X-Tenant": {"a ~.example"}}, false, nil},
		{"DEL in tenant", http.Header{"X-Tenant": {"portal\x7f.example"}}, false, []string{"X-Tenant"}},
		{"unit separator in tenant", http.Header{"X-Tenant": {"portal\x1f.example"}}, false, []string{"X-Tenant"}},
		{"non-ascii tenant", http.Header{"X-Tenant": {"p\u00f6rtal.example"}}, false, []string{"X-Tenant"}},
		{"non-ascii correlation id", http.Header{"X-Correlation-Id": {"\u00e9"}}, false, []string{"X-Correlation-Id"}},
		{"both", http.Header{"X-Tenant": {"\u00e9.x"}, "X-Correlation-Id": {"\u00e9"}}, false, []string{"X-Tenant", "X-Correlation-Id"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			badAuth, fvs := headerProblems(tt.give)
			var fields []string
			for _, fv := range fvs {
				fields = append(fields, fv.GetField())
			}
			if badAuth != tt.wantBadAuth || strings.Join(fields, ",") != strings.Join(tt.wantFields, ",") {
				t.Errorf("headerProblems = %v %v, want %v %v", badAuth, fields, tt.wantBadAuth, tt.wantFields)
			}
		})
	}
}
