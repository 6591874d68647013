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

// TestTestCertsScript makes certificates with deploy/test-certs.sh (what
// docs/deployment.md tells a reader to run), serves mutual TLS with them and
// calls the server with grpcurl as the docs show: with the client
// certificate the call succeeds, without it the handshake fails.
func TestTestCertsScript(t *testing.T) {
	if _, err := exec.LookPath("openssl"); err != nil {
		t.Fatalf("openssl is needed by deploy/test-certs.sh: %v", err)
	}
	dir := t.TempDir()
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if out, err := exec.CommandContext(ctx, "bash", "../deploy/test-certs.sh", dir).CombinedOutput(); err != nil {
		t.Fatalf("deploy/test-certs.sh: %v\n%s", err, out)
	}
	f := func(name string) string { return filepath.Join(dir, name) }
	mutual := []string{"-cacert", f("ca.crt"), "-cert", f("client.crt"), "-key", f("client.key")}
	p := startTLS(t, mutual, "-sandbox", "-tls-cert", f("server.crt"), "-tls-key", f("server.key"), "-tls-client-ca", f("ca.crt"))

	out, err := p.grpcurlTLS(t, mutual, flags(authH, tenantH, []string{"-d", `{"reseller_id":"` + fabrikam + `"}`}), "cloudcockpit.v1.ResellerService/GetReseller")
	if err != nil || !strings.Contains(out, `"companyName": "Fabrikam, Inc."`) {
		t.Errorf("GetReseller with the client certificate: %v\n%s", err, out)
	}
	out, err = p.grpcurlTLS(t, []string{"-cacert", f("ca.crt")}, nil, "list")
	if err == nil {
		t.Errorf("list without a client certificate succeeded, want a failed handshake:\n%s", out)
	}
}
