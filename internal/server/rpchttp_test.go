package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"maps"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"github.com/google/go-cmp/cmp/cmpopts"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	reflectionpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// testOrigin is the browser origin the CORS tests allow.
const testOrigin = "http://127.0.0.1:5173"

// h2cClient speaks cleartext HTTP/2 with prior knowledge, as
// `buf curl --http2-prior-knowledge` and gRPC clients do.
func h2cClient() *http.Client {
	p := new(http.Protocols)
	p.SetUnencryptedHTTP2(true)
	return &http.Client{Transport: &http.Transport{Protocols: p}}
}

// TestRPCOverHTTP calls GetReseller on the HTTP port with connect-go's
// client in each protocol (Connect over HTTP/1.1, gRPC-Web over HTTP/1.1,
// gRPC over h2c) and checks what the interceptor chain adds: the answer,
// the correlation id header, local validation (UNAUTHENTICATED before any
// upstream call), and an upstream 404's code and details.
func TestRPCOverHTTP(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL

	protocols := []struct {
		name   string
		client *http.Client
		opts   []connect.ClientOption
	}{
		{name: "connect", client: http.DefaultClient},
		{name: "connect-json", client: http.DefaultClient, opts: []connect.ClientOption{connect.WithProtoJSON()}},
		{name: "connect-get", client: http.DefaultClient, opts: []connect.ClientOption{connect.WithHTTPGet(), connect.WithIdempotency(connect.IdempotencyNoSideEffects)}},
		{name: "grpc-web", client: http.DefaultClient, opts: []connect.ClientOption{connect.WithGRPCWeb()}},
		{name: "grpc-h2c", client: h2cClient(), opts: []connect.ClientOption{connect.WithGRPC()}},
	}
	tests := []struct {
		name       string
		give       string
		auth       bool
		wantCode   connect.Code // 0: success
		wantReason string
		wantDetail string // a detail type besides ErrorInfo and RequestInfo
	}{
		{name: "found", give: sandbox.ContosoResellerID, auth: true},
		{name: "unknown", give: sandbox.UnknownResellerID, auth: true, wantCode: connect.CodeNotFound, wantReason: "UPSTREAM_NOT_FOUND", wantDetail: "google.rpc.ResourceInfo"},
		{name: "no credentials", give: sandbox.ContosoResellerID, wantCode: connect.CodeUnauthenticated, wantReason: "MISSING_CREDENTIALS"},
		{name: "bad id", give: "nope", auth: true, wantCode: connect.CodeInvalidArgument, wantReason: "INVALID_REQUEST", wantDetail: "google.rpc.BadRequest"},
	}
	for _, p := range protocols {
		client := connect.NewClient[pb.GetResellerRequest, pb.Reseller](p.client, base+pb.ResellerService_GetReseller_FullMethodName, p.opts...)
		for _, tt := range tests {
			t.Run(p.name+"/"+tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				req := connect.NewRequest(&pb.GetResellerRequest{ResellerId: tt.give})
				req.Header().Set("X-Tenant", sandbox.SampleTenant)
				if tt.auth {
					req.Header().Set("Authorization", "Bearer "+sandbox.SampleToken)
				}
				resp, err := client.CallUnary(ctx, req)
				if tt.wantCode == 0 {
					if err != nil {
						t.Fatalf("CallUnary: %v", err)
					}
					if got := resp.Msg.GetCompanyName(); got == "" {
						t.Errorf("company name is empty: %v", resp.Msg)
					}
					if cid := resp.Header().Get("X-Correlation-Id"); !uuidRE.MatchString(cid) {
						t.Errorf("X-Correlation-Id = %q, want a UUID", cid)
					}
					return
				}
				var ce *connect.Error
				if !errors.As(err, &ce) {
					t.Fatalf("error %v (%T), want a *connect.Error", err, err)
				}
				if ce.Code() != tt.wantCode {
					t.Errorf("code = %v, want %v (%v)", ce.Code(), tt.wantCode, err)
				}
				var reason string
				var types []string
				for _, d := range ce.Details() {
					types = append(types, d.Type())
					v, err := d.Value()
					if err != nil {
						t.Errorf("detail %s: %v", d.Type(), err)
						continue
					}
					if ei, ok := v.(*errdetails.ErrorInfo); ok {
						reason = ei.GetReason()
					}
				}
				if reason != tt.wantReason {
					t.Errorf("ErrorInfo reason = %q, want %q (details %v)", reason, tt.wantReason, types)
				}
				want := []string{"google.rpc.ErrorInfo", "google.rpc.RequestInfo"}
				if tt.wantDetail != "" {
					want = append(want, tt.wantDetail)
				}
				if diff := cmp.Diff(want, types, cmpSorted); diff != "" {
					t.Errorf("detail types (-want +got):\n%s", diff)
				}
			})
		}
	}

	// The interceptors counted every call above, whatever its protocol.
	resp, body, err := get(t.Context(), base+"/metrics")
	if err != nil || resp.StatusCode != http.StatusOK {
		t.Fatalf("GET /metrics: %v %v", resp, err)
	}
	for code, want := range map[string]int{"OK": 5, "NotFound": 5, "Unauthenticated": 5, "InvalidArgument": 5} {
		re := regexp.MustCompile(`grpc_server_handled_total\{grpc_code="` + code + `",grpc_method="GetReseller",grpc_service="cloudcockpit.v1.ResellerService"\} (\d+)`)
		m := re.FindSubmatch(body)
		if m == nil {
			t.Errorf("/metrics has no GetReseller %s count", code)
			continue
		}
		if got, _ := strconv.Atoi(string(m[1])); got != want {
			t.Errorf("grpc_server_handled_total{GetReseller,%s} = %d, want %d", code, got, want)
		}
	}
}

var uuidRE = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$`)

var cmpSorted = cmpopts.SortSlices(func(a, b string) bool { return a < b })

// TestReflectionOverConnect lists the services through the reflection
// service on the HTTP port over Connect with HTTP/2 (what `buf curl
// --http2-prior-knowledge` does first), a bidirectional stream.
func TestReflectionOverConnect(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	client := connect.NewClient[reflectionpb.ServerReflectionRequest, reflectionpb.ServerReflectionResponse](
		h2cClient(), base+reflectionpb.ServerReflection_ServerReflectionInfo_FullMethodName)
	stream := client.CallBidiStream(ctx)
	if err := stream.Send(&reflectionpb.ServerReflectionRequest{
		MessageRequest: &reflectionpb.ServerReflectionRequest_ListServices{},
	}); err != nil {
		t.Fatalf("Send: %v", err)
	}
	resp, err := stream.Receive()
	if err != nil {
		t.Fatalf("Receive: %v", err)
	}
	_ = stream.CloseRequest()
	_ = stream.CloseResponse()
	var got []string
	for _, s := range resp.GetListServicesResponse().GetService() {
		got = append(got, s.GetName())
	}
	for _, want := range []string{"cloudcockpit.v1.ResellerService", "cloudcockpit.v1.CustomerService"} {
		if !strings.Contains(strings.Join(got, " "), want) {
			t.Errorf("services %v lack %s", got, want)
		}
	}
}

// TestCORS checks the grants: a preflight and a call from an allowed origin
// get them (request headers lower-case and sorted, as browsers send them),
// another origin gets none, and without allowed origins there is no CORS at
// all.
func TestCORS(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	cfg.CORSAllowedOrigins = []string{testOrigin}
	base := serveOnLoopback(t, cfg).httpURL
	cfg.CORSAllowedOrigins = nil
	closed := serveOnLoopback(t, cfg).httpURL

	tests := []struct {
		name        string
		base        string
		method      string
		path        string
		origin      string
		reqHeaders  string // Access-Control-Request-Headers of a preflight
		reqMethod   string // Access-Control-Request-Method of a preflight; "": GET for a REST path or a Connect GET, else POST
		wantStatus  int
		wantOrigin  string
		wantHeaders string // Access-Control-Allow-Headers
		wantExpose  bool   // Access-Control-Expose-Headers names X-Correlation-Id
	}{
		{
			name: "preflight of a REST call", base: base, method: http.MethodOptions, path: "/v1/Resellers/" + sandbox.ContosoResellerID,
			origin: testOrigin, reqHeaders: "authorization,x-correlation-id,x-tenant",
			wantStatus: http.StatusNoContent, wantOrigin: testOrigin, wantHeaders: "authorization,x-correlation-id,x-tenant",
		},
		{
			name: "preflight of a REST call bounding stale answers", base: base, method: http.MethodOptions, path: "/v1/Resellers/" + sandbox.ContosoResellerID,
			origin: testOrigin, reqHeaders: "authorization,cache-control,x-tenant",
			wantStatus: http.StatusNoContent, wantOrigin: testOrigin, wantHeaders: "authorization,cache-control,x-tenant",
		},
		{
			name: "preflight of a Connect call", base: base, method: http.MethodOptions, path: pb.ResellerService_GetReseller_FullMethodName,
			origin: testOrigin, reqHeaders: "authorization,connect-protocol-version,content-type,x-tenant",
			wantStatus: http.StatusNoContent, wantOrigin: testOrigin, wantHeaders: "authorization,connect-protocol-version,content-type,x-tenant",
		},
		{
			name: "preflight of a gRPC-Web call", base: base, method: http.MethodOptions, path: pb.ResellerService_GetReseller_FullMethodName,
			origin: testOrigin, reqHeaders: "authorization,content-type,x-grpc-web,x-tenant,x-user-agent",
			wantStatus: http.StatusNoContent, wantOrigin: testOrigin, wantHeaders: "authorization,content-type,x-grpc-web,x-tenant,x-user-agent",
		},
		{
			name: "preflight of a Connect GET", base: base, method: http.MethodOptions, path: connectGetPath,
			origin: testOrigin, reqHeaders: "authorization,x-tenant",
			wantStatus: http.StatusNoContent, wantOrigin: testOrigin, wantHeaders: "authorization,x-tenant",
		},
		{
			name: "Connect GET", base: base, method: http.MethodGet, path: connectGetPath,
			origin: testOrigin, wantStatus: http.StatusOK, wantOrigin: testOrigin, wantExpose: true,
		},
		{
			name: "preflight with a header the API does not use", base: base, method: http.MethodOptions, path: pb.ResellerService_GetReseller_FullMethodName,
			origin: testOrigin, reqHeaders: "authorization,x-secret",
			wantStatus: http.StatusNoContent,
		},
		{
			name: "preflight of a method the API does not use", base: base, method: http.MethodOptions, path: "/v1/Resellers/" + sandbox.ContosoResellerID,
			origin: testOrigin, reqHeaders: "authorization,x-tenant", reqMethod: http.MethodPut,
			wantStatus: http.StatusNoContent,
		},
		{
			name: "preflight from another origin", base: base, method: http.MethodOptions, path: "/v1/Resellers/" + sandbox.ContosoResellerID,
			origin: "http://evil.example", reqHeaders: "authorization,x-tenant",
			wantStatus: http.StatusNoContent,
		},
		{
			name: "REST call", base: base, method: http.MethodGet, path: "/v1/Resellers/" + sandbox.ContosoResellerID,
			origin: testOrigin, wantStatus: http.StatusOK, wantOrigin: testOrigin, wantExpose: true,
		},
		{
			name: "REST error", base: base, method: http.MethodGet, path: "/v1/Resellers/" + sandbox.UnknownResellerID,
			origin: testOrigin, wantStatus: http.StatusNotFound, wantOrigin: testOrigin, wantExpose: true,
		},
		{
			name: "REST call from another origin", base: base, method: http.MethodGet, path: "/v1/Resellers/" + sandbox.ContosoResellerID,
			origin: "http://evil.example", wantStatus: http.StatusOK,
		},
		{
			name: "metrics are not for pages", base: base, method: http.MethodGet, path: "/metrics",
			origin: testOrigin, wantStatus: http.StatusOK,
		},
		{
			name: "CORS off: preflight", base: closed, method: http.MethodOptions, path: "/v1/Resellers/" + sandbox.ContosoResellerID,
			origin: testOrigin, reqHeaders: "authorization,x-tenant", wantStatus: http.StatusMethodNotAllowed,
		},
		{
			name: "CORS off: call", base: closed, method: http.MethodGet, path: "/v1/Resellers/" + sandbox.ContosoResellerID,
			origin: testOrigin, wantStatus: http.StatusOK,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tt.method, tt.base+tt.path, nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Origin", tt.origin)
			if tt.method == http.MethodOptions {
				req.Header.Set("Access-Control-Request-Method", http.MethodPost)
				if strings.HasPrefix(tt.path, "/v1/") || tt.path == connectGetPath {
					req.Header.Set("Access-Control-Request-Method", http.MethodGet)
				}
				if tt.reqMethod != "" {
					req.Header.Set("Access-Control-Request-Method", tt.reqMethod)
				}
				req.Header.Set("Access-Control-Request-Headers", tt.reqHeaders)
			} else {
				req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
				req.Header.Set("X-Tenant", sandbox.SampleTenant)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != tt.wantStatus {
				t.Errorf("status = %d, want %d", resp.StatusCode, tt.wantStatus)
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != tt.wantOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, tt.wantOrigin)
			}
			if got := resp.Header.Get("Access-Control-Allow-Headers"); got != tt.wantHeaders {
				t.Errorf("Access-Control-Allow-Headers = %q, want %q", got, tt.wantHeaders)
			}
			wantMaxAge := ""
			if tt.method == http.MethodOptions && tt.wantOrigin != "" {
				wantMaxAge = strconv.Itoa(corsMaxAge) // browsers cache the grant
			}
			if got := resp.Header.Get("Access-Control-Max-Age"); got != wantMaxAge {
				t.Errorf("Access-Control-Max-Age = %q, want %q", got, wantMaxAge)
			}
			expose := resp.Header.Get("Access-Control-Expose-Headers")
			for _, h := range []string{"X-Correlation-Id", "Retry-After", "Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin", "Cache-Status", "Age"} {
				if got := slices.Contains(strings.Split(expose, ", "), h); got != tt.wantExpose {
					t.Errorf("Access-Control-Expose-Headers %q: has %s = %v, want %v", expose, h, got, tt.wantExpose)
				}
			}
			if got := resp.Header.Get("Access-Control-Allow-Credentials"); got != "" {
				t.Errorf("Access-Control-Allow-Credentials = %q, want none", got)
			}
		})
	}
}

// connectGetPath is a Connect GET of GetReseller (JSON).
var connectGetPath = pb.ResellerService_GetReseller_FullMethodName + "?" + url.Values{
	"connect": {"v1"}, "encoding": {"json"}, "message": {`{"resellerId":"` + sandbox.ContosoResellerID + `"}`},
}.Encode()

// TestValidateOrigins: the setting takes origins and *, nothing else.
func TestValidateOrigins(t *testing.T) {
	tests := []struct {
		give    []string
		wantErr bool
	}{
		{give: nil},
		{give: []string{"*"}},
		{give: []string{"https://app.example.com", "http://127.0.0.1:5173"}},
		{give: []string{"https://*.example.com"}},
		{give: []string{"https://app.example.com/"}, wantErr: true},
		{give: []string{"https://app.example.com/path"}, wantErr: true},
		{give: []string{"app.example.com"}, wantErr: true},
		{give: []string{"ftp://app.example.com"}, wantErr: true},
		{give: []string{"https://App.example.com"}, wantErr: true},
		{give: []string{"https://user@app.example.com"}, wantErr: true},
		{give: []string{"https://"}, wantErr: true},
		{give: []string{"https://app.example.com?x=1"}, wantErr: true},
		{give: []string{"https://app.example.com#x"}, wantErr: true},
	}
	for _, tt := range tests {
		t.Run(strings.Join(tt.give, ","), func(t *testing.T) {
			cfg := DefaultConfig()
			cfg.CORSAllowedOrigins = tt.give
			if err := cfg.Validate(); (err != nil) != tt.wantErr {
				t.Errorf("Validate() = %v, want error %v", err, tt.wantErr)
			}
		})
	}
}

// TestGRPCWebTrailerWriter feeds the writer a body split at every position:
// trailer names come out lower-case, everything else unchanged.
func TestGRPCWebTrailerWriter(t *testing.T) {
	frame := func(flags byte, payload string) string {
		return string(binary.BigEndian.AppendUint32([]byte{flags}, uint32(len(payload)))) + payload
	}
	msg := "Grpc-Status: X\r\nAbc:Def\r\n" // a message that looks like a trailer block
	tests := []struct {
		name string
		give string
		want string
	}{
		{
			name: "message and trailer",
			give: frame(0, msg) + frame(0x80, "Grpc-Message: Not Found\r\nGrpc-Status: 5\r\nX-Correlation-Id: AB\r\n"),
			want: frame(0, msg) + frame(0x80, "grpc-message: Not Found\r\ngrpc-status: 5\r\nx-correlation-id: AB\r\n"),
		},
		{
			name: "empty message",
			give: frame(0, "") + frame(0x80, "Grpc-Status: 0\r\n"),
			want: frame(0, "") + frame(0x80, "grpc-status: 0\r\n"),
		},
		{
			name: "trailer only",
			give: frame(0x80, "Grpc-Status: 0\r\n"),
			want: frame(0x80, "grpc-status: 0\r\n"),
		},
	}
	for _, tt := range tests {
		for split := range len(tt.give) + 1 {
			rec := &recorder{header: http.Header{}}
			w := &grpcWebTrailerWriter{wrappedWriter: wrappedWriter{rec}}
			give := []byte(tt.give)
			for _, part := range [][]byte{give[:split], give[split:]} {
				if _, err := w.Write(part); err != nil {
					t.Fatal(err)
				}
			}
			if got := rec.body.String(); got != tt.want {
				t.Errorf("%s split at %d: got %q, want %q", tt.name, split, got, tt.want)
			}
			if string(give) != tt.give {
				t.Errorf("%s split at %d: the caller's buffer was modified", tt.name, split)
			}
		}
	}
}

// recorder is a minimal http.ResponseWriter.
type recorder struct {
	header http.Header
	body   bytes.Buffer
}

func (r *recorder) Header() http.Header         { return r.header }
func (r *recorder) Write(p []byte) (int, error) { return r.body.Write(p) }
func (r *recorder) WriteHeader(int)             {}

// TestRPCPathNotACall: a request on a service's path that is no call the
// transcoder serves gets the mirror's JSON 404, not a bare text answer.
func TestRPCPathNotACall(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL
	tests := []struct {
		name, method, path, contentType string
	}{
		{name: "GET", method: http.MethodGet, path: pb.ResellerService_GetReseller_FullMethodName},
		{name: "unknown method", method: http.MethodPost, path: "/cloudcockpit.v1.ResellerService/Nope", contentType: "application/json"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, tt.method, base+tt.path, strings.NewReader("AAAAAA=="))
			if err != nil {
				t.Fatal(err)
			}
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
				req.Header.Set("X-Grpc-Web", "1")
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if resp.StatusCode != http.StatusNotFound || resp.Header.Get("Content-Type") != "application/json" || !strings.Contains(string(body), `"UNKNOWN_PATH"`) {
				t.Errorf("%d %s %s, want the mirror's JSON 404", resp.StatusCode, resp.Header.Get("Content-Type"), body)
			}
		})
	}
}

// TestLongGRPCTimeoutIsServed: a grpc-timeout of more than 8 hours, valid in
// the gRPC spec (at most 8 digits: "9H", "99999999H") and served by grpc-go on
// the gRPC port (clamped to the longest duration it holds), is served on the
// HTTP port too, in gRPC and gRPC-Web, as a call without a deadline. vanguard
// v0.4.0 means to ignore it ("effectively unbounded") but returns its
// errNoTimeout as an error: it had answered HTTP 400 `no timeout`, no gRPC status.
func TestLongGRPCTimeoutIsServed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL
	frame := webFrame(t, &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})
	for _, timeout := range []string{"9H", "99999999H"} {
		for _, ct := range []string{"application/grpc", grpcWebType, grpcWebTextType} {
			t.Run(timeout+"/"+ct, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				got := rawCall(ctx, t, base, ct, http.Header{"Grpc-Timeout": {timeout}}, frame)
				got.ContentType = "" // each protocol's own
				want := rawAnswer{Status: http.StatusOK, GRPCStatus: "0", ResellerID: sandbox.ContosoResellerID}
				if diff := cmp.Diff(want, got); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
			})
		}
	}
	t.Run("over 8 digits is refused", func(t *testing.T) { // out of the spec: not served without a deadline
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		got := rawCall(ctx, t, base, "application/grpc", http.Header{"Grpc-Timeout": {"100000000H"}}, frame)
		if got.GRPCStatus == "0" {
			t.Errorf("answer %+v, want a refusal", got)
		}
	})
	t.Run("the upstream timeout still bounds it", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Upstream.Timeout, cfg.Upstream.AttemptTimeout, cfg.Upstream.MaxAttempts = 300*time.Millisecond, -1, 1
		addrs, _ := admissionServer(t, cfg, time.Minute) // answers when the call has gone
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		// With no deadline of the caller's, Upstream.Timeout ends the call: DEADLINE_EXCEEDED.
		got := rawCall(ctx, t, "http://"+addrs["http"], "application/grpc", http.Header{"Grpc-Timeout": {"9H"}}, frame)
		if got.GRPCStatus != strconv.Itoa(int(codes.DeadlineExceeded)) {
			t.Errorf("answer %+v, want grpc-status %d (DEADLINE_EXCEEDED)", got, codes.DeadlineExceeded)
		}
	})
}

// rawAnswer is what a raw gRPC or gRPC-Web GetReseller call got.
type rawAnswer struct {
	Status      int
	ContentType string
	GRPCStatus  string // from the trailers, the trailer frame or a trailers-only answer's headers
	ResellerID  string // of the answer's message
}

// rawCall posts frame to GetReseller on base over h2c as contentType (gRPC,
// or gRPC-Web: the text form in base64) with the sandbox's credentials and
// header, and reads the answer in its protocol.
func rawCall(ctx context.Context, t *testing.T, base, contentType string, header http.Header, frame []byte) rawAnswer {
	t.Helper()
	body := frame
	if strings.HasPrefix(contentType, grpcWebTextType) {
		body = base64.StdEncoding.AppendEncode(nil, frame)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+pb.ResellerService_GetReseller_FullMethodName, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	maps.Copy(req.Header, header)
	req.Header.Set("Content-Type", contentType)
	resp, answer := sendAsSandboxCaller(t, h2cClient(), req)
	got := rawAnswer{Status: resp.StatusCode, ContentType: resp.Header.Get("Content-Type"), GRPCStatus: resp.Header.Get("Grpc-Status")}
	if isType(got.ContentType, grpcWebTextType) {
		answer, _ = decodeBase64Segments(answer)
	}
	for len(answer) >= 5 {
		n := min(int(binary.BigEndian.Uint32(answer[1:5])), len(answer)-5)
		if answer[0]&0x80 != 0 { // gRPC-Web's trailer frame
			for line := range strings.Lines(string(answer[5 : 5+n])) {
				if v, ok := strings.CutPrefix(line, "grpc-status:"); ok {
					got.GRPCStatus = strings.TrimSpace(v)
				}
			}
		} else {
			var r pb.Reseller
			_ = proto.Unmarshal(answer[5:5+n], &r)
			got.ResellerID = r.GetId()
		}
		answer = answer[5+n:]
	}
	if st := resp.Trailer.Get("Grpc-Status"); st != "" { // gRPC's
		got.GRPCStatus = st
	}
	return got
}

// TestContentTypeParameters: a gRPC or gRPC-Web call whose content type has a
// parameter (`application/grpc; charset=utf-8`), which grpc-go serves on the
// gRPC port, is served on the HTTP port too, in its protocol. vanguard v0.4.0
// reads no protocol in such a type: it had got the mirror's 404 "no such
// path", and in gRPC-Web text, read as binary, REQUEST_TOO_LARGE (HTTP 429).
func TestContentTypeParameters(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL
	frame := webFrame(t, &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})
	tests := []struct{ contentType, wantType string }{
		{contentType: "application/grpc; charset=utf-8", wantType: "application/grpc"},
		{contentType: "application/grpc+proto;charset=utf-8", wantType: "application/grpc+proto"},
		{contentType: "application/grpc-web; charset=utf-8", wantType: "application/grpc-web+proto"},
		{contentType: "application/grpc-web-text; charset=utf-8", wantType: "application/grpc-web-text+proto"},
	}
	for _, tt := range tests {
		t.Run(tt.contentType, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			got := rawCall(ctx, t, base, tt.contentType, nil, frame)
			want := rawAnswer{Status: http.StatusOK, ContentType: tt.wantType, GRPCStatus: "0", ResellerID: sandbox.ContosoResellerID}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("answer (-want +got):\n%s", diff)
			}
		})
	}
}
