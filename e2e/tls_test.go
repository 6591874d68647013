//go:build e2e

package e2e

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig/tlstest"
)

// pki is a CA made for one test, with a server certificate for 127.0.0.1
// and localhost, a client certificate it signed and one from another CA, all
// written to a temporary directory. No key is committed.
type pki struct {
	ca                        *tlstest.CA
	caFile, cert, key         string
	clientCert, clientKey     string
	strangerCert, strangerKey string
	client, stranger          tls.Certificate
	emptyFile, mismatchedKey  string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	p := &pki{ca: tlstest.NewCA(t, "e2e CA")}
	p.caFile = tlstest.WriteFile(t, dir, "ca.crt", p.ca.PEM)
	p.cert, p.key = p.ca.Server(t).Write(t, dir, "server")
	client := p.ca.Client(t, "e2e caller")
	p.clientCert, p.clientKey = client.Write(t, dir, "client")
	p.client = client.TLS(t)
	stranger := tlstest.NewCA(t, "other CA").Client(t, "stranger")
	p.strangerCert, p.strangerKey = stranger.Write(t, dir, "stranger")
	p.stranger = stranger.TLS(t)
	p.emptyFile = tlstest.WriteFile(t, dir, "empty.crt", nil)
	p.mismatchedKey = p.clientKey
	return p
}

// startTLS is start for a server whose gRPC listener serves TLS: it waits
// until grpcurl with tlsFlags (-cacert, -cert, -key) lists the services.
func startTLS(t *testing.T, tlsFlags []string, args ...string) *proc {
	t.Helper()
	return launch(t, func(p *proc) (string, error) { return p.grpcurlTLS(t, tlsFlags, nil, "list") }, args...)
}

// grpcurlTLS is grpcurl over TLS: tlsFlags (-cacert, -cert, -key, or
// -plaintext), flags, the address, then the verb or method.
func (p *proc) grpcurlTLS(t *testing.T, tlsFlags, flags []string, verb ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	args := append([]string{"-max-time", "5"}, tlsFlags...)
	args = append(args, flags...)
	args = append(args, p.grpc)
	args = append(args, verb...)
	out, err := exec.CommandContext(ctx, grpcurlBin, args...).CombinedOutput()
	return string(out), err
}

// httpsGet calls the HTTP listener over TLS with cfg (HTTP/2 when the
// server offers it) with the sandbox's credentials.
func httpsGet(t *testing.T, url string, cfg *tls.Config) (status int, proto string, body []byte, err error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", token)
	req.Header.Set("X-Tenant", tenant)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, "", nil, err
	}
	defer resp.Body.Close()
	body, err = io.ReadAll(resp.Body)
	return resp.StatusCode, resp.Proto, body, err
}

func TestMutualTLS(t *testing.T) {
	k := newPKI(t)
	good := []string{"-cacert", k.caFile, "-cert", k.clientCert, "-key", k.clientKey}
	p := startTLS(t, good, "-sandbox", "-tls-cert", k.cert, "-tls-key", k.key, "-tls-client-ca", k.caFile)

	t.Run("gRPC with a client certificate", func(t *testing.T) {
		out, err := p.grpcurlTLS(t, good, flags(authH, tenantH, []string{"-d", `{"reseller_id":"` + contoso + `"}`}), getReseller)
		if err != nil {
			t.Fatalf("GetReseller: %v\n%s", err, out)
		}
		if jsonOf(t, out)["id"] != contoso {
			t.Errorf("unexpected reseller:\n%s", out)
		}
		out, err = p.grpcurlTLS(t, good, nil, "grpc.health.v1.Health/Check")
		if err != nil || jsonOf(t, out)["status"] != "SERVING" {
			t.Errorf("health: %v\n%s", err, out)
		}
	})

	refused := []struct {
		name     string
		tlsFlags []string
		want     string // in grpcurl's output
	}{
		{"without a client certificate", []string{"-cacert", k.caFile}, "certificate required"},
		{"with a certificate from another CA", []string{"-cacert", k.caFile, "-cert", k.strangerCert, "-key", k.strangerKey}, "remote error: tls: "}, // grpcurl keeps back a certificate the server's CA list rules out
		{"in plaintext", []string{"-plaintext"}, ""},
		{"trusting only the system roots", []string{"-cert", k.clientCert, "-key", k.clientKey}, "certificate signed by unknown authority"},
	}
	for _, tt := range refused {
		t.Run("gRPC "+tt.name+" is refused", func(t *testing.T) {
			out, err := p.grpcurlTLS(t, tt.tlsFlags, flags(authH, tenantH, []string{"-d", `{"reseller_id":"` + contoso + `"}`}), getReseller)
			if err == nil {
				t.Fatalf("GetReseller succeeded:\n%s", out)
			}
			if !strings.Contains(out, tt.want) {
				t.Errorf("grpcurl output lacks %q:\n%s", tt.want, out)
			}
		})
	}

	clientCfg := func(cert *tls.Certificate) *tls.Config {
		cfg := &tls.Config{RootCAs: k.ca.Pool(), MinVersion: tls.VersionTLS12}
		if cert != nil {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return cert, nil }
		}
		return cfg
	}
	t.Run("HTTPS with a client certificate", func(t *testing.T) {
		for _, path := range []string{"/v1/Resellers/" + contoso, "/healthz", "/readyz", "/openapi.json"} {
			code, proto, body, err := httpsGet(t, "https://"+p.http+path, clientCfg(&k.client))
			if err != nil || code != http.StatusOK {
				t.Errorf("GET %s = %d, %v\n%.300s", path, code, err, body)
			}
			if proto != "HTTP/2.0" {
				t.Errorf("GET %s over %s, want HTTP/2.0", path, proto)
			}
		}
	})
	for name, cfg := range map[string]*tls.Config{
		"without a client certificate":       clientCfg(nil),
		"with a certificate from another CA": clientCfg(&k.stranger),
	} {
		t.Run("HTTPS "+name+" is refused", func(t *testing.T) {
			code, _, _, err := httpsGet(t, "https://"+p.http+"/healthz", cfg)
			if err == nil {
				t.Errorf("GET /healthz = %d, want a handshake failure", code)
			}
		})
	}
	t.Run("plain HTTP is refused", func(t *testing.T) {
		r := p.get(t, "/healthz", nil)
		if r.status != http.StatusBadRequest {
			t.Errorf("GET http:// = %d, want 400\n%s", r.status, r.body)
		}
	})

	if !strings.Contains(p.logWith(`"tls":"mutual`), `"tls":"mutual`) {
		t.Errorf("the start-up log does not say TLS is mutual:\n%s", p.log.String())
	}
}

func TestTLSWithoutClientCertificates(t *testing.T) {
	k := newPKI(t)
	caOnly := []string{"-cacert", k.caFile}
	p := startTLS(t, caOnly, "-sandbox", "-tls-cert", k.cert, "-tls-key", k.key)
	out, err := p.grpcurlTLS(t, caOnly, flags(authH, tenantH, []string{"-d", `{"reseller_id":"` + contoso + `"}`}), getReseller)
	if err != nil {
		t.Errorf("GetReseller over TLS: %v\n%s", err, out)
	}
	if out, err := p.grpcurlTLS(t, []string{"-plaintext"}, nil, "list"); err == nil {
		t.Errorf("plaintext gRPC to the TLS listener succeeded:\n%s", out)
	}
	code, proto, body, err := httpsGet(t, "https://"+p.http+"/v1/Resellers/"+contoso, &tls.Config{RootCAs: k.ca.Pool(), MinVersion: tls.VersionTLS12})
	if err != nil || code != http.StatusOK || proto != "HTTP/2.0" {
		t.Errorf("GET over TLS = %d %s, %v\n%.300s", code, proto, err, body)
	}
}

// TestUpstreamCAFile: an https upstream whose certificate comes from a
// private CA is reached with -upstream-ca, and refused without it.
func TestUpstreamCAFile(t *testing.T) {
	up := &upstream{}
	up.Server = httptest.NewTLSServer(http.HandlerFunc(up.serve))
	t.Cleanup(up.Close)
	caFile := tlstest.WriteFile(t, t.TempDir(), "upstream-ca.crt",
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw}))
	body := []string{"-d", `{"reseller_id":"` + contoso + `"}`}

	t.Run("with -upstream-ca", func(t *testing.T) {
		p := start(t, "-upstream-url", up.URL, "-upstream-ca", caFile)
		if out, err := p.grpcurl(t, flags(authH, tenantH, body), getReseller); err != nil {
			t.Errorf("GetReseller: %v\n%s", err, out)
		}
	})
	t.Run("with UPSTREAM_CA_FILE", func(t *testing.T) {
		t.Setenv("UPSTREAM_CA_FILE", caFile) // inherited by the server process
		p := start(t, "-upstream-url", up.URL)
		if out, err := p.grpcurl(t, flags(authH, tenantH, body), getReseller); err != nil {
			t.Errorf("GetReseller: %v\n%s", err, out)
		}
	})
	t.Run("without it", func(t *testing.T) {
		before := up.count()
		p := start(t, "-upstream-url", up.URL, "-upstream-max-attempts", "1")
		out, err := p.grpcurl(t, flags(authH, tenantH, body, []string{"-format-error"}), getReseller)
		if err == nil {
			t.Fatalf("GetReseller through an untrusted upstream certificate succeeded:\n%s", out)
		}
		if st := jsonOf(t, out); st["code"] != float64(14) {
			t.Errorf("code = %v, want 14 (UNAVAILABLE)\n%s", st["code"], out)
		}
		if n := up.count() - before; n != 0 {
			t.Errorf("the upstream served %d requests over a connection the facade should have refused", n)
		}
	})
}

func TestTLSStartupErrors(t *testing.T) {
	k := newPKI(t)
	missing := filepath.Join(t.TempDir(), "missing.crt")
	tests := []struct {
		name     string
		args     []string
		wantExit int
		want     string
	}{
		{"cert without key", []string{"-sandbox", "-tls-cert", k.cert}, 2, "-tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE) go together"},
		{"client CA without cert", []string{"-sandbox", "-tls-client-ca", k.caFile}, 2, "-tls-client-ca (TLS_CLIENT_CA_FILE) needs -tls-cert"},
		{"upstream CA with the sandbox", []string{"-sandbox", "-upstream-ca", k.caFile}, 2, "has no use with -sandbox"},
		{"missing certificate", []string{"-sandbox", "-tls-cert", missing, "-tls-key", k.key}, 1, missing},
		{"key of another certificate", []string{"-sandbox", "-tls-cert", k.cert, "-tls-key", k.mismatchedKey}, 1, "does not match the certificate in " + k.cert},
		{"empty client CA", []string{"-sandbox", "-tls-cert", k.cert, "-tls-key", k.key, "-tls-client-ca", k.emptyFile}, 1, k.emptyFile + " is empty"},
		{"key file given as the CA", []string{"-sandbox", "-tls-cert", k.cert, "-tls-key", k.key, "-tls-client-ca", k.key}, 1, "holds no PEM CERTIFICATE block"},
		{"missing upstream CA", []string{"-upstream-url", "https://127.0.0.1:1", "-upstream-ca", missing}, 1, missing},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			args := append([]string{"-grpc-addr", "127.0.0.1:0", "-http-addr", "127.0.0.1:0"}, tt.args...)
			cmd := exec.CommandContext(ctx, serverBin, args...)
			cmd.Env = os.Environ()
			out, err := cmd.CombinedOutput()
			var exitErr *exec.ExitError
			if !errors.As(err, &exitErr) || exitErr.ExitCode() != tt.wantExit {
				t.Fatalf("exit = %v, want status %d\n%s", err, tt.wantExit, out)
			}
			if !strings.Contains(string(out), tt.want) {
				t.Errorf("output lacks %q:\n%s", tt.want, out)
			}
			if n := strings.Count(strings.TrimSpace(string(out)), "\n"); n > 0 {
				t.Errorf("want one clear line, got %d:\n%s", n+1, out)
			}
			if strings.Contains(string(out), "PRIVATE KEY") {
				t.Errorf("the error shows key material:\n%s", out)
			}
		})
	}
}
