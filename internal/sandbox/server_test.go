package sandbox_test

import (
	"encoding/json"
	"net/http"
	"regexp"
	"strconv"
	"sync"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

const (
	resellerPath = "/v1/Resellers/" + sandbox.ContosoResellerID
	linkPath     = "/v1/Customers/relationship-acceptance?providerInstanceId=" + sandbox.SpecProviderInstanceID
)

func TestAuthorization(t *testing.T) {
	tests := []struct {
		name string
		give []string // Authorization header values; nil sends none
		want int
	}{
		{name: "absent", give: nil, want: http.StatusUnauthorized},
		{name: "empty", give: []string{""}, want: http.StatusUnauthorized},
		{name: "scheme only", give: []string{"Bearer"}, want: http.StatusUnauthorized},
		{name: "scheme and blanks", give: []string{"Bearer    "}, want: http.StatusUnauthorized},
		{name: "basic scheme", give: []string{"Basic dXNlcjpwYXNz"}, want: http.StatusUnauthorized},
		{name: "no scheme", give: []string{sandbox.SampleToken}, want: http.StatusUnauthorized},
		{name: "scheme glued to token", give: []string{"Bearer" + sandbox.SampleToken}, want: http.StatusUnauthorized},
		{name: "token with a blank", give: []string{"Bearer two words"}, want: http.StatusUnauthorized},
		{name: "sample token", give: []string{"Bearer " + sandbox.SampleToken}, want: http.StatusOK},
		{name: "lower-case scheme", give: []string{"bearer eyJ0eXAiO.x.y"}, want: http.StatusOK},
		{name: "upper-case scheme", give: []string{"BEARER t"}, want: http.StatusOK},
		{name: "two blanks", give: []string{"Bearer  t"}, want: http.StatusOK},
	}
	_, ts := startServer(t, nil)
	for _, path := range []string{resellerPath, linkPath} {
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				h := validHeader()
				h.Del("Authorization")
				for _, v := range tt.give {
					h.Add("Authorization", v)
				}
				res := do(t, ts, http.MethodGet, path, h)
				if res.status != tt.want {
					t.Fatalf("status = %d, want %d (body %q)", res.status, tt.want, res.body)
				}
				if tt.want != http.StatusUnauthorized {
					return
				}
				if len(res.body) != 0 {
					t.Errorf("401 body = %q, want empty", res.body)
				}
				if got := res.header.Get("WWW-Authenticate"); got != "Bearer" {
					t.Errorf("WWW-Authenticate = %q, want %q", got, "Bearer")
				}
				if got := res.header.Get("X-Correlation-Id"); got != testCID {
					t.Errorf("X-Correlation-Id = %q, want %q", got, testCID)
				}
			})
		}
	}
}

func TestAuthorizationComesFirst(t *testing.T) {
	_, ts := startServer(t, nil)
	for _, path := range []string{
		"/v1/Resellers/not-a-uuid",
		"/v1/Resellers/" + sandbox.UnknownResellerID,
		"/v1/Customers/relationship-acceptance",
		"/v1/Customers/relationship-acceptance?providerInstanceId=x&resellerId=y",
	} {
		t.Run(path, func(t *testing.T) {
			// No X-Tenant and a bad or unknown id: authorization still wins.
			res := do(t, ts, http.MethodGet, path, http.Header{"Authorization": {"Basic x"}})
			if res.status != http.StatusUnauthorized {
				t.Errorf("status = %d, want 401 (body %q)", res.status, res.body)
			}
		})
	}
}

func TestTenant(t *testing.T) {
	const (
		required = "The X-Tenant header is required."
		once     = "The X-Tenant header must be sent once."
		domain   = "The X-Tenant header must be the portal domain of a tenant, such as portal.cloudcockpit.com."
	)
	tests := []struct {
		name string
		give []string // X-Tenant values; nil sends none
		want string   // the violation's description; "" means accepted
	}{
		{name: "absent", give: nil, want: required},
		{name: "empty", give: []string{""}, want: required},
		{name: "blank", give: []string{"   "}, want: required},
		{name: "twice", give: []string{"a.example", "b.example"}, want: once},
		{name: "single label", give: []string{"localhost"}, want: domain},
		{name: "url", give: []string{"https://portal.cloudcockpit.com"}, want: domain},
		{name: "with port", give: []string{"portal.cloudcockpit.com:443"}, want: domain},
		{name: "with path", give: []string{"portal.cloudcockpit.com/x"}, want: domain},
		{name: "empty label", give: []string{"portal..com"}, want: domain},
		{name: "leading hyphen", give: []string{"-portal.example"}, want: domain},
		{name: "trailing hyphen", give: []string{"portal-.example"}, want: domain},
		{name: "underscore", give: []string{"my_portal.example"}, want: domain},
		{name: "blank inside", give: []string{"portal cloudcockpit.com"}, want: domain},
		{name: "label too long", give: []string{string(make64('a')) + ".example"}, want: domain},
		{name: "sample", give: []string{sandbox.SampleTenant}},
		{name: "mixed case with root dot", give: []string{"Portal.CloudCockpit.COM."}},
		{name: "hyphen and digits", give: []string{"portal-01.eu2.partner.example"}},
	}
	_, ts := startServer(t, nil)
	for _, path := range []string{resellerPath, linkPath} {
		for _, tt := range tests {
			t.Run(path+"/"+tt.name, func(t *testing.T) {
				h := validHeader()
				h.Del("X-Tenant")
				for _, v := range tt.give {
					h.Add("X-Tenant", v)
				}
				res := do(t, ts, http.MethodGet, path, h)
				if tt.want == "" {
					if res.status != http.StatusOK {
						t.Fatalf("status = %d, want 200 (body %q)", res.status, res.body)
					}
					return
				}
				if res.status != http.StatusBadRequest {
					t.Fatalf("status = %d, want 400 (body %q)", res.status, res.body)
				}
				want := envelope{
					StatusCode:    http.StatusBadRequest,
					Type:          "ValidationError",
					Description:   "One or more validation errors occurred.",
					CorrelationID: testCID,
					Errors:        []fieldError{{PropertyName: "X-Tenant", Description: []string{tt.want}}},
				}
				if diff := cmp.Diff(want, decodeEnvelope(t, res)); diff != "" {
					t.Errorf("envelope mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

// make64 returns a 64-byte label, one more than DNS allows.
func make64(c byte) []byte {
	b := make([]byte, 64)
	for i := range b {
		b[i] = c
	}
	return b
}

func TestMalformedIDs(t *testing.T) {
	const (
		badReseller = "The value is not valid for resellerId: expected a GUID such as 00000000-0000-0000-0000-000000000000."
		badInstance = "The value is not valid for providerInstanceId: expected a GUID such as 00000000-0000-0000-0000-000000000000."
		noInstance  = "The providerInstanceId field is required."
		noTenant    = "The X-Tenant header is required."
	)
	tests := []struct {
		name     string
		path     string
		noTenant bool
		want     []fieldError
	}{
		{
			name: "reseller not a uuid",
			path: "/v1/Resellers/not-a-uuid",
			want: []fieldError{{PropertyName: "resellerId", Description: []string{badReseller}}},
		},
		{
			name: "reseller uuid without hyphens",
			path: "/v1/Resellers/11111111111141118111111111111111",
			want: []fieldError{{PropertyName: "resellerId", Description: []string{badReseller}}},
		},
		{
			name: "reseller uuid in braces",
			path: "/v1/Resellers/%7B" + sandbox.ContosoResellerID + "%7D",
			want: []fieldError{{PropertyName: "resellerId", Description: []string{badReseller}}},
		},
		{
			name: "reseller uuid with a non-hex digit",
			path: "/v1/Resellers/g1111111-1111-4111-8111-111111111111",
			want: []fieldError{{PropertyName: "resellerId", Description: []string{badReseller}}},
		},
		{
			name: "reseller escaped slash",
			path: "/v1/Resellers/11111111-1111-4111-8111%2F11111111111",
			want: []fieldError{{PropertyName: "resellerId", Description: []string{badReseller}}},
		},
		{
			name:     "reseller bad id and no tenant",
			path:     "/v1/Resellers/42",
			noTenant: true,
			want: []fieldError{
				{PropertyName: "X-Tenant", Description: []string{noTenant}},
				{PropertyName: "resellerId", Description: []string{badReseller}},
			},
		},
		{
			name: "link without provider instance",
			path: "/v1/Customers/relationship-acceptance",
			want: []fieldError{{PropertyName: "providerInstanceId", Description: []string{noInstance}}},
		},
		{
			name: "link with empty provider instance",
			path: "/v1/Customers/relationship-acceptance?providerInstanceId=&resellerId=" + sandbox.ContosoResellerID,
			want: []fieldError{{PropertyName: "providerInstanceId", Description: []string{noInstance}}},
		},
		{
			name: "link provider instance not a uuid",
			path: "/v1/Customers/relationship-acceptance?providerInstanceId=abc",
			want: []fieldError{{PropertyName: "providerInstanceId", Description: []string{badInstance}}},
		},
		{
			name: "link reseller not a uuid",
			path: linkPath + "&resellerId=abc",
			want: []fieldError{{PropertyName: "resellerId", Description: []string{badReseller}}},
		},
		{
			name:     "link everything wrong",
			path:     "/v1/Customers/relationship-acceptance?providerInstanceId=1&resellerId=2",
			noTenant: true,
			want: []fieldError{
				{PropertyName: "X-Tenant", Description: []string{noTenant}},
				{PropertyName: "providerInstanceId", Description: []string{badInstance}},
				{PropertyName: "resellerId", Description: []string{badReseller}},
			},
		},
	}
	_, ts := startServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := validHeader()
			if tt.noTenant {
				h.Del("X-Tenant")
			}
			res := do(t, ts, http.MethodGet, tt.path, h)
			if res.status != http.StatusBadRequest {
				t.Fatalf("status = %d, want 400 (body %q)", res.status, res.body)
			}
			want := envelope{
				StatusCode:    http.StatusBadRequest,
				Type:          "ValidationError",
				Description:   "One or more validation errors occurred.",
				CorrelationID: testCID,
				Errors:        tt.want,
			}
			if diff := cmp.Diff(want, decodeEnvelope(t, res)); diff != "" {
				t.Errorf("envelope mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestNotFound(t *testing.T) {
	const noRoute = "The requested resource was not found."
	tests := []struct {
		name    string
		path    string
		noCreds bool // send no Authorization and no X-Tenant: routing answers first
		want    string
	}{
		{name: "unknown reseller", path: "/v1/Resellers/" + sandbox.UnknownResellerID, want: "Reseller not found."},
		{name: "unknown provider instance", path: "/v1/Customers/relationship-acceptance?providerInstanceId=" + sandbox.UnknownProviderInstanceID, want: "Provider instance not found."},
		{name: "unknown provider instance wins over unknown reseller", path: "/v1/Customers/relationship-acceptance?providerInstanceId=" + sandbox.UnknownProviderInstanceID + "&resellerId=" + sandbox.UnknownResellerID, want: "Provider instance not found."},
		{name: "link for unknown reseller", path: linkPath + "&resellerId=" + sandbox.UnknownResellerID, want: "Reseller not found."},
		{name: "plain-text link for unknown reseller", path: "/v1/Customers/relationship-acceptance?providerInstanceId=" + sandbox.PlainTextProviderInstanceID + "&resellerId=" + sandbox.UnknownResellerID, want: "Reseller not found."},
		{name: "root", path: "/", noCreds: true, want: noRoute},
		{name: "resellers collection", path: "/v1/Resellers", noCreds: true, want: noRoute},
		{name: "resellers collection with slash", path: "/v1/Resellers/", noCreds: true, want: noRoute},
		{name: "other version", path: "/v2/Resellers/" + sandbox.ContosoResellerID, noCreds: true, want: noRoute},
		{name: "sub-resource", path: resellerPath + "/customers", noCreds: true, want: noRoute},
		{name: "customers", path: "/v1/Customers", noCreds: true, want: noRoute},
		{name: "near miss", path: "/v1/Customers/relationship-acceptances", noCreds: true, want: noRoute},
		{name: "unknown path with credentials", path: "/v1/Subscriptions", want: noRoute},
	}
	_, ts := startServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := validHeader()
			if tt.noCreds {
				h.Del("Authorization")
				h.Del("X-Tenant")
			}
			res := do(t, ts, http.MethodGet, tt.path, h)
			if res.status != http.StatusNotFound {
				t.Fatalf("status = %d, want 404 (body %q)", res.status, res.body)
			}
			want := envelope{
				StatusCode:    http.StatusNotFound,
				Type:          "NotFound",
				Description:   tt.want,
				CorrelationID: testCID,
			}
			if diff := cmp.Diff(want, decodeEnvelope(t, res)); diff != "" {
				t.Errorf("envelope mismatch (-want +got):\n%s", diff)
			}
			if !json.Valid(res.body) || !regexp.MustCompile(`"errors":null`).Match(res.body) {
				t.Errorf("body %s: want errors null", res.body)
			}
		})
	}
}

func TestMethodNotAllowed(t *testing.T) {
	_, ts := startServer(t, nil)
	for _, method := range []string{http.MethodPost, http.MethodPut, http.MethodPatch, http.MethodDelete, http.MethodOptions, http.MethodHead} {
		for _, path := range []string{resellerPath, linkPath} {
			t.Run(method+" "+path, func(t *testing.T) {
				h := validHeader()
				h.Del("Authorization") // the method is checked before credentials
				res := do(t, ts, method, path, h)
				if res.status != http.StatusMethodNotAllowed {
					t.Fatalf("status = %d, want 405 (body %q)", res.status, res.body)
				}
				if got := res.header.Get("Allow"); got != http.MethodGet {
					t.Errorf("Allow = %q, want GET", got)
				}
				if method == http.MethodHead {
					return // no body to look at
				}
				want := envelope{
					StatusCode:    http.StatusMethodNotAllowed,
					Type:          "MethodNotAllowed",
					Description:   "The request method " + method + " is not supported for this resource.",
					CorrelationID: testCID,
				}
				if diff := cmp.Diff(want, decodeEnvelope(t, res)); diff != "" {
					t.Errorf("envelope mismatch (-want +got):\n%s", diff)
				}
			})
		}
	}
}

var uuidV4 = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestCorrelationID(t *testing.T) {
	tests := []struct {
		name       string
		path       string
		header     http.Header
		wantStatus int
	}{
		{name: "200 reseller", path: resellerPath, header: validHeader(), wantStatus: http.StatusOK},
		{name: "200 link", path: linkPath, header: validHeader(), wantStatus: http.StatusOK},
		{name: "400", path: "/v1/Resellers/x", header: validHeader(), wantStatus: http.StatusBadRequest},
		{name: "401", path: resellerPath, header: http.Header{}, wantStatus: http.StatusUnauthorized},
		{name: "404", path: "/v1/Resellers/" + sandbox.UnknownResellerID, header: validHeader(), wantStatus: http.StatusNotFound},
		{name: "404 route", path: "/nowhere", header: http.Header{}, wantStatus: http.StatusNotFound},
	}
	_, ts := startServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name+"/echoed", func(t *testing.T) {
			h := tt.header.Clone()
			h.Set("X-Correlation-Id", "7e57c0de-0000-4000-8000-00000000abcd")
			res := do(t, ts, http.MethodGet, tt.path, h)
			if res.status != tt.wantStatus {
				t.Fatalf("status = %d, want %d", res.status, tt.wantStatus)
			}
			if got := res.header.Get("X-Correlation-Id"); got != "7e57c0de-0000-4000-8000-00000000abcd" {
				t.Errorf("X-Correlation-Id = %q, want the caller's", got)
			}
			if res.status >= 400 && res.status != http.StatusUnauthorized {
				if got := decodeEnvelope(t, res).CorrelationID; got != "7e57c0de-0000-4000-8000-00000000abcd" {
					t.Errorf("correlationId = %q, want the caller's", got)
				}
			}
		})
		t.Run(tt.name+"/generated", func(t *testing.T) {
			h := tt.header.Clone()
			h.Del("X-Correlation-Id")
			first := do(t, ts, http.MethodGet, tt.path, h)
			second := do(t, ts, http.MethodGet, tt.path, h)
			got := first.header.Get("X-Correlation-Id")
			if !uuidV4.MatchString(got) {
				t.Errorf("generated X-Correlation-Id = %q, want a lower-case version 4 UUID", got)
			}
			if again := second.header.Get("X-Correlation-Id"); again == got {
				t.Errorf("two requests got the same generated id %q", got)
			}
			if first.status >= 400 && first.status != http.StatusUnauthorized {
				if env := decodeEnvelope(t, first); env.CorrelationID != got {
					t.Errorf("correlationId = %q, want the generated header %q", env.CorrelationID, got)
				}
			}
		})
	}
}

func TestReseller(t *testing.T) {
	tests := []struct {
		name   string
		path   string
		wantID string
	}{
		{name: "canonical", path: resellerPath, wantID: sandbox.ContosoResellerID},
		{name: "route in other casing", path: "/V1/resellers/" + sandbox.FabrikamResellerID, wantID: sandbox.FabrikamResellerID},
		{name: "trailing slash", path: "/v1/Resellers/" + sandbox.AdatumResellerID + "/", wantID: sandbox.AdatumResellerID},
		{name: "unknown query ignored", path: resellerPath + "?api-version=2&expand=all", wantID: sandbox.ContosoResellerID},
		{name: "escaped id", path: "/v1/Resellers/%35%35555555-5555-4555-8555-555555555555", wantID: sandbox.LitwareResellerID},
	}
	_, ts := startServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, ts, http.MethodGet, tt.path, validHeader())
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %q)", res.status, res.body)
			}
			if got, want := res.header.Get("Content-Type"), "application/json; charset=utf-8"; got != want {
				t.Errorf("Content-Type = %q, want %q", got, want)
			}
			if got, want := res.header.Get("Content-Length"), strconv.Itoa(len(res.body)); got != want {
				t.Errorf("Content-Length = %q, want %q", got, want)
			}
			if got := payloadID(t, res.body); got != tt.wantID {
				t.Errorf("payload id = %q, want %q", got, tt.wantID)
			}
		})
	}
}

func TestAcceptanceLink(t *testing.T) {
	const (
		base     = "https://admin.microsoft.com/Adminportal/Home?"
		fragment = "&DAP=true#/BillingAccounts/partner-invitation"
		jsonType = "application/json; charset=utf-8"
		textType = "text/plain; charset=utf-8"
	)
	spec := "/v1/Customers/relationship-acceptance?providerInstanceId=" + sandbox.SpecProviderInstanceID
	plain := "/v1/Customers/relationship-acceptance?providerInstanceId=" + sandbox.PlainTextProviderInstanceID
	tests := []struct {
		name     string
		path     string
		wantType string
		wantURL  string
	}{
		{
			name:     "csp",
			path:     spec,
			wantType: jsonType,
			wantURL:  base + "invType=ResellerRelationship&partnerId=" + sandbox.SpecProviderTenantID + "&msppId=0" + fragment,
		},
		{
			name:     "indirect reseller",
			path:     spec + "&resellerId=" + sandbox.ContosoResellerID,
			wantType: jsonType,
			wantURL: base + "invType=IndirectResellerRelationship&partnerId=6d1f3b8a-0c42-4e97-b5a3-9e27c4d81f60" +
				"&msppId=4794019&indirectCSPId=" + sandbox.SpecProviderTenantID + fragment,
		},
		{
			name:     "indirect reseller, parameters in other order and casing, unknown ones ignored",
			path:     "/v1/Customers/relationship-acceptance?ResellerID=" + sandbox.NorthwindResellerID + "&foo=bar&PROVIDERINSTANCEID=CB3CD15B-1D6E-45BE-B493-C71549CBFD87",
			wantType: jsonType,
			wantURL: base + "invType=IndirectResellerRelationship&partnerId=e84b2f6c-1a79-4d35-8e0b-5c3f9a7d1246" +
				"&msppId=5512873&indirectCSPId=" + sandbox.SpecProviderTenantID + fragment,
		},
		{
			name:     "empty resellerId means none",
			path:     spec + "&resellerId=",
			wantType: jsonType,
			wantURL:  base + "invType=ResellerRelationship&partnerId=" + sandbox.SpecProviderTenantID + "&msppId=0" + fragment,
		},
		{
			name:     "plain text csp",
			path:     plain,
			wantType: textType,
			wantURL:  base + "invType=ResellerRelationship&partnerId=" + sandbox.PlainTextProviderTenantID + "&msppId=0" + fragment,
		},
		{
			name:     "plain text indirect reseller",
			path:     plain + "&resellerId=" + sandbox.FabrikamResellerID,
			wantType: textType,
			wantURL: base + "invType=IndirectResellerRelationship&partnerId=a2c95e17-38d4-4f6b-9c01-74e8b3d2a5f9" +
				"&msppId=3318204&indirectCSPId=" + sandbox.PlainTextProviderTenantID + fragment,
		},
	}
	_, ts := startServer(t, nil)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := do(t, ts, http.MethodGet, tt.path, validHeader())
			if res.status != http.StatusOK {
				t.Fatalf("status = %d, want 200 (body %q)", res.status, res.body)
			}
			if got := res.header.Get("Content-Type"); got != tt.wantType {
				t.Errorf("Content-Type = %q, want %q", got, tt.wantType)
			}
			got := string(res.body)
			if tt.wantType == jsonType {
				if err := json.Unmarshal(res.body, &got); err != nil {
					t.Fatalf("body %s is not a JSON string: %v", res.body, err)
				}
			}
			if diff := cmp.Diff(tt.wantURL, got); diff != "" {
				t.Errorf("link mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestRequests(t *testing.T) {
	s, ts := startServer(t, nil)
	if got := s.Requests(); got != 0 {
		t.Fatalf("Requests() of a new server = %d, want 0", got)
	}
	paths := []struct {
		path   string
		header http.Header
	}{
		{resellerPath, validHeader()},
		{linkPath, validHeader()},
		{"/v1/Resellers/x", validHeader()},
		{resellerPath, nil}, // 401
		{"/nowhere", nil},   // 404
	}
	for i, p := range paths {
		do(t, ts, http.MethodGet, p.path, p.header)
		if got, want := s.Requests(), int64(i+1); got != want {
			t.Errorf("after %s: Requests() = %d, want %d", p.path, got, want)
		}
	}

	// Concurrent requests are all counted (and the race detector watches the counter).
	const workers, each = 8, 25
	before := s.Requests()
	var wg sync.WaitGroup
	for range workers {
		wg.Go(func() {
			for range each {
				do(t, ts, http.MethodGet, resellerPath, validHeader())
			}
		})
	}
	wg.Wait()
	if got, want := s.Requests()-before, int64(workers*each); got != want {
		t.Errorf("concurrent: Requests() grew by %d, want %d", got, want)
	}

	// Each Server counts its own requests.
	if got := sandbox.New().Requests(); got != 0 {
		t.Errorf("Requests() of another new server = %d, want 0", got)
	}
}
