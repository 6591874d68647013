package server

import (
	"context"
	"crypto/tls"
	"encoding/pem"
	"errors"
	"io"
	"log/slog"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig/tlstest"
)

const tlsTestReseller = "11111111-1111-4111-8111-111111111111"

func TestValidateTLS(t *testing.T) {
	tests := []struct {
		name string
		set  func(*Config)
		want string // "" for valid
	}{
		{"plaintext", func(*Config) {}, ""},
		{"TLS", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = "c.pem", "k.pem" }, ""},
		{"mutual TLS", func(c *Config) { c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = "c.pem", "k.pem", "ca.pem" }, ""},
		{"cert without key", func(c *Config) { c.TLSCertFile = "c.pem" }, "-tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE) go together"},
		{"key without cert", func(c *Config) { c.TLSKeyFile = "k.pem" }, "-tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE) go together"},
		{"client CA without cert", func(c *Config) { c.TLSClientCAFile = "ca.pem" }, "-tls-client-ca (TLS_CLIENT_CA_FILE) needs -tls-cert"},
		{"upstream CA", func(c *Config) { c.UpstreamCAFile = "ca.pem" }, ""},
		{"upstream CA for http", func(c *Config) { c.Upstream.BaseURL, c.UpstreamCAFile = "http://upstream.example", "ca.pem" }, "is not https: the CA would never be used"},
		{"upstream CA for HTTPS in capitals", func(c *Config) { c.Upstream.BaseURL, c.UpstreamCAFile = "HTTPS://upstream.example", "ca.pem" }, ""},
		{"the sandbox, whatever the upstream URL", func(c *Config) { c.Sandbox, c.StartSandbox, c.Upstream.BaseURL = true, sandbox.Start, "" }, ""},
		{"upstream CA with the sandbox", func(c *Config) { c.Sandbox, c.StartSandbox, c.UpstreamCAFile = true, sandbox.Start, "ca.pem" }, "-upstream-ca (UPSTREAM_CA_FILE) has no use with -sandbox"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := DefaultConfig()
			tt.set(&c)
			err := c.Validate()
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("Validate() = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("Validate() = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

// tlsFiles is a CA, a server certificate for 127.0.0.1 and a client
// certificate, written to a temporary directory.
type tlsFiles struct {
	ca                    *tlstest.CA
	cert, key, caFile     string
	client, untrusted     tls.Certificate
	clientCert, clientKey string
}

func newTLSFiles(t *testing.T) *tlsFiles {
	t.Helper()
	dir := t.TempDir()
	f := &tlsFiles{ca: tlstest.NewCA(t, "facade test CA")}
	f.cert, f.key = f.ca.Server(t).Write(t, dir, "server")
	f.caFile = tlstest.WriteFile(t, dir, "ca.pem", f.ca.PEM)
	client := f.ca.Client(t, "caller")
	f.client = client.TLS(t)
	f.clientCert, f.clientKey = client.Write(t, dir, "client")
	f.untrusted = tlstest.NewCA(t, "other CA").Client(t, "stranger").TLS(t)
	return f
}

// callGRPC makes a GetReseller call with the sandbox's credentials over a new
// connection with creds.
func callGRPC(t *testing.T, addr string, creds credentials.TransportCredentials) error {
	t.Helper()
	conn, err := grpc.NewClient(addr, grpc.WithTransportCredentials(creds))
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.AppendToOutgoingContext(ctx, "authorization", "Bearer "+sandbox.SampleToken, "x-tenant", sandbox.SampleTenant)
	r, err := pb.NewResellerServiceClient(conn).GetReseller(ctx, &pb.GetResellerRequest{ResellerId: tlsTestReseller})
	if err == nil && r.GetId() != tlsTestReseller {
		return errors.New("unexpected reseller " + r.GetId())
	}
	return err
}

// getHTTPS makes a REST mirror call over a new connection with cfg and
// returns the status and protocol.
func getHTTPS(t *testing.T, url string, cfg *tls.Config) (int, string, error) {
	t.Helper()
	tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
	defer tr.CloseIdleConnections()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
	req.Header.Set("X-Tenant", sandbox.SampleTenant)
	resp, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return 0, "", err
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, resp.Body)
	return resp.StatusCode, resp.Proto, nil
}

// TestServeMutualTLS: with a certificate, key and client CA both listeners
// serve TLS and require a client certificate from the CA; the REST mirror
// still reaches the gRPC server over its in-process connection.
func TestServeMutualTLS(t *testing.T) {
	f := newTLSFiles(t)
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	cfg.TLSCertFile, cfg.TLSKeyFile, cfg.TLSClientCAFile = f.cert, f.key, f.caFile
	srv := serveOnLoopback(t, cfg)
	grpcAddr, httpAddr := srv.grpcAddr, srv.httpAddr

	withCert := func(c *tls.Certificate) *tls.Config {
		cfg := &tls.Config{RootCAs: f.ca.Pool(), MinVersion: tls.VersionTLS12}
		if c != nil {
			cfg.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return c, nil }
		}
		return cfg
	}

	grpcTests := []struct {
		name   string
		creds  credentials.TransportCredentials
		wantOK bool
	}{
		{"client certificate", credentials.NewTLS(withCert(&f.client)), true},
		{"no client certificate", credentials.NewTLS(withCert(nil)), false},
		{"untrusted client certificate", credentials.NewTLS(withCert(&f.untrusted)), false},
		{"plaintext", insecure.NewCredentials(), false},
	}
	for _, tt := range grpcTests {
		t.Run("gRPC "+tt.name, func(t *testing.T) {
			err := callGRPC(t, grpcAddr, tt.creds)
			if tt.wantOK && err != nil {
				t.Errorf("GetReseller = %v, want success", err)
			}
			if !tt.wantOK && status.Code(err) != codes.Unavailable {
				t.Errorf("GetReseller = %v, want UNAVAILABLE (no connection)", err)
			}
		})
	}

	t.Run("health over mutual TLS", func(t *testing.T) {
		conn, err := grpc.NewClient(grpcAddr, grpc.WithTransportCredentials(credentials.NewTLS(withCert(&f.client))))
		if err != nil {
			t.Fatal(err)
		}
		defer conn.Close()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{})
		if err != nil || resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
			t.Errorf("Check = %v, %v", resp, err)
		}
	})

	httpTests := []struct {
		name     string
		cfg      *tls.Config
		wantErr  bool
		wantCode int
	}{
		{"client certificate", withCert(&f.client), false, http.StatusOK},
		{"no client certificate", withCert(nil), true, 0},
		{"untrusted client certificate", withCert(&f.untrusted), true, 0},
	}
	for _, tt := range httpTests {
		t.Run("HTTPS "+tt.name, func(t *testing.T) {
			code, proto, err := getHTTPS(t, "https://"+httpAddr+"/v1/Resellers/"+tlsTestReseller, tt.cfg)
			if (err != nil) != tt.wantErr || code != tt.wantCode {
				t.Fatalf("GET = %d, %v; want %d, error %v", code, err, tt.wantCode, tt.wantErr)
			}
			if err == nil && proto != "HTTP/2.0" {
				t.Errorf("protocol = %s, want HTTP/2.0 (ALPN h2)", proto)
			}
		})
	}

	t.Run("plain HTTP to the TLS listener", func(t *testing.T) {
		code, _, err := getHTTPS(t, "http://"+httpAddr+"/healthz", nil)
		if err == nil && code != http.StatusBadRequest {
			t.Errorf("GET http:// = %d, want an error or 400", code)
		}
	})
}

// TestServeTLS: TLS without a client CA asks for no client certificate.
func TestServeTLS(t *testing.T) {
	f := newTLSFiles(t)
	cfg := DefaultConfig()
	cfg.Sandbox, cfg.StartSandbox = true, sandbox.Start
	cfg.TLSCertFile, cfg.TLSKeyFile = f.cert, f.key
	srv := serveOnLoopback(t, cfg)
	grpcAddr, httpAddr := srv.grpcAddr, srv.httpAddr
	client := &tls.Config{RootCAs: f.ca.Pool(), MinVersion: tls.VersionTLS12}
	if err := callGRPC(t, grpcAddr, credentials.NewTLS(client)); err != nil {
		t.Errorf("gRPC over TLS: %v", err)
	}
	if code, proto, err := getHTTPS(t, "https://"+httpAddr+"/healthz", client); err != nil || code != http.StatusOK {
		t.Errorf("GET /healthz over TLS = %d %s, %v", code, proto, err)
	}
	http1 := client.Clone()
	http1.NextProtos = []string{"http/1.1"}
	tr := &http.Transport{TLSClientConfig: http1} // no ForceAttemptHTTP2: HTTP/1.1 only
	defer tr.CloseIdleConnections()
	resp, err := (&http.Client{Transport: tr}).Get("https://" + httpAddr + "/healthz")
	if err != nil {
		t.Fatalf("GET /healthz over HTTP/1.1 and TLS: %v", err)
	}
	_ = resp.Body.Close()
	if resp.Proto != "HTTP/1.1" || resp.StatusCode != http.StatusOK {
		t.Errorf("GET /healthz over HTTP/1.1 = %s %d", resp.Proto, resp.StatusCode)
	}
}

// TestServeBadTLSFiles: a file that cannot be used stops Serve with an error
// naming it.
func TestServeBadTLSFiles(t *testing.T) {
	f := newTLSFiles(t)
	missing := filepath.Join(t.TempDir(), "missing.pem")
	tests := []struct {
		name string
		set  func(*Config)
	}{
		{"missing certificate", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = missing, f.key }},
		{"key of another certificate", func(c *Config) { c.TLSCertFile, c.TLSKeyFile = f.cert, f.clientKey }},
		{"missing client CA", func(c *Config) { c.TLSCertFile, c.TLSKeyFile, c.TLSClientCAFile = f.cert, f.key, missing }},
		{"missing upstream CA", func(c *Config) { c.UpstreamCAFile = missing }},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg := DefaultConfig()
			tt.set(&cfg)
			cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
			gl, hl := listen(t), listen(t)
			ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
			defer cancel()
			err := Serve(ctx, cfg, gl, hl)
			if err == nil || !(strings.Contains(err.Error(), missing) || strings.Contains(err.Error(), f.clientKey)) {
				t.Errorf("Serve = %v, want an error naming the file", err)
			}
		})
	}
}

// TestUpstreamCA: an https upstream with a certificate from a private CA is
// reached only when that CA is configured.
func TestUpstreamCA(t *testing.T) {
	up := httptest.NewTLSServer(sandbox.New())
	t.Cleanup(up.Close)
	caFile := tlstest.WriteFile(t, t.TempDir(), "upstream-ca.pem",
		pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: up.Certificate().Raw}))

	t.Run("with the CA", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Upstream.BaseURL, cfg.UpstreamCAFile = up.URL, caFile
		grpcAddr := serveOnLoopback(t, cfg).grpcAddr
		if err := callGRPC(t, grpcAddr, insecure.NewCredentials()); err != nil {
			t.Errorf("GetReseller via the https upstream = %v", err)
		}
	})
	t.Run("without the CA", func(t *testing.T) {
		cfg := DefaultConfig()
		cfg.Upstream.BaseURL = up.URL
		cfg.Upstream.MaxAttempts = 1
		grpcAddr := serveOnLoopback(t, cfg).grpcAddr
		err := callGRPC(t, grpcAddr, insecure.NewCredentials())
		if status.Code(err) != codes.Unavailable {
			t.Errorf("GetReseller via an untrusted https upstream = %v, want UNAVAILABLE", err)
		}
		if info, _ := details(err); info.GetMetadata()[apierr.MetaCause] != "tls" {
			t.Errorf("ErrorInfo = %v, want the cause tls", info)
		}
	})
}
