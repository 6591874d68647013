package gateway

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
)

// Values the tests send.
const (
	testTenant = "portal.cloudcockpit.com"
	testAuth   = "Bearer test-token-1"
	testCID    = "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"
	testID     = "11111111-1111-4111-8111-111111111111"
	testPI     = "cb3cd15b-1d6e-45be-b493-c71549cbfd87"
)

// stack is the real facade in-process, wired as the server wires it: an
// httptest upstream, rest.New, the services, and the mirror calling them
// through the correlation interceptor and a recording one, served by an
// httptest.Server.
type stack struct {
	url    string         // the mirror's base URL
	health *health.Server // the gRPC health server behind /readyz
	// calls records the full method of every call the gRPC interceptors saw.
	mu    sync.Mutex
	calls []string
}

// newStack starts the stack over upstream; everything stops at cleanup.
func newStack(t *testing.T, upstream http.Handler) *stack {
	t.Helper()
	up := httptest.NewServer(upstream)
	t.Cleanup(up.Close)
	// One attempt: the tests look at how each upstream answer is mapped, not
	// at the client's retries (429 and 503 would wait for Retry-After).
	client, err := rest.New(rest.Config{BaseURL: up.URL, Transport: up.Client().Transport, MaxAttempts: 1})
	if err != nil {
		t.Fatalf("rest.New: %v", err)
	}
	s := &stack{health: health.NewServer()}
	record := func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		s.mu.Lock()
		s.calls = append(s.calls, info.FullMethod)
		s.mu.Unlock()
		return handler(ctx, req)
	}
	h, err := New(service.NewResellerServer(client), service.NewCustomerServer(client), s.health,
		correlation.UnaryServerInterceptor(), record)
	if err != nil {
		t.Fatalf("New: %v", err)
	}
	srv := httptest.NewServer(h)
	t.Cleanup(srv.Close)
	s.url = srv.URL
	return s
}

// seen returns the methods the gRPC interceptors saw.
func (s *stack) seen() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return slices.Clone(s.calls)
}

// response is what a test looks at in an HTTP answer.
type response struct {
	status   int
	header   http.Header
	transfer []string // Transfer-Encoding
	body     []byte
}

// get sends method path with the given headers (name, value pairs) to the
// mirror.
func (s *stack) do(t *testing.T, method, path string, headers ...string) response {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, method, s.url+path, nil)
	if err != nil {
		t.Fatalf("new request: %v", err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Add(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatalf("%s %s: %v", method, path, err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatalf("read body: %v", err)
	}
	return response{status: resp.StatusCode, header: resp.Header, transfer: resp.TransferEncoding, body: body}
}

// get sends GET path with the standard caller headers plus extra.
func (s *stack) get(t *testing.T, path string, extra ...string) response {
	t.Helper()
	return s.do(t, http.MethodGet, path, append([]string{
		"X-Tenant", testTenant, "Authorization", testAuth, "X-Correlation-Id", testCID,
	}, extra...)...)
}

// object decodes a JSON object body.
func (r response) object(t *testing.T) map[string]any {
	t.Helper()
	var m map[string]any
	if err := json.Unmarshal(r.body, &m); err != nil {
		t.Fatalf("body is not a JSON object: %v: %s", err, r.body)
	}
	return m
}

// recorder is an upstream that records requests and answers with answer.
type recorder struct {
	mu     sync.Mutex
	reqs   []*http.Request
	answer http.HandlerFunc
}

func (u *recorder) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	u.mu.Lock()
	u.reqs = append(u.reqs, r.Clone(context.Background()))
	u.mu.Unlock()
	u.answer(w, r)
}

// requests returns the requests received so far.
func (u *recorder) requests() []*http.Request {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.reqs)
}

// resellerJSON is a full upstream reseller payload.
const resellerJSON = `{"id":"` + testID + `","companyName":"Contoso Cloud Lda","country":"PT",
 "addressLine1":"Rua 1","addressLine2":null,"city":"Lisboa","state":null,"zipCode":"1000-001",
 "firstName":"Ana","lastName":"Silva","email":"ana@contoso.example","phone":"+351210000000",
 "internalIdentifier":"","taxId":null,"providerResellers":[],"customDomain":null}`

// okUpstream answers every reseller with resellerJSON and every link with a
// JSON string.
func okUpstream(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "application/json; charset=utf-8")
	if strings.Contains(r.URL.Path, "relationship-acceptance") {
		_, _ = io.WriteString(w, `"https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship\u0026partnerId=x"`)
		return
	}
	_, _ = io.WriteString(w, resellerJSON)
}
