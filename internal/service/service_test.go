package service

// In-process tests of the whole stack: a gRPC client on bufconn, a real
// grpc.Server with the correlation interceptor and the registered services,
// the real rest.Client, and an httptest.Server as the upstream (a scripted
// handler, or the embedded sandbox).

import (
	"bytes"
	"context"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gocmp "github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

const (
	testTenant     = "portal.cloudcockpit.com"
	testAuth       = "Bearer eyJ0eXAiOiJKV1QiLCJhbGciOiJSUzI1NiJ9.eyJhdWQiOiJhcGk6Ly9jYyJ9.c2ln"
	testProviderID = sandbox.SpecProviderInstanceID
	callTimeout    = 10 * time.Second
)

// recorded is what the upstream saw of one request.
type recorded struct {
	method, path, rawQuery string
	header                 http.Header
}

// fakeUpstream is a scripted httptest.Server that records every request.
type fakeUpstream struct {
	url  string
	mu   sync.Mutex
	reqs []recorded
}

func (u *fakeUpstream) requests() []recorded {
	u.mu.Lock()
	defer u.mu.Unlock()
	return slices.Clone(u.reqs)
}

func (u *fakeUpstream) count() int { return len(u.requests()) }

// newUpstream serves h on an httptest.Server, closed when the test ends.
func newUpstream(t *testing.T, h http.HandlerFunc) *fakeUpstream {
	t.Helper()
	u := &fakeUpstream{}
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.reqs = append(u.reqs, recorded{r.Method, r.URL.EscapedPath(), r.URL.RawQuery, r.Header.Clone()})
		u.mu.Unlock()
		h(w, r)
	}))
	t.Cleanup(srv.Close)
	u.url = srv.URL
	return u
}

// answer returns a handler that answers every request with status, headers
// (name, value pairs) and body.
func answer(status int, body string, header ...string) http.HandlerFunc {
	return func(w http.ResponseWriter, _ *http.Request) {
		for i := 0; i+1 < len(header); i += 2 {
			w.Header().Set(header[i], header[i+1])
		}
		w.WriteHeader(status)
		_, _ = w.Write([]byte(body))
	}
}

// facade is a gRPC client of the services, served in-process.
type facade struct {
	resellers pb.ResellerServiceClient
	customers pb.CustomerServiceClient
}

// newFacade serves the services over bufconn with the real REST client
// pointed at baseURL.
func newFacade(t *testing.T, baseURL string, opts ...Option) *facade {
	t.Helper()
	return newFacadeConfig(t, rest.Config{BaseURL: baseURL}, opts...)
}

// newFacadeOneAttempt is newFacade with a client that makes one attempt
// per call: the error mapping is then independent of the retry policy.
func newFacadeOneAttempt(t *testing.T, baseURL string, opts ...Option) *facade {
	t.Helper()
	return newFacadeConfig(t, rest.Config{BaseURL: baseURL, MaxAttempts: 1}, opts...)
}

// newRESTClient is rest.New(cfg), by default on a transport of its own (as
// the shared default is built) whose idle connections close when the test ends.
func newRESTClient(t *testing.T, cfg rest.Config) *rest.Client {
	t.Helper()
	if cfg.Transport == nil {
		tr := rest.NewPools(rest.NewTransport(rest.TransportConfig{}), 0)
		cfg.Transport = tr
		t.Cleanup(tr.CloseIdleConnections)
	}
	client, err := rest.New(cfg)
	if err != nil {
		t.Fatalf("rest.New: %v", err)
	}
	return client
}

func newFacadeConfig(t *testing.T, cfg rest.Config, opts ...Option) *facade {
	t.Helper()
	client := newRESTClient(t, cfg)
	lis := bufconn.Listen(1 << 20)
	srv := grpc.NewServer(grpc.ChainUnaryInterceptor(correlation.UnaryServerInterceptor()))
	pb.RegisterResellerServiceServer(srv, NewResellerServer(client, opts...))
	pb.RegisterCustomerServiceServer(srv, NewCustomerServer(client, opts...))
	served := make(chan struct{})
	go func() {
		defer close(served)
		_ = srv.Serve(lis)
	}()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatalf("grpc.NewClient: %v", err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		srv.Stop()
		<-served
	})
	return &facade{resellers: pb.NewResellerServiceClient(conn), customers: pb.NewCustomerServiceClient(conn)}
}

// callCtx returns a context with a timeout and the outgoing metadata pairs.
func callCtx(t *testing.T, kv ...string) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), callTimeout)
	t.Cleanup(cancel)
	return metadata.AppendToOutgoingContext(ctx, kv...)
}

// validMD is well-formed call metadata with the test correlation id.
func validMD() []string {
	return []string{"authorization", testAuth, "x-tenant", testTenant, "x-correlation-id", testCorrelationID}
}

// headerID returns the single x-correlation-id of the response header
// metadata.
func headerID(t *testing.T, md metadata.MD) string {
	t.Helper()
	ids := md.Get("x-correlation-id")
	if len(ids) != 1 || !correlation.IsUUID(ids[0]) {
		t.Fatalf("response header x-correlation-id = %q, want one UUID", ids)
	}
	return ids[0]
}

// statusJSON renders a status with its details resolved, for checks that
// nothing the caller must not see is in it.
func statusJSON(t *testing.T, err error) string {
	t.Helper()
	b, mErr := protojson.Marshal(status.Convert(err).Proto())
	if mErr != nil {
		t.Fatalf("marshal status: %v", mErr)
	}
	return string(b)
}

// envelopeJSON is an upstream error envelope echoing the test correlation id.
func envelopeJSON(code, typ, desc, errorsJSON string) string {
	return `{"statusCode":` + code + `,"type":"` + typ + `","description":"` + desc +
		`","correlationId":"` + testCorrelationID + `","errors":` + errorsJSON + `}`
}

func TestGetResellerUpstreamErrors(t *testing.T) {
	const htmlBody = `<html><head><title>502 Bad Gateway</title></head><body><center>nginx on secret-internal-host</center></body></html>`
	const stackTrace = "System.NullReferenceException: Object reference not set\n   at Api.Controllers.ResellersController.Get() password=hunter2"
	d := func(reason string, meta map[string]string, extra ...proto.Message) []proto.Message {
		return details(reason, apierr.OpGetReseller, testCorrelationID, meta, extra...)
	}
	st := func(code string, more ...string) map[string]string {
		m := map[string]string{"upstreamHttpStatus": code}
		for i := 0; i+1 < len(more); i += 2 {
			m[more[i]] = more[i+1]
		}
		return m
	}
	notFound := &errdetails.ResourceInfo{ResourceType: "cloudcockpit.v1.Reseller", ResourceName: testResellerID, Description: "Reseller not found."}

	tests := []struct {
		name   string
		give   http.HandlerFunc
		want   wantStatus
		secret string // must not appear anywhere in the status
	}{
		{
			name: "400 envelope",
			give: answer(400, envelopeJSON("400", "ValidationError", "One or more validation errors occurred.",
				`[{"propertyName":"resellerId","description":["The value is not valid for resellerId."]},`+
					`{"propertyName":"X-Tenant","description":["The X-Tenant header is required.","It must be a domain."]}]`),
				"Content-Type", "application/json; charset=utf-8"),
			want: wantStatus{codes.InvalidArgument, "One or more validation errors occurred.", d("UPSTREAM_BAD_REQUEST",
				st("400", "upstreamType", "ValidationError"),
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
					{Field: "resellerId", Description: "The value is not valid for resellerId."},
					{Field: "X-Tenant", Description: "The X-Tenant header is required."},
					{Field: "X-Tenant", Description: "It must be a domain."},
				}})},
		},
		{
			name: "400 ASP.NET problem details",
			give: answer(400, `{"type":"https://tools.ietf.org/html/rfc7231#section-6.5.1","title":"One or more validation errors occurred.",`+
				`"status":400,"traceId":"00-4bf92f3577b34da6-01","errors":{"resellerId":["The value 'x' is not valid."]}}`,
				"Content-Type", "application/problem+json; charset=utf-8"),
			want: wantStatus{codes.InvalidArgument, "One or more validation errors occurred.", d("UPSTREAM_BAD_REQUEST",
				st("400", "upstreamType", "https://tools.ietf.org/html/rfc7231#section-6.5.1"),
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
					{Field: "resellerId", Description: "The value 'x' is not valid."},
				}})},
		},
		{
			name: "401 empty body",
			give: answer(401, "", "WWW-Authenticate", `Bearer error="invalid_token"`),
			want: wantStatus{codes.Unauthenticated, "upstream answered 401 Unauthorized", d("UPSTREAM_UNAUTHENTICATED", st("401"))},
		},
		{
			name: "403 empty body",
			give: answer(403, ""),
			want: wantStatus{codes.PermissionDenied, "upstream answered 403 Forbidden", d("UPSTREAM_PERMISSION_DENIED", st("403"))},
		},
		{
			name: "404 envelope",
			give: answer(404, envelopeJSON("404", "NotFound", "Reseller not found.", "null"), "Content-Type", "application/json"),
			want: wantStatus{codes.NotFound, "Reseller not found.", d("UPSTREAM_NOT_FOUND", st("404", "upstreamType", "NotFound"), notFound)},
		},
		{
			name: "409 envelope",
			give: answer(409, envelopeJSON("409", "Conflict", "The reseller is being updated.", "[]"), "Content-Type", "application/json"),
			want: wantStatus{codes.Aborted, "The reseller is being updated.", d("UPSTREAM_CONFLICT", st("409", "upstreamType", "Conflict"))},
		},
		{
			name: "412 empty body",
			give: answer(412, ""),
			want: wantStatus{codes.FailedPrecondition, "upstream answered 412 Precondition Failed", d("UPSTREAM_PRECONDITION_FAILED", st("412"))},
		},
		{
			// Azure API Management's throttling answer; the wait is longer
			// than the call's deadline, so the client does not retry
			name: "429 with Retry-After",
			give: answer(429, `{"statusCode":429,"message":"Rate limit is exceeded. Try again in 30 seconds."}`,
				"Retry-After", "30", "Content-Type", "application/json"),
			want: wantStatus{codes.ResourceExhausted, "upstream answered 429 Too Many Requests", d("UPSTREAM_RATE_LIMITED", st("429"),
				&errdetails.RetryInfo{RetryDelay: durationpb.New(30 * time.Second)})},
		},
		{
			name: "429 without Retry-After",
			give: answer(429, ""),
			want: wantStatus{codes.ResourceExhausted, "upstream answered 429 Too Many Requests", d("UPSTREAM_RATE_LIMITED", st("429"))},
		},
		{
			name: "499",
			give: answer(499, ""),
			want: wantStatus{codes.Canceled, "upstream answered 499", d("UPSTREAM_CANCELLED", st("499"))},
		},
		{
			name: "500 envelope",
			give: answer(500, envelopeJSON("500", "InternalServerError", "An unexpected error occurred.", "null"), "Content-Type", "application/json"),
			want: wantStatus{codes.Internal, "An unexpected error occurred.", d("UPSTREAM_INTERNAL_ERROR", st("500", "upstreamType", "InternalServerError"))},
		},
		{
			name: "500 empty body",
			give: answer(500, ""),
			want: wantStatus{codes.Internal, "upstream answered 500 Internal Server Error", d("UPSTREAM_INTERNAL_ERROR", st("500"))},
		},
		{
			name:   "500 plain text stack trace",
			give:   answer(500, stackTrace, "Content-Type", "text/plain"),
			want:   wantStatus{codes.Internal, "upstream answered 500 Internal Server Error", d("UPSTREAM_INTERNAL_ERROR", st("500"))},
			secret: "hunter2",
		},
		{
			name: "501",
			give: answer(501, ""),
			want: wantStatus{codes.Unimplemented, "upstream answered 501 Not Implemented", d("UPSTREAM_NOT_IMPLEMENTED", st("501"))},
		},
		{
			name:   "502 HTML from a proxy",
			give:   answer(502, htmlBody, "Content-Type", "text/html"),
			want:   wantStatus{codes.Unavailable, "upstream answered 502 Bad Gateway", d("UPSTREAM_UNAVAILABLE", st("502"))},
			secret: "secret-internal-host",
		},
		{
			name: "503 HTML with Retry-After",
			give: answer(503, htmlBody, "Content-Type", "text/html", "Retry-After", "120"),
			want: wantStatus{codes.Unavailable, "upstream answered 503 Service Unavailable", d("UPSTREAM_UNAVAILABLE", st("503"),
				&errdetails.RetryInfo{RetryDelay: durationpb.New(120 * time.Second)})},
			secret: "<html>",
		},
		{
			name: "503 without Retry-After",
			give: answer(503, ""),
			want: wantStatus{codes.Unavailable, "upstream answered 503 Service Unavailable", d("UPSTREAM_UNAVAILABLE", st("503"))},
		},
		{
			name: "503 with an invalid Retry-After",
			give: answer(503, "", "Retry-After", "soon"),
			want: wantStatus{codes.Unavailable, "upstream answered 503 Service Unavailable", d("UPSTREAM_UNAVAILABLE", st("503"))},
		},
		{
			name: "504",
			give: answer(504, "<html>timeout</html>", "Content-Type", "text/html"),
			want: wantStatus{codes.DeadlineExceeded, "upstream answered 504 Gateway Timeout", d("UPSTREAM_TIMEOUT", st("504"))},
		},
		{
			name: "418 other 4xx",
			give: answer(418, ""),
			want: wantStatus{codes.FailedPrecondition, "upstream answered 418 I'm a teapot", d("UPSTREAM_CLIENT_ERROR", st("418"))},
		},
		{
			name: "507 other 5xx",
			give: answer(507, envelopeJSON("507", "Storage", "Out of space.", "[]"), "Content-Type", "application/json"),
			want: wantStatus{codes.Internal, "Out of space.", d("UPSTREAM_SERVER_ERROR", st("507", "upstreamType", "Storage"))},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, tt.give)
			f := newFacadeOneAttempt(t, up.url)
			var header metadata.MD
			got, err := f.resellers.GetReseller(callCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID}, grpc.Header(&header))
			if got != nil {
				t.Errorf("GetReseller() = %v, want no reseller", got)
			}
			checkStatus(t, err, tt.want)
			checkErrorShape(t, err, testCorrelationID)
			if id := headerID(t, header); id != testCorrelationID {
				t.Errorf("response header x-correlation-id = %q, want %q", id, testCorrelationID)
			}
			if tt.secret != "" {
				if s := statusJSON(t, err); strings.Contains(s, tt.secret) {
					t.Errorf("status echoes the upstream body: %s", s)
				}
			}
			if n := up.count(); n != 1 {
				t.Errorf("the upstream got %d requests, want 1", n)
			}
		})
	}
}

// TestRetriedUpstreamErrors runs failures the client retries by default
// through the stack with the default client configuration: whatever the
// retries, the caller gets the last answer's mapping, and an attempt count,
// when the status reports one, matches what the upstream saw.
func TestRetriedUpstreamErrors(t *testing.T) {
	refused := httptest.NewServer(http.NotFoundHandler())
	refusedURL := refused.URL
	refused.Close()

	tests := []struct {
		name       string
		give       http.HandlerFunc // nil: connection refused
		wantCode   codes.Code
		wantReason string
		wantHTTP   string
	}{
		{"502 HTML", answer(502, "<html>bad gateway</html>", "Content-Type", "text/html"), codes.Unavailable, "UPSTREAM_UNAVAILABLE", "502"},
		{"503 empty", answer(503, ""), codes.Unavailable, "UPSTREAM_UNAVAILABLE", "503"},
		{"504", answer(504, ""), codes.DeadlineExceeded, "UPSTREAM_TIMEOUT", "504"},
		{"429 without Retry-After", answer(429, ""), codes.ResourceExhausted, "UPSTREAM_RATE_LIMITED", "429"},
		{"connection refused", nil, codes.Unavailable, "UPSTREAM_UNREACHABLE", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base, count := refusedURL, func() int { return 0 }
			if tt.give != nil {
				up := newUpstream(t, tt.give)
				base, count = up.url, up.count
			}
			f := newFacade(t, base)
			_, err := f.resellers.GetReseller(callCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID})
			if status.Code(err) != tt.wantCode {
				t.Errorf("code = %v, want %v", status.Code(err), tt.wantCode)
			}
			info := checkErrorShape(t, err, testCorrelationID)
			md := info.GetMetadata()
			if info.GetReason() != tt.wantReason || md["upstreamHttpStatus"] != tt.wantHTTP {
				t.Errorf("reason %q, upstreamHttpStatus %q; want %q, %q", info.GetReason(), md["upstreamHttpStatus"], tt.wantReason, tt.wantHTTP)
			}
			if n, ok := md["upstreamAttempts"]; ok && tt.give != nil && n != strconv.Itoa(count()) {
				t.Errorf("upstreamAttempts = %s, but the upstream got %d requests", n, count())
			}
		})
	}
}

func TestGetAcceptanceLinkUpstreamErrors(t *testing.T) {
	d := func(reason string, meta map[string]string, extra ...proto.Message) []proto.Message {
		return details(reason, apierr.OpGetAcceptanceLink, testCorrelationID, meta, extra...)
	}
	tests := []struct {
		name string
		give http.HandlerFunc
		want wantStatus
	}{
		{
			// no ResourceInfo: which of the ids was not found is not known
			name: "404 provider instance",
			give: answer(404, envelopeJSON("404", "NotFound", "Provider instance not found.", "null"), "Content-Type", "application/json"),
			want: wantStatus{codes.NotFound, "Provider instance not found.", d("UPSTREAM_NOT_FOUND",
				map[string]string{"upstreamHttpStatus": "404", "upstreamType": "NotFound"})},
		},
		{
			name: "400 envelope",
			give: answer(400, envelopeJSON("400", "ValidationError", "One or more validation errors occurred.",
				`[{"propertyName":"providerInstanceId","description":["The providerInstanceId field is required."]}]`), "Content-Type", "application/json"),
			want: wantStatus{codes.InvalidArgument, "One or more validation errors occurred.", d("UPSTREAM_BAD_REQUEST",
				map[string]string{"upstreamHttpStatus": "400", "upstreamType": "ValidationError"},
				&errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
					{Field: "providerInstanceId", Description: "The providerInstanceId field is required."},
				}})},
		},
		{
			name: "403 empty body",
			give: answer(403, ""),
			want: wantStatus{codes.PermissionDenied, "upstream answered 403 Forbidden", d("UPSTREAM_PERMISSION_DENIED", map[string]string{"upstreamHttpStatus": "403"})},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, tt.give)
			f := newFacadeOneAttempt(t, up.url)
			_, err := f.customers.GetAcceptanceLink(callCtx(t, validMD()...), &pb.GetAcceptanceLinkRequest{
				ProviderInstanceId: testProviderID, ResellerId: ptr(testResellerID),
			})
			checkStatus(t, err, tt.want)
			checkErrorShape(t, err, testCorrelationID)
		})
	}
}

func TestUpstreamUnreachable(t *testing.T) {
	srv := httptest.NewServer(http.NotFoundHandler())
	base := srv.URL
	srv.Close() // nothing listens there any more: connection refused

	tests := []struct {
		name string
		op   string
		call func(*facade, context.Context) error
	}{
		{"reseller", apierr.OpGetReseller, func(f *facade, ctx context.Context) error {
			_, err := f.resellers.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: testResellerID})
			return err
		}},
		{"link", apierr.OpGetAcceptanceLink, func(f *facade, ctx context.Context) error {
			_, err := f.customers.GetAcceptanceLink(ctx, &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testProviderID})
			return err
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f := newFacadeOneAttempt(t, base) // a client of its own: no circuit breaker state shared
			err := tt.call(f, callCtx(t, validMD()...))
			checkStatus(t, err, wantStatus{codes.Unavailable, "the upstream could not be reached (connection refused)",
				details("UPSTREAM_UNREACHABLE", tt.op, testCorrelationID, map[string]string{"cause": "refused"})})
			if strings.Contains(statusJSON(t, err), strings.TrimPrefix(base, "http://")) {
				t.Error("the status names the upstream address")
			}
		})
	}
}

// slowUpstream answers only when its request is abandoned, and reports that
// on gone.
func slowUpstream(t *testing.T) (u *fakeUpstream, arrived <-chan struct{}, gone <-chan struct{}) {
	t.Helper()
	arrivedC := make(chan struct{}, 1)
	goneC := make(chan struct{})
	var once sync.Once
	u = newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		select {
		case arrivedC <- struct{}{}:
		default:
		}
		select {
		case <-r.Context().Done():
			once.Do(func() { close(goneC) })
		case <-time.After(callTimeout):
			w.WriteHeader(http.StatusOK)
		}
	})
	return u, arrivedC, goneC
}

// waitClosed fails the test when ch is not closed within the call timeout.
func waitClosed(t *testing.T, ch <-chan struct{}, what string) {
	t.Helper()
	select {
	case <-ch:
	case <-time.After(callTimeout):
		t.Errorf("%s did not happen", what)
	}
}

func TestCallerDeadline(t *testing.T) {
	up, _, gone := slowUpstream(t)
	f := newFacade(t, up.url)
	ctx, cancel := context.WithTimeout(callCtx(t, validMD()...), 300*time.Millisecond)
	defer cancel()
	_, err := f.resellers.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: testResellerID})
	if status.Code(err) != codes.DeadlineExceeded {
		t.Fatalf("GetReseller() error = %v, want DeadlineExceeded", err)
	}
	waitClosed(t, gone, "cancelling the upstream request")
}

func TestCallerCancel(t *testing.T) {
	up, arrived, gone := slowUpstream(t)
	f := newFacade(t, up.url)
	ctx, cancel := context.WithCancel(callCtx(t, validMD()...))
	defer cancel()
	go func() {
		select {
		case <-arrived:
			cancel()
		case <-ctx.Done():
		}
	}()
	_, err := f.customers.GetAcceptanceLink(ctx, &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testProviderID})
	if status.Code(err) != codes.Canceled {
		t.Fatalf("GetAcceptanceLink() error = %v, want Canceled", err)
	}
	waitClosed(t, gone, "cancelling the upstream request")
}

// TestHandlerContextErrors calls the handlers directly, as the server does,
// to see the status they return when the call's context ends (over gRPC
// the caller's own library reports the deadline or cancellation first).
func TestHandlerContextErrors(t *testing.T) {
	tests := []struct {
		name string
		// end ends ctx once the upstream has the request (or on its own)
		end  func(ctx context.Context, arrived <-chan struct{}) (context.Context, context.CancelFunc)
		want wantStatus
	}{
		{
			name: "deadline",
			end: func(ctx context.Context, _ <-chan struct{}) (context.Context, context.CancelFunc) {
				return context.WithTimeout(ctx, 200*time.Millisecond)
			},
			want: wantStatus{codes.DeadlineExceeded, "the call's deadline passed before the upstream answered",
				details("DEADLINE_EXCEEDED", apierr.OpGetReseller, testCorrelationID, nil)},
		},
		{
			name: "cancel",
			end: func(ctx context.Context, arrived <-chan struct{}) (context.Context, context.CancelFunc) {
				ctx, cancel := context.WithCancel(ctx)
				go func() {
					select {
					case <-arrived:
						cancel()
					case <-ctx.Done():
					}
				}()
				return ctx, cancel
			},
			want: wantStatus{codes.Canceled, "the call was cancelled by the caller",
				details("CANCELLED", apierr.OpGetReseller, testCorrelationID, nil)},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up, arrived, gone := slowUpstream(t)
			client := newRESTClient(t, rest.Config{BaseURL: up.url})
			ctx, cancel := tt.end(beginCtx(t, validMD()...), arrived)
			defer cancel()
			got, err := NewResellerServer(client).GetReseller(ctx, &pb.GetResellerRequest{ResellerId: testResellerID})
			if got != nil {
				t.Errorf("GetReseller() = %v, want nil", got)
			}
			checkStatus(t, err, tt.want)
			waitClosed(t, gone, "cancelling the upstream request")
		})
	}
}

func TestGetResellerUndecodableBody(t *testing.T) {
	tests := []struct {
		name, contentType, body string
	}{
		{"garbage", "application/json", "not json at all"},
		{"truncated", "application/json", `{"id":"11111111-1111-4111-8111-111111111111","companyName":"Contoso","providerResellers":[{"providerInstanceId":"cb3c`},
		{"empty", "application/json", ""},
		{"JSON null", "application/json", "null"},
		{"array", "application/json", `[{"id":"11111111-1111-4111-8111-111111111111"}]`},
		{"string", "application/json", `"11111111-1111-4111-8111-111111111111"`},
		{"wrong type", "application/json", `{"id":"11111111-1111-4111-8111-111111111111","companyName":42}`},
		{"wrong nested type", "application/json", `{"id":"11111111-1111-4111-8111-111111111111","providerResellers":[{"priceMargin":{"value":"eight"}}]}`},
		{"trailing garbage", "application/json", `{"id":"11111111-1111-4111-8111-111111111111"} {"id":"x"}`},
		{"HTML with 200", "text/html", "<html><body>Sign in</body></html>"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, answer(200, tt.body, "Content-Type", tt.contentType))
			f := newFacade(t, up.url)
			got, err := f.resellers.GetReseller(callCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID})
			if got != nil {
				t.Errorf("GetReseller() = %v, want no reseller", got)
			}
			checkStatus(t, err, wantStatus{codes.Internal, "the upstream response could not be decoded",
				details("UPSTREAM_BAD_RESPONSE", apierr.OpGetReseller, testCorrelationID, nil)})

			// the handler itself returns nothing, not a half-filled message
			client := newRESTClient(t, rest.Config{BaseURL: up.url})
			direct, err := NewResellerServer(client).GetReseller(beginCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID})
			if direct != nil || status.Code(err) != codes.Internal {
				t.Errorf("handler returned %v, %v; want nil, INTERNAL", direct, err)
			}
		})
	}
}

func TestGetAcceptanceLinkUndecodableBody(t *testing.T) {
	tests := []struct {
		name, contentType, body string
	}{
		{"object", "application/json", `{"url":"https://admin.microsoft.com/Adminportal/Home"}`},
		{"number", "application/json", "42"},
		{"JSON null", "application/json", "null"},
		{"empty", "application/json", ""},
		{"empty JSON string", "application/json", `""`},
		{"truncated JSON string", "application/json", `"https://admin.microsoft.com/Adminportal/Ho`},
		{"not a URL", "application/json", `"see the portal"`},
		{"relative URL", "application/json", `"/Adminportal/Home"`},
		{"other scheme", "application/json", `"javascript:alert(1)"`},
		{"no host", "text/plain", "https://"},
		{"HTML", "text/html", "<html><body>Sign in</body></html>"},
		// Not UTF-8: grpc-go could not marshal such a link (a proto3 string
		// must be UTF-8), and the caller got a bare INTERNAL without details.
		{"raw URL, path not UTF-8", "text/plain; charset=utf-8", "https://admin.microsoft.com/Adminportal/\xff"},
		{"raw URL, host not UTF-8", "text/plain; charset=utf-8", "https://admin\xc3.microsoft.com/x"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, answer(200, tt.body, "Content-Type", tt.contentType))
			f := newFacade(t, up.url)
			got, err := f.customers.GetAcceptanceLink(callCtx(t, validMD()...), &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testProviderID})
			if got != nil {
				t.Errorf("GetAcceptanceLink() = %v, want no link", got)
			}
			checkStatus(t, err, wantStatus{codes.Internal, "the upstream response could not be decoded",
				details("UPSTREAM_BAD_RESPONSE", apierr.OpGetAcceptanceLink, testCorrelationID, nil)})
		})
	}
}

func TestResponseTooLarge(t *testing.T) {
	body, err := os.ReadFile("testdata/reseller_spec_example.json")
	if err != nil {
		t.Fatal(err)
	}
	up := newUpstream(t, answer(200, string(body), "Content-Type", "application/json"))
	f := newFacadeConfig(t, rest.Config{BaseURL: up.url, MaxBodyBytes: 256})
	_, err = f.resellers.GetReseller(callCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID})
	checkStatus(t, err, wantStatus{codes.Internal, "the upstream response is larger than the configured limit",
		details("UPSTREAM_RESPONSE_TOO_LARGE", apierr.OpGetReseller, testCorrelationID, nil)})
}

// TestAnswerGrownPastTheMessageLimit checks that an answer whose body is
// within the body limit, but whose message grows past what a gRPC client
// (4 MiB by default) or vanguard takes, in protobuf or in Connect's JSON, is a
// status with details rather than an error the caller's own client raises: a
// byte that is not UTF-8 becomes U+FFFD (three bytes), resellerProviderData is
// sent twice, as sent and parsed, and a control character takes 6 bytes in
// JSON.
func TestAnswerGrownPastTheMessageLimit(t *testing.T) {
	notUTF8 := strings.Repeat("\xff", 1<<20-200)
	tests := []struct {
		name string
		body string
		call func(context.Context, *facade) error
		op   string
	}{
		{
			name: "reseller", op: apierr.OpGetReseller,
			body: `{"id":"` + testResellerID + `","providerResellers":[{"resellerProviderData":"{\"IndirectResellerId\":\"` + notUTF8 + `\"}"}]}`,
			call: func(ctx context.Context, f *facade) error {
				_, err := f.resellers.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: testResellerID})
				return err
			},
		},
		{
			// 3.99 MiB in protobuf, 4.1 MiB in Connect's JSON: vanguard answered
			// Connect JSON callers 429 "max buffer size (4194304) exceeded".
			name: "reseller, larger in JSON", op: apierr.OpGetReseller,
			body: `{"id":"` + testResellerID + `","companyName":"` + strings.Repeat(`\u0001`, 62_000) +
				`","providerResellers":[{"resellerProviderData":"{\"IndirectResellerId\":\"` + notUTF8[:655_000] + `\"}"}]}`,
			call: func(ctx context.Context, f *facade) error {
				_, err := f.resellers.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: testResellerID})
				return err
			},
		},
		{
			name: "acceptance link", op: apierr.OpGetAcceptanceLink,
			body: `"https://admin.microsoft.com/` + notUTF8 + notUTF8[:1<<19] + `"`,
			call: func(ctx context.Context, f *facade) error {
				_, err := f.customers.GetAcceptanceLink(ctx, &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testProviderID})
				return err
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, answer(200, tt.body, "Content-Type", "application/json"))
			f := newFacadeConfig(t, rest.Config{BaseURL: up.url, MaxBodyBytes: 2 << 20})
			err := tt.call(callCtx(t, validMD()...), f)
			checkStatus(t, err, wantStatus{codes.Internal, "the upstream response is larger than the configured limit",
				details("UPSTREAM_RESPONSE_TOO_LARGE", tt.op, testCorrelationID, nil)})
		})
	}
}

// TestRedirectNotFollowed checks that a redirect does not take the caller's
// credentials to another server.
func TestRedirectNotFollowed(t *testing.T) {
	other := newUpstream(t, answer(200, `{"id":"`+testResellerID+`"}`, "Content-Type", "application/json"))
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, other.url+r.URL.Path, http.StatusFound)
	})
	f := newFacade(t, up.url)
	_, err := f.resellers.GetReseller(callCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID})
	if status.Code(err) != codes.Internal {
		t.Errorf("GetReseller() error = %v, want INTERNAL", err)
	}
	if info := checkErrorShape(t, err, testCorrelationID); info.GetMetadata()["upstreamHttpStatus"] != "302" {
		t.Errorf("upstreamHttpStatus = %q, want 302", info.GetMetadata()["upstreamHttpStatus"])
	}
	if n := other.count(); n != 0 {
		t.Errorf("the redirect target got %d requests, want 0", n)
	}
}

// specExample is the spec's 200 example for GET /v1/Resellers/{resellerId}
// (testdata/reseller_spec_example.json), mapped: its offerTypeMargins come
// wrapped in {"Value": ...} with PascalCase margin properties.
func specExample() *pb.Reseller {
	s := func() *string { return ptr("string") }
	return &pb.Reseller{
		Id:          "string",
		CompanyName: s(), Country: s(), AddressLine1: s(), AddressLine2: s(), City: s(), State: s(), ZipCode: s(),
		FirstName: s(), LastName: s(), Email: s(), Phone: s(), InternalIdentifier: s(), TaxId: s(),
		ProviderResellers: []*pb.ProviderReseller{{
			ProviderInstanceId: "cb3cd15b-1d6e-45be-b493-c71549cbfd87",
			PriceMargin:        &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(8.0)},
			OfferTypeMargins: map[string]*pb.PriceMargin{
				"license": {MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(10.0)},
			},
			ProviderResellerId:   ptr("968bd16f-7eca-494d-b29f-440b9ef5cf5d"),
			ResellerProviderData: ptr(`{"indirectResellerId" : "f94f06fd-dc98-47fb-bd49-63bc98bd87f2","secondaryMpnIds": [ "123456", "654321"]}`),
			ProviderData: &pb.ProviderData{
				IndirectResellerId: ptr("f94f06fd-dc98-47fb-bd49-63bc98bd87f2"),
				SecondaryMpnIds:    []string{"123456", "654321"},
			},
		}},
		CustomDomain: &pb.CustomDomain{CustomDomain: s(), Status: s()},
	}
}

// lockedBuffer is a bytes.Buffer safe for the server's goroutines to log
// into while the test reads it.
type lockedBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *lockedBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *lockedBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func TestGetResellerTolerantDecoding(t *testing.T) {
	spec, err := os.ReadFile("testdata/reseller_spec_example.json")
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name     string
		body     string
		want     *pb.Reseller
		wantLogs []string // substrings of the warnings logged; none expected when empty
	}{
		{
			// The spec example with the id asked for: its own id, "string",
			// would be rejected as another reseller's.
			name: "spec example",
			body: strings.Replace(string(spec), `"id": "string"`, `"id": "`+testResellerID+`"`, 1),
			want: func() *pb.Reseller { r := specExample(); r.Id = testResellerID; return r }(),
		},
		{
			name: "PascalCase",
			body: `{"Id":"` + testResellerID + `","CompanyName":"Tailspin Toys","Country":"PT","TaxId":"PT1",` +
				`"ProviderResellers":[{"ProviderInstanceId":"CB3CD15B-1D6E-45BE-B493-C71549CBFD87",` +
				`"PriceMargin":{"MarginRule":{"Name":"MARKUP"},"Value":5},` +
				`"OfferTypeMargins":{"Azure":{"MarginRule":{"Name":"ErpMinusDiscount"},"Value":1.5}},` +
				`"ProviderResellerId":"123","ResellerProviderData":"{\"IndirectResellerId\":null,\"SecondaryMpnIds\":[\"1\"]}",` +
				`"Status":{"Name":"success"}}],"CustomDomain":{"CustomDomain":"x.example","Status":{"Name":"Active"}}}`,
			want: &pb.Reseller{
				Id: testResellerID, CompanyName: ptr("Tailspin Toys"), Country: ptr("PT"), TaxId: ptr("PT1"),
				ProviderResellers: []*pb.ProviderReseller{{
					ProviderInstanceId: "CB3CD15B-1D6E-45BE-B493-C71549CBFD87",
					PriceMargin:        &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(5.0)},
					OfferTypeMargins: map[string]*pb.PriceMargin{
						"Azure": {MarginRule: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT, Value: ptr(1.5)},
					},
					ProviderResellerId:   ptr("123"),
					ResellerProviderData: ptr(`{"IndirectResellerId":null,"SecondaryMpnIds":["1"]}`),
					ProviderData:         &pb.ProviderData{SecondaryMpnIds: []string{"1"}},
					Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS,
				}},
				CustomDomain: &pb.CustomDomain{CustomDomain: ptr("x.example"), Status: ptr("Active")},
			},
		},
		{
			name: "nulls and unknown properties",
			body: "\uFEFF" + `{"id":"` + testResellerID + `","companyName":null,"country":"","addressLine2":null,"futureField":{"a":[1,2,{"b":null}]},` +
				`"providerResellers":[{"providerInstanceId":"` + testProviderID + `","priceMargin":{"marginRule":null,"value":null,"currency":"EUR"},` +
				`"offerTypeMargins":null,"providerResellerId":null,"resellerProviderData":null,"status":null,"extra":true}],` +
				`"customDomain":null,"createdAt":"2024-01-01T00:00:00Z"}`,
			want: &pb.Reseller{
				Id: testResellerID, Country: ptr(""),
				ProviderResellers: []*pb.ProviderReseller{{ProviderInstanceId: testProviderID, PriceMargin: &pb.PriceMargin{}}},
			},
		},
		{
			name: "null provider resellers and empty offer type margins",
			body: `{"id":"` + testResellerID + `","providerResellers":null}`,
			want: &pb.Reseller{Id: testResellerID},
		},
		{
			name: "unknown enum names",
			body: `{"id":"` + testResellerID + `","providerResellers":[{"providerInstanceId":"` + testProviderID + `",` +
				`"priceMargin":{"marginRule":{"name":"Rebate"},"value":3},"offerTypeMargins":{},"status":{"name":"Suspended"}}]}`,
			want: &pb.Reseller{Id: testResellerID, ProviderResellers: []*pb.ProviderReseller{{
				ProviderInstanceId: testProviderID, PriceMargin: &pb.PriceMargin{Value: ptr(3.0)},
			}}},
			wantLogs: []string{`"names":"marginRule=Rebate, status=Suspended"`, `"count":2`},
		},
		{
			// An upstream that adds a value to an enum must not flood the log:
			// one line per call, the first four distinct names, the count of all.
			name: "many unknown enum names",
			body: `{"id":"` + testResellerID + `","providerResellers":[` + strings.Repeat(`{"providerInstanceId":"`+testProviderID+`","status":{"name":"Suspended"}},`, 40) +
				`{"providerInstanceId":"` + testProviderID + `","status":{"name":"Paused"},"priceMargin":{"marginRule":{"name":"Rebate"}}},` +
				`{"providerInstanceId":"` + testProviderID + `","status":{"name":"` + strings.Repeat("x", 100) + `"}},` +
				`{"providerInstanceId":"` + testProviderID + `","status":{"name":"Gone"}}]}`,
			want: &pb.Reseller{Id: testResellerID, ProviderResellers: slices.Concat(
				slices.Repeat([]*pb.ProviderReseller{{ProviderInstanceId: testProviderID}}, 40),
				[]*pb.ProviderReseller{{ProviderInstanceId: testProviderID, PriceMargin: &pb.PriceMargin{}}},
				slices.Repeat([]*pb.ProviderReseller{{ProviderInstanceId: testProviderID}}, 2))},
			wantLogs: []string{
				`"names":"status=Suspended, marginRule=Rebate, status=Paused, status=` + strings.Repeat("x", 45) + `…"`,
				`"count":44`,
			},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, answer(200, tt.body, "Content-Type", "application/json; charset=utf-8"))
			var logs lockedBuffer
			f := newFacade(t, up.url, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
			got, err := f.resellers.GetReseller(callCtx(t, validMD()...), &pb.GetResellerRequest{ResellerId: testResellerID})
			if err != nil {
				t.Fatalf("GetReseller() error = %v", err)
			}
			if diff := gocmp.Diff(tt.want, got, protocmp.Transform()); diff != "" {
				t.Errorf("GetReseller() mismatch (-want +got):\n%s", diff)
			}
			out := logs.String()
			if len(tt.wantLogs) == 0 && out != "" {
				t.Errorf("unexpected warnings:\n%s", out)
			}
			for _, w := range tt.wantLogs {
				if !strings.Contains(out, w) || !strings.Contains(out, testCorrelationID) {
					t.Errorf("warnings lack %s (and the correlation id):\n%s", w, out)
				}
			}
			if n := strings.Count(out, "\n"); len(tt.wantLogs) > 0 && n != 1 {
				t.Errorf("%d warning lines, want one per call:\n%s", n, out)
			}
		})
	}
}

func TestGetAcceptanceLinkBodies(t *testing.T) {
	const link = "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship&partnerId=3f8e2a61-9c4d-4b7e-8a15-d2c6f0b9e347&msppId=0&DAP=true#/BillingAccounts/partner-invitation"
	escaped := strings.ReplaceAll(link, "&", `\u0026`)
	tests := []struct {
		name, contentType, body string
	}{
		{"JSON string", "application/json; charset=utf-8", `"` + link + `"`},
		{"JSON string with escaped ampersands", "application/json; charset=utf-8", `"` + escaped + `"`},
		{"JSON string with white space and BOM", "application/json", "\uFEFF  \"" + link + "\"\r\n"},
		{"text/plain", "text/plain; charset=utf-8", link},
		{"text/plain with newline", "text/plain", link + "\r\n"},
		{"raw URL without content type", "", link},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, func(w http.ResponseWriter, _ *http.Request) {
				if tt.contentType != "" {
					w.Header().Set("Content-Type", tt.contentType)
				} else {
					w.Header()["Content-Type"] = nil // no sniffing
				}
				_, _ = w.Write([]byte(tt.body))
			})
			f := newFacade(t, up.url)
			got, err := f.customers.GetAcceptanceLink(callCtx(t, validMD()...), &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testProviderID})
			if err != nil {
				t.Fatalf("GetAcceptanceLink() error = %v", err)
			}
			if diff := gocmp.Diff(&pb.GetAcceptanceLinkResponse{Url: link}, got, protocmp.Transform()); diff != "" {
				t.Errorf("GetAcceptanceLink() mismatch (-want +got):\n%s", diff)
			}
		})
	}
}

// forwardedHeaders are the caller's values the upstream may see; infraHeaders
// are the ones the service adds itself.
var (
	forwardedHeaders = []string{"Authorization", "Traceparent", "Tracestate", "X-Correlation-Id", "X-Tenant"}
	infraHeaders     = []string{"Accept", "Accept-Encoding", "User-Agent"}
)

// checkForwarded checks that the upstream saw exactly the want values of the
// forwarded headers, only the service's own headers besides, and nothing
// that holds marker.
func checkForwarded(t *testing.T, got http.Header, want map[string]string, marker string) {
	t.Helper()
	gotForwarded := map[string][]string{}
	for k, vs := range got {
		switch {
		case slices.Contains(forwardedHeaders, k):
			gotForwarded[k] = vs
		case !slices.Contains(infraHeaders, k):
			t.Errorf("upstream got header %s: %q", k, vs)
		}
		for _, v := range vs {
			if strings.Contains(v, marker) || strings.Contains(v, "grpc-go") {
				t.Errorf("upstream got caller metadata in %s: %q", k, v)
			}
		}
	}
	wantForwarded := map[string][]string{}
	for k, v := range want {
		wantForwarded[k] = []string{v}
	}
	if diff := gocmp.Diff(wantForwarded, gotForwarded); diff != "" {
		t.Errorf("forwarded headers mismatch (-want +got):\n%s", diff)
	}
}

func TestHeaderForwarding(t *testing.T) {
	const marker = "s3cr3t-marker"
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.Contains(r.URL.Path, "Resellers") {
			answer(200, `{"id":"`+testResellerID+`"}`, "Content-Type", "application/json")(w, r)
			return
		}
		answer(200, `"https://admin.microsoft.com/Adminportal/Home"`, "Content-Type", "application/json")(w, r)
	})
	f := newFacade(t, up.url)
	md := append(validMD(),
		"x-secret", marker, "x-api-key", marker, "cookie", "session="+marker, "x-forwarded-for", marker,
		"x-tenant-id", marker, "proxy-authorization", "Basic "+marker, "x-secret-bin", marker)

	var header metadata.MD
	if _, err := f.resellers.GetReseller(callCtx(t, md...), &pb.GetResellerRequest{ResellerId: testResellerID}, grpc.Header(&header)); err != nil {
		t.Fatalf("GetReseller() error = %v", err)
	}
	if _, err := f.customers.GetAcceptanceLink(callCtx(t, md...), &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testProviderID}); err != nil {
		t.Fatalf("GetAcceptanceLink() error = %v", err)
	}
	reqs := up.requests()
	if len(reqs) != 2 {
		t.Fatalf("upstream got %d requests, want 2", len(reqs))
	}
	want := map[string]string{"Authorization": testAuth, "X-Tenant": testTenant, "X-Correlation-Id": testCorrelationID}
	for _, r := range reqs {
		if r.method != http.MethodGet {
			t.Errorf("upstream got %s %s, want GET", r.method, r.path)
		}
		checkForwarded(t, r.header, want, marker)
	}
	if id := headerID(t, header); id != testCorrelationID {
		t.Errorf("response header x-correlation-id = %q, want the caller's %q", id, testCorrelationID)
	}
}

// TestTraceContextForwarded: the caller's W3C trace context goes upstream
// with the other headers when it is well-formed, and not at all otherwise.
func TestTraceContextForwarded(t *testing.T) {
	const traceparent = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01"
	tests := []struct {
		name string
		give []string // metadata pairs
		want map[string]string
	}{
		{"valid", []string{"traceparent", traceparent, "tracestate", "vendor=1"}, map[string]string{"Traceparent": traceparent, "Tracestate": "vendor=1"}},
		{"malformed is dropped", []string{"traceparent", "00-xyz", "tracestate", "vendor=1"}, map[string]string{}},
		{"absent", nil, map[string]string{}},
		{"repeated traceparent is dropped", []string{"traceparent", traceparent, "traceparent", traceparent, "tracestate", "vendor=1"}, map[string]string{}},
		{"repeated tracestate is dropped", []string{"traceparent", traceparent, "tracestate", "a=1", "tracestate", "b=2"}, map[string]string{"Traceparent": traceparent}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			up := newUpstream(t, answer(200, `{"id":"`+testResellerID+`"}`, "Content-Type", "application/json"))
			f := newFacade(t, up.url)
			md := append(validMD(), tt.give...)
			if _, err := f.resellers.GetReseller(callCtx(t, md...), &pb.GetResellerRequest{ResellerId: testResellerID}); err != nil {
				t.Fatalf("GetReseller() error = %v", err)
			}
			reqs := up.requests()
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(reqs))
			}
			want := map[string]string{"Authorization": testAuth, "X-Tenant": testTenant, "X-Correlation-Id": testCorrelationID}
			maps.Copy(want, tt.want)
			checkForwarded(t, reqs[0].header, want, "\x00")
		})
	}
}

func TestDefaultTenantForwarded(t *testing.T) {
	up := newUpstream(t, answer(200, `{"id":"`+testResellerID+`"}`, "Content-Type", "application/json"))
	f := newFacade(t, up.url, WithDefaultTenant("default.cloudcockpit.com"))
	if _, err := f.resellers.GetReseller(callCtx(t, "authorization", testAuth, "x-correlation-id", testCorrelationID),
		&pb.GetResellerRequest{ResellerId: testResellerID}); err != nil {
		t.Fatalf("GetReseller() error = %v", err)
	}
	reqs := up.requests()
	if len(reqs) != 1 {
		t.Fatalf("upstream got %d requests, want 1", len(reqs))
	}
	checkForwarded(t, reqs[0].header, map[string]string{
		"Authorization": testAuth, "X-Tenant": "default.cloudcockpit.com", "X-Correlation-Id": testCorrelationID,
	}, "\x00")
}

func TestCorrelationID(t *testing.T) {
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if strings.HasSuffix(r.URL.Path, sandbox.UnknownResellerID) {
			answer(404, `{"statusCode":404,"description":"Reseller not found."}`, "Content-Type", "application/json")(w, r)
			return
		}
		answer(200, `{"id":"`+testResellerID+`"}`, "Content-Type", "application/json")(w, r)
	})
	f := newFacade(t, up.url)
	noID := []string{"authorization", testAuth, "x-tenant", testTenant}

	t.Run("generated when absent", func(t *testing.T) {
		before := up.count()
		var ids []string
		for range 2 {
			var header metadata.MD
			if _, err := f.resellers.GetReseller(callCtx(t, noID...), &pb.GetResellerRequest{ResellerId: testResellerID}, grpc.Header(&header)); err != nil {
				t.Fatalf("GetReseller() error = %v", err)
			}
			ids = append(ids, headerID(t, header))
		}
		reqs := up.requests()[before:]
		if len(reqs) != 2 {
			t.Fatalf("upstream got %d requests, want 2", len(reqs))
		}
		for i, r := range reqs {
			if got := r.header.Values("X-Correlation-Id"); len(got) != 1 || got[0] != ids[i] {
				t.Errorf("call %d: upstream X-Correlation-Id = %q, want the returned %q", i, got, ids[i])
			}
		}
		if ids[0] == ids[1] {
			t.Errorf("two calls got the same generated id %q", ids[0])
		}
	})
	t.Run("generated id in an error", func(t *testing.T) {
		var header metadata.MD
		_, err := f.resellers.GetReseller(callCtx(t, noID...), &pb.GetResellerRequest{ResellerId: sandbox.UnknownResellerID}, grpc.Header(&header))
		if status.Code(err) != codes.NotFound {
			t.Fatalf("GetReseller() error = %v, want NotFound", err)
		}
		id := headerID(t, header)
		checkErrorShape(t, err, id)
		reqs := up.requests()
		if got := reqs[len(reqs)-1].header.Get("X-Correlation-Id"); got != id {
			t.Errorf("upstream X-Correlation-Id = %q, want %q", got, id)
		}
	})
	t.Run("caller's id kept", func(t *testing.T) {
		const upper = "0D6F3C1E-5B7A-4E2C-9F10-3A4B5C6D7E8F"
		var header metadata.MD
		if _, err := f.resellers.GetReseller(callCtx(t, append(noID, "x-correlation-id", upper)...),
			&pb.GetResellerRequest{ResellerId: testResellerID}, grpc.Header(&header)); err != nil {
			t.Fatalf("GetReseller() error = %v", err)
		}
		if id := headerID(t, header); id != upper {
			t.Errorf("response header x-correlation-id = %q, want %q", id, upper)
		}
		reqs := up.requests()
		if got := reqs[len(reqs)-1].header.Get("X-Correlation-Id"); got != upper {
			t.Errorf("upstream X-Correlation-Id = %q, want %q", got, upper)
		}
	})
	t.Run("invalid id replaced and rejected", func(t *testing.T) {
		before := up.count()
		var header metadata.MD
		_, err := f.resellers.GetReseller(callCtx(t, append(noID, "x-correlation-id", "req-42")...),
			&pb.GetResellerRequest{ResellerId: testResellerID}, grpc.Header(&header))
		id := headerID(t, header)
		if id == "req-42" {
			t.Error("the rejected id was returned")
		}
		checkStatus(t, err, wantStatus{codes.InvalidArgument,
			"invalid request: x-correlation-id: must be a UUID (8-4-4-4-12 hexadecimal digits), sent once",
			details("INVALID_REQUEST", apierr.OpGetReseller, id, nil, &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
				{Field: "x-correlation-id", Description: "must be a UUID (8-4-4-4-12 hexadecimal digits), sent once"},
			}})})
		if n := up.count() - before; n != 0 {
			t.Errorf("upstream got %d requests, want 0", n)
		}
	})
}

func TestUpstreamRequestLine(t *testing.T) {
	const otherReseller = "22222222-2222-4222-8222-222222222222"
	up := newUpstream(t, func(w http.ResponseWriter, r *http.Request) {
		if id, ok := strings.CutPrefix(r.URL.Path, "/v1/Resellers/"); ok {
			answer(200, `{"id":"`+id+`"}`, "Content-Type", "application/json")(w, r)
			return
		}
		answer(200, `"https://admin.microsoft.com/Adminportal/Home"`, "Content-Type", "application/json")(w, r)
	})
	f := newFacade(t, up.url)
	tests := []struct {
		name      string
		call      func(ctx context.Context) error
		wantPath  string
		wantQuery url.Values
	}{
		{
			name: "reseller",
			call: func(ctx context.Context) error {
				_, err := f.resellers.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: testResellerID})
				return err
			},
			wantPath: "/v1/Resellers/" + testResellerID,
		},
		{
			name: "reseller id upper case kept",
			call: func(ctx context.Context) error {
				_, err := f.resellers.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: strings.ToUpper(testProviderID)})
				return err
			},
			wantPath: "/v1/Resellers/" + strings.ToUpper(testProviderID),
		},
		{
			name: "link without reseller",
			call: func(ctx context.Context) error {
				_, err := f.customers.GetAcceptanceLink(ctx, &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testProviderID})
				return err
			},
			wantPath:  "/v1/Customers/relationship-acceptance",
			wantQuery: url.Values{"providerInstanceId": {testProviderID}},
		},
		{
			name: "link with reseller",
			call: func(ctx context.Context) error {
				_, err := f.customers.GetAcceptanceLink(ctx, &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testProviderID, ResellerId: ptr(otherReseller)})
				return err
			},
			wantPath:  "/v1/Customers/relationship-acceptance",
			wantQuery: url.Values{"providerInstanceId": {testProviderID}, "resellerId": {otherReseller}},
		},
		{
			name: "link ids upper case kept",
			call: func(ctx context.Context) error {
				_, err := f.customers.GetAcceptanceLink(ctx, &pb.GetAcceptanceLinkRequest{
					ProviderInstanceId: strings.ToUpper(testProviderID), ResellerId: ptr(strings.ToUpper(otherReseller)),
				})
				return err
			},
			wantPath:  "/v1/Customers/relationship-acceptance",
			wantQuery: url.Values{"providerInstanceId": {strings.ToUpper(testProviderID)}, "resellerId": {strings.ToUpper(otherReseller)}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			if err := tt.call(callCtx(t, validMD()...)); err != nil {
				t.Fatalf("call error = %v", err)
			}
			reqs := up.requests()[before:]
			if len(reqs) != 1 {
				t.Fatalf("upstream got %d requests, want 1", len(reqs))
			}
			r := reqs[0]
			if r.method != http.MethodGet || r.path != tt.wantPath {
				t.Errorf("upstream got %s %s, want GET %s", r.method, r.path, tt.wantPath)
			}
			if tt.wantQuery == nil {
				if r.rawQuery != "" {
					t.Errorf("upstream query = %q, want none", r.rawQuery)
				}
				return
			}
			// exactly the url.Values encoding: nothing else, nothing unescaped
			if r.rawQuery != tt.wantQuery.Encode() {
				t.Errorf("upstream query = %q, want %q", r.rawQuery, tt.wantQuery.Encode())
			}
		})
	}
}

// TestInvalidInputNeverReachesUpstream checks calls that must be rejected
// locally, through the whole gRPC stack.
func TestInvalidInputNeverReachesUpstream(t *testing.T) {
	up := newUpstream(t, answer(200, `{"id":"`+testResellerID+`"}`, "Content-Type", "application/json"))
	f := newFacade(t, up.url)
	valid := validMD()
	const absent = "\x00absent" // with: drop the key
	// with returns valid with the given keys replaced (or dropped).
	with := func(kv ...string) []string {
		md := metadata.Pairs(valid...)
		for i := 0; i+1 < len(kv); i += 2 {
			md.Delete(kv[i])
		}
		for i := 0; i+1 < len(kv); i += 2 {
			if kv[i+1] != absent {
				md.Append(kv[i], kv[i+1])
			}
		}
		var out []string
		for k, vs := range md {
			for _, v := range vs {
				out = append(out, k, v)
			}
		}
		return out
	}
	longTenant := strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + "." + strings.Repeat("c", 63) + "." + strings.Repeat("d", 62)
	reseller := func(id string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := f.resellers.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: id})
			return err
		}
	}
	link := func(providerID string, resellerID *string) func(context.Context) error {
		return func(ctx context.Context) error {
			_, err := f.customers.GetAcceptanceLink(ctx, &pb.GetAcceptanceLinkRequest{ProviderInstanceId: providerID, ResellerId: resellerID})
			return err
		}
	}
	tests := []struct {
		name     string
		call     func(context.Context) error
		md       []string
		wantCode codes.Code
	}{
		{"reseller id empty", reseller(""), valid, codes.InvalidArgument},
		{"reseller id ../x", reseller("../x"), valid, codes.InvalidArgument},
		{"reseller id ..", reseller(".."), valid, codes.InvalidArgument},
		{"reseller id %2F", reseller("%2F"), valid, codes.InvalidArgument},
		{"reseller id a%2Fb", reseller("a%2Fb"), valid, codes.InvalidArgument},
		{"reseller id a/b", reseller("a/b"), valid, codes.InvalidArgument},
		{"reseller id a?b=c", reseller("a?b=c"), valid, codes.InvalidArgument},
		{"reseller id a#b", reseller("a#b"), valid, codes.InvalidArgument},
		{"reseller id uuid/..", reseller(testResellerID + "/.."), valid, codes.InvalidArgument},
		{"reseller id uuid?x=1", reseller(testResellerID + "?x=1"), valid, codes.InvalidArgument},
		{"reseller id uuid#x", reseller(testResellerID + "#x"), valid, codes.InvalidArgument},
		{"reseller id braces", reseller("{" + testResellerID + "}"), valid, codes.InvalidArgument},
		{"reseller id urn", reseller("urn:uuid:" + testResellerID), valid, codes.InvalidArgument},
		{"reseller id space", reseller(" " + testResellerID), valid, codes.InvalidArgument},
		{"reseller id newline", reseller(testResellerID + "\n"), valid, codes.InvalidArgument},
		{"reseller id no dashes", reseller(strings.ReplaceAll(testResellerID, "-", "")), valid, codes.InvalidArgument},
		{"reseller id not hex", reseller("11111111-1111-4111-8111-11111111111g"), valid, codes.InvalidArgument},

		{"authorization missing", reseller(testResellerID), with("authorization", absent), codes.Unauthenticated},
		{"authorization empty", reseller(testResellerID), with("authorization", ""), codes.Unauthenticated},
		{"authorization Basic", reseller(testResellerID), with("authorization", "Basic x"), codes.Unauthenticated},
		{"authorization Bearer only", reseller(testResellerID), with("authorization", "Bearer"), codes.Unauthenticated},
		{"authorization token with space", reseller(testResellerID), with("authorization", "Bearer a b"), codes.Unauthenticated},
		{"authorization twice", reseller(testResellerID), append(slices.Clone(valid), "authorization", testAuth), codes.Unauthenticated},
		{"authorization over 16 KiB", reseller(testResellerID), with("authorization", "Bearer "+strings.Repeat("a", 16<<10+1)), codes.Unauthenticated},
		{"authorization missing and bad id", reseller("../x"), with("authorization", absent, "x-tenant", absent), codes.Unauthenticated},

		{"x-tenant missing", reseller(testResellerID), with("x-tenant", absent), codes.InvalidArgument},
		{"x-tenant one label", reseller(testResellerID), with("x-tenant", "localhost"), codes.InvalidArgument},
		{"x-tenant with port", reseller(testResellerID), with("x-tenant", "portal.cloudcockpit.com:443"), codes.InvalidArgument},
		{"x-tenant with path", reseller(testResellerID), with("x-tenant", "portal.cloudcockpit.com/x"), codes.InvalidArgument},
		{"x-tenant over 253 characters", reseller(testResellerID), with("x-tenant", longTenant), codes.InvalidArgument},
		{"x-tenant twice", reseller(testResellerID), append(slices.Clone(valid), "x-tenant", "other.example.com"), codes.InvalidArgument},

		{"x-correlation-id not a UUID", reseller(testResellerID), with("x-correlation-id", "req-42"), codes.InvalidArgument},
		{"x-correlation-id in braces", reseller(testResellerID), with("x-correlation-id", "{"+testCorrelationID+"}"), codes.InvalidArgument},
		{"x-correlation-id twice", reseller(testResellerID), append(slices.Clone(valid), "x-correlation-id", testCorrelationID), codes.InvalidArgument},

		{"link provider missing", link("", nil), valid, codes.InvalidArgument},
		{"link provider ../x", link("../x", nil), valid, codes.InvalidArgument},
		{"link provider with injected query", link(testProviderID+"&resellerId="+testResellerID, nil), valid, codes.InvalidArgument},
		{"link provider with fragment", link(testProviderID+"#x", nil), valid, codes.InvalidArgument},
		{"link reseller empty but set", link(testProviderID, ptr("")), valid, codes.InvalidArgument},
		{"link reseller a#b", link(testProviderID, ptr("a#b")), valid, codes.InvalidArgument},
		{"link reseller with injected query", link(testProviderID, ptr(testResellerID+"&providerInstanceId="+testProviderID)), valid, codes.InvalidArgument},
		{"link authorization Basic", link(testProviderID, nil), with("authorization", "Basic x"), codes.Unauthenticated},
		{"link x-tenant missing", link(testProviderID, nil), with("x-tenant", absent), codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			err := tt.call(metadata.NewOutgoingContext(callCtx(t), metadata.Pairs(tt.md...)))
			if status.Code(err) != tt.wantCode {
				t.Fatalf("error = %v, want %v", err, tt.wantCode)
			}
			st, _ := statusDetails(t, err)
			info := checkErrorShape(t, err, correlationOf(t, err))
			if _, ok := info.GetMetadata()["upstreamHttpStatus"]; ok {
				t.Error("a local error's ErrorInfo has upstreamHttpStatus")
			}
			if strings.Contains(st.Message(), "aaaaaaaa") || strings.Contains(st.Message(), "Basic x") {
				t.Errorf("message %q repeats the caller's values", st.Message())
			}
			if n := up.count() - before; n != 0 {
				t.Errorf("upstream got %d requests, want 0", n)
			}
		})
	}
}

// correlationOf returns the correlation id in err's RequestInfo.
func correlationOf(t *testing.T, err error) string {
	t.Helper()
	_, ds := statusDetails(t, err)
	for _, d := range ds {
		if ri, ok := d.(*errdetails.RequestInfo); ok {
			return ri.GetRequestId()
		}
	}
	t.Fatal("no RequestInfo")
	return ""
}

// TestInvalidMetadataBytes sends what a Go gRPC client refuses to send
// (control characters in metadata) straight to the handlers, as a client in
// another language or a hand-made HTTP/2 request could.
func TestInvalidMetadataBytes(t *testing.T) {
	up := newUpstream(t, answer(200, `{"id":"`+testResellerID+`"}`, "Content-Type", "application/json"))
	client := newRESTClient(t, rest.Config{BaseURL: up.url})
	resellers := NewResellerServer(client)
	customers := NewCustomerServer(client, WithDefaultTenant("default.cloudcockpit.com"))
	tests := []struct {
		name     string
		md       []string
		wantCode codes.Code
	}{
		{"x-tenant CRLF", []string{"authorization", testAuth, "x-tenant", testTenant + "\r\nX-Evil: 1"}, codes.InvalidArgument},
		{"x-tenant LF", []string{"authorization", testAuth, "x-tenant", testTenant + "\n"}, codes.InvalidArgument},
		{"x-tenant NUL", []string{"authorization", testAuth, "x-tenant", "portal\x00.example.com"}, codes.InvalidArgument},
		{"x-tenant non-ASCII", []string{"authorization", testAuth, "x-tenant", "pörtal.example.com"}, codes.InvalidArgument},
		{"authorization CRLF", []string{"authorization", testAuth + "\r\nX-Evil: 1", "x-tenant", testTenant}, codes.Unauthenticated},
		{"authorization NUL", []string{"authorization", testAuth + "\x00", "x-tenant", testTenant}, codes.Unauthenticated},
		{"x-correlation-id CRLF", []string{"authorization", testAuth, "x-tenant", testTenant, "x-correlation-id", testCorrelationID + "\r\n"}, codes.InvalidArgument},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := up.count()
			r, err := resellers.GetReseller(beginCtx(t, tt.md...), &pb.GetResellerRequest{ResellerId: testResellerID})
			if r != nil || status.Code(err) != tt.wantCode {
				t.Errorf("GetReseller() = %v, %v; want nil, %v", r, err, tt.wantCode)
			}
			l, err := customers.GetAcceptanceLink(beginCtx(t, tt.md...), &pb.GetAcceptanceLinkRequest{ProviderInstanceId: testProviderID})
			if l != nil || status.Code(err) != tt.wantCode {
				t.Errorf("GetAcceptanceLink() = %v, %v; want nil, %v", l, err, tt.wantCode)
			}
			if n := up.count() - before; n != 0 {
				t.Errorf("upstream got %d requests, want 0", n)
			}
		})
	}
}

// contoso is the sandbox's Contoso sample (internal/sandbox/data/contoso.json)
// mapped field by field.
func contoso() *pb.Reseller {
	return &pb.Reseller{
		Id:                 sandbox.ContosoResellerID,
		CompanyName:        ptr("Contoso Cloud Solutions, Lda."),
		Country:            ptr("PT"),
		AddressLine1:       ptr("Avenida da Liberdade 110"),
		AddressLine2:       ptr("3.º Esquerdo"),
		City:               ptr("Lisboa"),
		State:              ptr("Lisboa"),
		ZipCode:            ptr("1250-146"),
		FirstName:          ptr("Ana"),
		LastName:           ptr("Silva"),
		Email:              ptr("ana.silva@contoso.example"),
		Phone:              ptr("+351213000000"),
		InternalIdentifier: ptr("RES-0042"),
		TaxId:              ptr("PT509999990"),
		ProviderResellers: []*pb.ProviderReseller{
			{
				ProviderInstanceId: sandbox.SpecProviderInstanceID,
				PriceMargin:        &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(8.0)},
				OfferTypeMargins: map[string]*pb.PriceMargin{
					"License":              {MarginRule: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN, Value: ptr(10.0)},
					"Azure":                {MarginRule: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT, Value: ptr(3.5)},
					"Software":             {MarginRule: pb.MarginRule_MARGIN_RULE_MARGIN, Value: ptr(12.25)},
					"AzureReservation":     {MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(4.0)},
					"Perpetual":            {MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(6.0)},
					"SoftwareSubscription": {MarginRule: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN, Value: ptr(7.5)},
					"Marketplace":          {MarginRule: pb.MarginRule_MARGIN_RULE_MARGIN, Value: ptr(9.0)},
				},
				ProviderResellerId:   ptr("4794019"),
				ResellerProviderData: ptr(`{"IndirectResellerId":"f94f06fd-dc98-47fb-bd49-63bc98bd87f2","SecondaryMpnIds":["123456","654321"]}`),
				Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS,
				ProviderData: &pb.ProviderData{
					IndirectResellerId: ptr("f94f06fd-dc98-47fb-bd49-63bc98bd87f2"),
					SecondaryMpnIds:    []string{"123456", "654321"},
				},
			},
			{
				ProviderInstanceId:   sandbox.PlainTextProviderInstanceID,
				PriceMargin:          &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARGIN, Value: ptr(0.0)},
				ResellerProviderData: ptr("{}"),
				Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_PROCESSING,
				ProviderData:         &pb.ProviderData{},
			},
		},
		CustomDomain: &pb.CustomDomain{CustomDomain: ptr("cloud.contoso.example"), Status: ptr("Active")},
	}
}

// sandboxResellers is every sample reseller of the sandbox, mapped.
func sandboxResellers() map[string]*pb.Reseller {
	return map[string]*pb.Reseller{
		sandbox.ContosoResellerID: contoso(),
		sandbox.FabrikamResellerID: {
			Id: sandbox.FabrikamResellerID, CompanyName: ptr("Fabrikam, Inc."), Country: ptr("US"),
			AddressLine1: ptr("1 Microsoft Way"), City: ptr("Redmond"), State: ptr("WA"), ZipCode: ptr("98052"),
			FirstName: ptr("Bo"), LastName: ptr("Lee"), Email: ptr("bo.lee@fabrikam.example"), Phone: ptr("+14255550100"),
			InternalIdentifier: ptr(""),
			ProviderResellers: []*pb.ProviderReseller{{
				ProviderInstanceId: "0e1d2c3b-4a59-4687-a7b6-c5d4e3f2a1b0",
				PriceMargin:        &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARGIN, Value: ptr(15.0)},
				Status:             pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_FAILED,
			}},
		},
		sandbox.NorthwindResellerID: {
			Id: sandbox.NorthwindResellerID, CompanyName: ptr("Northwind Traders Ltd"), Country: ptr("GB"),
			AddressLine1: ptr("12 Fenchurch Street"), AddressLine2: ptr("Floor 4"), City: ptr("London"),
			State: ptr("Greater London"), ZipCode: ptr("EC3M 3BY"), FirstName: ptr("Oliver"), LastName: ptr("Hughes"),
			Email: ptr("oliver.hughes@northwind.example"), Phone: ptr("+442071234567"),
			InternalIdentifier: ptr("NW-7731"), TaxId: ptr("GB123456789"),
			ProviderResellers: []*pb.ProviderReseller{{
				ProviderInstanceId: "CB3CD15B-1D6E-45BE-B493-C71549CBFD87",
				PriceMargin:        &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_SPLIT_MARGIN, Value: ptr(12.5)},
				OfferTypeMargins: map[string]*pb.PriceMargin{
					"License": {MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(10.0)},
					"Azure":   {MarginRule: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT, Value: ptr(2.0)},
				},
				ProviderResellerId:   ptr("5512873"),
				ResellerProviderData: ptr(`{"indirectResellerId" : "7c9e6679-7425-40de-944b-e07fc1f90ae7","secondaryMpnIds": [ "778899"]}`),
				Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_PROCESSING,
				ProviderData:         &pb.ProviderData{IndirectResellerId: ptr("7c9e6679-7425-40de-944b-e07fc1f90ae7"), SecondaryMpnIds: []string{"778899"}},
			}},
			CustomDomain: &pb.CustomDomain{CustomDomain: ptr("partners.northwind.example"), Status: ptr("Pending")},
		},
		sandbox.AdatumResellerID: {
			Id: sandbox.AdatumResellerID, CompanyName: ptr("A. Datum Corporation Pty Ltd"), Country: ptr("AU"),
			AddressLine1: ptr("Level 9, 1 Martin Place"), City: ptr("Sydney"), State: ptr("NSW"), ZipCode: ptr("2000"),
			FirstName: ptr("Priya"), LastName: ptr("Natarajan"), Email: ptr("priya.natarajan@adatum.example"),
			Phone: ptr("+61290000000"), InternalIdentifier: ptr("AD-0007"), TaxId: ptr("51824753556"),
			ProviderResellers: []*pb.ProviderReseller{
				{
					ProviderInstanceId:   sandbox.SpecProviderInstanceID,
					PriceMargin:          &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_ERP_MINUS_DISCOUNT, Value: ptr(999.0)},
					ProviderResellerId:   ptr("6120045"),
					ResellerProviderData: ptr(`{"IndirectResellerId":null,"SecondaryMpnIds":[]}`),
					Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_FAILED,
					ProviderData:         &pb.ProviderData{},
				},
				{
					ProviderInstanceId: sandbox.PlainTextProviderInstanceID,
					PriceMargin:        &pb.PriceMargin{MarginRule: pb.MarginRule_MARGIN_RULE_MARKUP, Value: ptr(0.75)},
					OfferTypeMargins: map[string]*pb.PriceMargin{
						"Software": {MarginRule: pb.MarginRule_MARGIN_RULE_MARGIN, Value: ptr(0.0)},
					},
					ResellerProviderData: ptr("{}"),
					Status:               pb.ProviderResellerStatus_PROVIDER_RESELLER_STATUS_SUCCESS,
					ProviderData:         &pb.ProviderData{},
				},
			},
			CustomDomain: &pb.CustomDomain{Status: ptr("NotConfigured")},
		},
		sandbox.LitwareResellerID: {
			Id: sandbox.LitwareResellerID, CompanyName: ptr("Litware Ibérica, S.L. — Soluciones Cloud"), Country: ptr("ES"),
			AddressLine1: ptr("Calle de Alcalá 42"), AddressLine2: ptr("3.º izquierda"), City: ptr("Madrid"),
			State: ptr("Comunidad de Madrid"), ZipCode: ptr("28014"), FirstName: ptr("José"), LastName: ptr("Martínez Peña"),
			Email: ptr("jose.martinez@litware.example"), Phone: ptr("+34910000000"), TaxId: ptr("ESB12345678"),
		},
	}
}

func TestSandbox(t *testing.T) {
	sb := sandbox.New()
	srv := httptest.NewServer(sb)
	t.Cleanup(srv.Close)
	var logs lockedBuffer
	f := newFacade(t, srv.URL, WithLogger(slog.New(slog.NewJSONHandler(&logs, nil))))
	md := []string{"authorization", "Bearer " + sandbox.SampleToken, "x-tenant", sandbox.SampleTenant, "x-correlation-id", testCorrelationID}

	want := sandboxResellers()
	ids := sandbox.Resellers()
	if len(ids) != len(want) {
		t.Fatalf("the sandbox has %d sample resellers, this test knows %d", len(ids), len(want))
	}
	for _, id := range ids {
		t.Run("reseller "+id, func(t *testing.T) {
			var header metadata.MD
			got, err := f.resellers.GetReseller(callCtx(t, md...), &pb.GetResellerRequest{ResellerId: id}, grpc.Header(&header))
			if err != nil {
				t.Fatalf("GetReseller(%s) error = %v", id, err)
			}
			if diff := gocmp.Diff(want[id], got, protocmp.Transform()); diff != "" {
				t.Errorf("GetReseller(%s) mismatch (-want +got):\n%s", id, diff)
			}
			if hid := headerID(t, header); hid != testCorrelationID {
				t.Errorf("response header x-correlation-id = %q, want %q", hid, testCorrelationID)
			}
		})
	}
	if out := logs.String(); out != "" {
		t.Errorf("the sample data logged warnings:\n%s", out)
	}

	const base = "https://admin.microsoft.com/Adminportal/Home?"
	const page = "&DAP=true#/BillingAccounts/partner-invitation"
	links := []struct {
		name       string
		provider   string
		reseller   *string
		want       string
		wantStatus *wantStatus
	}{
		{
			name: "CSP link as a JSON string", provider: sandbox.SpecProviderInstanceID,
			want: base + "invType=ResellerRelationship&partnerId=" + sandbox.SpecProviderTenantID + "&msppId=0" + page,
		},
		{
			name: "indirect reseller link as a JSON string", provider: sandbox.SpecProviderInstanceID, reseller: ptr(sandbox.ContosoResellerID),
			want: base + "invType=IndirectResellerRelationship&partnerId=6d1f3b8a-0c42-4e97-b5a3-9e27c4d81f60&msppId=4794019&indirectCSPId=" + sandbox.SpecProviderTenantID + page,
		},
		{
			name: "CSP link as text/plain", provider: sandbox.PlainTextProviderInstanceID,
			want: base + "invType=ResellerRelationship&partnerId=" + sandbox.PlainTextProviderTenantID + "&msppId=0" + page,
		},
		{
			name: "indirect reseller link as text/plain", provider: sandbox.PlainTextProviderInstanceID, reseller: ptr(sandbox.ContosoResellerID),
			want: base + "invType=IndirectResellerRelationship&partnerId=6d1f3b8a-0c42-4e97-b5a3-9e27c4d81f60&msppId=4794019&indirectCSPId=" + sandbox.PlainTextProviderTenantID + page,
		},
		{
			name: "unknown provider instance", provider: sandbox.UnknownProviderInstanceID,
			wantStatus: &wantStatus{codes.NotFound, "Provider instance not found.", details("UPSTREAM_NOT_FOUND", apierr.OpGetAcceptanceLink, testCorrelationID,
				map[string]string{"upstreamHttpStatus": "404", "upstreamType": "NotFound"})},
		},
	}
	for _, tt := range links {
		t.Run(tt.name, func(t *testing.T) {
			got, err := f.customers.GetAcceptanceLink(callCtx(t, md...), &pb.GetAcceptanceLinkRequest{ProviderInstanceId: tt.provider, ResellerId: tt.reseller})
			if tt.wantStatus != nil {
				checkStatus(t, err, *tt.wantStatus)
				return
			}
			if err != nil {
				t.Fatalf("GetAcceptanceLink() error = %v", err)
			}
			if got.GetUrl() != tt.want {
				t.Errorf("GetAcceptanceLink() = %q, want %q", got.GetUrl(), tt.want)
			}
		})
	}

	t.Run("unknown reseller", func(t *testing.T) {
		_, err := f.resellers.GetReseller(callCtx(t, md...), &pb.GetResellerRequest{ResellerId: sandbox.UnknownResellerID})
		checkStatus(t, err, wantStatus{codes.NotFound, "Reseller not found.", details("UPSTREAM_NOT_FOUND", apierr.OpGetReseller, testCorrelationID,
			map[string]string{"upstreamHttpStatus": "404", "upstreamType": "NotFound"},
			&errdetails.ResourceInfo{ResourceType: "cloudcockpit.v1.Reseller", ResourceName: sandbox.UnknownResellerID, Description: "Reseller not found."})})
	})

	t.Run("invalid calls do not reach the sandbox", func(t *testing.T) {
		before := sb.Requests()
		calls := []error{
			errOnly(f.resellers.GetReseller(callCtx(t, md...), &pb.GetResellerRequest{ResellerId: "../" + sandbox.ContosoResellerID})),
			errOnly(f.resellers.GetReseller(callCtx(t, "x-tenant", sandbox.SampleTenant), &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})),
			errOnly(f.customers.GetAcceptanceLink(callCtx(t, md...), &pb.GetAcceptanceLinkRequest{ProviderInstanceId: "x"})),
		}
		for i, err := range calls {
			if err == nil {
				t.Errorf("call %d succeeded", i)
			}
		}
		if n := sb.Requests() - before; n != 0 {
			t.Errorf("the sandbox got %d requests, want 0", n)
		}
	})
}

// errOnly drops a call's response.
func errOnly[T any](_ T, err error) error { return err }
