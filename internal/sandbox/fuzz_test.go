package sandbox_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"net/url"
	"testing"
	"unicode/utf8"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// FuzzServeHTTP feeds arbitrary paths, queries and headers to the server: it must never
// panic, must answer with a status the upstream uses, and every error body it writes
// must be a well-formed envelope carrying that status.
func FuzzServeHTTP(f *testing.F) {
	f.Add("GET", "/v1/Resellers/"+sandbox.ContosoResellerID, "", testAuth, testTenant, testCID)
	f.Add("GET", "/v1/Customers/relationship-acceptance", "providerInstanceId="+sandbox.SpecProviderInstanceID+"&resellerId="+sandbox.NorthwindResellerID, testAuth, testTenant, "")
	f.Add("GET", "/v1/Customers/relationship-acceptance", "providerInstanceId=%zz;&&=", "bearer x", "a.b", "\"quoted\"")
	f.Add("POST", "/V1/RESELLERS/x/", "", "", "", "")
	f.Add("GET", "/v1/Resellers/%7B%7D", "a=1", "Bearer t", "-x.", "<script>")
	s := sandbox.New()
	f.Fuzz(func(t *testing.T, method, path, query, auth, tenant, cid string) {
		req := httptest.NewRequest(http.MethodGet, "/", nil)
		req.Method = method
		req.URL = &url.URL{Path: path, RawQuery: query}
		req.Header = http.Header{"Authorization": {auth}, "X-Tenant": {tenant}, "X-Correlation-Id": {cid}}
		rec := httptest.NewRecorder()
		s.ServeHTTP(rec, req)

		switch rec.Code {
		case http.StatusOK, http.StatusUnauthorized:
			return
		case http.StatusBadRequest, http.StatusNotFound, http.StatusMethodNotAllowed:
		default:
			t.Fatalf("status %d is not one the sandbox uses", rec.Code)
		}
		var env envelope
		if err := json.Unmarshal(rec.Body.Bytes(), &env); err != nil {
			t.Fatalf("status %d body %q is not an envelope: %v", rec.Code, rec.Body, err)
		}
		if env.StatusCode != rec.Code {
			t.Errorf("envelope statusCode %d, answer status %d", env.StatusCode, rec.Code)
		}
		// JSON carries only valid UTF-8: other bytes of a caller's id become U+FFFD.
		if cid != "" && utf8.ValidString(cid) && env.CorrelationID != cid {
			t.Errorf("correlationId = %q, want %q", env.CorrelationID, cid)
		}
	})
}
