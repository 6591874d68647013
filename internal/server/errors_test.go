package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

const (
	errTestReseller = "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"
	errTestTenant   = "portal.cloudcockpit.com"
	// errTestJWT is shaped like a Microsoft Entra token.
	errTestJWT = "eyJhbGciOiJSUzI1NiIsInR5cCI6IkpXVCJ9.eyJhdWQiOiJhcGk6Ly9jbG91ZGNvY2twaXQiLCJpc3MiOiJodHRwczovL3N0cy53aW5kb3dzLm5ldC8ifQ.c2lnbmF0dXJlLW9mLXRoZS10b2tlbi1zaWduZWQtYnktZW50cmE"
)

// syncBuffer is a bytes.Buffer safe for the server's concurrent logging.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// startLoggedServer runs Serve with cfg on loopback listeners (see
// startServe) and returns a gRPC connection to it and the HTTP base URL.
func startLoggedServer(t *testing.T, cfg Config, log io.Writer) (*grpc.ClientConn, string) {
	t.Helper()
	grpcAddr, httpBase := startServe(t, cfg, log)
	return dialGRPC(t, grpcAddr), httpBase
}

// dialGRPC returns a plaintext gRPC connection to addr, closed with the
// test.
func dialGRPC(t *testing.T, addr string) *grpc.ClientConn {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { _ = conn.Close() })
	return conn
}

// startServe runs Serve with cfg on loopback listeners (serveOnLoopback),
// logging at debug level to log, and returns the gRPC address and the HTTP
// base URL.
func startServe(t *testing.T, cfg Config, log io.Writer) (string, string) {
	t.Helper()
	cfg.Logger = slog.New(slog.NewJSONHandler(log, &slog.HandlerOptions{Level: slog.LevelDebug}))
	s := serveOnLoopback(t, cfg)
	return s.grpcAddr, s.httpURL
}

// restGet sends GET url with credentials and returns the status and body.
func restGet(ctx context.Context, t *testing.T, url, authorization string) (int, []byte) {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", authorization)
	req.Header.Set("X-Tenant", errTestTenant)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return resp.StatusCode, body
}

// tokenPiece returns the first run of apierr.MinSecretRun characters of
// the test token (errTestJWT) found in text in any letter case, "" when
// there is none.
func tokenPiece(text string) string {
	token := errTestJWT
	lower := strings.ToLower(text)
	for i := 0; i+apierr.MinSecretRun <= len(token); i++ {
		if piece := strings.ToLower(token[i : i+apierr.MinSecretRun]); strings.Contains(lower, piece) {
			return piece
		}
	}
	return ""
}

// encodedTokens are the test token (errTestJWT) in the encodings an upstream
// may quote it in (apierr's tests have every variant).
var encodedTokens = []string{
	escapeEach(errTestJWT, "%%%02X"),
	base64.StdEncoding.EncodeToString([]byte(errTestJWT)),
	base64.RawURLEncoding.EncodeToString([]byte("Bearer " + errTestJWT)),
	strings.ToUpper(hex.EncodeToString([]byte(errTestJWT))),
	escapeEach(errTestJWT, `\u%04x`),
	escapeEach(errTestJWT, "&#%d;"),
	strings.Join(strings.Split(errTestJWT, ""), "\u200b"),
}

// escapeEach writes every byte of s in format.
func escapeEach(s, format string) string {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		fmt.Fprintf(&b, format, s[i])
	}
	return b.String()
}

// tokenLeak returns what text still holds of the test token: a run of
// apierr.MinSecretRun of its characters in any letter case (see
// tokenPiece), or the middle third of one of encodedTokens, as it is or
// escaped as JSON (with or without HTML escapes); "" when nothing.
func tokenLeak(text string) string {
	if p := tokenPiece(text); p != "" {
		return p
	}
	for _, enc := range encodedTokens {
		var html, plain bytes.Buffer
		_ = json.NewEncoder(&html).Encode(enc)
		e := json.NewEncoder(&plain)
		e.SetEscapeHTML(false)
		_ = e.Encode(enc)
		for _, v := range []string{enc, html.String(), plain.String()} {
			if mid := v[len(v)/3 : 2*len(v)/3]; strings.Contains(text, mid) {
				return mid
			}
		}
	}
	return ""
}

// TestNoTokenPieceLeaks: an upstream that quotes the caller's token in every
// way it can (whole, split at its dots, as a prefix, upper- and lower-cased,
// encoded (see encodedTokens), in every envelope field) leaves no run of 8
// of its characters and no encoded form in what reaches the caller (gRPC
// status and details, REST body), the log, the spans or the metrics.
func TestNoTokenPieceLeaks(t *testing.T) {
	segs := strings.Split(errTestJWT, ".")
	quotes := []string{
		errTestJWT,
		"Bearer " + errTestJWT,
		strings.Join(segs, " "),
		segs[0] + "." + segs[1],
		errTestJWT[:24],
		strings.ToUpper(errTestJWT),
		strings.ToLower(segs[2]),
		errTestJWT[50:58],
	}
	quotes = append(quotes, encodedTokens...)
	statuses := []int{400, 401, 403, 404, 409, 429, 500, 503}
	var upstreamStatus atomic.Int32 // the status the upstream answers with
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		code := int(upstreamStatus.Load())
		if code == http.StatusOK { // a reseller whose enum names quote the token
			w.Header().Set("Content-Type", "application/json")
			_, _ = io.WriteString(w, `{"id":"`+errTestReseller+`","providerResellers":[{"providerInstanceId":"`+errTestReseller+`",`+
				`"priceMargin":{"marginRule":{"name":"`+segs[1][:40]+`"}},"status":{"name":"`+strings.ToUpper(errTestJWT[:30])+`"}}]}`)
			return
		}
		env := map[string]any{
			"statusCode":    code,
			"type":          "IDX10223 " + strings.Join(quotes, " | "),
			"description":   "token rejected: " + strings.Join(quotes, ", "),
			"correlationId": segs[1],
			"errors": []map[string]any{
				{"propertyName": "Authorization " + errTestJWT[:30], "description": quotes},
				{"propertyName": strings.ToUpper(segs[0]), "description": []string{"bad " + segs[2]}},
			},
		}
		w.Header().Set("Content-Type", "application/json")
		w.Header().Set("Retry-After", "1")
		w.WriteHeader(code)
		_ = json.NewEncoder(w).Encode(env)
	}))
	defer up.Close()

	exp := tracetest.NewInMemoryExporter()
	var log syncBuffer
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
	cfg.Upstream.MaxAttempts = 1
	cfg.Upstream.Breaker.FailureRatio = -1 // no breakers
	cfg.Tracing = telemetry.NewTracing(sdktrace.WithSyncer(exp))
	conn, httpBase := startLoggedServer(t, cfg, &log)
	client := pb.NewResellerServiceClient(conn)

	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	var seen []string // everything the caller saw
	for _, code := range statuses {
		upstreamStatus.Store(int32(code))
		callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+errTestJWT, "x-tenant", errTestTenant)
		_, err := client.GetReseller(callCtx, &pb.GetResellerRequest{ResellerId: errTestReseller})
		st := status.Convert(err)
		if st.Code() == 0 {
			t.Fatalf("upstream %d: call succeeded", code)
		}
		encoded, _ := proto.Marshal(st.Proto())
		js, _ := protojson.Marshal(st.Proto())
		seen = append(seen, st.Message(), string(encoded), string(js))
		httpStatus, body := restGet(ctx, t, httpBase+"/v1/Resellers/"+errTestReseller, "Bearer "+errTestJWT)
		if httpStatus < 400 {
			t.Fatalf("upstream %d: REST status %d", code, httpStatus)
		}
		seen = append(seen, string(body))
	}
	upstreamStatus.Store(http.StatusOK)
	callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+errTestJWT, "x-tenant", errTestTenant)
	if _, err := client.GetReseller(callCtx, &pb.GetResellerRequest{ResellerId: errTestReseller}); err != nil {
		t.Fatalf("GetReseller with unknown enum names: %v", err)
	}
	if !strings.Contains(log.String(), "unknown enum name") {
		t.Error("no warning about the unknown enum names")
	}
	_, metrics := restGet(ctx, t, httpBase+"/metrics", "")

	for i, text := range seen {
		if p := tokenLeak(text); p != "" {
			t.Errorf("caller output %d holds token piece %q: %.300s", i, p, text)
		}
	}
	if p := tokenLeak(log.String()); p != "" {
		t.Errorf("log holds token piece %q", p)
	}
	if p := tokenLeak(string(metrics)); p != "" {
		t.Errorf("metrics hold token piece %q", p)
	}
	spans := exp.GetSpans()
	if len(spans) == 0 {
		t.Fatal("no spans recorded")
	}
	for _, s := range spans {
		text := fmt.Sprintf("%s %v %v %v %v", s.Name, s.Status, s.Attributes, s.Events, s.Links)
		if p := tokenLeak(text); p != "" {
			t.Errorf("span %q holds token piece %q: %.300s", s.Name, p, text)
		}
	}
	if !strings.Contains(log.String(), apierr.Redacted) {
		t.Error("the log shows no redaction: the upstream's text did not reach it, so the test proves nothing")
	}
}

// TestUpstreamDetailsBounded: an upstream 400 with 1,500 errors (7,500 JSON
// elements, within the client's bound) becomes a status whose
// grpc-status-details-bin (base64 of the encoded status) stays under 8 KiB,
// as does the whole trailer block and the REST mirror's body; what was cut
// is counted.
func TestUpstreamDetailsBounded(t *testing.T) {
	const n = 1500
	errs := make([]map[string]any, n)
	for i := range errs {
		errs[i] = map[string]any{"propertyName": "items[" + strconv.Itoa(i) + "].resellerId", "description": []string{"The value is not a valid reseller id."}}
	}
	body, err := json.Marshal(map[string]any{"statusCode": 400, "type": "ValidationError", "description": "One or more validation errors occurred.", "errors": errs})
	if err != nil {
		t.Fatal(err)
	}
	up := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		w.WriteHeader(http.StatusBadRequest)
		_, _ = w.Write(body)
	}))
	defer up.Close()
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = up.URL, true
	cfg.Upstream.MaxBodyBytes = 4 << 20
	conn, httpBase := startLoggedServer(t, cfg, io.Discard)
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()

	callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer test-token", "x-tenant", errTestTenant)
	_, err = pb.NewResellerServiceClient(conn).GetReseller(callCtx, &pb.GetResellerRequest{ResellerId: errTestReseller})
	st := status.Convert(err)
	encoded, err := proto.Marshal(st.Proto())
	if err != nil {
		t.Fatal(err)
	}
	detailsBin := len(base64.RawStdEncoding.EncodeToString(encoded))
	trailers := detailsBin + len(st.Message())
	t.Logf("upstream body %d bytes; encoded status %d bytes; grpc-status-details-bin %d bytes; with grpc-message %d bytes", len(body), len(encoded), detailsBin, trailers)
	if detailsBin >= 8<<10 || trailers >= 8<<10 {
		t.Errorf("grpc-status-details-bin = %d bytes, with grpc-message %d; want both under 8 KiB", detailsBin, trailers)
	}
	var info *errdetails.ErrorInfo
	var br *errdetails.BadRequest
	for _, d := range st.Details() {
		switch d := d.(type) {
		case *errdetails.ErrorInfo:
			info = d
		case *errdetails.BadRequest:
			br = d
		}
	}
	if info == nil || br == nil {
		t.Fatalf("details = %v, want ErrorInfo and BadRequest", st.Details())
	}
	fvs := br.GetFieldViolations()
	kept := len(fvs) - 1
	want := "and " + strconv.Itoa(n-kept) + " more"
	if kept < 1 || kept > apierr.MaxFieldViolations || fvs[kept].GetDescription() != want {
		t.Errorf("%d violations, last %v; want at most %d and a summary %q", len(fvs), fvs[len(fvs)-1], apierr.MaxFieldViolations, want)
	}
	if got := info.GetMetadata()[apierr.MetaOmittedViolations]; got != strconv.Itoa(n-kept) {
		t.Errorf("ErrorInfo %s = %q, want %d", apierr.MetaOmittedViolations, got, n-kept)
	}

	httpStatus, restBody := restGet(ctx, t, httpBase+"/v1/Resellers/"+errTestReseller, "Bearer test-token")
	t.Logf("REST mirror body %d bytes", len(restBody))
	if httpStatus != http.StatusBadRequest || len(restBody) >= 8<<10 {
		t.Errorf("REST mirror: %d with a %d-byte body, want 400 under 8 KiB", httpStatus, len(restBody))
	}
	if !strings.Contains(string(restBody), want) {
		t.Errorf("REST body lacks the summary %q", want)
	}
}

// TestUnreachableUpstreamCause: when the upstream cannot be reached, callers
// get the category in ErrorInfo metadata, never the address or host name,
// and the access log carries it.
func TestUnreachableUpstreamCause(t *testing.T) {
	l := listen(t)
	closed := l.Addr().String()
	_ = l.Close()
	tests := []struct {
		name    string
		url     string
		secrets []string // must not reach the caller
		want    string
	}{
		{"refused", "http://" + closed, []string{closed, "127.0.0.1"}, "refused"},
		{"dns", "http://upstream.cloudcockpit.invalid", []string{"cloudcockpit.invalid"}, "dns"},
		{"tls", "https://" + closedTLSPlain(t), []string{"127.0.0.1"}, "tls"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if tt.want == "dns" {
				requireResolver(t, "upstream.cloudcockpit.invalid")
			}
			var log syncBuffer
			cfg := DefaultConfig()
			cfg.Upstream.BaseURL, cfg.UpstreamURLSet = tt.url, true
			cfg.Upstream.MaxAttempts = 1
			conn, httpBase := startLoggedServer(t, cfg, &log)
			ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
			defer cancel()
			callCtx := metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer test-token", "x-tenant", errTestTenant)
			_, err := pb.NewResellerServiceClient(conn).GetReseller(callCtx, &pb.GetResellerRequest{ResellerId: errTestReseller})
			st := status.Convert(err)
			info, _ := details(err)
			if cause := info.GetMetadata()[apierr.MetaCause]; cause != tt.want {
				t.Errorf("ErrorInfo cause = %q, want %q (status %v)", cause, tt.want, st.Proto())
			}
			js, _ := protojson.Marshal(st.Proto())
			_, body := restGet(ctx, t, httpBase+"/v1/Resellers/"+errTestReseller, "Bearer test-token")
			for _, s := range tt.secrets {
				if strings.Contains(string(js), s) || strings.Contains(string(body), s) {
					t.Errorf("status or REST body names %q:\n%s\n%s", s, js, body)
				}
			}
			if want := `"cause":"` + tt.want + `"`; !strings.Contains(log.String(), want) {
				t.Errorf("access log lacks %s:\n%s", want, log.String())
			}
		})
	}
}

// closedTLSPlain returns the address of a plain HTTP server, for a TLS
// client to fail against.
func closedTLSPlain(t *testing.T) string {
	srv := httptest.NewServer(http.NotFoundHandler())
	t.Cleanup(srv.Close)
	return srv.Listener.Addr().String()
}

// requireResolver skips the test when no DNS resolver answers here: the
// lookup of an unresolvable name then times out instead of failing with
// "no such host".
func requireResolver(t *testing.T, name string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel()
	_, err := net.DefaultResolver.LookupHost(ctx, name)
	var dnsErr *net.DNSError
	if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
		t.Skipf("no DNS resolver answers for %s here: %v", name, err)
	}
}
