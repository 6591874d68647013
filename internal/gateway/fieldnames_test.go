package gateway

import (
	"net/http"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestRESTFieldNames: the mirror's BadRequest names what the REST caller
// sent (path and query parameters, headers), in the violations and the
// message, while the upstream's own property names pass unchanged.
func TestRESTFieldNames(t *testing.T) {
	tests := []struct {
		name       string
		upstream   http.Handler
		path       string
		headers    []string
		wantFields []string
	}{
		{
			name: "path parameter and missing tenant", path: "/v1/Resellers/nope",
			headers:    []string{"Authorization", testAuth},
			wantFields: []string{"resellerId", "X-Tenant"},
		},
		{
			name: "query parameters as sent", path: "/v1/Customers/relationship-acceptance?provider_instance_id=x&resellerId=y",
			headers:    []string{"Authorization", testAuth, "X-Tenant", testTenant},
			wantFields: []string{"provider_instance_id", "resellerId"},
		},
		{
			name: "camelCase query and a bad correlation id", path: "/v1/Customers/relationship-acceptance?providerInstanceId=x",
			headers:    []string{"Authorization", testAuth, "X-Tenant", testTenant, "X-Correlation-Id", "nope"},
			wantFields: []string{"providerInstanceId", "X-Correlation-Id"},
		},
		{
			name: "bad tenant", path: "/v1/Resellers/" + testPI,
			headers:    []string{"Authorization", testAuth, "X-Tenant", "not a domain"},
			wantFields: []string{"X-Tenant"},
		},
		{
			name: "upstream names pass", upstream: envelopeUpstream(http.StatusBadRequest, ""), path: "/v1/Resellers/" + testPI,
			headers:    []string{"Authorization", testAuth, "X-Tenant", testTenant},
			wantFields: nil, // filled from the upstream's envelope below
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := tt.upstream
			if up == nil {
				up = http.HandlerFunc(okUpstream)
			}
			s := newStack(t, up)
			r := s.do(t, http.MethodGet, tt.path, tt.headers...)
			if r.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400: %s", r.status, r.body)
			}
			st := decodeStatus(t, r)
			var fields []string
			for _, fv := range details(t, st).bad.GetFieldViolations() {
				fields = append(fields, fv.GetField())
				if !strings.Contains(st.Message(), " "+fv.GetField()+": ") && tt.upstream == nil {
					t.Errorf("message %q does not name %s", st.Message(), fv.GetField())
				}
			}
			want := tt.wantFields
			if tt.upstream != nil {
				want = []string{"resellerId"} // envelopeUpstream's propertyName
			}
			if diff := cmp.Diff(want, fields); diff != "" {
				t.Errorf("BadRequest fields (-want +got):\n%s", diff)
			}
			for _, snake := range []string{"reseller_id", "x-tenant", "x-correlation-id"} {
				if strings.Contains(st.Message(), " "+snake+": ") {
					t.Errorf("message %q names %s", st.Message(), snake)
				}
			}
		})
	}
}
