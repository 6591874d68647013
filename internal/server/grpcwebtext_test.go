package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/binary"
	"encoding/json"
	"io"
	"net/http"
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

// TestGRPCWebText calls both methods in gRPC-Web's text form, as the
// official grpc-web client's mode=grpcwebtext sends them, and reads the raw
// answers: base64 of the binary form, labelled application/grpc-web-text+proto,
// with lower-case trailer names and the same codes and details, granted to
// an allowed origin; a body that is not base64 or too large is refused with
// a status, in the same form.
func TestGRPCWebText(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	cfg.CORSAllowedOrigins = []string{testOrigin}
	base, _, _ := serveOnLoopback(t, cfg)
	reseller := pb.ResellerService_GetReseller_FullMethodName
	link := pb.CustomerService_GetAcceptanceLink_FullMethodName
	encode := func(msg proto.Message) string { return base64.StdEncoding.EncodeToString(webFrame(t, msg)) }
	contoso := &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID}
	// The same frame as two padded segments, as a sender that flushes may
	// send it.
	frame := webFrame(t, contoso)
	segmented := base64.StdEncoding.EncodeToString(frame[:4]) + base64.StdEncoding.EncodeToString(frame[4:])
	tooLarge := encode(&pb.GetResellerRequest{ResellerId: strings.Repeat("x", maxMessageBytes)})

	tests := []struct {
		name, path, contentType, body string
		want                          outcome
		wantIn                        string // in the answer's message
		wantDetail                    string // a detail type besides ErrorInfo and RequestInfo
	}{
		{name: "GetReseller", path: reseller, contentType: "application/grpc-web-text", body: encode(contoso), want: outcome{Code: "ok"}, wantIn: "Contoso Cloud Solutions"},
		{name: "GetReseller +proto", path: reseller, contentType: "application/grpc-web-text+proto", body: encode(contoso), want: outcome{Code: "ok"}, wantIn: "Contoso Cloud Solutions"},
		{name: "GetAcceptanceLink", path: link, contentType: "application/grpc-web-text", body: encode(&pb.GetAcceptanceLinkRequest{ProviderInstanceId: sandbox.SpecProviderInstanceID}), want: outcome{Code: "ok"}, wantIn: "https://"},
		{name: "padded segments", path: reseller, contentType: "application/grpc-web-text", body: segmented, want: outcome{Code: "ok"}, wantIn: "Contoso Cloud Solutions"},
		{name: "invalid id", path: reseller, contentType: "application/grpc-web-text", body: encode(&pb.GetResellerRequest{ResellerId: "nope"}),
			want: outcome{Code: "invalid_argument", Reason: apierr.ReasonInvalidRequest}, wantDetail: "google.rpc.BadRequest"},
		{name: "unknown reseller", path: reseller, contentType: "application/grpc-web-text", body: encode(&pb.GetResellerRequest{ResellerId: sandbox.UnknownResellerID}),
			want: outcome{Code: "not_found", Reason: apierr.ReasonUpstreamNotFound}, wantDetail: "google.rpc.ResourceInfo"},
		{name: "not base64", path: reseller, contentType: "application/grpc-web-text", body: "AAAA!not base64", want: outcome{Code: "invalid_argument", Reason: apierr.ReasonInvalidRequest}},
		{name: "data after padding", path: reseller, contentType: "application/grpc-web-text", body: "AA===AAA", want: outcome{Code: "invalid_argument", Reason: apierr.ReasonInvalidRequest}},
		{name: "too large", path: reseller, contentType: "application/grpc-web-text", body: tooLarge, want: outcome{Code: "resource_exhausted", Reason: apierr.ReasonRequestTooLarge}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+tt.path, strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Content-Type", tt.contentType)
			req.Header.Set("Accept", "application/grpc-web-text")
			req.Header.Set("X-Grpc-Web", "1")
			req.Header.Set("Origin", testOrigin)
			req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
			req.Header.Set("X-Tenant", sandbox.SampleTenant)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			text, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			if resp.StatusCode != http.StatusOK || resp.Header.Get("Content-Type") != "application/grpc-web-text+proto" {
				t.Fatalf("answer %d %q, want 200 application/grpc-web-text+proto", resp.StatusCode, resp.Header.Get("Content-Type"))
			}
			if got := resp.Header.Get("Access-Control-Allow-Origin"); got != testOrigin {
				t.Errorf("Access-Control-Allow-Origin = %q, want %q", got, testOrigin)
			}
			body, err := decodeBase64Segments(text)
			if err != nil {
				t.Fatalf("answer %q is not base64: %v", text, err)
			}
			// The status is in the trailer block, or in the headers of a
			// trailers-only answer.
			trailers := map[string]string{}
			for k := range resp.Header {
				trailers[strings.ToLower(k)] = resp.Header.Get(k)
			}
			var message []byte
			for len(body) >= 5 {
				n := int(binary.BigEndian.Uint32(body[1:5]))
				if n > len(body)-5 {
					t.Fatalf("truncated frame in %q", body)
				}
				if body[0]&0x80 == 0 {
					message = body[5 : 5+n]
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
			got := outcome{Code: "ok"}
			var types []string
			if code != 0 {
				bin, err := base64.RawStdEncoding.DecodeString(strings.TrimRight(trailers["grpc-status-details-bin"], "="))
				var p spb.Status
				if err != nil || proto.Unmarshal(bin, &p) != nil {
					t.Fatalf("grpc-status-details-bin %q does not decode", trailers["grpc-status-details-bin"])
				}
				details := status.FromProto(&p).Details()
				got = outcome{Code: connect.Code(code).String(), Reason: reasonOf(details)} //nolint:gosec // G115: a status code
				for _, d := range details {
					types = append(types, string(proto.MessageName(d.(proto.Message))))
				}
				want := []string{"google.rpc.ErrorInfo", "google.rpc.RequestInfo"}
				if tt.wantDetail != "" {
					want = append(want, tt.wantDetail)
				}
				if diff := cmp.Diff(want, types, cmpSorted); diff != "" {
					t.Errorf("detail types (-want +got):\n%s", diff)
				}
			}
			if diff := cmp.Diff(tt.want, got); diff != "" {
				t.Errorf("outcome (-want +got):\n%s", diff)
			}
			if !bytes.Contains(message, []byte(tt.wantIn)) {
				t.Errorf("message %q lacks %q", message, tt.wantIn)
			}
		})
	}
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
// with the header, the same JSON call is answered.
func TestRPCPathNoProtocol(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base, _, _ := serveOnLoopback(t, cfg)
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
			req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
			req.Header.Set("X-Tenant", sandbox.SampleTenant)
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, _ := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
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
