package server

import (
	"bytes"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"net/http"
	"strings"
	"testing"
	"time"
)

// TestUndecodableRequest pins what a request that does not decode gets on
// each port and protocol (docs/errors.md, "Requests that do not decode"):
// JSON on the HTTP port is INVALID_ARGUMENT with ErrorInfo; a binary proto
// message is grpc-go's INTERNAL, which no grpc-go hook can change without
// replacing its codec; so is a malformed grpc-timeout on the gRPC port,
// while vanguard answers it with a plain 400 on the HTTP port.
func TestUndecodableRequest(t *testing.T) {
	var log syncBuffer
	cfg := DefaultConfig()
	cfg.Upstream.BaseURL, cfg.UpstreamURLSet = "http://127.0.0.1:1", true // never reached
	grpcAddr, httpBase := startServe(t, cfg, &log)
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()

	badProto := []byte{0x0a, 0x02, 0xff, 0xfe} // reseller_id (field 1): two bytes that are not UTF-8
	badJSON := []byte("{\"resellerId\":\"\xff\xfe\"}")
	const method = "/cloudcockpit.v1.ResellerService/GetReseller"
	tests := []struct {
		name     string
		base     string // "": the gRPC port
		header   []string
		body     []byte
		wantHTTP int
		want     []string // in the response's headers, trailers or body
	}{
		{"gRPC, proto", "", []string{"Content-Type", "application/grpc", "Grpc-Timeout", "5S"}, frame(badProto), 200,
			[]string{"Grpc-Status:13", "Grpc-Message:grpc: failed to unmarshal the received message: string field contains invalid UTF-8"}},
		{"gRPC, malformed grpc-timeout", "", []string{"Content-Type", "application/grpc", "Grpc-Timeout", "1x"}, frame(nil), 400,
			[]string{"Grpc-Status:13", "Grpc-Message:malformed grpc-timeout: transport: timeout unit is not recognized: \"1x\""}},
		{"Connect, JSON", httpBase, []string{"Content-Type", "application/json", "Connect-Protocol-Version", "1"}, badJSON, 400,
			[]string{`"code":"invalid_argument"`, `the request message does not decode: proto`, `invalid UTF-8`, `"type":"google.rpc.ErrorInfo"`, `"reason":"INVALID_REQUEST"`, `"domain":"cloudcockpit-facade"`}},
		{"gRPC-Web, JSON", httpBase, []string{"Content-Type", "application/grpc-web+json"}, frame(badJSON), 200,
			[]string{"Grpc-Status:3", "Grpc-Message:the request message does not decode: proto", "invalid UTF-8", "Grpc-Status-Details-Bin:"}},
		{"Connect, proto", httpBase, []string{"Content-Type", "application/proto", "Connect-Protocol-Version", "1"}, badProto, 500,
			[]string{`"code":"internal"`, `grpc: failed to unmarshal the received message: string field contains invalid UTF-8`}},
		{"gRPC-Web, proto", httpBase, []string{"Content-Type", "application/grpc-web+proto"}, frame(badProto), 200,
			[]string{"Grpc-Status:13"}},
		{"HTTP port gRPC, malformed grpc-timeout", httpBase, []string{"Content-Type", "application/grpc", "Grpc-Timeout", "1x"}, frame(nil), 400,
			[]string{`protocol error: timeout "1x" has invalid unit`}},
	}
	var h2c http.Protocols
	h2c.SetUnencryptedHTTP2(true)
	client := &http.Client{Transport: &http.Transport{Protocols: &h2c}}
	t.Cleanup(client.CloseIdleConnections)
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := tt.base
			if base == "" {
				base = "http://" + grpcAddr
			}
			req, err := http.NewRequestWithContext(ctx, http.MethodPost, base+method, bytes.NewReader(tt.body))
			if err != nil {
				t.Fatal(err)
			}
			req.Header.Set("Authorization", "Bearer abcdefghijk")
			for i := 0; i < len(tt.header); i += 2 {
				req.Header.Set(tt.header[i], tt.header[i+1])
			}
			resp, err := client.Do(req)
			if err != nil {
				t.Fatal(err)
			}
			body, err := io.ReadAll(resp.Body)
			_ = resp.Body.Close()
			if err != nil {
				t.Fatal(err)
			}
			var got strings.Builder
			for _, hs := range []http.Header{resp.Header, resp.Trailer} {
				for k, vs := range hs {
					fmt.Fprintf(&got, "%s:%s\n", k, strings.Join(vs, ","))
				}
			}
			got.Write(body)
			if resp.StatusCode != tt.wantHTTP {
				t.Errorf("HTTP status %d, want %d: %s", resp.StatusCode, tt.wantHTTP, got.String())
			}
			for _, w := range tt.want {
				if !strings.Contains(got.String(), w) {
					t.Errorf("response lacks %q:\n%s", w, got.String())
				}
			}
		})
	}
}

// frame returns msg in the 5-byte framing of gRPC and gRPC-Web.
func frame(msg []byte) []byte {
	return append(binary.BigEndian.AppendUint32([]byte{0}, uint32(len(msg))), msg...) //nolint:gosec // G115: test messages are small
}
