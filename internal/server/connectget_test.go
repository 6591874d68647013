package server

import (
	"bytes"
	"context"
	"encoding/base64"
	"io"
	"net/http"
	"net/url"
	"strings"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/testing/protocmp"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// TestConnectGet calls both methods (idempotency_level NO_SIDE_EFFECTS) in
// Connect's GET form, as curl and connect-web's useHttpGet send it, with
// JSON and with base64 proto, and checks the answer against the POST's.
func TestConnectGet(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL

	link := &pb.GetAcceptanceLinkRequest{ProviderInstanceId: sandbox.SpecProviderInstanceID}
	tests := []struct {
		name        string
		method      string
		req, resp   proto.Message
		encoding    string // json or proto
		base64Zero  bool   // json with base64=0, which means as much as no base64
		noAuth      bool
		wantStatus  int
		wantInError string // in the Connect error body
	}{
		{name: "reseller json", method: pb.ResellerService_GetReseller_FullMethodName, req: &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID},
			resp: &pb.Reseller{}, encoding: "json", wantStatus: http.StatusOK},
		{name: "reseller json, base64=0", method: pb.ResellerService_GetReseller_FullMethodName, req: &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID},
			resp: &pb.Reseller{}, encoding: "json", base64Zero: true, wantStatus: http.StatusOK},
		{name: "reseller proto", method: pb.ResellerService_GetReseller_FullMethodName, req: &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID},
			resp: &pb.Reseller{}, encoding: "proto", wantStatus: http.StatusOK},
		{name: "link json", method: pb.CustomerService_GetAcceptanceLink_FullMethodName, req: link,
			resp: &pb.GetAcceptanceLinkResponse{}, encoding: "json", wantStatus: http.StatusOK},
		{name: "link proto", method: pb.CustomerService_GetAcceptanceLink_FullMethodName, req: link,
			resp: &pb.GetAcceptanceLinkResponse{}, encoding: "proto", wantStatus: http.StatusOK},
		{name: "bad id json", method: pb.ResellerService_GetReseller_FullMethodName, req: &pb.GetResellerRequest{ResellerId: "nope"},
			encoding: "json", wantStatus: http.StatusBadRequest, wantInError: `"code":"invalid_argument","message":"invalid request: reseller_id: must be a UUID`},
		{name: "no credentials proto", method: pb.ResellerService_GetReseller_FullMethodName, req: &pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID},
			encoding: "proto", noAuth: true, wantStatus: http.StatusUnauthorized, wantInError: `"code":"unauthenticated"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			q := url.Values{"connect": {"v1"}, "encoding": {tt.encoding}}
			if tt.encoding == "json" {
				msg, err := protojson.Marshal(tt.req)
				if err != nil {
					t.Fatal(err)
				}
				q.Set("message", string(msg))
				if tt.base64Zero {
					q.Set("base64", "0")
				}
			} else {
				msg, err := proto.Marshal(tt.req)
				if err != nil {
					t.Fatal(err)
				}
				q.Set("base64", "1")
				q.Set("message", base64.RawURLEncoding.EncodeToString(msg))
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+tt.method+"?"+q.Encode(), nil)
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("X-Tenant", sandbox.SampleTenant)
			if !tt.noAuth {
				req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
			}
			resp, err := http.DefaultClient.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body := readAll(t, resp)
			if resp.StatusCode != tt.wantStatus || !uuidRE.MatchString(resp.Header.Get("X-Correlation-Id")) {
				t.Fatalf("GET: %d, X-Correlation-Id %q: %s; want %d and a UUID", resp.StatusCode, resp.Header.Get("X-Correlation-Id"), body, tt.wantStatus)
			}
			if cc := resp.Header.Get("Cache-Control"); cc != "private, no-store" { // the caller's answer: no shared cache may keep it
				t.Errorf("Cache-Control %q, want private, no-store", cc)
			}
			if tt.wantInError != "" {
				if !strings.Contains(string(body), tt.wantInError) {
					t.Errorf("error body %s, want it to hold %s", body, tt.wantInError)
				}
				return
			}
			// The same call as a Connect POST answers the same message.
			post := connectPost(ctx, t, base+tt.method, tt.encoding, q.Get("message"), tt.encoding == "proto")
			got, want := tt.resp.ProtoReflect().New().Interface(), tt.resp.ProtoReflect().New().Interface()
			unmarshal := proto.Unmarshal
			if tt.encoding == "json" {
				unmarshal = protojson.Unmarshal
			}
			if err := unmarshal(body, got); err != nil {
				t.Fatalf("GET answer %s (%s): %v", body, resp.Header.Get("Content-Type"), err)
			}
			if err := unmarshal(post, want); err != nil {
				t.Fatalf("POST answer %s: %v", post, err)
			}
			if diff := cmp.Diff(want, got, protocmp.Transform()); diff != "" || proto.Size(got) == 0 {
				t.Errorf("GET answer differs from the POST's (-post +get):\n%s", diff)
			}
		})
	}
}

// connectPost sends msg (base64url when b64) as a Connect unary POST with
// the sandbox's credentials and returns the answer's body, which must be 200.
func connectPost(ctx context.Context, t *testing.T, url, encoding, msg string, b64 bool) []byte {
	t.Helper()
	body := []byte(msg)
	if b64 {
		var err error
		if body, err = base64.RawURLEncoding.DecodeString(msg); err != nil {
			t.Fatal(err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(body))
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Content-Type", "application/"+encoding)
	req.Header.Set("Connect-Protocol-Version", "1")
	resp, answer := sendAsSandboxCaller(t, nil, req)
	if resp.StatusCode != http.StatusOK {
		t.Fatalf("POST: %d %s", resp.StatusCode, answer)
	}
	return answer
}

// sendAsSandboxCaller sends req with the sandbox's credentials on client (nil:
// http.DefaultClient) and reads its answer.
func sendAsSandboxCaller(t *testing.T, client *http.Client, req *http.Request) (*http.Response, []byte) {
	t.Helper()
	req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
	req.Header.Set("X-Tenant", sandbox.SampleTenant)
	if client == nil {
		client = http.DefaultClient
	}
	resp, err := client.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	return resp, readAll(t, resp)
}

// readAll reads and closes resp's body.
func readAll(t *testing.T, resp *http.Response) []byte {
	t.Helper()
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		t.Fatal(err)
	}
	return body
}

// TestConnectGetMalformed: a Connect GET the caller got wrong (a base64
// parameter other than 0 or 1, a message that is not base64url, a body) is
// INVALID_ARGUMENT (HTTP 400) in Connect's JSON, whether connect=v1 or the
// Connect-Protocol-Version header makes it Connect's; a padded base64url
// message, which vanguard reads too, is served. vanguard v0.4.0 had answered
// each mistake HTTP 500 `unknown`, a server error for the caller's mistake.
func TestConnectGetMalformed(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	base := serveOnLoopback(t, cfg).httpURL
	msg, err := proto.Marshal(&pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})
	if err != nil {
		t.Fatal(err)
	}
	proto64 := base64.RawURLEncoding.EncodeToString(msg)
	tests := []struct {
		name          string
		query         url.Values
		body          string
		versionHeader bool // Connect-Protocol-Version: 1 in place of connect=v1
		wantStatus    int
	}{
		{name: "base64=true", query: url.Values{"encoding": {"proto"}, "base64": {"true"}, "message": {proto64}}, wantStatus: http.StatusBadRequest},
		{name: "message not base64url", query: url.Values{"encoding": {"proto"}, "base64": {"1"}, "message": {"!" + proto64}}, wantStatus: http.StatusBadRequest},
		{name: "message with broken padding", query: url.Values{"encoding": {"proto"}, "base64": {"1"}, "message": {proto64 + "=="}}, wantStatus: http.StatusBadRequest},
		{name: "a body", query: url.Values{"encoding": {"proto"}, "base64": {"1"}, "message": {proto64}}, body: "{}", wantStatus: http.StatusBadRequest},
		{name: "base64=2, Connect by its header", query: url.Values{"encoding": {"proto"}, "base64": {"2"}, "message": {proto64}}, versionHeader: true,
			wantStatus: http.StatusBadRequest},
		{name: "padded message", query: url.Values{"encoding": {"proto"}, "base64": {"1"}, "message": {base64.URLEncoding.EncodeToString(msg)}},
			wantStatus: http.StatusOK},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
			defer cancel()
			if !tt.versionHeader {
				tt.query.Set("connect", "v1")
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+pb.ResellerService_GetReseller_FullMethodName+"?"+tt.query.Encode(), strings.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			if tt.versionHeader {
				req.Header.Set("Connect-Protocol-Version", "1")
			}
			resp, body := sendAsSandboxCaller(t, nil, req)
			switch {
			case resp.StatusCode != tt.wantStatus:
				t.Errorf("answer %d %s, want %d", resp.StatusCode, body, tt.wantStatus)
			case tt.wantStatus == http.StatusBadRequest && !bytes.Contains(body, []byte(`"code":"invalid_argument"`)):
				t.Errorf("answer %s, want Connect's invalid_argument", body)
			}
		})
	}
}
