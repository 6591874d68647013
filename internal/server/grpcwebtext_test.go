package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"strconv"
	"strings"
	"testing"
	"time"

	"connectrpc.com/connect"
	"github.com/google/go-cmp/cmp"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// webFrame is msg as a gRPC-Web message frame.
func webFrame(t *testing.T, msg proto.Message) []byte {
	t.Helper()
	b, err := proto.Marshal(msg)
	if err != nil {
		t.Fatal(err)
	}
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(b))), b...) //nolint:gosec // G115: a test message
}

// webAnswer is what a raw gRPC-Web call got: its outcome, the detail types
// of an error, and the message of a success.
type webAnswer struct {
	outcome outcome
	types   []string
	message []byte
}

// postWeb posts body to url as contentType, with the sandbox's credentials
// and origin testOrigin, and reads the gRPC-Web answer in wantType (the text
// form decoded): frames, lower-case trailer names, status (from the trailer
// block, or the headers of a trailers-only answer) and details.
func postWeb(ctx context.Context, t *testing.T, url, contentType, wantType string, body []byte) webAnswer {
	t.Helper()
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", contentType)
	req.Header.Set("X-Grpc-Web", "1")
	req.Header.Set("Origin", testOrigin)
	resp, body := sendAsSandboxCaller(t, nil, req)
	if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != wantType {
		t.Fatalf("answer %d %q, want 200 %s", resp.StatusCode, resp.Header.Get("Content-Type"), wantType)
	}
	if got := resp.Header.Get("Access-Control-Allow-Origin"); got != testOrigin {
		t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, testOrigin)
	}
	if isType(wantType, grpcWebTextType) {
		if body, err = decodeBase64Segments(body); err != nil {
			t.Fatalf("answer is not base64: %v", err)
		}
	}
	trailers := map[string]string{}
	for k := range resp.Header {
		trailers[strings.ToLower(k)] = resp.Header.Get(k)
	}
	var got webAnswer
	for len(body) >= 5 {
		n := int(binary.BigEndian.Uint32(body[1:5]))
		if n > len(body)-5 {
			t.Fatalf("truncated frame in %q", body)
		}
		if body[0]&0x80 == 0 {
			got.message = body[5 : 5+n]
		} else {
			for line := range strings.SplitSeq(strings.TrimSpace(string(body[5:5+n])), "\r\n") {
				name, value, _ := strings.Cut(line, ":")
				if name != strings.ToLower(name) {
					t.Errorf("trailer name %q is not lower-case", name)
				}
				trailers[name] = strings.TrimSpace(value)
			}
		}
		body = body[5+n:]
	}
	code, err := strconv.Atoi(trailers["grpc-status"])
	if err != nil {
		t.Fatalf("grpc-status %q: %v", trailers["grpc-status"], err)
	}
	got.outcome = outcome{Code: "ok"}
	if code != 0 {
		bin, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(trailers["grpc-status-details-bin"], "="))
		var p spb.Status
		if err != nil || proto.Unmarshal(bin, &p) != nil {
			t.Fatalf("grpc-status-details-bin %q does not decode", trailers["grpc-status-details-bin"])
		}
		details := status.FromProto(&p).Details()
		got.outcome = outcome{Code: connect.Code(code).String(), Reason: reasonOf(details)} //nolint:gosec // G115: a status code
		for _, d := range details {
			got.types = append(got.types, string(proto.MessageName(d.(proto.Message))))
		}
	}
	return got
}

// TestGRPCWeb calls both methods with raw gRPC-Web requests in the binary
// form and in the text form, as the official grpc-web client's mode=grpcweb
// and mode=grpcwebtext send them: the text answers are base64 of the binary
// ones, labelled application/grpc-web-text+proto; both have lower-case
// trailer names (the gRPC-Web spec's, which the official client reads
// case-sensitively) and the same codes and details, granted to an allowed
// origin. A text body in padded segments is read; one that is not base64 or
// too large (its message, not its base64) is refused with a status. The
// text form keeps the caller's codec (+json).
func TestGRPCWeb(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	cfg.CORSAllowedOrigins = []string{testOrigin}
	base := serveOnLoopback(t, cfg).httpURL
	reseller := pb.ResellerService_GetReseller_FullMethodName
	contoso := webFrame(t, &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})
	errorTypes := []string{"google.rpc.ErrorInfo", "google.rpc.RequestInfo"}
	calls := []struct {
		name, path string
		give       []byte // the binary request body
		want       webAnswer
		wantIn     string // in the answer's message
	}{
		{name: "GetReseller", path: reseller, give: contoso, want: webAnswer{outcome: outcome{Code: "ok"}}, wantIn: "Contoso Cloud Solutions"},
		{name: "GetAcceptanceLink", path: pb.CustomerService_GetAcceptanceLink_FullMethodName, give: webFrame(t, &pb.GetAcceptanceLinkRequest{ProviderInstanceId: sandbox.SpecProviderInstanceID}),
			want: webAnswer{outcome: outcome{Code: "ok"}}, wantIn: "https://"},
		{name: "invalid id", path: reseller, give: webFrame(t, &pb.GetResellerRequest{ResellerId: "nope"}),
			want: webAnswer{outcome: outcome{Code: "invalid_argument", Reason: apierr.ReasonInvalidRequest}, types: append(errorTypes, "google.rpc.BadRequest")}},
		{name: "unknown reseller", path: reseller, give: webFrame(t, &pb.GetResellerRequest{ResellerId: sandbox.UnknownResellerID}),
			want: webAnswer{outcome: outcome{Code: "not_found", Reason: apierr.ReasonUpstreamNotFound}, types: append(errorTypes, "google.rpc.ResourceInfo")}},
	}
	text := func(b []byte) []byte { return base64.StdEncoding.AppendEncode(nil, b) }
	forms := []struct {
		contentType, wantType string
		encode                func([]byte) []byte
	}{
		{contentType: "application/grpc-web+proto", wantType: "application/grpc-web+proto", encode: func(b []byte) []byte { return b }},
		{contentType: "application/grpc-web-text", wantType: "application/grpc-web-text+proto", encode: text},
		{contentType: "application/grpc-web-text+proto", wantType: "application/grpc-web-text+proto", encode: text},
	}
	for _, f := range forms {
		for _, tt := range calls {
			t.Run(f.contentType+"/"+tt.name, func(t *testing.T) {
				ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
				defer cancel()
				got := postWeb(ctx, t, base+tt.path, f.contentType, f.wantType, f.encode(tt.give))
				if !bytes.Contains(got.message, []byte(tt.wantIn)) {
					t.Errorf("message %q lacks %q", got.message, tt.wantIn)
				}
				got.message = nil
				if diff := cmp.Diff(tt.want, got, cmp.AllowUnexported(webAnswer{}), cmpSorted); diff != "" {
					t.Errorf("answer (-want +got):\n%s", diff)
				}
			})
		}
	}

	invalid := outcome{Code: "invalid_argument", Reason: apierr.ReasonInvalidRequest}
	texts := []struct {
		name, give string
		want       outcome
	}{
		{name: "padded segments", give: base64.StdEncoding.EncodeToString(contoso[:4]) + base64.StdEncoding.EncodeToString(contoso[4:]), want: outcome{Code: "ok"}},
		{name: "not base64", give: "AAAA!not base64", want: invalid},
		{name: "data after padding", give: "AA===AAA", want: invalid},
		{name: "too large", give: base64.StdEncoding.EncodeToString(webFrame(t, &pb.GetResellerRequest{ResellerId: strings.Repeat("x", maxMessageBytes)})),
			want: outcome{Code: "resource_exhausted", Reason: apierr.ReasonRequestTooLarge}},
		// The bound is on the message, not its base64: 80 KB of text reach
		// the service, which refuses the id.
		{name: "under the limit, its text over it", give: base64.StdEncoding.EncodeToString(webFrame(t, &pb.GetResellerRequest{ResellerId: strings.Repeat("x", maxMessageBytes*15/16)})),
			want: invalid},
	}
	for _, tt := range texts {
		t.Run("text/"+tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			got := postWeb(ctx, t, base+reseller, "application/grpc-web-text", "application/grpc-web-text+proto", []byte(tt.give))
			if diff := cmp.Diff(tt.want, got.outcome); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
		})
	}
	t.Run("text+json", func(t *testing.T) { // the caller's codec is kept
		ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
		defer cancel()
		js := []byte(`{"resellerId":"` + sandbox.ContosoResellerID + `"}`)
		frame := append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(js))), js...) //nolint:gosec // G115: a test message
		got := postWeb(ctx, t, base+reseller, "application/grpc-web-text+json", "application/grpc-web-text+json", text(frame))
		if got.outcome.Code != "ok" || !bytes.Contains(got.message, []byte(`"companyName":"Contoso Cloud Solutions`)) {
			t.Errorf("answer %v %q, want ok and the reseller in JSON", got.outcome, got.message)
		}
	})
}

// TestDecodeBase64Segments: padded segments decode one after the other;
// anything else is a CorruptInputError at its place in the whole input.
func TestDecodeBase64Segments(t *testing.T) {
	tests := []struct {
		give    string
		want    string
		wantErr string
	}{
		{give: "", want: ""},
		{give: "YWJj", want: "abc"},
		{give: "YQ==YWI=YWJj", want: "aababc"},
		{give: "YWJjYQ==", want: "abca"},
		{give: "YQ===YWJj", wantErr: "illegal base64 data at input byte 4"},
		{give: "YWJjYQ", wantErr: "illegal base64 data at input byte 4"},
		{give: "YWJj!", wantErr: "illegal base64 data at input byte 4"},
		{give: "YQ==YW!j", wantErr: "illegal base64 data at input byte 6"}, // counted in the whole body
	}
	for _, tt := range tests {
		got, err := decodeBase64Segments([]byte(tt.give))
		gotErr := ""
		if err != nil {
			gotErr = err.Error()
		}
		if string(got) != tt.want || gotErr != tt.wantErr {
			t.Errorf("decodeBase64Segments(%q) = %q, %q; want %q, %q", tt.give, got, gotErr, tt.want, tt.wantErr)
		}
	}
}

// FuzzDecodeBase64Segments: any input decodes or fails without panicking,
// and padded segments decode to what was encoded.
func FuzzDecodeBase64Segments(f *testing.F) {
	f.Add([]byte("YQ==YWI="), 1)
	f.Fuzz(func(t *testing.T, b []byte, cut int) {
		_, _ = decodeBase64Segments(b)
		cut = min(max(cut, 0), len(b))
		enc := base64.StdEncoding.EncodeToString(b[:cut]) + base64.StdEncoding.EncodeToString(b[cut:])
		got, err := decodeBase64Segments([]byte(enc))
		if err != nil || !bytes.Equal(got, b) {
			t.Errorf("decodeBase64Segments(%q) = %q, %v; want %q", enc, got, err, b)
		}
	})
}

// TestRPCPathNoProtocol: a POST to a method's path in none of the protocols
// served (no Connect-Protocol-Version, a content type no protocol uses) gets
// a Connect JSON error that names the header to add, not the mirror's 404;
// with the header, the same JSON call is answered. (A gRPC or gRPC-Web
// content type with a parameter is served: TestContentTypeParameters.)
func TestRPCPathNoProtocol(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL
	jsonBody := `{"resellerId":"` + sandbox.ContosoResellerID + `"}`
	tests := []struct {
		name, contentType, body string
		connect                 bool // send Connect-Protocol-Version: 1
		wantStatus              int
	}{
		{name: "application/json", contentType: "application/json", body: jsonBody, wantStatus: http.StatusBadRequest},
		{name: "application/proto", contentType: "application/proto", body: "", wantStatus: http.StatusBadRequest},
		{name: "text/plain", contentType: "text/plain", body: jsonBody, wantStatus: http.StatusBadRequest},
		{name: "text/plain with the header", contentType: "text/plain", body: jsonBody, connect: true, wantStatus: http.StatusBadRequest},
		{name: "no content type", body: jsonBody, wantStatus: http.StatusBadRequest},
		{name: "Connect", contentType: "application/json", body: jsonBody, connect: true, wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+pb.ResellerService_GetReseller_FullMethodName, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Del("Content-Type")
			if tt.contentType != "" {
				req.Header.Set("Content-Type", tt.contentType)
			}
			if tt.connect {
				req.Header.Set("Connect-Protocol-Version", "1")
			}
			resp, body := sendAsSandboxCaller(t, nil, req)
			if resp.StatusCode != tt.wantStatus || resp.Header.Get("Content-Type") != "application/json" {
				t.Fatalf("answer %d %q %s, want %d application/json", resp.StatusCode, resp.Header.Get("Content-Type"), body, tt.wantStatus)
			}
			if tt.wantStatus == http.StatusOK {
				return
			}
			var got struct {
				Code, Message string
				Details       []struct{ Type, Value string }
			}
			if err := json.Unmarshal(body, &got); err != nil {
				t.Fatalf("body %s: %v", body, err)
			}
			if got.Code != "invalid_argument" || !strings.Contains(got.Message, `"Connect-Protocol-Version: 1"`) || !strings.Contains(got.Message, "application/grpc-web-text") {
				t.Errorf("error %s, want invalid_argument naming the header and the protocols", body)
			}
			var info errdetails.ErrorInfo
			for _, d := range got.Details {
				if d.Type == "google.rpc.ErrorInfo" {
					b, _ := base64.RawStdEncoding.DecodeString(strings.TrimRight(d.Value, "="))
					_ = proto.Unmarshal(b, &info)
				}
			}
			if info.GetReason() != apierr.ReasonInvalidRequest {
				t.Errorf("ErrorInfo reason %q, want %q (body %s)", info.GetReason(), apierr.ReasonInvalidRequest, body)
			}
		})
	}
}

// TestLowerNames: every trailer name in a gRPC-Web trailer block is
// lower-cased, across pieces, and no value is touched.
func TestLowerNames(t *testing.T) {
	inName := true
	first, second := []byte("Grpc-Status: 0\r\nX-ZU"), []byte("LU-Trailer: AZ\r\nGrpc-Message: OK Z\r\n") // a name cut in two
	lowerNames(first, &inName)
	lowerNames(second, &inName)
	if got, want := string(first)+string(second), "grpc-status: 0\r\nx-zulu-trailer: AZ\r\ngrpc-message: OK Z\r\n"; got != want {
		t.Errorf("lowerNames = %q, want %q", got, want)
	}
}

// TestGRPCWebTextWriter: the answer is labelled as text whether or not its
// writer calls WriteHeader first, loses its binary length, and each Write is
// one padded base64 segment.
func TestGRPCWebTextWriter(t *testing.T) {
	for _, explicit := range []bool{true, false} {
		rec := httptest.NewRecorder()
		rec.Header().Set("Content-Type", grpcWebType+"+proto")
		rec.Header().Set("Content-Length", "5")
		w := &grpcWebTextWriter{wrappedWriter: wrappedWriter{rec}}
		if explicit {
			w.WriteHeader(http.StatusOK)
		}
		for _, p := range []string{"ab", "c"} {
			if _, err := w.Write([]byte(p)); err != nil {
				t.Fatal(err)
			}
		}
		res := rec.Result()
		if ct, cl := res.Header.Get("Content-Type"), res.Header.Get("Content-Length"); ct != grpcWebTextType+"+proto" || cl != "" {
			t.Errorf("WriteHeader called: %v; Content-Type %q, Content-Length %q; want %s+proto and none", explicit, ct, cl, grpcWebTextType)
		}
		if got := rec.Body.String(); got != "YWI=Yw==" {
			t.Errorf("WriteHeader called: %v; body %q, want two padded segments YWI=Yw==", explicit, got)
		}
	}
}

// TestGRPCWebTextPassesOtherAnswers: a gRPC-Web text call that vanguard or
// the mirror answers with no gRPC-Web answer (vanguard's text/plain refusals
// of a grpc-timeout it cannot read, of a compression or codec it does not
// serve, of a GET; the mirror's 404 for an unknown method) gets what the same
// call in binary gets, as it is. The text form had base64-encoded such an
// answer and labelled it "application/grpc-web-texttext/plain; charset=utf-8",
// which no client reads.
func TestGRPCWebTextPassesOtherAnswers(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL
	reseller := pb.ResellerService_GetReseller_FullMethodName
	frame := webFrame(t, &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})
	type answer struct {
		Status            int
		ContentType, Body string
	}
	call := func(ctx context.Context, method, url, contentType string, header [2]string, body []byte) answer {
		req, err := http.NewRequestWithContext(ctx, method, url, bytes.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Content-Type", contentType)
		req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
		if header[0] != "" {
			req.Header.Set(header[0], header[1])
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		b := readAll(t, resp)
		if i := bytes.Index(b, []byte(`"correlationId":"`)); i >= 0 { // the mirror's 404: one id a call
			b = b[:i]
		}
		return answer{resp.StatusCode, resp.Header.Get("Content-Type"), string(b)}
	}
	tests := []struct {
		name, method, path, codec string
		header                    [2]string
	}{
		{name: "malformed grpc-timeout", path: reseller, header: [2]string{"Grpc-Timeout", "1x"}},
		{name: "grpc-timeout too long", path: reseller, header: [2]string{"Grpc-Timeout", "100000000S"}},
		{name: "unsupported grpc-encoding", path: reseller, header: [2]string{"Grpc-Encoding", "br"}},
		{name: "unsupported codec", path: reseller, codec: "+xml"},
		{name: "GET", method: http.MethodGet, path: reseller},
		{name: "unknown method", path: "/cloudcockpit.v1.ResellerService/Nope"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			method := tt.method
			if method == "" {
				method = http.MethodPost
			}
			want := call(ctx, method, base+tt.path, grpcWebType+tt.codec, tt.header, frame)
			got := call(ctx, method, base+tt.path, grpcWebTextType+tt.codec, tt.header, base64.StdEncoding.AppendEncode(nil, frame))
			if want.Status == http.StatusOK || isType(want.ContentType, grpcWebType) {
				t.Fatalf("binary answer %+v, want a refusal that is no gRPC-Web answer", want)
			}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("text answer differs from the binary one (-binary +text):\n%s", diff)
			}
		})
	}
}
