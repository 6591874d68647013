package gateway

import (
	"bytes"
	"errors"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/protoadapt"
	"google.golang.org/protobuf/testing/protocmp"
	"google.golang.org/protobuf/types/known/durationpb"

	spb "google.golang.org/genproto/googleapis/rpc/status"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
)

// decodeStatus parses an error body as google.rpc.Status, which fails if a
// detail is not resolved (raw @value) or the shape is wrong.
func decodeStatus(t *testing.T, r response) *status.Status {
	t.Helper()
	if bytes.Contains(r.body, []byte(`"@value"`)) {
		t.Fatalf("error body holds an unresolved detail: %s", r.body)
	}
	var p spb.Status
	if err := protojson.Unmarshal(r.body, &p); err != nil {
		t.Fatalf("error body is not a google.rpc.Status: %v: %s", err, r.body)
	}
	return status.FromProto(&p)
}

// detailsOf sorts a status's details by kind.
type detailsOf struct {
	info     *errdetails.ErrorInfo
	infos    int
	request  *errdetails.RequestInfo
	bad      *errdetails.BadRequest
	resource *errdetails.ResourceInfo
	retry    *errdetails.RetryInfo
}

func details(t *testing.T, st *status.Status) detailsOf {
	t.Helper()
	var d detailsOf
	for _, x := range st.Details() {
		switch x := x.(type) {
		case *errdetails.ErrorInfo:
			d.info, d.infos = x, d.infos+1
		case *errdetails.RequestInfo:
			d.request = x
		case *errdetails.BadRequest:
			d.bad = x
		case *errdetails.ResourceInfo:
			d.resource = x
		case *errdetails.RetryInfo:
			d.retry = x
		default:
			t.Errorf("unexpected detail %T", x)
		}
	}
	if d.infos != 1 {
		t.Errorf("ErrorInfo details = %d, want exactly 1", d.infos)
	}
	return d
}

// envelopeUpstream answers every request with an upstream error envelope of
// the given status (and Retry-After when retryAfter is set).
func envelopeUpstream(code int, retryAfter string) http.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request) {
		if retryAfter != "" {
			w.Header().Set("Retry-After", retryAfter)
		}
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(code)
		errs := "null"
		if code == http.StatusBadRequest {
			errs = `[{"propertyName":"resellerId","description":["The reseller is not associated."]}]`
		}
		//nolint:gosec // G705: a test upstream writing JSON to the facade's client
		_, _ = fmt.Fprintf(w, `{"statusCode":%d,"type":"Upstream%d","description":"upstream said %d","correlationId":%q,"errors":%s}`,
			code, code, code, r.Header.Get("X-Correlation-Id"), errs)
	}
}

// TestUpstreamErrors runs every row of the error table through the mirror:
// the HTTP status follows the gRPC code, the upstream status stays in the
// details, every detail is resolved, and the correlation id comes back.
func TestUpstreamErrors(t *testing.T) {
	tests := []struct {
		upstream   int
		retryAfter string
		wantCode   codes.Code
		wantHTTP   int
		wantReason string
	}{
		{upstream: 400, wantCode: codes.InvalidArgument, wantHTTP: 400, wantReason: "UPSTREAM_BAD_REQUEST"},
		{upstream: 401, wantCode: codes.Unauthenticated, wantHTTP: 401, wantReason: "UPSTREAM_UNAUTHENTICATED"},
		{upstream: 403, wantCode: codes.PermissionDenied, wantHTTP: 403, wantReason: "UPSTREAM_PERMISSION_DENIED"},
		{upstream: 404, wantCode: codes.NotFound, wantHTTP: 404, wantReason: "UPSTREAM_NOT_FOUND"},
		{upstream: 409, wantCode: codes.Aborted, wantHTTP: 409, wantReason: "UPSTREAM_CONFLICT"},
		{upstream: 412, wantCode: codes.FailedPrecondition, wantHTTP: 400, wantReason: "UPSTREAM_PRECONDITION_FAILED"},
		{upstream: 429, retryAfter: "7", wantCode: codes.ResourceExhausted, wantHTTP: 429, wantReason: "UPSTREAM_RATE_LIMITED"},
		{upstream: 499, wantCode: codes.Canceled, wantHTTP: 499, wantReason: "UPSTREAM_CANCELLED"},
		{upstream: 500, wantCode: codes.Internal, wantHTTP: 500, wantReason: "UPSTREAM_INTERNAL_ERROR"},
		{upstream: 501, wantCode: codes.Unimplemented, wantHTTP: 501, wantReason: "UPSTREAM_NOT_IMPLEMENTED"},
		{upstream: 502, wantCode: codes.Unavailable, wantHTTP: 503, wantReason: "UPSTREAM_UNAVAILABLE"},
		{upstream: 503, retryAfter: "2", wantCode: codes.Unavailable, wantHTTP: 503, wantReason: "UPSTREAM_UNAVAILABLE"},
		{upstream: 504, wantCode: codes.DeadlineExceeded, wantHTTP: 504, wantReason: "UPSTREAM_TIMEOUT"},
	}
	for _, tt := range tests {
		t.Run(strconv.Itoa(tt.upstream), func(t *testing.T) {
			t.Parallel()
			s := newStack(t, envelopeUpstream(tt.upstream, tt.retryAfter))
			r := s.get(t, "/v1/Resellers/"+testID)

			if r.status != tt.wantHTTP {
				t.Errorf("HTTP status = %d, want %d", r.status, tt.wantHTTP)
			}
			if got := r.header.Get("Content-Type"); got != "application/json" {
				t.Errorf("Content-Type = %q, want application/json", got)
			}
			if got := r.header.Values("X-Correlation-Id"); !cmp.Equal(got, []string{testCID}) {
				t.Errorf("X-Correlation-Id = %q, want [%s]", got, testCID)
			}
			st := decodeStatus(t, r)
			want := fmt.Sprintf("upstream said %d", tt.upstream)
			if tt.upstream == 401 || tt.upstream == 403 { // the upstream's text is dropped
				want = fmt.Sprintf("upstream answered %d %s", tt.upstream, http.StatusText(tt.upstream))
			}
			if st.Code() != tt.wantCode || st.Message() != want {
				t.Errorf("status = %v %q, want %v %q", st.Code(), st.Message(), tt.wantCode, want)
			}
			d := details(t, st)
			if d.info.GetReason() != tt.wantReason || d.info.GetMetadata()["upstreamHttpStatus"] != strconv.Itoa(tt.upstream) {
				t.Errorf("ErrorInfo = %v, want reason %s and upstreamHttpStatus %d", d.info, tt.wantReason, tt.upstream)
			}
			if d.request.GetRequestId() != testCID {
				t.Errorf("RequestInfo.request_id = %q, want %s", d.request.GetRequestId(), testCID)
			}
			switch tt.upstream {
			case 400:
				want := &errdetails.BadRequest{FieldViolations: []*errdetails.BadRequest_FieldViolation{
					{Field: "resellerId", Description: "The reseller is not associated."},
				}}
				if diff := cmp.Diff(want, d.bad, protocmp.Transform()); diff != "" {
					t.Errorf("BadRequest (-want +got):\n%s", diff)
				}
			case 404:
				if d.resource.GetResourceName() != testID {
					t.Errorf("ResourceInfo = %v, want the reseller id", d.resource)
				}
			}
			if tt.retryAfter != "" {
				secs, _ := strconv.Atoi(tt.retryAfter)
				if diff := cmp.Diff(&errdetails.RetryInfo{RetryDelay: durationpb.New(time.Duration(secs) * time.Second)}, d.retry, protocmp.Transform()); diff != "" {
					t.Errorf("RetryInfo (-want +got):\n%s", diff)
				}
				if got := r.header.Get("Retry-After"); got != tt.retryAfter {
					t.Errorf("Retry-After = %q, want %q", got, tt.retryAfter)
				}
			}
			if tt.upstream == 401 && r.header.Get("WWW-Authenticate") != "Bearer" {
				t.Errorf("WWW-Authenticate = %q, want Bearer", r.header.Get("WWW-Authenticate"))
			}
		})
	}
}

// TestMirrorErrors checks the errors the mirror raises itself: JSON in the
// same shape, X-Correlation-Id, the operation only where the query names it,
// no gRPC call and no upstream request; some before the credentials are
// checked (docs/errors.md).
func TestMirrorErrors(t *testing.T) {
	tests := []struct {
		name       string
		method     string
		path       string
		wantHTTP   int
		wantCode   codes.Code
		wantReason string
		wantAllow  string
		wantOp     string   // ErrorInfo metadata operation; empty: none
		auth       string   // Authorization; empty: testAuth, "-": none
		tenant     string   // X-Tenant; empty: testTenant
		extra      []string // more headers, name and value pairs
	}{
		{name: "unknown path", method: "GET", path: "/v1/Nope", wantHTTP: 404, wantCode: codes.NotFound, wantReason: apierr.ReasonUnknownPath},
		{name: "root", method: "GET", path: "/", wantHTTP: 404, wantCode: codes.NotFound, wantReason: apierr.ReasonUnknownPath},
		{name: "path casing differs", method: "GET", path: "/v1/resellers/" + testID, wantHTTP: 404, wantCode: codes.NotFound, wantReason: apierr.ReasonUnknownPath},
		{name: "extra segment", method: "GET", path: "/v1/Resellers/" + testID + "/x", wantHTTP: 404, wantCode: codes.NotFound, wantReason: apierr.ReasonUnknownPath},
		{name: "POST on a GET route", method: "POST", path: "/v1/Resellers/" + testID, wantHTTP: 405, wantCode: codes.Unimplemented, wantReason: apierr.ReasonMethodNotAllowed, wantAllow: "GET"},
		{name: "DELETE on the link route", method: "DELETE", path: "/v1/Customers/relationship-acceptance", wantHTTP: 405, wantCode: codes.Unimplemented, wantReason: apierr.ReasonMethodNotAllowed, wantAllow: "GET"},
		{name: "POST on healthz", method: "POST", path: "/healthz", wantHTTP: 405, wantCode: codes.Unimplemented, wantReason: apierr.ReasonMethodNotAllowed, wantAllow: "GET"},
		{name: "bad query", method: "GET", path: "/v1/Resellers/" + testID + "?verbose=1", wantHTTP: 400, wantCode: codes.InvalidArgument, wantReason: apierr.ReasonInvalidQuery, wantOp: "GetReseller"},
		{name: "bad query without credentials", method: "GET", path: "/v1/Resellers/" + testID + "?verbose=1", auth: "-", wantHTTP: 400, wantCode: codes.InvalidArgument, wantReason: apierr.ReasonInvalidQuery, wantOp: "GetReseller"},
		{name: "non-ASCII tenant without credentials", method: "GET", path: "/v1/Resellers/" + testID, auth: "-", tenant: "p\u00f6rtal.example", wantHTTP: 400, wantCode: codes.InvalidArgument, wantReason: apierr.ReasonInvalidRequest},
		{name: "malformed Grpc-Timeout without credentials", method: "GET", path: "/v1/Resellers/" + testID, auth: "-", extra: []string{"Grpc-Timeout", "1x"}, wantHTTP: 400, wantCode: codes.InvalidArgument, wantReason: "INVALID_ARGUMENT"},
		// grpc-gateway would drop a value gRPC metadata cannot carry: a missing token instead of a malformed one
		{name: "non-ASCII token", method: "GET", path: "/v1/Resellers/" + testID, auth: "Bearer t\u00f6ken", wantHTTP: 401, wantCode: codes.Unauthenticated, wantReason: apierr.ReasonMalformedCredentials},
		{name: "non-ASCII tenant", method: "GET", path: "/v1/Resellers/" + testID, tenant: "p\u00f6rtal.example", wantHTTP: 400, wantCode: codes.InvalidArgument, wantReason: apierr.ReasonInvalidRequest},
	}
	up := &recorder{answer: okUpstream}
	s := newStack(t, up)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			auth, tenant := tt.auth, tt.tenant
			if auth == "" {
				auth = testAuth
			}
			if tenant == "" {
				tenant = testTenant
			}
			headers := append([]string{"Authorization", auth, "X-Tenant", tenant, "X-Correlation-Id", testCID}, tt.extra...)
			if auth == "-" {
				headers = headers[2:]
			}
			r := s.do(t, tt.method, tt.path, headers...)
			if r.status != tt.wantHTTP {
				t.Errorf("HTTP status = %d, want %d: %s", r.status, tt.wantHTTP, r.body)
			}
			if got := r.header.Get("Allow"); got != tt.wantAllow {
				t.Errorf("Allow = %q, want %q", got, tt.wantAllow)
			}
			if got := r.header.Get("X-Correlation-Id"); got != testCID {
				t.Errorf("X-Correlation-Id = %q, want %s", got, testCID)
			}
			st := decodeStatus(t, r)
			if st.Code() != tt.wantCode || st.Message() == "" {
				t.Errorf("status = %v %q, want %v with a message", st.Code(), st.Message(), tt.wantCode)
			}
			d := details(t, st)
			if d.info.GetReason() != tt.wantReason || d.info.GetDomain() == "" || d.info.GetMetadata()["correlationId"] != testCID {
				t.Errorf("ErrorInfo = %v, want reason %s with domain and correlationId", d.info, tt.wantReason)
			}
			if got := d.info.GetMetadata()["operation"]; got != tt.wantOp {
				t.Errorf("ErrorInfo operation = %q, want %q", got, tt.wantOp)
			}
			if d.request.GetRequestId() != testCID {
				t.Errorf("RequestInfo = %v, want request_id %s", d.request, testCID)
			}
		})
	}
	if n := len(up.requests()); n != 0 {
		t.Errorf("upstream got %d requests, want 0", n)
	}
	if got := s.seen(); len(got) != 0 {
		t.Errorf("gRPC calls = %q, want none", got)
	}
}

// TestMirrorErrorGeneratesCorrelationID: without a usable X-Correlation-Id the
// mirror's own errors carry a generated UUID, the same in header and body.
func TestMirrorErrorGeneratesCorrelationID(t *testing.T) {
	s := newStack(t, http.HandlerFunc(okUpstream))
	for _, header := range [][]string{nil, {"X-Correlation-Id", "not-a-uuid"}} {
		r := s.do(t, http.MethodGet, "/v1/Nope", header...)
		cid := r.header.Get("X-Correlation-Id")
		if !correlation.IsUUID(cid) {
			t.Fatalf("X-Correlation-Id = %q, want a generated UUID", cid)
		}
		if got := details(t, decodeStatus(t, r)).request.GetRequestId(); got != cid {
			t.Errorf("RequestInfo.request_id = %q, want the header's %q", got, cid)
		}
	}
}

// TestWriteStatusHeaders: Retry-After rounds RetryInfo's delay up to whole
// seconds (never 0 for a wait, never negative), and the body is bounded
// like any status.
func TestWriteStatusHeaders(t *testing.T) {
	for _, tt := range []struct {
		delay time.Duration
		want  string
	}{
		{100 * time.Millisecond, "1"},
		{1500 * time.Millisecond, "2"},
		{3 * time.Second, "3"},
		{-time.Second, "0"},
	} {
		st := apierr.New(apierr.Spec{Code: codes.Unavailable, Message: "m", Reason: apierr.ReasonUpstreamUnavailable, RequestID: testCID,
			Details: []protoadapt.MessageV1{&errdetails.RetryInfo{RetryDelay: durationpb.New(tt.delay)}}})
		w := httptest.NewRecorder()
		writeStatus(w, http.StatusServiceUnavailable, st, testCID)
		if got := w.Header().Get("Retry-After"); got != tt.want {
			t.Errorf("RetryInfo %v: Retry-After = %q, want %q", tt.delay, got, tt.want)
		}
	}
	noDelay := apierr.New(apierr.Spec{Code: codes.Unavailable, Message: "m", Reason: apierr.ReasonUpstreamUnavailable, RequestID: testCID,
		Details: []protoadapt.MessageV1{&errdetails.RetryInfo{}}})
	w := httptest.NewRecorder()
	writeStatus(w, http.StatusServiceUnavailable, noDelay, testCID)
	if got, ok := w.Header()["Retry-After"]; ok {
		t.Errorf("RetryInfo without a delay: Retry-After = %q, want none", got)
	}
	huge, err := status.New(codes.Internal, strings.Repeat("m", 100_000)).WithDetails(&errdetails.Help{Links: []*errdetails.Help_Link{{Description: strings.Repeat("h", 100_000)}}})
	if err != nil {
		t.Fatal(err)
	}
	w = httptest.NewRecorder()
	writeStatus(w, http.StatusInternalServerError, huge, testCID)
	if n := w.Body.Len(); n > 2*apierr.MaxStatusBytes {
		t.Errorf("error body = %d bytes, want it bounded (apierr.Bound: %d bytes of status)", n, apierr.MaxStatusBytes)
	}
}

// TestHandleErrorWithoutErrorInfo: an error raised before the service ran
// (a plain status, or grpc-gateway's HTTPStatusError) keeps its code and
// HTTP status, and gets the service's shape: ErrorInfo with the reason spelled
// as google.rpc.Code spells it, the operation, and the caller's correlation
// id, also in RequestInfo and X-Correlation-Id.
func TestHandleErrorWithoutErrorInfo(t *testing.T) {
	g, err := newGateway(nil)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name       string
		err        error
		wantHTTP   int
		wantCode   codes.Code
		wantReason string
	}{
		{"plain status", status.Error(codes.Canceled, "gone"), 499, codes.Canceled, "CANCELLED"},
		{"unavailable", status.Error(codes.Unavailable, "later"), http.StatusServiceUnavailable, codes.Unavailable, "UNAVAILABLE"},
		{"HTTPStatusError 400", &runtime.HTTPStatusError{HTTPStatus: http.StatusBadRequest, Err: errors.New("malformed sequence")},
			http.StatusBadRequest, codes.InvalidArgument, "INVALID_ARGUMENT"},
		{"HTTPStatusError's own status", &runtime.HTTPStatusError{HTTPStatus: http.StatusMethodNotAllowed, Err: status.Error(codes.Unimplemented, "no")},
			http.StatusMethodNotAllowed, codes.Unimplemented, "UNIMPLEMENTED"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			req := httptest.NewRequest(http.MethodGet, "/v1/Resellers/"+testID, nil)
			req.Header.Set("X-Correlation-Id", testCID)
			ctx, err := runtime.AnnotateIncomingContext(req.Context(), g.mux, req, "/cloudcockpit.v1.ResellerService/GetReseller")
			if err != nil {
				t.Fatal(err)
			}
			rec := httptest.NewRecorder()
			g.handleError(ctx, g.mux, nil, rec, req, tt.err)
			r := response{status: rec.Code, header: rec.Header(), body: rec.Body.Bytes()}
			if r.status != tt.wantHTTP {
				t.Errorf("HTTP status %d, want %d: %s", r.status, tt.wantHTTP, r.body)
			}
			st := decodeStatus(t, r)
			d := details(t, st)
			if st.Code() != tt.wantCode || d.info.GetReason() != tt.wantReason {
				t.Errorf("code %v reason %q, want %v %q", st.Code(), d.info.GetReason(), tt.wantCode, tt.wantReason)
			}
			if md := d.info.GetMetadata(); md["operation"] != "GetReseller" || md["correlationId"] != testCID {
				t.Errorf("ErrorInfo metadata %v, want operation GetReseller and correlationId %s", md, testCID)
			}
			if d.request.GetRequestId() != testCID || r.header.Get("X-Correlation-Id") != testCID {
				t.Errorf("request id %q, header %q, want %s", d.request.GetRequestId(), r.header.Get("X-Correlation-Id"), testCID)
			}
		})
	}
}

// TestGrpcTimeoutHeaderErrors sends a Grpc-Timeout header (which grpc-gateway
// parses, and quotes in its error) holding bytes that are not UTF-8, as an
// HTTP/1.1 header may: the caller gets 400 INVALID_ARGUMENT with ErrorInfo,
// as for any other malformed Grpc-Timeout, never a 500 "failed to marshal the
// error", and nothing goes upstream.
func TestGrpcTimeoutHeaderErrors(t *testing.T) {
	up := &recorder{answer: okUpstream}
	s := newStack(t, up)
	for _, timeout := range []string{"1x", "\xff\xfe", "1\xc3S", strings.Repeat("9", 1000) + "x"} {
		t.Run(strconv.Quote(timeout), func(t *testing.T) {
			r := s.get(t, "/v1/Resellers/"+testID, "Grpc-Timeout", timeout)
			if r.status != http.StatusBadRequest {
				t.Errorf("HTTP status = %d, want 400: %s", r.status, r.body)
			}
			st := decodeStatus(t, r)
			if st.Code() != codes.InvalidArgument || len(st.Message()) > 128 {
				t.Errorf("code = %v %q, want InvalidArgument, at most 128 bytes", st.Code(), st.Message())
			}
			if d := details(t, st); d.info.GetReason() != "INVALID_ARGUMENT" || d.info.GetMetadata()["correlationId"] != testCID {
				t.Errorf("ErrorInfo = %v, want reason INVALID_ARGUMENT with correlationId %s", d.info, testCID)
			}
		})
	}
	if n := len(up.requests()); n != 0 {
		t.Errorf("upstream got %d requests, want 0", n)
	}
}
