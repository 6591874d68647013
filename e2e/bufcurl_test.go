//go:build e2e

package e2e

import (
	"context"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestBufCurlOnHTTPPort: `buf curl --http2-prior-knowledge` reaches the
// services on the HTTP port with its default protocol (Connect) and schemas
// from reflection there, and so do its gRPC-Web and gRPC protocols and
// grpcurl (gRPC over cleartext HTTP/2).
func TestBufCurlOnHTTPPort(t *testing.T) {
	buf, err := filepath.Abs("../.bin/buf")
	if err != nil {
		t.Fatal(err)
	}
	p := start(t, "-sandbox")
	method := "http://" + p.http + "/cloudcockpit.v1.ResellerService/GetReseller"
	tests := []struct {
		name     string
		protocol []string
		id       string
		wantErr  bool
		want     []string
	}{
		{name: "connect", id: contoso, want: []string{`"companyName": "Contoso Cloud Solutions, Lda."`}},
		{name: "connect error", id: unknown, wantErr: true, want: []string{`"code": "not_found"`, `"reason": "UPSTREAM_NOT_FOUND"`, `"resourceName": "` + unknown + `"`}},
		{name: "grpc-web", protocol: []string{"--protocol", "grpcweb"}, id: contoso, want: []string{`"companyName": "Contoso Cloud Solutions, Lda."`}},
		{name: "grpc-web error", protocol: []string{"--protocol", "grpcweb"}, id: unknown, wantErr: true, want: []string{`"code": "not_found"`, `"type": "google.rpc.ErrorInfo"`, `"type": "google.rpc.ResourceInfo"`}},
		{name: "grpc", protocol: []string{"--protocol", "grpc"}, id: contoso, want: []string{`"companyName": "Contoso Cloud Solutions, Lda."`}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
			defer cancel()
			args := append([]string{"curl", "--http2-prior-knowledge", "--timeout", "10s"}, tt.protocol...)
			args = append(args, "-H", "Authorization: "+token, "-H", "X-Tenant: "+tenant,
				"-d", `{"resellerId":"`+tt.id+`"}`, method)
			out, err := exec.CommandContext(ctx, buf, args...).CombinedOutput()
			if (err != nil) != tt.wantErr {
				t.Fatalf("buf %s: error %v, want error %v\n%s", strings.Join(args, " "), err, tt.wantErr, out)
			}
			for _, w := range tt.want {
				if !strings.Contains(string(out), w) {
					t.Errorf("output lacks %s:\n%s", w, out)
				}
			}
		})
	}

	t.Run("grpcurl on the HTTP port", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(t.Context(), 20*time.Second)
		defer cancel()
		out, err := exec.CommandContext(ctx, grpcurlBin, "-plaintext", "-max-time", "10", p.http, "list").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "cloudcockpit.v1.ResellerService") {
			t.Errorf("grpcurl list on %s: %v\n%s", p.http, err, out)
		}
	})
}
