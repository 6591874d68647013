package rest

import (
	"bytes"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"net/http/httptrace"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

const (
	testToken  = "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.secret-payload.sig" //nolint:gosec // G101: a fake token that tests look for in errors
	testTenant = "portal.cloudcockpit.com"
	testCorrID = "8f14e45f-ceea-467f-a0e6-6a7b2c3d4e5f"
	testLink   = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=0b3e5a1c-5f41-4f1e-8f0a-2b7d9c6e4a11&msppId=0&DAP=true#/BillingAccounts/partner-invitation"
)

var testCallInfo = CallInfo{Tenant: testTenant, Authorization: testToken, CorrelationID: testCorrID}

// testContext returns a context that ends with the test or after 10s.
func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

// newUpstream starts an httptest server with h as its only handler (no
// ServeMux, so nothing cleans or redirects paths).
func newUpstream(t *testing.T, h http.HandlerFunc) *httptest.Server {
	t.Helper()
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	return srv
}

// memBaseURL is the base URL of upstreams that answer in memory (inMemory).
const memBaseURL = "http://upstream.test"

// inMemory is an http.RoundTripper that answers with a handler on the
// caller's goroutine, without a socket, for tests in a synctest bubble (a
// socket does not block durably in one). A request whose context ends
// before the handler returns fails with the context's error, as on a
// socket.
type inMemory http.HandlerFunc

func (h inMemory) RoundTrip(req *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	h(rec, req)
	if err := req.Context().Err(); err != nil {
		return nil, err
	}
	return rec.Result(), nil
}

// closingTransport is a transport with a pool to close.
type closingTransport interface {
	http.RoundTripper
	CloseIdleConnections()
}

// newTestTransport returns the transport the tests run on: the service's
// (NewPools of a NewTransport).
func newTestTransport() closingTransport {
	return NewPools(NewTransport(TransportConfig{}), 0)
}

// newTestClient builds a Client on its own transport, closed with the test.
func newTestClient(t *testing.T, cfg Config) *Client {
	t.Helper()
	if cfg.Transport == nil {
		tr := newTestTransport()
		t.Cleanup(tr.CloseIdleConnections)
		cfg.Transport = tr
	}
	c, err := New(cfg)
	if err != nil {
		t.Fatalf("New() error = %v", err)
	}
	return c
}

// recorded is what the upstream saw of one request.
type recorded struct {
	method     string
	requestURI string
	path       string
	rawQuery   string
	header     http.Header
}

// recorder answers every request with status, header and body, recording it.
type recorder struct {
	mu       sync.Mutex
	requests []recorded
}

func (rec *recorder) handler(status int, contentType, body string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		rec.mu.Lock()
		rec.requests = append(rec.requests, recorded{
			method: r.Method, requestURI: r.RequestURI, path: r.URL.Path, rawQuery: r.URL.RawQuery, header: r.Header.Clone(),
		})
		rec.mu.Unlock()
		if contentType != "" {
			w.Header().Set("Content-Type", contentType)
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

func (rec *recorder) only(t *testing.T) recorded {
	t.Helper()
	rec.mu.Lock()
	defer rec.mu.Unlock()
	if len(rec.requests) != 1 {
		t.Fatalf("upstream saw %d requests, want 1", len(rec.requests))
	}
	return rec.requests[0]
}

func TestNew(t *testing.T) {
	tests := []struct {
		name      string
		give      Config
		wantErr   string // substring; "" means success
		wantNotIn string // must not appear in the error
	}{
		{name: "https", give: Config{BaseURL: "https://app-cloudcockpitapi-prod-01.azurewebsites.net"}},
		{name: "trailing slash", give: Config{BaseURL: "https://api.cloudcockpit.com/"}},
		{name: "path prefix and port", give: Config{BaseURL: "HTTP://127.0.0.1:8080/api/"}},
		{name: "ipv6", give: Config{BaseURL: "http://[::1]:8080"}},
		{name: "missing", give: Config{}, wantErr: "base URL is required"},
		{name: "blank", give: Config{BaseURL: "  "}, wantErr: "base URL is required"},
		{name: "unparsable", give: Config{BaseURL: "http://a b.example"}, wantErr: "not a valid URL"},
		{name: "no scheme", give: Config{BaseURL: "api.cloudcockpit.com"}, wantErr: "must be an absolute http or https URL"},
		{name: "scheme-relative", give: Config{BaseURL: "//api.cloudcockpit.com"}, wantErr: "must be an absolute http or https URL"},
		{name: "ftp", give: Config{BaseURL: "ftp://api.cloudcockpit.com"}, wantErr: "must be an absolute http or https URL"},
		{name: "no host", give: Config{BaseURL: "https:///v1"}, wantErr: "has no host"},
		{name: "opaque", give: Config{BaseURL: "https:api.cloudcockpit.com"}, wantErr: "has no host"},
		{name: "port and no host", give: Config{BaseURL: "https://:8443"}, wantErr: "has no host"},
		{name: "highest port", give: Config{BaseURL: "https://api.cloudcockpit.com:65535"}},
		{name: "port past 65535", give: Config{BaseURL: "https://api.cloudcockpit.com:65536"}, wantErr: "rest: base URL \"https://api.cloudcockpit.com:65536\" has a port outside 1-65535"},
		{name: "port 0", give: Config{BaseURL: "http://127.0.0.1:0/api"}, wantErr: "has a port outside 1-65535"},
		{name: "query", give: Config{BaseURL: "https://api.cloudcockpit.com/?x=1"}, wantErr: "must not have a query"},
		{name: "empty query", give: Config{BaseURL: "https://api.cloudcockpit.com/?"}, wantErr: "must not have a query"},
		{name: "fragment", give: Config{BaseURL: "https://api.cloudcockpit.com/#x"}, wantErr: "must not have a fragment"},
		{name: "empty fragment", give: Config{BaseURL: "https://api.cloudcockpit.com/#"}, wantErr: "must not have a fragment"},
		{
			name:      "credentials are refused and not echoed",
			give:      Config{BaseURL: "https://user:hunter2@api.cloudcockpit.com"}, //nolint:gosec // G101: fake credentials that must be refused
			wantErr:   "must not contain credentials",
			wantNotIn: "hunter2",
		},
		{
			name:      "credentials in an unparsable URL are not echoed",
			give:      Config{BaseURL: "https://user:hunter2@api.cloudcockpit.com/%zz"}, //nolint:gosec // G101: fake credentials that must not be echoed
			wantErr:   "not a valid URL",
			wantNotIn: "hunter2",
		},
		{name: "negative body limit", give: Config{BaseURL: "https://x.example", MaxBodyBytes: -1}, wantErr: "must not be negative"},
		{name: "bad user agent", give: Config{BaseURL: "https://x.example", UserAgent: "a\r\nX-Evil: 1"}, wantErr: "user agent"},
		{name: "negative timeout", give: Config{BaseURL: "https://x.example", Timeout: -time.Second}, wantErr: "timeout must not be negative"},
		{name: "negative max attempts", give: Config{BaseURL: "https://x.example", MaxAttempts: -1}, wantErr: "max attempts must not be negative"},
		{name: "negative back-off", give: Config{BaseURL: "https://x.example", RetryBackoff: -1}, wantErr: "retry backoff must not be negative"},
		{name: "negative tenant idle time", give: Config{BaseURL: "https://x.example", TenantIdle: -1}, wantErr: "tenant idle time must not be negative"},
		{name: "disabled protections", give: Config{BaseURL: "https://x.example", AttemptTimeout: -1, MaxConcurrent: -1, TenantMaxConcurrent: -1, QueueTimeout: -1, Breaker: resilience.BreakerSettings{FailureRatio: -1}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c, err := New(tt.give)
			if tt.wantErr == "" {
				if err != nil || c == nil {
					t.Fatalf("New() = %v, %v; want a client", c, err)
				}
				return
			}
			if err == nil {
				t.Fatalf("New() error = nil, want %q", tt.wantErr)
			}
			if !strings.Contains(err.Error(), tt.wantErr) {
				t.Errorf("New() error = %q, want it to contain %q", err, tt.wantErr)
			}
			if tt.wantNotIn != "" && strings.Contains(err.Error(), tt.wantNotIn) {
				t.Errorf("New() error = %q leaks %q", err, tt.wantNotIn)
			}
		})
	}
}

func TestGetResellerPath(t *testing.T) {
	tests := []struct {
		name       string
		base       string // path appended to the server URL
		give       string
		wantURI    string
		wantDecode string // r.URL.Path on the server
	}{
		{name: "uuid", give: "3f6c2a8e-9b1d-4c7e-a5f2-0d8e4b6a1c93", wantURI: "/v1/Resellers/3f6c2a8e-9b1d-4c7e-a5f2-0d8e4b6a1c93"},
		{name: "slash", give: "a/b", wantURI: "/v1/Resellers/a%2Fb"},
		{name: "parent traversal", give: "../x", wantURI: "/v1/Resellers/..%2Fx"},
		{name: "deep traversal", give: "../../admin", wantURI: "/v1/Resellers/..%2F..%2Fadmin"},
		{name: "query", give: "x?y=1", wantURI: "/v1/Resellers/x%3Fy=1"},
		{name: "fragment", give: "x#y", wantURI: "/v1/Resellers/x%23y"},
		{name: "percent", give: "%2F", wantURI: "/v1/Resellers/%252F"},
		{name: "space and unicode", give: "a bü", wantURI: "/v1/Resellers/a%20b%C3%BC"},
		{name: "three dots", give: "...", wantURI: "/v1/Resellers/..."},
		{name: "backslash", give: `..\x`, wantURI: "/v1/Resellers/..%5Cx"},
		{name: "base with prefix and trailing slash", base: "/api/", give: "a/b", wantURI: "/api/v1/Resellers/a%2Fb", wantDecode: "/api/v1/Resellers/a/b"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			srv := newUpstream(t, rec.handler(http.StatusOK, "application/json", `{"id":"r1"}`))
			c := newTestClient(t, Config{BaseURL: srv.URL + tt.base})

			if _, err := c.GetReseller(testContext(t), testCallInfo, tt.give); err != nil {
				t.Fatalf("GetReseller() error = %v", err)
			}
			got := rec.only(t)
			wantPath := tt.wantDecode
			if wantPath == "" {
				wantPath = "/v1/Resellers/" + tt.give
			}
			want := recorded{method: http.MethodGet, requestURI: tt.wantURI, path: wantPath}
			if diff := cmp.Diff(want, got, cmp.AllowUnexported(recorded{}), cmpopts.IgnoreFields(recorded{}, "header")); diff != "" {
				t.Errorf("request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestGetResellerRejectsUnsafeIDs(t *testing.T) {
	tests := []struct {
		name string
		give string
	}{
		{name: "empty", give: ""},
		{name: "dot", give: "."},
		{name: "dot dot", give: ".."},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			srv := newUpstream(t, rec.handler(http.StatusOK, "application/json", `{}`))
			c := newTestClient(t, Config{BaseURL: srv.URL})

			got, err := c.GetReseller(testContext(t), testCallInfo, tt.give)
			if kindOf(err) != KindInvalid || got != nil {
				t.Fatalf("GetReseller() = %v, %v; want KindInvalid", got, err)
			}
			if n := len(rec.requests); n != 0 {
				t.Errorf("upstream saw %d requests, want 0", n)
			}
		})
	}
}

func TestGetAcceptanceLinkQuery(t *testing.T) {
	tests := []struct {
		name         string
		giveProvider string
		giveReseller string
		wantQuery    string
	}{
		{
			name:         "provider only",
			giveProvider: "cb3cd15b-1d6e-45be-b493-c71549cbfd87",
			wantQuery:    "providerInstanceId=cb3cd15b-1d6e-45be-b493-c71549cbfd87",
		},
		{
			name:         "provider and reseller",
			giveProvider: "cb3cd15b-1d6e-45be-b493-c71549cbfd87",
			giveReseller: "3f6c2a8e-9b1d-4c7e-a5f2-0d8e4b6a1c93",
			wantQuery:    "providerInstanceId=cb3cd15b-1d6e-45be-b493-c71549cbfd87&resellerId=3f6c2a8e-9b1d-4c7e-a5f2-0d8e4b6a1c93",
		},
		{
			name:         "injection attempts are encoded",
			giveProvider: "p&resellerId=evil",
			giveReseller: "r/ #?x=1",
			wantQuery:    "providerInstanceId=p%26resellerId%3Devil&resellerId=r%2F+%23%3Fx%3D1",
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			srv := newUpstream(t, rec.handler(http.StatusOK, "application/json", `"`+testLink+`"`))
			c := newTestClient(t, Config{BaseURL: srv.URL + "/"})

			got, err := c.GetAcceptanceLink(testContext(t), testCallInfo, tt.giveProvider, tt.giveReseller)
			if err != nil {
				t.Fatalf("GetAcceptanceLink() error = %v", err)
			}
			if got != testLink {
				t.Errorf("GetAcceptanceLink() = %q, want %q", got, testLink)
			}
			req := rec.only(t)
			want := recorded{
				method:     http.MethodGet,
				requestURI: "/v1/Customers/relationship-acceptance?" + tt.wantQuery,
				path:       "/v1/Customers/relationship-acceptance",
				rawQuery:   tt.wantQuery,
			}
			if diff := cmp.Diff(want, req, cmp.AllowUnexported(recorded{}), cmpopts.IgnoreFields(recorded{}, "header")); diff != "" {
				t.Errorf("request mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

func TestHeaders(t *testing.T) {
	tests := []struct {
		name      string
		giveCI    CallInfo
		giveUA    string
		wantNames []string
		want      map[string]string
	}{
		{
			name:      "all call info",
			giveCI:    testCallInfo,
			wantNames: []string{"Accept", "Accept-Encoding", "Authorization", "User-Agent", "X-Correlation-Id", "X-Tenant"},
			want: map[string]string{
				"Accept": "application/json", "Authorization": testToken, "User-Agent": "cloudcockpit-facade",
				"X-Correlation-Id": testCorrID, "X-Tenant": testTenant,
			},
		},
		{
			name:      "no correlation id",
			giveCI:    CallInfo{Tenant: testTenant, Authorization: testToken},
			giveUA:    "facade-test/1.0",
			wantNames: []string{"Accept", "Accept-Encoding", "Authorization", "User-Agent", "X-Tenant"},
			want: map[string]string{
				"Accept": "application/json", "Authorization": testToken, "User-Agent": "facade-test/1.0", "X-Tenant": testTenant,
			},
		},
		{
			name:      "empty call info",
			giveCI:    CallInfo{},
			wantNames: []string{"Accept", "Accept-Encoding", "User-Agent"},
			want:      map[string]string{"Accept": "application/json", "User-Agent": "cloudcockpit-facade"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			srv := newUpstream(t, rec.handler(http.StatusOK, "application/json", `{}`))
			c := newTestClient(t, Config{BaseURL: srv.URL, UserAgent: tt.giveUA})

			if _, err := c.GetReseller(testContext(t), tt.giveCI, "r1"); err != nil {
				t.Fatalf("GetReseller() error = %v", err)
			}
			h := rec.only(t).header
			names := make([]string, 0, len(h))
			for name, values := range h {
				names = append(names, name)
				if len(values) != 1 {
					t.Errorf("header %s sent %d times, want once", name, len(values))
				}
			}
			slices.Sort(names)
			if diff := cmp.Diff(tt.wantNames, names); diff != "" {
				t.Errorf("header names mismatch (-want +got):\n%s", diff)
			}
			for name, want := range tt.want {
				if got := h.Get(name); got != want {
					t.Errorf("header %s = %q, want %q", name, got, want)
				}
			}
		})
	}
}

func TestInvalidHeaderValues(t *testing.T) {
	tests := []struct {
		name string
		give CallInfo
		want string
	}{
		{name: "tenant", give: CallInfo{Tenant: "a\r\nX-Evil: 1", Authorization: testToken}, want: "X-Tenant"},
		{name: "authorization", give: CallInfo{Tenant: testTenant, Authorization: testToken + "\n"}, want: "Authorization"},
		{name: "correlation id", give: CallInfo{Tenant: testTenant, CorrelationID: "x\x00"}, want: "X-Correlation-Id"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			srv := newUpstream(t, rec.handler(http.StatusOK, "application/json", `{}`))
			c := newTestClient(t, Config{BaseURL: srv.URL})

			_, err := c.GetReseller(testContext(t), tt.give, "r1")
			if kindOf(err) != KindInvalid {
				t.Fatalf("GetReseller() error = %v, want KindInvalid", err)
			}
			if !strings.Contains(err.Error(), tt.want) || strings.Contains(err.Error(), "secret-payload") {
				t.Errorf("error = %q, want it to name %s and not leak the token", err, tt.want)
			}
			if n := len(rec.requests); n != 0 {
				t.Errorf("upstream saw %d requests, want 0", n)
			}
		})
	}
}

func TestContextEndsTheCall(t *testing.T) {
	tests := []struct {
		name string
		// stallBody sends headers and part of the body before stalling.
		stallBody bool
		cancel    bool
		want      error
	}{
		{name: "deadline while waiting for headers", want: context.DeadlineExceeded},
		{name: "deadline while reading the body", stallBody: true, want: context.DeadlineExceeded},
		{name: "cancel while waiting for headers", cancel: true, want: context.Canceled},
		{name: "cancel while reading the body", stallBody: true, cancel: true, want: context.Canceled},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			release := make(chan struct{})
			srv := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				if tt.stallBody {
					w.Header().Set("Content-Type", "application/json")
					w.Header().Set("Content-Length", "1000")
					w.WriteHeader(http.StatusOK)
					_, _ = w.Write([]byte(`{"id":`))
					w.(http.Flusher).Flush()
				}
				select {
				case <-r.Context().Done():
				case <-release:
				}
			})
			t.Cleanup(func() { close(release) }) // runs before srv.Close
			c := newTestClient(t, Config{BaseURL: srv.URL})

			ctx, cancel := context.WithTimeout(testContext(t), 100*time.Millisecond)
			defer cancel()
			if tt.cancel {
				ctx, cancel = context.WithCancel(testContext(t))
				defer cancel()
				time.AfterFunc(50*time.Millisecond, cancel)
			}
			got, err := c.GetReseller(ctx, testCallInfo, "r1")
			if !errors.Is(err, tt.want) || got != nil {
				t.Fatalf("GetReseller() = %v, %v; want errors.Is %v", got, err, tt.want)
			}
			if k := kindOf(err); k == KindAnswered {
				t.Errorf("error %v is %v, want the call's end", err, k)
			}
		})
	}
}

func TestConnectionRefused(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close()
	c := newTestClient(t, Config{BaseURL: base})

	_, err := c.GetReseller(testContext(t), testCallInfo, "r1")
	if err == nil {
		t.Fatal("GetReseller() error = nil, want a transport error")
	}
	if k := kindOf(err); k != KindUnreachable || errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("GetReseller() error = %v (%v), want a plain transport error", err, k)
	}
	if !strings.HasPrefix(err.Error(), `get reseller "r1": `) {
		t.Errorf("error %q lacks the operation", err)
	}
}

func TestUpstreamErrors(t *testing.T) {
	const secret = "SECRET-BODY-TEXT"
	retryDate := time.Now().Add(time.Hour).UTC().Format(http.TimeFormat)
	tests := []struct {
		name        string
		status      int
		header      map[string]string
		body        string
		want        *Error
		wantMessage string
		// wantRetryAtLeast loosens the RetryAfter check for HTTP dates.
		wantRetryAtLeast time.Duration
	}{
		{
			name:   "404 with envelope",
			status: http.StatusNotFound,
			header: map[string]string{"Content-Type": "application/json; charset=utf-8"},
			body:   `{"statusCode":404,"type":"NotFound","description":"Reseller not found.","correlationId":"` + testCorrID + `","errors":[]}`,
			want: &Error{Kind: KindAnswered, StatusCode: 404, Attempts: 1, Envelope: &Envelope{
				StatusCode: 404, Type: "NotFound", Description: "Reseller not found.", CorrelationID: testCorrID, Errors: nil,
			}},
			wantMessage: `get reseller "r1": upstream answered 404 Not Found: Reseller not found.`,
		},
		{
			name:   "400 with property errors",
			status: http.StatusBadRequest,
			header: map[string]string{"Content-Type": "application/json"},
			body:   `{"statusCode":400,"type":"Validation","description":"Invalid request.","errors":[{"propertyName":"X-Tenant","description":["Required."]}]}`,
			want: &Error{Kind: KindAnswered, StatusCode: 400, Attempts: 1, Envelope: &Envelope{
				StatusCode: 400, Type: "Validation", Description: "Invalid request.",
				Errors: []PropertyError{{PropertyName: "X-Tenant", Description: []string{"Required."}}},
			}},
			wantMessage: `get reseller "r1": upstream answered 400 Bad Request: Invalid request.`,
		},
		{
			name:        "502 HTML from a proxy",
			status:      http.StatusBadGateway,
			header:      map[string]string{"Content-Type": "text/html"},
			body:        `<html><body><h1>502 Bad Gateway</h1>` + secret + `</body></html>`,
			want:        &Error{Kind: KindAnswered, StatusCode: 502, Attempts: 1},
			wantMessage: `get reseller "r1": upstream answered 502 Bad Gateway`,
		},
		{
			name:        "401 empty",
			status:      http.StatusUnauthorized,
			want:        &Error{Kind: KindAnswered, StatusCode: 401, Attempts: 1},
			wantMessage: `get reseller "r1": upstream answered 401 Unauthorized`,
		},
		{
			name:        "300 is no success", // nor a redirect to follow: only 2xx bodies decode
			status:      http.StatusMultipleChoices,
			body:        secret,
			want:        &Error{Kind: KindAnswered, StatusCode: 300, Attempts: 1},
			wantMessage: `get reseller "r1": upstream answered 300 Multiple Choices`,
		},
		{
			name:        "500 JSON that is not an envelope",
			status:      http.StatusInternalServerError,
			header:      map[string]string{"Content-Type": "application/json"},
			body:        `{"message":"` + secret + `"}`,
			want:        &Error{Kind: KindAnswered, StatusCode: 500, Attempts: 1},
			wantMessage: `get reseller "r1": upstream answered 500 Internal Server Error`,
		},
		{
			name:        "429 with Retry-After seconds",
			status:      http.StatusTooManyRequests,
			header:      map[string]string{"Retry-After": "30"},
			body:        secret,
			want:        &Error{Kind: KindAnswered, StatusCode: 429, RetryAfter: 30 * time.Second, HasRetryAfter: true, Attempts: 1},
			wantMessage: `get reseller "r1": upstream answered 429 Too Many Requests`,
		},
		{
			name:             "503 with Retry-After date",
			status:           http.StatusServiceUnavailable,
			header:           map[string]string{"Retry-After": retryDate, "Content-Type": "text/plain"},
			want:             &Error{Kind: KindAnswered, StatusCode: 503, HasRetryAfter: true, Attempts: 1},
			wantRetryAtLeast: 58 * time.Minute,
			wantMessage:      `get reseller "r1": upstream answered 503 Service Unavailable`,
		},
		{
			name:        "503 with invalid Retry-After",
			status:      http.StatusServiceUnavailable,
			header:      map[string]string{"Retry-After": "later", "Content-Type": "text/plain"},
			want:        &Error{Kind: KindAnswered, StatusCode: 503, Attempts: 1},
			wantMessage: `get reseller "r1": upstream answered 503 Service Unavailable`,
		},
		{
			name:        "302 is not followed",
			status:      http.StatusFound,
			header:      map[string]string{"Location": "https://elsewhere.example/"},
			want:        &Error{Kind: KindAnswered, StatusCode: 302, Attempts: 1},
			wantMessage: `get reseller "r1": upstream answered 302 Found`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				for k, v := range tt.header {
					w.Header().Set(k, v)
				}
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			// The shared default client is used so that its redirect policy
			// is what gets tested. One attempt: retries have their own tests
			// (fault_test.go).
			c, err := New(Config{BaseURL: srv.URL, MaxAttempts: 1})
			if err != nil {
				t.Fatal(err)
			}
			t.Cleanup(sharedTransport().(*Pools).CloseIdleConnections)

			got, err := c.GetReseller(testContext(t), testCallInfo, "r1")
			if got != nil {
				t.Errorf("GetReseller() = %+v, want nil", got)
			}
			var upstream *Error
			if !errors.As(err, &upstream) {
				t.Fatalf("GetReseller() error = %v, want *Error", err)
			}
			if tt.wantRetryAtLeast > 0 {
				if upstream.RetryAfter < tt.wantRetryAtLeast || upstream.RetryAfter > time.Hour {
					t.Errorf("RetryAfter = %v, want within [%v, 1h]", upstream.RetryAfter, tt.wantRetryAtLeast)
				}
				upstream.RetryAfter = 0
			}
			if diff := cmp.Diff(tt.want, upstream); diff != "" {
				t.Errorf("*Error mismatch (-want +got):\n%s", diff)
			}
			if err.Error() != tt.wantMessage {
				t.Errorf("message = %q, want %q", err.Error(), tt.wantMessage)
			}
			if strings.Contains(err.Error(), secret) {
				t.Errorf("message %q echoes the body", err.Error())
			}
		})
	}
}

func TestBodyLimit(t *testing.T) {
	const limit = 100
	exact := `{"id":"` + strings.Repeat("x", limit-len(`{"id":""}`)) + `"}`
	tests := []struct {
		name     string
		status   int
		body     string
		chunked  bool
		gzip     bool
		wantErr  *Error // nil for success
		wantBody bool
	}{
		{name: "exactly the limit", status: 200, body: exact},
		{name: "one byte over with Content-Length", status: 200, body: exact + " ", wantErr: &Error{Kind: KindTooLarge, Limit: limit, Attempts: 1}},
		{name: "over without Content-Length", status: 200, body: exact + strings.Repeat(" ", 5000), chunked: true, wantErr: &Error{Kind: KindTooLarge, Limit: limit, Attempts: 1}},
		{name: "gzip bomb", status: 200, body: exact + strings.Repeat(" ", 1<<20), gzip: true, wantErr: &Error{Kind: KindTooLarge, Limit: limit, Attempts: 1}},
		{name: "small gzip body", status: 200, body: exact, gzip: true},
		{
			name:    "non-2xx over the limit loses only the envelope",
			status:  500,
			body:    `{"statusCode":500,"description":"` + strings.Repeat("x", 200) + `"}`,
			wantErr: &Error{Kind: KindAnswered, StatusCode: 500, Attempts: 1},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			srv := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				body := []byte(tt.body)
				if tt.gzip {
					var buf bytes.Buffer
					zw := gzip.NewWriter(&buf)
					_, _ = zw.Write(body)
					_ = zw.Close()
					body = buf.Bytes()
					w.Header().Set("Content-Encoding", "gzip")
				}
				if !tt.chunked {
					w.Header().Set("Content-Length", strconv.Itoa(len(body)))
				}
				w.WriteHeader(tt.status)
				if tt.chunked {
					w.(http.Flusher).Flush()
				}
				_, _ = w.Write(body)
			})
			c := newTestClient(t, Config{BaseURL: srv.URL, MaxBodyBytes: limit})

			got, err := c.GetReseller(testContext(t), testCallInfo, "r1")
			switch want := tt.wantErr; want {
			case nil:
				if err != nil || got == nil {
					t.Fatalf("GetReseller() = %v, %v; want a reseller", got, err)
				}
			default:
				var e *Error
				if !errors.As(err, &e) || got != nil {
					t.Fatalf("GetReseller() = %v, %v; want *Error", got, err)
				}
				if diff := cmp.Diff(want, e); diff != "" {
					t.Errorf("*Error mismatch (-want +got):\n%s", diff)
				}
			}
		})
	}
}

// stallingBody yields its bytes, then blocks until its request's context
// ends or it is closed: an upstream that stops sending mid-body.
type stallingBody struct {
	io.Reader
	ctx    context.Context
	closed chan struct{}
	once   sync.Once
}

func (b *stallingBody) Read(p []byte) (int, error) {
	if n, err := b.Reader.Read(p); !errors.Is(err, io.EOF) {
		return n, err
	}
	select {
	case <-b.ctx.Done():
		return 0, b.ctx.Err()
	case <-b.closed:
		return 0, errors.New("read on closed body")
	}
}

func (b *stallingBody) Close() error {
	b.once.Do(func() { close(b.closed) })
	return nil
}

// roundTripFunc is an http.RoundTripper of one function.
type roundTripFunc func(*http.Request) (*http.Response, error)

func (f roundTripFunc) RoundTrip(req *http.Request) (*http.Response, error) { return f(req) }

// TestBodyOverTheLimitIsNotWaitedFor: once a body of undeclared length is
// known to be over MaxBodyBytes the call has its answer, and the rest, of
// unknown length, is of no use. It was drained for the connection's reuse (up
// to 64 KiB), so an upstream that stopped sending after the limit held the
// call, and its request slot, until the attempt timeout (5 s by default; for
// a 503, retried, each attempt again). A declared length is still drained
// (TestConnectionIsReusedAfterAnUnreadBody).
func TestBodyOverTheLimitIsNotWaitedFor(t *testing.T) {
	const limit = 1024
	over := strings.Repeat(" ", limit+1)
	tests := []struct {
		name          string
		status        int
		contentLength int64 // -1: not declared
		want          Kind
	}{
		{name: "2xx, length not declared", status: 200, contentLength: -1, want: KindTooLarge},
		{name: "503, length not declared", status: 503, contentLength: -1, want: KindAnswered},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var body *stallingBody
				transport := roundTripFunc(func(req *http.Request) (*http.Response, error) {
					body = &stallingBody{Reader: strings.NewReader(over), ctx: req.Context(), closed: make(chan struct{})}
					return &http.Response{StatusCode: tt.status, ContentLength: tt.contentLength, Header: http.Header{}, Body: body, Request: req}, nil
				})
				c := newTestClient(t, Config{BaseURL: memBaseURL, Transport: transport, MaxBodyBytes: limit, MaxAttempts: 1})
				start := time.Now()
				_, err := c.GetReseller(context.Background(), testCallInfo, "r1")
				if kindOf(err) != tt.want {
					t.Fatalf("error = %v, want %v", err, tt.want)
				}
				if waited := time.Since(start); waited != 0 {
					t.Errorf("the call waited %v for a body it had no use for", waited)
				}
				select {
				case <-body.closed:
				default:
					t.Error("the body was not closed")
				}
			})
		})
	}
}

func TestUndecodableSuccess(t *testing.T) {
	tests := []struct {
		name        string
		call        string // "reseller" or "link"
		contentType string
		body        string
		status      int
	}{
		{name: "reseller HTML", call: "reseller", contentType: "text/html", body: "<html>maintenance</html>", status: 200},
		{name: "reseller empty", call: "reseller", contentType: "application/json", status: 200},
		{name: "reseller no content", call: "reseller", status: 204},
		{name: "reseller array", call: "reseller", contentType: "application/json", body: `[]`, status: 200},
		{name: "reseller wrong type", call: "reseller", contentType: "application/json", body: `{"providerResellers":"x"}`, status: 200},
		{name: "link object", call: "link", contentType: "application/json", body: `{"url":"https://x.example"}`, status: 200},
		{name: "link null", call: "link", contentType: "application/json", body: `null`, status: 200},
		{name: "link not a URL", call: "link", contentType: "text/plain", body: `see portal`, status: 200},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			srv := newUpstream(t, rec.handler(tt.status, tt.contentType, tt.body))
			c := newTestClient(t, Config{BaseURL: srv.URL})

			var err error
			if tt.call == "reseller" {
				var got *Reseller
				got, err = c.GetReseller(testContext(t), testCallInfo, "r1")
				if got != nil {
					t.Errorf("GetReseller() = %+v, want nil", got)
				}
			} else {
				var got string
				got, err = c.GetAcceptanceLink(testContext(t), testCallInfo, "p1", "")
				if got != "" {
					t.Errorf("GetAcceptanceLink() = %q, want empty", got)
				}
			}
			if kindOf(err) != KindUndecodable {
				t.Fatalf("error = %v, want KindUndecodable", err)
			}
		})
	}
}

func TestGetResellerDecodesRecordedBody(t *testing.T) {
	body := readTestdata(t, "reseller_full.json")
	want, err := DecodeReseller(body)
	if err != nil {
		t.Fatal(err)
	}
	var rec recorder
	srv := newUpstream(t, rec.handler(http.StatusOK, "application/json; charset=utf-8", string(body)))
	// Without coalescing, so that every call is its own request.
	c := newTestClient(t, Config{BaseURL: srv.URL, DisableCoalescing: true})

	// Concurrent calls exercise the shared body buffers under -race.
	const calls = 32
	var wg sync.WaitGroup
	results := make([]*Reseller, calls)
	errs := make([]error, calls)
	for i := range calls {
		wg.Go(func() {
			results[i], errs[i] = c.GetReseller(testContext(t), testCallInfo, "3f6c2a8e-9b1d-4c7e-a5f2-0d8e4b6a1c93")
		})
	}
	wg.Wait()
	for i := range calls {
		if errs[i] != nil {
			t.Fatalf("call %d: GetReseller() error = %v", i, errs[i])
		}
		if diff := cmp.Diff(want, results[i]); diff != "" {
			t.Fatalf("call %d mismatch (-want +got):\n%s", i, diff)
		}
	}
	if got := *want.ProviderResellers[0].OfferTypeMargins["AzurePlan"].Value; got != 3.25 {
		t.Errorf("AzurePlan margin = %v, want 3.25", got)
	}
}

func TestGetAcceptanceLinkForms(t *testing.T) {
	tests := []struct {
		name        string
		contentType string
		body        string
	}{
		{name: "JSON string", contentType: "application/json; charset=utf-8", body: `"` + testLink + `"`},
		{name: "text/plain", contentType: "text/plain; charset=utf-8", body: testLink},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			srv := newUpstream(t, rec.handler(http.StatusOK, tt.contentType, tt.body))
			c := newTestClient(t, Config{BaseURL: srv.URL})

			got, err := c.GetAcceptanceLink(testContext(t), testCallInfo, "cb3cd15b-1d6e-45be-b493-c71549cbfd87", "")
			if err != nil {
				t.Fatalf("GetAcceptanceLink() error = %v", err)
			}
			if got != testLink {
				t.Errorf("GetAcceptanceLink() = %q, want %q", got, testLink)
			}
		})
	}
}

func TestConnectionIsReusedAfterEveryOutcome(t *testing.T) {
	tests := []struct {
		name   string
		status int
		body   string
	}{
		{name: "success", status: http.StatusOK, body: `{"id":"r1"}`},
		{name: "error envelope", status: http.StatusNotFound, body: `{"statusCode":404,"description":"Reseller not found."}`},
		{name: "HTML error", status: http.StatusBadGateway, body: `<html>` + strings.Repeat("x", 10<<10) + `</html>`},
		{name: "undecodable success", status: http.StatusOK, body: `<html>maintenance</html>`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var rec recorder
			srv := newUpstream(t, rec.handler(tt.status, "application/json", tt.body))
			// One attempt per call, so that each call is one request even
			// for the retryable 502.
			c := newTestClient(t, Config{BaseURL: srv.URL, MaxAttempts: 1})

			var reused []bool
			ctx := httptrace.WithClientTrace(testContext(t), &httptrace.ClientTrace{
				GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) },
			})
			for range 2 {
				_, _ = c.GetReseller(ctx, testCallInfo, "r1")
			}
			if diff := cmp.Diff([]bool{false, true}, reused); diff != "" {
				t.Errorf("connection reuse mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestRedirectsAreNotFollowed checks that the Client hands a 3xx back and
// never calls the redirect's target, which would get the caller's X-Tenant
// and Authorization.
func TestRedirectsAreNotFollowed(t *testing.T) {
	var elsewhere atomic.Int32
	target := newUpstream(t, func(http.ResponseWriter, *http.Request) { elsewhere.Add(1) })
	srv := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, target.URL+"/v1/Resellers/r1", http.StatusTemporaryRedirect)
	})
	c := newTestClient(t, Config{BaseURL: srv.URL, MaxAttempts: 1})
	_, err := c.GetReseller(testContext(t), testCallInfo, "r1")
	var ue *Error
	if !errors.As(err, &ue) || ue.StatusCode != http.StatusTemporaryRedirect {
		t.Fatalf("GetReseller() error = %v, want the 307 as *Error", err)
	}
	if n := elsewhere.Load(); n != 0 {
		t.Errorf("the redirect's target got %d requests, want 0", n)
	}
}

// TestBodyElementsLimit: a body within MaxBodyBytes but with more than
// maxBodyElements JSON elements is refused before decoding (each element
// becomes a Go value, an answer's a protobuf one too): a 2xx body with
// KindTooLarge, an error body by losing its envelope.
func TestBodyElementsLimit(t *testing.T) {
	elements := func(n int, elem string) string { return strings.TrimSuffix(strings.Repeat(elem+",", n), ",") }
	for _, tt := range []struct {
		name   string
		status int
		body   string
		want   Kind // 0: success
	}{
		// Two elements counted per {}: its bracket, and its comma but the first's.
		{"a reseller at the limit", 200, `{"id":"r1","providerResellers":[` + elements(maxBodyElements/2-1, "{}") + `]}`, 0},
		{"a reseller over it", 200, `{"id":"r1","providerResellers":[` + elements(maxBodyElements/2, "{}") + `]}`, KindTooLarge},
		{"an envelope over it", 400, `{"statusCode":400,"errors":[{"propertyName":"x","description":[` + elements(maxBodyElements, `"a"`) + `]}]}`, KindAnswered},
	} {
		t.Run(tt.name, func(t *testing.T) {
			srv := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
				w.Header().Set("Content-Type", "application/json")
				w.WriteHeader(tt.status)
				_, _ = w.Write([]byte(tt.body))
			})
			c := newTestClient(t, Config{BaseURL: srv.URL, MaxAttempts: 1})
			got, err := c.GetReseller(testContext(t), testCallInfo, "r1")
			e, _ := errors.AsType[*Error](err)
			switch {
			case tt.want == 0 && (err != nil || len(got.ProviderResellers) != maxBodyElements/2-1):
				t.Fatalf("GetReseller() = %v; want %d provider resellers", err, maxBodyElements/2-1)
			case tt.want != 0 && (e == nil || e.Kind != tt.want || e.Envelope != nil):
				t.Fatalf("GetReseller() = %v; want kind %v, no envelope", err, tt.want)
			}
		})
	}
}

// TestProviderDataElementsLimit: resellerProviderData is a JSON document
// inside a string, so its commas may come escaped (\u002c), which the
// element count of the body does not see: 1 MiB made 150,000 MPN ids, 19 MB
// allocated to decode. The documents of one body share a budget of
// maxBodyElements commas; from the one that exceeds it none is parsed
// (ProviderData nil, as for one that does not parse), each still returned as
// sent.
func TestProviderDataElementsLimit(t *testing.T) {
	ids := func(n int) string { return `{\"SecondaryMpnIds\":[` + strings.Repeat(`1\u002c`, n-1) + `1]}` } // n-1 commas
	for _, tt := range []struct {
		name string
		ids  []int // MPN ids of each provider reseller's document
		want []int // MPN ids parsed; -1: not parsed
	}{
		{name: "at the budget", ids: []int{maxBodyElements / 2, maxBodyElements/2 + 1, 1}, want: []int{maxBodyElements / 2, maxBodyElements/2 + 1, 1}},
		{name: "one document over it", ids: []int{maxBodyElements + 2}, want: []int{-1}},
		{name: "the documents from the one that exceeds it", ids: []int{maxBodyElements / 2, maxBodyElements/2 + 3, 1}, want: []int{maxBodyElements / 2, -1, -1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			var prs []string
			for _, n := range tt.ids {
				prs = append(prs, `{"resellerProviderData":"`+ids(n)+`"}`)
			}
			r, err := DecodeReseller([]byte(`{"id":"r1","providerResellers":[` + strings.Join(prs, ",") + `]}`))
			if err != nil {
				t.Fatal(err)
			}
			var got []int
			for _, p := range r.ProviderResellers {
				n := -1
				if p.ProviderData != nil {
					n = len(p.ProviderData.SecondaryMpnIDs)
				}
				if p.ResellerProviderData == nil {
					t.Error("resellerProviderData was dropped")
				}
				got = append(got, n)
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("MPN ids parsed mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// TestCallersDeadlineStaysDeadlineExceeded: a call that runs out of its
// caller's own deadline is KindDeadlineExceeded (DEADLINE_EXCEEDED, reason
// DEADLINE_EXCEEDED, neutral for the breaker); only running out of
// Config.Timeout, with the caller's context still live, becomes KindTimeout.
func TestCallersDeadlineStaysDeadlineExceeded(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newMemClient(t, Config{MaxAttempts: 1}, stepHang)
		ctx, cancel := context.WithTimeout(testContext(t), 300*time.Millisecond)
		defer cancel()
		_, err := c.GetReseller(ctx, testCallInfo, "r1")
		if k := kindOf(err); k != KindDeadlineExceeded {
			t.Errorf("GetReseller() past the caller's deadline: kind %v (%v), want %v", k, err, KindDeadlineExceeded)
		}
		if !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("GetReseller() = %v, want errors.Is context.DeadlineExceeded", err)
		}
	})
}

// TestOnRejectedReportsTheOpenBreaker: a call refused by its tenant's open
// circuit breaker, nothing sent, is reported to Config.OnRejected with its
// operation and RejectCircuitOpen (the facade's rejected-calls metric).
func TestOnRejectedReportsTheOpenBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		rejected := map[[2]string]int{}
		u, c := newMemClient(t, Config{
			MaxAttempts: 1, DisableCoalescing: true,
			Breaker:    resilience.BreakerSettings{MinCalls: 2, FailureRatio: 0.5, OpenFor: time.Minute},
			OnRejected: func(op, reason string) { mu.Lock(); rejected[[2]string{op, reason}]++; mu.Unlock() },
		}, stepOK, stepStatus(503))
		var open bool
		for i := 0; i < 20 && !open; i++ {
			_, err := c.GetReseller(testContext(t), testCallInfo, "r1")
			open = kindOf(err) == KindCircuitOpen
		}
		if !open {
			t.Fatalf("the breaker never opened after %d upstream requests", u.requests())
		}
		mu.Lock()
		defer mu.Unlock()
		if n := rejected[[2]string{apierr.OpGetReseller, RejectCircuitOpen}]; n != 1 {
			t.Errorf("OnRejected calls = %v, want one (%s, %s)", rejected, apierr.OpGetReseller, RejectCircuitOpen)
		}
	})
}

// TestCancelledWhileQueuedForARetryIsCancelled: a call whose first attempt got
// a retryable answer, and whose caller gives up while its retry waits in the
// queue for a request slot, ends as KindCanceled: the upstream's earlier answer
// stands in for the retry only while the caller still waits for it.
func TestCancelledWhileQueuedForARetryIsCancelled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{MaxConcurrent: 1, QueueTimeout: time.Minute, DisableCoalescing: true},
			step{status: 503, contentType: "text/plain", body: "x", retryAfter: "1"}, // the caller's first attempt
			step{hold: true}, // another tenant's call, holding the only slot
		)
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		done := make(chan error)
		go func() {
			_, err := c.GetReseller(ctx, testCallInfo, "r1")
			done <- err
		}()
		synctest.Wait() // 503, then a 1s wait before the retry
		other := make(chan error)
		go func() {
			_, err := c.GetReseller(testContext(t), CallInfo{Tenant: "other.example", Authorization: "Bearer other"}, "r1")
			other <- err
		}()
		synctest.Wait()
		<-time.After(2 * time.Second) // at once in the bubble: the back-off ends, the retry queues behind the held slot
		synctest.Wait()
		cancel()
		err := <-done
		u.release()
		if err2 := <-other; err2 != nil {
			t.Errorf("other tenant: %v", err2)
		}
		if k := kindOf(err); k != KindCanceled {
			t.Errorf("GetReseller() cancelled while queued for a retry: kind %v (%v), want %v", k, err, KindCanceled)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("GetReseller() = %v, want errors.Is context.Canceled", err)
		}
	})
}

// probeTransport answers with a handler in memory, as inMemory does, after
// failing the first fail requests with err.
type probeTransport struct {
	fail  int32
	err   error
	count atomic.Int32
	h     http.HandlerFunc
}

func (p *probeTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	if p.count.Add(1) <= p.fail {
		return nil, p.err
	}
	rec := httptest.NewRecorder()
	p.h(rec, req)
	return rec.Result(), nil
}

// TestCertificateFailuresSpendTheRetryBudget: an attempt whose upstream
// certificate does not verify is not retried (no retry fixes it), but it is
// still a failure for its tenant's retry budget: after five of them the
// tenant's next retryable answer (503) gets no retry.
func TestCertificateFailuresSpendTheRetryBudget(t *testing.T) {
	tr := &probeTransport{fail: 5, err: &tls.CertificateVerificationError{Err: errors.New("x509: certificate signed by unknown authority")},
		h: func(w http.ResponseWriter, _ *http.Request) { w.WriteHeader(http.StatusServiceUnavailable) }}
	c := newTestClient(t, fastRetries(Config{BaseURL: memBaseURL, Transport: tr, DisableCoalescing: true,
		Breaker: resilience.BreakerSettings{FailureRatio: -1}}))
	for i := range 5 {
		_, err := c.GetReseller(testContext(t), testCallInfo, "r1")
		if e, ok := errors.AsType[*Error](err); !ok || e.Cause != CauseTLS || e.Attempts != 1 {
			t.Fatalf("call %d: %v, want one attempt failing with cause %s", i, err, CauseTLS)
		}
	}
	_, err := c.GetReseller(testContext(t), testCallInfo, "r1")
	if e, ok := errors.AsType[*Error](err); !ok || e.StatusCode != http.StatusServiceUnavailable || e.Attempts != 1 {
		t.Errorf("after 5 certificate failures: %v (%d attempts), want 503 after 1 attempt: the budget is spent", err, attemptCount(err))
	}
}

// TestCancelDuringBackOffEndsTheCallAtOnce: a caller that gives up while its
// call waits to retry (here a Retry-After of 5s) gets its call back at once,
// not when the wait is over.
func TestCancelDuringBackOffEndsTheCallAtOnce(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		_, c := newMemClient(t, Config{DisableCoalescing: true},
			step{status: 503, contentType: "text/plain", body: "x", retryAfter: "5"}, stepOK)
		ctx, cancel := context.WithCancel(testContext(t))
		defer cancel()
		time.AfterFunc(time.Second, cancel)
		start := time.Now()
		_, err := c.GetReseller(ctx, testCallInfo, "r1")
		if elapsed := time.Since(start); elapsed > 2*time.Second {
			t.Errorf("call cancelled 1s in returned after %v, want at once", elapsed)
		}
		if !errors.Is(err, context.Canceled) {
			t.Errorf("GetReseller() = %v, want errors.Is context.Canceled", err)
		}
	})
}

// TestCallOfAnEndedContextSendsNothing: a call whose context has already ended
// when it gets its request slot sends nothing: the transport is not asked (with
// Pools it would make a pool for the principal, evicting another's).
func TestCallOfAnEndedContextSendsNothing(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u, c := newMemClient(t, Config{DisableCoalescing: true}, stepOK)
		ctx, cancel := context.WithCancel(testContext(t))
		cancel()
		_, err := c.GetReseller(ctx, testCallInfo, "r1")
		if !errors.Is(err, context.Canceled) {
			t.Errorf("GetReseller() = %v, want errors.Is context.Canceled", err)
		}
		if n := u.requests(); n != 0 {
			t.Errorf("the transport got %d requests of a call whose context had ended, want 0", n)
		}
	})
}

// TestConnectionIsReusedAfterAnUnreadBody: a 2xx body that declares more than
// MaxBodyBytes is refused (KindTooLarge) without being read; its answer is
// still drained (it is within the drain bound) and closed, so the next call
// reuses the connection instead of leaving it held by an unclosed body.
func TestConnectionIsReusedAfterAnUnreadBody(t *testing.T) {
	body := `{"id":"r1","companyName":"` + strings.Repeat("x", 200) + `"}`
	srv := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Content-Length", strconv.Itoa(len(body)))
		_, _ = w.Write([]byte(body))
	})
	c := newTestClient(t, Config{BaseURL: srv.URL, MaxAttempts: 1, MaxBodyBytes: 100})
	var reused []bool
	ctx := httptrace.WithClientTrace(testContext(t), &httptrace.ClientTrace{
		GotConn: func(info httptrace.GotConnInfo) { reused = append(reused, info.Reused) },
	})
	for range 2 {
		if _, err := c.GetReseller(ctx, testCallInfo, "r1"); kindOf(err) != KindTooLarge {
			t.Fatalf("GetReseller() = %v, want %v", err, KindTooLarge)
		}
	}
	if len(reused) != 2 || reused[0] || !reused[1] {
		t.Errorf("connection reuse = %v, want [false true]", reused)
	}
}

// TestTenantShareDefaults: the per-caller share of request slots defaults to
// half of MaxConcurrent, at least 1, and to none when MaxConcurrent is negative
// (no limit at all). With MaxConcurrent 1 a caller's second call is refused for
// its own share (RejectTenantConcurrencyLimit, Limit 1); with no limit, one
// caller's calls all go out at once.
func TestTenantShareDefaults(t *testing.T) {
	for _, tt := range []struct {
		name          string
		maxConcurrent int
		wantSent      int    // of two concurrent calls of one caller
		wantReason    string // OnRejected's, for the refused one
	}{
		{name: "no limit", maxConcurrent: -1, wantSent: 2},
		{name: "one slot is the caller's share too", maxConcurrent: 1, wantSent: 1, wantReason: RejectTenantConcurrencyLimit},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				var mu sync.Mutex
				var reasons []string
				u, c := newMemClient(t, Config{MaxConcurrent: tt.maxConcurrent, QueueTimeout: -1, DisableCoalescing: true,
					OnRejected: func(_, reason string) { mu.Lock(); reasons = append(reasons, reason); mu.Unlock() }},
					step{hold: true})
				errs := make(chan error, 2)
				for _, id := range []string{"r1", "r2"} {
					go func() {
						_, err := c.GetReseller(testContext(t), testCallInfo, id)
						errs <- err
					}()
				}
				synctest.Wait()
				sent := u.requests()
				u.release()
				var refused *Error
				for range 2 {
					if e, ok := errors.AsType[*Error](<-errs); ok && e.Kind == KindOverLimit {
						refused = e
					}
				}
				if sent != tt.wantSent {
					t.Errorf("%d of 2 concurrent calls sent, want %d", sent, tt.wantSent)
				}
				mu.Lock()
				defer mu.Unlock()
				if tt.wantReason == "" {
					if refused != nil || len(reasons) != 0 {
						t.Errorf("refused: %v, reasons %v; want none", refused, reasons)
					}
					return
				}
				if refused == nil || refused.Limit != 1 || len(reasons) != 1 || reasons[0] != tt.wantReason {
					t.Errorf("refused: %+v, reasons %v; want Limit 1 and [%s]", refused, reasons, tt.wantReason)
				}
			})
		})
	}
}

// TestBodyElementsLimitCountsArrays: the element bound is docs/errors.md's
// 10,000 (written out here: the other tests scale with the constant), and
// opening square brackets count toward it as commas and braces do (each array
// becomes a Go slice; a text's brackets are counted from above): a 2xx body
// within MaxBodyBytes with 10,002 elements, its excess brackets, fails with
// KindTooLarge.
func TestBodyElementsLimitCountsArrays(t *testing.T) {
	// One comma, one brace, 10,000 brackets.
	body := `{"id":"r1","companyName":"` + strings.Repeat("[", 10_000) + `"}`
	srv := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	})
	c := newTestClient(t, Config{BaseURL: srv.URL, MaxAttempts: 1})
	if _, err := c.GetReseller(testContext(t), testCallInfo, "r1"); kindOf(err) != KindTooLarge {
		t.Fatalf("GetReseller() = %v; want kind %v", err, KindTooLarge)
	}
}

// TestOnCoalescedCountsOnlyJoiners: Config.OnCoalesced (the coalesced-calls
// metric and the access line's coalesced_with) is called once per call that
// joined another's upstream request, with the joiner's context and the
// correlation id that request carried ("" for a joiner that left first);
// never for a call that made its own.
func TestOnCoalescedCountsOnlyJoiners(t *testing.T) {
	type joined struct{ Caller, Op, CorrelationID string }
	type callerKey struct{}
	synctest.Test(t, func(t *testing.T) {
		var mu sync.Mutex
		var got []joined
		u, c := newMemClient(t, Config{OnCoalesced: func(ctx context.Context, op, id string) {
			mu.Lock()
			got = append(got, joined{ctx.Value(callerKey{}).(string), op, id})
			mu.Unlock()
		}}, stepOK)
		get := func(ctx context.Context, caller string) error {
			ci := testCallInfo
			ci.CorrelationID = "cid-" + caller
			_, err := c.GetReseller(context.WithValue(ctx, callerKey{}, caller), ci, "r1")
			return err
		}
		if err := get(testContext(t), "alone"); err != nil {
			t.Fatal(err)
		}
		mu.Lock()
		if len(got) != 0 {
			t.Errorf("OnCoalesced calls after one lone call = %v, want none", got)
		}
		mu.Unlock()
		u.setScript(step{hold: true})
		errs := make(chan error, 3)
		go func() { errs <- get(testContext(t), "first") }()
		synctest.Wait() // the first call's request is upstream
		leaving, leave := context.WithCancel(testContext(t))
		go func() { errs <- get(testContext(t), "second") }()
		go func() { errs <- get(leaving, "leaving") }()
		synctest.Wait()
		leave()
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Errorf("the caller that left got %v, want context.Canceled", err)
		}
		u.release()
		for range 2 {
			if err := <-errs; err != nil {
				t.Error(err)
			}
		}
		mu.Lock()
		defer mu.Unlock()
		want := []joined{{"leaving", apierr.OpGetReseller, ""}, {"second", apierr.OpGetReseller, "cid-first"}}
		if diff := cmp.Diff(want, got); diff != "" {
			t.Errorf("OnCoalesced calls (-want +got):\n%s", diff)
		}
	})
}
