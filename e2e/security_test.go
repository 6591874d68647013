//go:build e2e

package e2e

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"crypto/rand"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
)

// Reseller ids the test upstream answers in a particular way; any other id
// gets a minimal reseller.
const (
	idUpstream404  = "40440440-0000-4000-8000-000000000000" // 404 envelope
	idUpstream401  = "40140140-0000-4000-8000-000000000000" // 401, no body
	idUpstreamEcho = "40040040-0000-4000-8000-000000000000" // 400 envelope echoing the Authorization header
	idUpstream502  = "50250250-0000-4000-8000-000000000000" // 502 HTML page echoing the Authorization header
	idUpstreamDrop = "50350350-0000-4000-8000-000000000000" // connection closed without an answer
)

// upstream is a CloudCockpit stand-in in the test process that counts the
// requests it gets (on any path) and records their headers.
type upstream struct {
	*httptest.Server
	n       atomic.Int64
	mu      sync.Mutex
	headers []http.Header
}

func newUpstream(t *testing.T) *upstream {
	t.Helper()
	u := &upstream{}
	u.Server = httptest.NewServer(http.HandlerFunc(u.serve))
	t.Cleanup(u.Close)
	return u
}

func (u *upstream) count() int64 { return u.n.Load() }

// lastHeaders returns the headers of the latest request.
func (u *upstream) lastHeaders() http.Header {
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.headers) == 0 {
		return nil
	}
	return u.headers[len(u.headers)-1]
}

func (u *upstream) serve(w http.ResponseWriter, r *http.Request) {
	u.n.Add(1)
	u.mu.Lock()
	u.headers = append(u.headers, r.Header.Clone())
	u.mu.Unlock()
	auth := r.Header.Get("Authorization")
	envelope := func(code int, typ, desc string, errs ...map[string]any) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(map[string]any{
			"statusCode": code, "type": typ, "description": desc,
			"correlationId": r.Header.Get("X-Correlation-Id"), "errors": errs,
		})
	}
	if strings.HasPrefix(r.URL.Path, "/v1/Customers/relationship-acceptance") {
		w.Header().Set("Content-Type", "application/json")
		_, _ = io.WriteString(w, `"https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=cb3cd15b-1d6e-45be-b493-c71549cbfd87&msppId=0&DAP=true#/BillingAccounts/partner-invitation"`)
		return
	}
	id := r.URL.Path[strings.LastIndexByte(r.URL.Path, '/')+1:]
	switch id {
	case idUpstream404:
		envelope(http.StatusNotFound, "NotFound", "Reseller not found.")
	case idUpstream401:
		w.WriteHeader(http.StatusUnauthorized)
	case idUpstreamEcho:
		envelope(http.StatusBadRequest, "BadRequest", "IDX10223: Lifetime validation failed. Token: '"+auth+"'",
			map[string]any{"propertyName": "Authorization", "description": []string{"got " + auth}})
	case idUpstream502:
		w.Header().Set("Content-Type", "text/html")
		w.WriteHeader(http.StatusBadGateway)
		_, _ = io.WriteString(w, "<html><body>502 Bad Gateway<pre>Authorization: "+auth+"</pre></body></html>")
	case idUpstreamDrop:
		if hj, ok := w.(http.Hijacker); ok {
			if c, _, err := hj.Hijack(); err == nil {
				_ = c.Close()
				return
			}
		}
		w.WriteHeader(http.StatusBadGateway)
	default:
		w.Header().Set("Content-Type", "application/json")
		_, _ = fmt.Fprintf(w, `{"id":%q,"companyName":"Contoso","country":"PT"}`, id)
	}
}

// restResult is an HTTP answer of the REST mirror.
type restResult struct {
	status int
	header http.Header
	body   []byte
}

// noRedirects hands 3xx answers back instead of following them.
var noRedirects = &http.Client{CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}

// get calls the REST mirror with net/http. rawPath keeps its escaping
// (%2F, %3F, ..), and no header beyond hdr is sent.
func (p *proc) get(t *testing.T, rawPath string, hdr map[string]string) restResult {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	u, err := url.Parse("http://" + p.http + rawPath)
	if err != nil {
		t.Fatalf("parse %q: %v", rawPath, err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.String(), nil)
	if err != nil {
		t.Fatal(err)
	}
	req.URL = u // keep the escaping exactly
	for k, v := range hdr {
		req.Header.Set(k, v)
	}
	resp, err := noRedirects.Do(req)
	if err != nil {
		t.Fatalf("GET %s: %v", rawPath, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return restResult{resp.StatusCode, resp.Header, body}
}

// raw writes a request to the HTTP listener byte for byte (for what Go's
// HTTP client refuses to send: CR, LF and control characters in headers)
// and reads the answer.
func (p *proc) raw(t *testing.T, request string) restResult {
	t.Helper()
	c, err := net.DialTimeout("tcp", p.http, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.WriteString(c, request); err != nil {
		t.Fatal(err)
	}
	resp, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		t.Fatalf("read the answer to %q: %v", request, err)
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	return restResult{resp.StatusCode, resp.Header, body}
}

// rawRequest builds a GET for the raw listener: target as it is, the given
// header lines (each without its CRLF, which is added), Connection: close.
func rawRequest(target string, lines ...string) string {
	var b strings.Builder
	b.WriteString("GET " + target + " HTTP/1.1\r\nHost: facade\r\n")
	for _, l := range lines {
		b.WriteString(l + "\r\n")
	}
	b.WriteString("Connection: close\r\n\r\n")
	return b.String()
}

// statusOf decodes a JSON error body of the REST mirror: the gRPC code and
// the ErrorInfo reason.
func statusOf(t *testing.T, body []byte) (code float64, reason string) {
	t.Helper()
	var st struct {
		Code    float64          `json:"code"`
		Details []map[string]any `json:"details"`
	}
	if err := json.Unmarshal(body, &st); err != nil {
		t.Fatalf("error body is not JSON: %v\n%s", err, body)
	}
	infos := 0
	for _, d := range st.Details {
		if d["@type"] == "type.googleapis.com/google.rpc.ErrorInfo" {
			infos++
			reason, _ = d["reason"].(string)
		}
	}
	if infos != 1 {
		t.Errorf("error body has %d ErrorInfo details, want exactly one:\n%s", infos, body)
	}
	return st.Code, reason
}

// noUpstream fails when the upstream got a request since before.
func noUpstream(t *testing.T, up *upstream, before int64) {
	t.Helper()
	if n := up.count() - before; n != 0 {
		t.Errorf("the upstream got %d request(s), want none; last headers %v", n, up.lastHeaders())
	}
}

const (
	getReseller       = "cloudcockpit.v1.ResellerService/GetReseller"
	getAcceptanceLink = "cloudcockpit.v1.CustomerService/GetAcceptanceLink"
	resellersPath     = "/v1/Resellers/"
	linkPath          = "/v1/Customers/relationship-acceptance"
)

func TestHostileInputGRPC(t *testing.T) {
	up := newUpstream(t)
	p := start(t, "-upstream-url", up.URL)

	longTenant := strings.Repeat("a", 296) + ".com" // 300 characters
	longToken := "Bearer " + strings.Repeat("x", 20<<10)
	withID := func(id string) string { b, _ := json.Marshal(map[string]string{"reseller_id": id}); return string(b) }
	h := func(kv ...string) []string {
		var out []string
		for _, s := range kv {
			out = append(out, "-H", s)
		}
		return out
	}
	const (
		invalid = 3
		unauth  = 16
	)
	tests := []struct {
		name       string
		hdr        []string // metadata; nil means a good token and tenant
		method     string   // default GetReseller
		body       string
		wantCode   float64
		wantReason string
		wantField  string // a BadRequest field, if any
	}{
		{"id not a UUID", nil, "", withID("nope"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id empty", nil, "", withID(""), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id too short", nil, "", withID("11111111-1111-4111-8111-11111111111"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id in braces", nil, "", withID("{11111111-1111-4111-8111-111111111111}"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id as URN", nil, "", withID("urn:uuid:11111111-1111-4111-8111-111111111111"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id without dashes", nil, "", withID("11111111111141118111111111111111"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id with spaces", nil, "", withID(" 11111111-1111-4111-8111-11111111111"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id ../", nil, "", withID("../Customers/relationship-acceptance"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id ..", nil, "", withID(".."), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id .", nil, "", withID("."), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id %2F", nil, "", withID("%2F"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id ..%2F", nil, "", withID("..%2F..%2FCustomers"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id with ?", nil, "", withID("11111111-1111-4111-8111-111111111111?x=1"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id with #", nil, "", withID("11111111-1111-4111-8111-111111111111#"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id with /..", nil, "", withID("11111111-1111-4111-8111-111111111111/.."), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id with / for -", nil, "", withID("11111111/1111-4111-8111-111111111111"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id with %", nil, "", withID("1111111%-1111-4111-8111-111111111111"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id with CR LF", nil, "", withID("11111111-1111-4111-8111-1111111111\r\n"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id with NUL", nil, "", withID("11111111-1111-4111-8111-11111111111\x00"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"id with non-ASCII", nil, "", withID("11111111-1111-4111-8111-1111111111é"), invalid, "INVALID_REQUEST", "reseller_id"},
		{"provider instance ../", nil, getAcceptanceLink, `{"provider_instance_id":"../x"}`, invalid, "INVALID_REQUEST", "provider_instance_id"},
		{"link reseller %2F", nil, getAcceptanceLink, `{"provider_instance_id":"` + instance + `","reseller_id":"..%2F"}`, invalid, "INVALID_REQUEST", "reseller_id"},
		{"link reseller with &", nil, getAcceptanceLink, `{"provider_instance_id":"` + instance + `&resellerId=x"}`, invalid, "INVALID_REQUEST", "provider_instance_id"},

		{"tenant of 300 characters", h("authorization: "+token, "x-tenant: "+longTenant), "", withID(contoso), invalid, "INVALID_REQUEST", "x-tenant"},
		{"tenant with ../", h("authorization: "+token, "x-tenant: evil.com/../x"), "", withID(contoso), invalid, "INVALID_REQUEST", "x-tenant"},
		{"tenant with ?", h("authorization: "+token, "x-tenant: portal.cloudcockpit.com?x=1"), "", withID(contoso), invalid, "INVALID_REQUEST", "x-tenant"},
		{"tenant with #", h("authorization: "+token, "x-tenant: portal.cloudcockpit.com#x"), "", withID(contoso), invalid, "INVALID_REQUEST", "x-tenant"},
		{"tenant with %2F", h("authorization: "+token, "x-tenant: portal.cloudcockpit.com%2F"), "", withID(contoso), invalid, "INVALID_REQUEST", "x-tenant"},
		{"tenant with spaces", h("authorization: "+token, "x-tenant: portal cloudcockpit com"), "", withID(contoso), invalid, "INVALID_REQUEST", "x-tenant"},
		{"tenant one label", h("authorization: "+token, "x-tenant: localhost"), "", withID(contoso), invalid, "INVALID_REQUEST", "x-tenant"},
		{"tenant twice", h("authorization: "+token, "x-tenant: "+tenant, "x-tenant: evil.example.com"), "", withID(contoso), invalid, "INVALID_REQUEST", "x-tenant"},
		{"correlation id not a UUID", h("authorization: "+token, "x-tenant: "+tenant, "x-correlation-id: ../x"), "", withID(contoso), invalid, "INVALID_REQUEST", "x-correlation-id"},

		{"no authorization", h("x-tenant: " + tenant), "", withID(contoso), unauth, "MISSING_CREDENTIALS", ""},
		{"basic authorization", h("authorization: Basic dXNlcjpwYXNz", "x-tenant: "+tenant), "", withID(contoso), unauth, "MALFORMED_CREDENTIALS", ""},
		{"bearer without token", h("authorization: Bearer", "x-tenant: "+tenant), "", withID(contoso), unauth, "MALFORMED_CREDENTIALS", ""},
		{"token scheme", h("authorization: Token abc", "x-tenant: "+tenant), "", withID(contoso), unauth, "MALFORMED_CREDENTIALS", ""},
		{"bearer glued", h("authorization: Bearerabc", "x-tenant: "+tenant), "", withID(contoso), unauth, "MALFORMED_CREDENTIALS", ""},
		{"token with a space", h("authorization: Bearer abc def", "x-tenant: "+tenant), "", withID(contoso), unauth, "MALFORMED_CREDENTIALS", ""},
		{"token over 16 KiB", h("authorization: "+longToken, "x-tenant: "+tenant), "", withID(contoso), unauth, "MALFORMED_CREDENTIALS", ""},
		{"authorization twice", h("authorization: "+token, "authorization: Bearer other", "x-tenant: "+tenant), "", withID(contoso), unauth, "MALFORMED_CREDENTIALS", ""},
		{"bad credentials win over a bad id", h("authorization: Basic x"), "", withID("../x"), unauth, "MALFORMED_CREDENTIALS", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			hdr := tt.hdr
			if hdr == nil {
				hdr = flags(authH, tenantH)
			}
			method := tt.method
			if method == "" {
				method = getReseller
			}
			before := up.count()
			out, err := p.grpcurl(t, flags(hdr, []string{"-format-error", "-d", tt.body}), method)
			if err == nil {
				t.Fatalf("want an error, got success:\n%s", out)
			}
			st := jsonOf(t, out)
			if st["code"] != tt.wantCode {
				t.Errorf("code = %v, want %v\n%s", st["code"], tt.wantCode, out)
			}
			if info := detail(t, st, "google.rpc.ErrorInfo"); info["reason"] != tt.wantReason {
				t.Errorf("reason = %v, want %s", info["reason"], tt.wantReason)
			}
			if n := strings.Count(out, "google.rpc.ErrorInfo"); n != 1 {
				t.Errorf("%d ErrorInfo details, want exactly one", n)
			}
			if tt.wantField != "" && !strings.Contains(fmt.Sprint(detail(t, st, "google.rpc.BadRequest")), "field:"+tt.wantField) {
				t.Errorf("BadRequest lacks field %s:\n%s", tt.wantField, out)
			}
			if len(out) > 8<<10 {
				t.Errorf("the error is %d bytes long: a hostile value is echoed in full", len(out))
			}
			noUpstream(t, up, before)
		})
	}

	// grpcurl (grpc-go) refuses to send metadata over the limit the server
	// advertises (64 KiB), so a raw HTTP/2 client sends it, as a hostile
	// one would.
	// The server's HTTP/2 framer drops a connection whose header block runs
	// far over the limit (the CVE-2023-45288 fix) instead of reading it
	// all; the server itself stays up.
	var many []hpack.HeaderField
	for i := range 100 {
		many = append(many, hpack.HeaderField{Name: fmt.Sprintf("x-pad-%d", i), Value: strings.Repeat("p", 1<<10)})
	}
	for name, extra := range map[string][]hpack.HeaderField{
		"one 100 KiB header":   {{Name: "x-big", Value: strings.Repeat("b", 100<<10)}},
		"100 headers of 1 KiB": many,
	} {
		t.Run(name+" is refused and the server stays up", func(t *testing.T) {
			before := up.count()
			got := h2Calls(t, p.grpc, [][]hpack.HeaderField{callHeaders(extra...)})
			t.Logf("oversized call: %s", got[0])
			if strings.HasPrefix(got[0], "grpc-status: ") && got[0] != "grpc-status: 8" {
				t.Errorf("oversized call: %s, want it refused (stream reset, connection closed or RESOURCE_EXHAUSTED)", got[0])
			}
			noUpstream(t, up, before)
			if got := h2Calls(t, p.grpc, [][]hpack.HeaderField{callHeaders()}); got[0] != "grpc-status: 0" {
				t.Errorf("good call on a new connection after it: %s, want grpc-status: 0", got[0])
			}
			if out, err := p.grpcurl(t, flags(authH, tenantH, []string{"-d", withID(contoso)}), getReseller); err != nil {
				t.Errorf("grpcurl after it: %v\n%s", err, out)
			}
		})
	}

	t.Run("only the documented headers reach the upstream", func(t *testing.T) {
		out, err := p.grpcurl(t, flags(authH, tenantH, h("x-evil: 1", "cookie: a=b", "x-forwarded-for: 10.0.0.1", "x-forwarded-host: evil.example.com", "proxy-authorization: Basic eA=="),
			[]string{"-d", withID(contoso)}), getReseller)
		if err != nil {
			t.Fatalf("GetReseller: %v\n%s", err, out)
		}
		checkForwarded(t, up.lastHeaders())
	})
}

func TestHostileInputREST(t *testing.T) {
	up := newUpstream(t)
	p := start(t, "-upstream-url", up.URL)
	good := map[string]string{"Authorization": token, "X-Tenant": tenant}
	with := func(k, v string) map[string]string {
		m := map[string]string{"Authorization": token, "X-Tenant": tenant}
		if v == "" {
			delete(m, k)
		} else {
			m[k] = v
		}
		return m
	}
	okLink := linkPath + "?providerInstanceId=" + instance

	tests := []struct {
		name       string
		path       string
		hdr        map[string]string
		wantHTTP   int
		wantCode   float64
		wantReason string
	}{
		{"id not a UUID", resellersPath + "nope", good, 400, 3, "INVALID_REQUEST"},
		{"id %2E%2E", resellersPath + "%2E%2E", good, 400, 3, "INVALID_REQUEST"},
		{"id %3F", resellersPath + "abc%3Fx%3D1", good, 400, 3, "INVALID_REQUEST"},
		{"id %23", resellersPath + "abc%23frag", good, 400, 3, "INVALID_REQUEST"},
		{"id %25", resellersPath + "1111111%25-1111-4111-8111-111111111111", good, 400, 3, "INVALID_REQUEST"},
		{"id %252F", resellersPath + "%252F", good, 400, 3, "INVALID_REQUEST"},
		{"id %00", resellersPath + "%00", good, 400, 3, "INVALID_REQUEST"},
		{"id %0D%0A", resellersPath + contoso + "%0D%0AX-Evil:%201", good, 400, 3, "INVALID_REQUEST"},
		{"id ;", resellersPath + contoso + ";x", good, 400, 3, "INVALID_REQUEST"},
		// An encoded or plain slash makes more path segments: no route.
		{"id ..%2F", resellersPath + "..%2FCustomers", good, 404, 5, "UNKNOWN_PATH"},
		{"id %2F", resellersPath + "%2F", good, 404, 5, "UNKNOWN_PATH"},
		{"id %2F..%2F", resellersPath + contoso + "%2F..%2F..", good, 404, 5, "UNKNOWN_PATH"},
		{"id ? query", resellersPath + contoso + "?x=1", good, 400, 3, "INVALID_QUERY_PARAMETER"},

		{"provider instance ..%2F", linkPath + "?providerInstanceId=..%2F", good, 400, 3, "INVALID_REQUEST"},
		{"provider instance %26", linkPath + "?providerInstanceId=" + instance + "%26resellerId%3Dx", good, 400, 3, "INVALID_REQUEST"},
		{"provider instance %23", linkPath + "?providerInstanceId=" + instance + "%23", good, 400, 3, "INVALID_REQUEST"},
		{"provider instance %0D%0A", linkPath + "?providerInstanceId=" + instance + "%0D%0AX-Evil:%201", good, 400, 3, "INVALID_REQUEST"},
		{"link reseller ../", okLink + "&resellerId=../x", good, 400, 3, "INVALID_REQUEST"},
		{"unknown query parameter", okLink + "&resellerID=" + contoso, good, 400, 3, "INVALID_QUERY_PARAMETER"},
		{"repeated query parameter", okLink + "&providerInstanceId=" + instance, good, 400, 3, "INVALID_QUERY_PARAMETER"},
		{"two spellings of one field", okLink + "&provider_instance_id=" + instance, good, 400, 3, "INVALID_QUERY_PARAMETER"},

		{"tenant of 300 characters", resellersPath + contoso, with("X-Tenant", strings.Repeat("a", 296)+".com"), 400, 3, "INVALID_REQUEST"},
		{"tenant with ../", resellersPath + contoso, with("X-Tenant", "evil.com/../x"), 400, 3, "INVALID_REQUEST"},
		{"tenant with %2F", resellersPath + contoso, with("X-Tenant", "portal.cloudcockpit.com%2F"), 400, 3, "INVALID_REQUEST"},
		{"correlation id not a UUID", resellersPath + contoso, with("X-Correlation-Id", "../x"), 400, 3, "INVALID_REQUEST"},
		{"no authorization", resellersPath + contoso, with("Authorization", ""), 401, 16, "MISSING_CREDENTIALS"},
		{"basic authorization", resellersPath + contoso, with("Authorization", "Basic dXNlcjpwYXNz"), 401, 16, "MALFORMED_CREDENTIALS"},
		{"bearer without token", resellersPath + contoso, with("Authorization", "Bearer"), 401, 16, "MALFORMED_CREDENTIALS"},
		{"token with a space", resellersPath + contoso, with("Authorization", "Bearer abc def"), 401, 16, "MALFORMED_CREDENTIALS"},
		{"token over 16 KiB", resellersPath + contoso, with("Authorization", "Bearer "+strings.Repeat("x", 20<<10)), 401, 16, "MALFORMED_CREDENTIALS"},
		{"bad credentials win over a bad id", resellersPath + "nope", with("Authorization", "Basic x"), 401, 16, "MALFORMED_CREDENTIALS"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			r := p.get(t, tt.path, tt.hdr)
			if r.status != tt.wantHTTP {
				t.Errorf("HTTP status = %d, want %d\n%s", r.status, tt.wantHTTP, r.body)
			}
			code, reason := statusOf(t, r.body)
			if code != tt.wantCode || reason != tt.wantReason {
				t.Errorf("code, reason = %v, %s; want %v, %s\n%s", code, reason, tt.wantCode, tt.wantReason, r.body)
			}
			if len(r.body) > 8<<10 {
				t.Errorf("the error is %d bytes long: a hostile value is echoed in full", len(r.body))
			}
			noUpstream(t, up, before)
		})
	}

	// Go's HTTP client refuses to send these; they are written byte for
	// byte. The HTTP server itself refuses control characters in a header
	// value (400, plain text); the rest reach the mirror.
	rawTests := []struct {
		name       string
		request    string
		wantHTTP   int
		wantReason string // "" when Go's HTTP server answers before the mirror
	}{
		{"CR in the tenant", rawRequest(resellersPath+contoso, "Authorization: "+token, "X-Tenant: "+tenant+"\rX-Evil: 1"), 400, ""},
		{"control character in the tenant", rawRequest(resellersPath+contoso, "Authorization: "+token, "X-Tenant: portal\x01.cloudcockpit.com"), 400, ""},
		{"NUL in the correlation id", rawRequest(resellersPath+contoso, "Authorization: "+token, "X-Tenant: "+tenant, "X-Correlation-Id: "+cid+"\x00"), 400, ""},
		{"DEL in the token", rawRequest(resellersPath+contoso, "Authorization: Bearer abc\x7fdef", "X-Tenant: "+tenant), 400, ""},
		{"CR in the token", rawRequest(resellersPath+contoso, "Authorization: Bearer abc\rX-Evil: 1", "X-Tenant: "+tenant), 400, ""},
		{"obs-fold continuation of the tenant", rawRequest(resellersPath+contoso, "Authorization: "+token, "X-Tenant: "+tenant, " evil.example.com"), 400, "INVALID_REQUEST"},
		{"tab in the tenant", rawRequest(resellersPath+contoso, "Authorization: "+token, "X-Tenant: portal\t.cloudcockpit.com"), 400, "INVALID_REQUEST"},
		{"non-ASCII tenant", rawRequest(resellersPath+contoso, "Authorization: "+token, "X-Tenant: portál.cloudcockpit.com"), 400, "INVALID_REQUEST"},
		{"non-ASCII token", rawRequest(resellersPath+contoso, "Authorization: Bearer abcé", "X-Tenant: "+tenant), 401, "MALFORMED_CREDENTIALS"},
		{"non-ASCII correlation id", rawRequest(resellersPath+contoso, "Authorization: "+token, "X-Tenant: "+tenant, "X-Correlation-Id: 0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8é"), 400, "INVALID_REQUEST"},
		{"# in the request target", rawRequest(resellersPath+contoso+"#x", "Authorization: "+token, "X-Tenant: "+tenant), 400, "INVALID_REQUEST"},
		{"raw space in the request target", rawRequest(resellersPath+contoso+" x", "Authorization: "+token, "X-Tenant: "+tenant), 400, ""},
	}
	for _, tt := range rawTests {
		t.Run("raw "+tt.name, func(t *testing.T) {
			before := up.count()
			r := p.raw(t, tt.request)
			if r.status != tt.wantHTTP {
				t.Errorf("HTTP status = %d, want %d\n%s", r.status, tt.wantHTTP, r.body)
			}
			if tt.wantReason != "" {
				if _, reason := statusOf(t, r.body); reason != tt.wantReason {
					t.Errorf("reason = %s, want %s\n%s", reason, tt.wantReason, r.body)
				}
			}
			noUpstream(t, up, before)
		})
	}

	// Dot segments: a literal "." or ".." segment either becomes the id
	// (400) or makes a path no route takes (404). Never a redirect to the
	// cleaned path, which a client following redirects would then call
	// with its credentials; and no upstream request.
	for _, target := range []string{
		resellersPath + "..",
		resellersPath + ".",
		resellersPath + "../Customers/relationship-acceptance",
		resellersPath + "../../v1/Customers/relationship-acceptance?providerInstanceId=" + instance,
		resellersPath + contoso + "/..",
		resellersPath + "%2E%2E/%2E%2E/v1/Customers/relationship-acceptance",
		"/v1//Resellers/" + contoso,
	} {
		t.Run("raw dot segments "+target, func(t *testing.T) {
			before := up.count()
			r := p.raw(t, rawRequest(target, "Authorization: "+token, "X-Tenant: "+tenant))
			if r.status != http.StatusBadRequest && r.status != http.StatusNotFound {
				t.Fatalf("HTTP status = %d (Location %q), want 400 or 404\n%s", r.status, r.header.Get("Location"), r.body)
			}
			if code, reason := statusOf(t, r.body); !(code == 3 && reason == "INVALID_REQUEST") && !(code == 5 && reason == "UNKNOWN_PATH") {
				t.Errorf("code, reason = %v, %s; want INVALID_ARGUMENT INVALID_REQUEST or NOT_FOUND UNKNOWN_PATH\n%s", code, reason, r.body)
			}
			noUpstream(t, up, before)
		})
	}

	// HTTP/1.1 lets a server take a bare LF as the end of a line (RFC 9112
	// section 2.2), and Go's does; CR LF is the end of a line anyway. Either
	// way an "injected" X-Evil is just another header, which is not
	// forwarded.
	for name, sep := range map[string]string{"LF": "\n", "CR LF": "\r\n"} {
		t.Run("raw "+name+" ends a header line", func(t *testing.T) {
			before := up.count()
			r := p.raw(t, rawRequest(resellersPath+contoso, "Authorization: "+token, "X-Tenant: "+tenant+sep+"X-Evil: 1"+sep+"X-Forwarded-Host: evil.example.com"))
			if r.status != http.StatusOK {
				t.Fatalf("HTTP status = %d, want 200\n%s", r.status, r.body)
			}
			if n := up.count() - before; n != 1 {
				t.Fatalf("the upstream got %d requests, want 1", n)
			}
			checkForwarded(t, up.lastHeaders())
		})
	}

	t.Run("a header over 64 KiB is refused and the server stays up", func(t *testing.T) {
		before := up.count()
		r := p.get(t, resellersPath+contoso, with("X-Big", strings.Repeat("b", 100<<10)))
		if r.status != http.StatusRequestHeaderFieldsTooLarge {
			t.Errorf("HTTP status = %d, want 431\n%.200s", r.status, r.body)
		}
		noUpstream(t, up, before)
		if r := p.get(t, resellersPath+contoso, good); r.status != http.StatusOK {
			t.Errorf("good call after it: HTTP %d\n%s", r.status, r.body)
		}
	})

	t.Run("only the documented headers reach the upstream", func(t *testing.T) {
		hdr := with("Cookie", "a=b")
		for k, v := range map[string]string{"X-Evil": "1", "X-Forwarded-Host": "evil.example.com", "Grpc-Metadata-X-Tenant": "evil.example.com",
			"Grpc-Metadata-Authorization": "Bearer other", "Proxy-Authorization": "Basic eA==", "X-HTTP-Method-Override": "DELETE"} {
			hdr[k] = v
		}
		if r := p.get(t, resellersPath+contoso, hdr); r.status != http.StatusOK {
			t.Fatalf("HTTP %d\n%s", r.status, r.body)
		}
		checkForwarded(t, up.lastHeaders())
		if got := up.lastHeaders().Values("Authorization"); len(got) != 1 || got[0] != token {
			t.Errorf("upstream Authorization = %q, want the caller's only", got)
		}
	})
}

// checkForwarded fails unless h holds only the headers the facade may send
// upstream, each once and without CR or LF.
func checkForwarded(t *testing.T, h http.Header) {
	t.Helper()
	allowed := map[string]bool{
		"Authorization": true, "X-Tenant": true, "X-Correlation-Id": true,
		"User-Agent": true, "Accept": true, "Accept-Encoding": true,
		"Traceparent": true, "Tracestate": true,
	}
	for k, vs := range h {
		if !allowed[k] {
			t.Errorf("header %s = %q reached the upstream", k, vs)
		}
		if len(vs) != 1 {
			t.Errorf("header %s sent %d times upstream", k, len(vs))
		}
		for _, v := range vs {
			if strings.ContainsAny(v, "\r\n") {
				t.Errorf("header %s = %q holds CR or LF", k, v)
			}
		}
	}
	if h.Get("X-Tenant") != tenant {
		t.Errorf("upstream X-Tenant = %q, want %q", h.Get("X-Tenant"), tenant)
	}
}

// callHeaders is the header block of a GetReseller call with good
// credentials, plus extra fields.
func callHeaders(extra ...hpack.HeaderField) []hpack.HeaderField {
	return append([]hpack.HeaderField{
		{Name: ":method", Value: "POST"},
		{Name: ":scheme", Value: "http"},
		{Name: ":path", Value: "/" + getReseller},
		{Name: ":authority", Value: "facade"},
		{Name: "content-type", Value: "application/grpc"},
		{Name: "te", Value: "trailers"},
		{Name: "authorization", Value: token},
		{Name: "x-tenant", Value: tenant},
	}, extra...)
}

// h2Calls makes one GetReseller call per header block over a single raw
// HTTP/2 connection, one after another, ignoring the limits the server
// advertises as a hostile client would. It returns, per call, how it ended:
// "RST_STREAM <code>", "GOAWAY <code>" or "grpc-status: <n>".
func h2Calls(t *testing.T, addr string, blocks [][]hpack.HeaderField) []string {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(15 * time.Second))
	if _, err := io.WriteString(c, http2.ClientPreface); err != nil {
		t.Fatal(err)
	}
	fr := http2.NewFramer(c, c)
	fr.ReadMetaHeaders = hpack.NewDecoder(4096, nil)
	fr.MaxHeaderListSize = 1 << 20
	if err := fr.WriteSettings(); err != nil {
		t.Fatal(err)
	}
	// The request message: a gRPC frame around GetResellerRequest{reseller_id: contoso}.
	msg := append([]byte{0x0a, byte(len(contoso))}, contoso...)
	frame := binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg)))
	frame = append(frame, msg...)

	var results []string
	for i, fields := range blocks {
		stream := uint32(2*i + 1)
		var buf bytes.Buffer
		enc := hpack.NewEncoder(&buf)
		for _, f := range fields {
			if err := enc.WriteField(f); err != nil {
				t.Fatal(err)
			}
		}
		block := buf.Bytes()
		const chunk = 16 << 10 // the default SETTINGS_MAX_FRAME_SIZE
		first := block[:min(chunk, len(block))]
		err := fr.WriteHeaders(http2.HeadersFrameParam{StreamID: stream, BlockFragment: first, EndHeaders: len(block) <= chunk})
		for off := chunk; err == nil && off < len(block); off += chunk {
			end := min(off+chunk, len(block))
			err = fr.WriteContinuation(stream, end == len(block), block[off:end])
		}
		if err == nil {
			err = fr.WriteData(stream, true, frame)
		}
		if err != nil {
			// The server closed the connection while we wrote: what it
			// said before, if it reached us, tells why.
			results = append(results, "connection closed ("+readStreamEnd(t, fr, stream)+")")
			return results
		}
		results = append(results, readStreamEnd(t, fr, stream))
	}
	return results
}

// readStreamEnd reads frames until stream ends and says how.
func readStreamEnd(t *testing.T, fr *http2.Framer, stream uint32) string {
	t.Helper()
	for {
		f, err := fr.ReadFrame()
		if err != nil {
			return "read: " + err.Error()
		}
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				_ = fr.WritePing(true, f.Data)
			}
		case *http2.GoAwayFrame:
			return "GOAWAY " + f.ErrCode.String()
		case *http2.RSTStreamFrame:
			if f.StreamID == stream {
				return "RST_STREAM " + f.ErrCode.String()
			}
		case *http2.MetaHeadersFrame:
			if f.StreamID == stream && f.StreamEnded() {
				return "grpc-status: " + headerValue(f, "grpc-status")
			}
		}
	}
}

func headerValue(f *http2.MetaHeadersFrame, name string) string {
	for _, hf := range f.RegularFields() {
		if hf.Name == name {
			return hf.Value
		}
	}
	return ""
}

// secret returns a token value unique to one call of the secrecy test.
func secret(t *testing.T, name string) string {
	t.Helper()
	b := make([]byte, 12)
	_, _ = rand.Read(b)
	return "tok-" + name + "-" + hex.EncodeToString(b)
}

// TestTokensNeverLeak runs succeeding and failing calls, each with its own
// token, over gRPC and REST, with tracing exported to a collector in the
// test, then looks for every token in every error the callers saw, the whole
// server log, /metrics, and the exported spans.
func TestTokensNeverLeak(t *testing.T) {
	up := newUpstream(t)
	spans := newCollector(t)
	t.Setenv("OTEL_EXPORTER_OTLP_ENDPOINT", spans.URL) // inherited by the server process
	t.Setenv("OTEL_EXPORTER_OTLP_PROTOCOL", "http/protobuf")
	t.Setenv("OTEL_BSP_SCHEDULE_DELAY", "100")
	p := start(t, "-upstream-url", up.URL, "-log-level", "debug")

	var tokens []string
	var seen bytes.Buffer // every answer the callers got
	grpcCall := func(name, method, body string, wantOK bool, extra ...string) {
		t.Helper()
		tok := secret(t, name)
		tokens = append(tokens, tok)
		hdr := []string{"-H", "x-tenant: " + tenant, "-format-error", "-d", body}
		auth := "Bearer " + tok
		switch name {
		case "basic":
			auth = "Basic " + tok
		case "spaced":
			auth = "Bearer " + tok + " " + tok
		case "long":
			auth = "Bearer " + strings.Repeat(tok, (17<<10)/len(tok)+1)
		}
		hdr = append(hdr, "-H", "authorization: "+auth)
		hdr = append(hdr, extra...)
		out, err := p.grpcurl(t, hdr, method)
		seen.WriteString(out)
		if (err == nil) != wantOK {
			t.Errorf("%s: error %v, want success %v\n%s", name, err, wantOK, out)
		}
	}
	restCall := func(name, path string, wantStatus int, auth func(string) string) {
		t.Helper()
		tok := secret(t, name)
		tokens = append(tokens, tok)
		r := p.get(t, path, map[string]string{"Authorization": auth(tok), "X-Tenant": tenant})
		fmt.Fprintf(&seen, "%d %v %s\n", r.status, r.header, r.body)
		if r.status != wantStatus {
			t.Errorf("%s: HTTP %d, want %d\n%s", name, r.status, wantStatus, r.body)
		}
	}
	bearer := func(tok string) string { return "Bearer " + tok }
	body := func(id string) string { return `{"reseller_id":"` + id + `"}` }

	// Successes between failures keep the circuit breaker closed.
	grpcCall("ok", getReseller, body(contoso), true)
	grpcCall("link", getAcceptanceLink, `{"provider_instance_id":"`+instance+`"}`, true)
	restCall("rest-ok", resellersPath+contoso, 200, bearer)
	grpcCall("up404", getReseller, body(idUpstream404), false)
	restCall("rest-up404", resellersPath+idUpstream404, 404, bearer)
	grpcCall("up401", getReseller, body(idUpstream401), false)
	restCall("rest-up401", resellersPath+idUpstream401, 401, bearer)
	grpcCall("ok2", getReseller, body(contoso), true)
	grpcCall("up502-html", getReseller, body(idUpstream502), false)
	grpcCall("ok4", getReseller, body(contoso), true)
	grpcCall("up-drop", getReseller, body(idUpstreamDrop), false)
	grpcCall("ok5", getReseller, body(contoso), true)
	grpcCall("local-invalid", getReseller, body("../x"), false)
	restCall("rest-local-invalid", resellersPath+"nope", 400, bearer)
	grpcCall("bad-cid", getReseller, body(contoso), false, "-H", "x-correlation-id: not-a-uuid")
	grpcCall("basic", getReseller, body(contoso), false)
	restCall("rest-basic", resellersPath+contoso, 401, func(tok string) string { return "Basic " + tok })
	grpcCall("spaced", getReseller, body(contoso), false)
	grpcCall("long", getReseller, body(contoso), false)
	restCall("rest-query", linkPath+"?providerInstanceId="+instance+"&token=x", 400, bearer)
	second := secret(t, "twice-second")
	tokens = append(tokens, second)
	grpcCall("twice", getReseller, body(contoso), false, "-H", "authorization: Bearer "+second)

	metrics := ""
	if r := p.get(t, "/metrics", nil); r.status == http.StatusNotFound {
		t.Log("GET /metrics answers 404: no metrics endpoint yet, the metrics check is skipped")
	} else {
		metrics = string(r.body)
		if !strings.Contains(metrics, "# TYPE ") {
			t.Errorf("GET /metrics = %d, not Prometheus text:\n%.500s", r.status, metrics)
		}
	}

	// Stop the server so that its log is complete (and no longer written).
	p.stop(t)
	logs := p.log.String()
	exported := spans.received()
	if !strings.Contains(exported, "cloudcockpit.v1.ResellerService") {
		t.Errorf("no call spans were exported (%d bytes): the traces check saw nothing", len(exported))
	}
	if !strings.Contains(logs, "upstream") || strings.Count(logs, "\n") < len(tokens) {
		t.Fatalf("the server log looks incomplete (%d lines):\n%s", strings.Count(logs, "\n"), logs)
	}
	for _, tok := range tokens {
		for where, text := range map[string]string{"server log": logs, "answers to callers": seen.String(), "/metrics": metrics, "exported spans": exported} {
			if i := strings.Index(text, tok); i >= 0 {
				t.Errorf("token %s appears in the %s: …%s…", tok, where, text[max(0, i-200):min(len(text), i+len(tok)+50)])
			}
		}
	}
}

// TestTokensNeverLeakFromAnEchoingUpstream: an upstream (or a proxy in front
// of it) that quotes the caller's Authorization header in its error envelope,
// as Microsoft.IdentityModel's IDX messages do with PII logging on, must not
// make the facade copy the token into the status message, the details or the
// access log.
func TestTokensNeverLeakFromAnEchoingUpstream(t *testing.T) {
	up := newUpstream(t)
	p := start(t, "-upstream-url", up.URL)
	var seen bytes.Buffer
	tokGRPC, tokREST := secret(t, "echo-grpc"), secret(t, "echo-rest")
	out, _ := p.grpcurl(t, []string{"-H", "x-tenant: " + tenant, "-H", "authorization: Bearer " + tokGRPC, "-format-error",
		"-d", `{"reseller_id":"` + idUpstreamEcho + `"}`}, getReseller)
	seen.WriteString(out)
	r := p.get(t, resellersPath+idUpstreamEcho, map[string]string{"Authorization": "Bearer " + tokREST, "X-Tenant": tenant})
	if r.status != http.StatusBadRequest {
		t.Errorf("REST: HTTP %d, want 400\n%s", r.status, r.body)
	}
	seen.Write(r.body)
	p.stop(t)
	for _, tok := range []string{tokGRPC, tokREST} {
		if strings.Contains(p.log.String(), tok) {
			t.Errorf("token %s appears in the server log", tok)
		}
		if strings.Contains(seen.String(), tok) {
			t.Errorf("token %s appears in the error returned to the caller", tok)
		}
	}
}

// collector is an OTLP/HTTP trace receiver that keeps the raw export
// requests: OTLP protobuf holds strings as they are, so a token in any span
// attribute or event shows up in them.
type collector struct {
	*httptest.Server
	mu   sync.Mutex
	body bytes.Buffer
}

func newCollector(t *testing.T) *collector {
	t.Helper()
	c := &collector{}
	c.Server = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var body io.Reader = r.Body
		if r.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(r.Body)
			if err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return
			}
			body = zr
		}
		b, _ := io.ReadAll(body)
		c.mu.Lock()
		c.body.Write(b)
		c.mu.Unlock()
		w.Header().Set("Content-Type", "application/x-protobuf")
		w.WriteHeader(http.StatusOK)
	}))
	t.Cleanup(c.Close)
	return c
}

func (c *collector) received() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.body.String()
}
