package tlsconfig

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"io"
	"math/big"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig/tlstest"
)

// pki is a set of certificates for one test, written to a temporary
// directory.
type pki struct {
	dir                    string
	ca, other              *tlstest.CA
	serverCert, serverKey  string
	caFile                 string
	client, untrusted      tlstest.Pair
	clientCert, clientKey  string
	otherCAFile, emptyFile string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	p := &pki{dir: t.TempDir(), ca: tlstest.NewCA(t, "test CA"), other: tlstest.NewCA(t, "untrusted CA")}
	p.serverCert, p.serverKey = p.ca.Server(t).Write(t, p.dir, "server")
	p.caFile = tlstest.WriteFile(t, p.dir, "ca.crt", p.ca.PEM)
	p.otherCAFile = tlstest.WriteFile(t, p.dir, "other-ca.crt", p.other.PEM)
	p.client = p.ca.Client(t, "good client")
	p.clientCert, p.clientKey = p.client.Write(t, p.dir, "client")
	p.untrusted = p.other.Client(t, "untrusted client")
	p.emptyFile = tlstest.WriteFile(t, p.dir, "empty.pem", []byte("\n"))
	return p
}

// serve accepts TLS connections with cfg on a loopback port, completes the
// handshake and answers "ok\n" on each. It returns the address.
func serve(t *testing.T, cfg *tls.Config) string {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				_ = c.SetDeadline(time.Now().Add(5 * time.Second))
				if err := c.(*tls.Conn).Handshake(); err != nil {
					return
				}
				_, _ = io.WriteString(c, "ok\n")
			}()
		}
	}()
	t.Cleanup(func() {
		_ = l.Close()
		wg.Wait()
	})
	return l.Addr().String()
}

// dial connects with cfg and reads the server's greeting: with TLS 1.3 a
// rejected client certificate shows only when reading.
func dial(t *testing.T, addr string, cfg *tls.Config) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	d := tls.Dialer{Config: cfg}
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	defer c.Close()
	_ = c.SetDeadline(time.Now().Add(5 * time.Second))
	got, err := io.ReadAll(c)
	if err != nil {
		return err
	}
	if string(got) != "ok\n" {
		return errors.New("server said " + string(got))
	}
	return nil
}

func TestServerTLS(t *testing.T) {
	p := newPKI(t)
	cfg, err := Server(ServerFiles{CertFile: p.serverCert, KeyFile: p.serverKey}, HTTPNextProtos)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.MinVersion != tls.VersionTLS12 || cfg.ClientAuth != tls.NoClientCert || cfg.CipherSuites != nil || cfg.InsecureSkipVerify {
		t.Errorf("config = MinVersion %x ClientAuth %v CipherSuites %v InsecureSkipVerify %v; want TLS 1.2+, no client cert, Go's suites",
			cfg.MinVersion, cfg.ClientAuth, cfg.CipherSuites, cfg.InsecureSkipVerify)
	}
	if !slices.Equal(cfg.NextProtos, []string{"h2", "http/1.1"}) {
		t.Errorf("NextProtos = %q", cfg.NextProtos)
	}
	addr := serve(t, cfg)

	tests := []struct {
		name    string
		client  *tls.Config
		wantErr string // a substring of the client's error; "" for success
	}{
		{"trusts the CA", &tls.Config{RootCAs: p.ca.Pool(), ServerName: "localhost"}, ""},
		{"trusts the CA, by IP", &tls.Config{RootCAs: p.ca.Pool()}, ""},
		{"trusts another CA", &tls.Config{RootCAs: p.other.Pool(), ServerName: "localhost"}, "unknown authority"},
		{"wrong name", &tls.Config{RootCAs: p.ca.Pool(), ServerName: "example.com"}, "not example.com"},
		{"TLS 1.1", &tls.Config{RootCAs: p.ca.Pool(), MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS11}, "protocol version not supported"}, //nolint:gosec // the client offers TLS 1.1 on purpose
		{"TLS 1.2", &tls.Config{RootCAs: p.ca.Pool(), MaxVersion: tls.VersionTLS12}, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dial(t, addr, tt.client)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("dial error = %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("dial error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestServerMutualTLS(t *testing.T) {
	p := newPKI(t)
	cfg, err := Server(ServerFiles{CertFile: p.serverCert, KeyFile: p.serverKey, ClientCAFile: p.caFile}, GRPCNextProtos)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.ClientAuth != tls.RequireAndVerifyClientCert || cfg.ClientCAs == nil {
		t.Errorf("ClientAuth = %v, ClientCAs = %v; want RequireAndVerifyClientCert with the CA", cfg.ClientAuth, cfg.ClientCAs)
	}
	if !slices.Equal(cfg.NextProtos, []string{"h2"}) {
		t.Errorf("NextProtos = %q", cfg.NextProtos)
	}
	addr := serve(t, cfg)
	base := &tls.Config{RootCAs: p.ca.Pool(), ServerName: "localhost", NextProtos: []string{"h2"}}
	with := func(pair *tlstest.Pair) *tls.Config {
		c := base.Clone()
		if pair != nil {
			// Send the certificate whatever CAs the server asks for: Go's
			// client would otherwise keep back one the server cannot verify.
			cert := pair.TLS(t)
			c.GetClientCertificate = func(*tls.CertificateRequestInfo) (*tls.Certificate, error) { return &cert, nil }
		}
		return c
	}
	tests := []struct {
		name    string
		client  *tls.Config
		wantErr string // a substring of the client's error; "" for success
	}{
		{"good client certificate", with(&p.client), ""},
		{"no client certificate", with(nil), "certificate required"},
		{"client certificate from an untrusted CA", with(&p.untrusted), "unknown certificate authority"},
		{"client certificate with TLS 1.2", func() *tls.Config { c := with(&p.client); c.MaxVersion = tls.VersionTLS12; return c }(), ""},
		{"no client certificate with TLS 1.2", func() *tls.Config { c := with(nil); c.MaxVersion = tls.VersionTLS12; return c }(), "handshake failure"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := dial(t, addr, tt.client)
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("dial error = %v, want success", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("dial error = %v, want one containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestUpstream(t *testing.T) {
	p := newPKI(t)
	// httptest's TLS server uses its own built-in certificate; write its CA
	// out as the upstream CA file.
	up := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = io.WriteString(w, "upstream")
	}))
	t.Cleanup(up.Close)
	upCA := tlstest.WriteFile(t, p.dir, "upstream-ca.crt", pemOf(t, up))

	get := func(cfg *tls.Config) error {
		tr := &http.Transport{TLSClientConfig: cfg, ForceAttemptHTTP2: true}
		defer tr.CloseIdleConnections()
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, up.URL, nil)
		if err != nil {
			return err
		}
		resp, err := (&http.Client{Transport: tr}).Do(req)
		if err != nil {
			return err
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		if err == nil && string(b) != "upstream" {
			return errors.New("unexpected body " + string(b))
		}
		return err
	}

	t.Run("extra CA trusts the server", func(t *testing.T) {
		cfg, err := Upstream(upCA)
		if err != nil {
			t.Fatal(err)
		}
		if cfg.InsecureSkipVerify || cfg.MinVersion != tls.VersionTLS12 {
			t.Errorf("InsecureSkipVerify %v MinVersion %x", cfg.InsecureSkipVerify, cfg.MinVersion)
		}
		if err := get(cfg); err != nil {
			t.Errorf("GET with the extra CA: %v", err)
		}
		// The extra CA is trusted besides the system roots, not instead of them.
		want, err := x509.SystemCertPool()
		if err != nil {
			t.Skipf("no system roots to compare with: %v", err)
		}
		want.AddCert(up.Certificate())
		if !cfg.RootCAs.Equal(want) {
			t.Error("RootCAs is not the system roots plus the extra CA")
		}
	})
	t.Run("system roots only reject it", func(t *testing.T) {
		cfg, err := Upstream("")
		if err != nil {
			t.Fatal(err)
		}
		if cfg.RootCAs != nil || cfg.InsecureSkipVerify || cfg.MinVersion != tls.VersionTLS12 {
			t.Errorf("RootCAs = %v, InsecureSkipVerify %v, MinVersion %x; want nil (the system roots), false, TLS 1.2", cfg.RootCAs, cfg.InsecureSkipVerify, cfg.MinVersion)
		}
		err = get(cfg)
		var unknown x509.UnknownAuthorityError
		if err == nil || !errors.As(err, &unknown) {
			t.Errorf("GET without the extra CA: %v, want an unknown-authority error", err)
		}
	})
	t.Run("another CA rejects it", func(t *testing.T) {
		cfg, err := Upstream(p.otherCAFile)
		if err != nil {
			t.Fatal(err)
		}
		if err := get(cfg); err == nil {
			t.Error("GET trusting an unrelated CA succeeded")
		}
	})
}

func TestErrors(t *testing.T) {
	p := newPKI(t)
	missing := filepath.Join(p.dir, "missing.pem")
	garbage := tlstest.WriteFile(t, p.dir, "garbage.pem", []byte("not PEM at all\n"))
	badCert := tlstest.WriteFile(t, p.dir, "bad-cert.pem", []byte("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"))
	otherKey := tlstest.WriteFile(t, p.dir, "other.key", p.untrusted.KeyPEM)
	badKey := tlstest.WriteFile(t, p.dir, "bad.key", []byte("-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----\n"))
	expiredCert, expiredKey := expiredServer(t, p.ca, p.dir)

	tests := []struct {
		name  string
		files ServerFiles
		want  []string // substrings of the error
	}{
		{"no key", ServerFiles{CertFile: p.serverCert}, []string{"both a certificate file and a key file"}},
		{"no cert", ServerFiles{KeyFile: p.serverKey}, []string{"both a certificate file and a key file"}},
		{"missing cert", ServerFiles{CertFile: missing, KeyFile: p.serverKey}, []string{"read TLS certificate file", missing}},
		{"missing key", ServerFiles{CertFile: p.serverCert, KeyFile: missing}, []string{"read TLS key file", missing}},
		{"empty cert", ServerFiles{CertFile: p.emptyFile, KeyFile: p.serverKey}, []string{"TLS certificate file " + p.emptyFile + " is empty"}},
		{"cert not PEM", ServerFiles{CertFile: garbage, KeyFile: p.serverKey}, []string{garbage, "no PEM CERTIFICATE block"}},
		{"cert does not parse", ServerFiles{CertFile: badCert, KeyFile: p.serverKey}, []string{badCert, "certificate 1"}},
		{"key file holds a certificate", ServerFiles{CertFile: p.serverCert, KeyFile: p.serverCert}, []string{p.serverCert, "no PEM private key"}},
		{"key does not parse", ServerFiles{CertFile: p.serverCert, KeyFile: badKey}, []string{"TLS key file " + badKey}},
		{"key and cert mismatch", ServerFiles{CertFile: p.serverCert, KeyFile: otherKey}, []string{"TLS key file " + otherKey + " does not match the certificate in " + p.serverCert}},
		{"expired cert", ServerFiles{CertFile: expiredCert, KeyFile: expiredKey}, []string{"TLS certificate file " + expiredCert + " expired at ", "Z"}},
		{"missing client CA", ServerFiles{CertFile: p.serverCert, KeyFile: p.serverKey, ClientCAFile: missing}, []string{"read TLS client CA file", missing}},
		{"empty client CA", ServerFiles{CertFile: p.serverCert, KeyFile: p.serverKey, ClientCAFile: p.emptyFile}, []string{"TLS client CA file " + p.emptyFile + " is empty"}},
		{"client CA not PEM", ServerFiles{CertFile: p.serverCert, KeyFile: p.serverKey, ClientCAFile: garbage}, []string{"TLS client CA file " + garbage + " holds no PEM CERTIFICATE block"}},
		{"client CA is a key", ServerFiles{CertFile: p.serverCert, KeyFile: p.serverKey, ClientCAFile: p.serverKey}, []string{p.serverKey, "no PEM CERTIFICATE block"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			cfg, err := Server(tt.files, GRPCNextProtos)
			if err == nil {
				t.Fatalf("Server() = %v, want an error", cfg)
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
			if strings.Contains(err.Error(), "PRIVATE KEY-----") || strings.Contains(err.Error(), string(p.untrusted.KeyPEM[30:60])) {
				t.Errorf("error %q echoes key material", err)
			}
		})
	}

	upstreamTests := []struct {
		name string
		file string
		want []string
	}{
		{"missing", missing, []string{"read TLS upstream CA file", missing}},
		{"empty", p.emptyFile, []string{"TLS upstream CA file " + p.emptyFile + " is empty"}},
		{"not PEM", garbage, []string{garbage, "no PEM CERTIFICATE block"}},
	}
	for _, tt := range upstreamTests {
		t.Run("upstream "+tt.name, func(t *testing.T) {
			_, err := Upstream(tt.file)
			if err == nil {
				t.Fatal("Upstream() succeeded, want an error")
			}
			for _, w := range tt.want {
				if !strings.Contains(err.Error(), w) {
					t.Errorf("error %q lacks %q", err, w)
				}
			}
		})
	}
}

// expiredServer writes a server certificate of ca that expired an hour ago,
// and its key, into dir.
func expiredServer(t *testing.T, ca *tlstest.CA, dir string) (certFile, keyFile string) {
	t.Helper()
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"}, DNSNames: []string{"localhost"},
		NotBefore: time.Now().Add(-48 * time.Hour), NotAfter: time.Now().Add(-time.Hour),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.Cert, &key.PublicKey, ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return tlstest.WriteFile(t, dir, "expired.crt", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		tlstest.WriteFile(t, dir, "expired.key", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}))
}

func TestServerDoesNotAliasNextProtos(t *testing.T) {
	p := newPKI(t)
	cfg, err := Server(ServerFiles{CertFile: p.serverCert, KeyFile: p.serverKey}, GRPCNextProtos)
	if err != nil {
		t.Fatal(err)
	}
	cfg.NextProtos = append(cfg.NextProtos[:0], "spdy")
	if GRPCNextProtos[0] != "h2" {
		t.Errorf("GRPCNextProtos changed through a returned config: %q", GRPCNextProtos)
	}
}

func TestFilesAreReadOnce(t *testing.T) {
	p := newPKI(t)
	cfg, err := Server(ServerFiles{CertFile: p.serverCert, KeyFile: p.serverKey, ClientCAFile: p.caFile}, GRPCNextProtos)
	if err != nil {
		t.Fatal(err)
	}
	for _, f := range []string{p.serverCert, p.serverKey, p.caFile} {
		if err := os.Remove(f); err != nil {
			t.Fatal(err)
		}
	}
	addr := serve(t, cfg)
	c := &tls.Config{RootCAs: p.ca.Pool(), Certificates: []tls.Certificate{p.client.TLS(t)}}
	if err := dial(t, addr, c); err != nil {
		t.Errorf("dial after the files were removed: %v", err)
	}
}

// pemOf returns the certificate of an httptest TLS server, PEM-encoded: it is
// self-signed, so it is its own CA.
func pemOf(t *testing.T, s *httptest.Server) []byte {
	t.Helper()
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: s.Certificate().Raw})
}

// TestKeyFormats: a key in SEC 1 form ("EC PRIVATE KEY", as openssl ecparam
// writes it, after an "EC PARAMETERS" block) serves as well as PKCS #8.
func TestKeyFormats(t *testing.T) {
	p := newPKI(t)
	keyPEM, err := os.ReadFile(p.serverKey)
	if err != nil {
		t.Fatal(err)
	}
	block, _ := pem.Decode(keyPEM)
	key, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	ecKey, ok := key.(*ecdsa.PrivateKey)
	if !ok {
		t.Fatalf("tlstest's key is a %T, want *ecdsa.PrivateKey", key)
	}
	sec1, err := x509.MarshalECPrivateKey(ecKey)
	if err != nil {
		t.Fatal(err)
	}
	params := pem.EncodeToMemory(&pem.Block{Type: "EC PARAMETERS", Bytes: []byte{0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07}}) // P-256's OID
	keyFile := tlstest.WriteFile(t, p.dir, "sec1.key", append(params, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: sec1})...))
	cfg, err := Server(ServerFiles{CertFile: p.serverCert, KeyFile: keyFile}, GRPCNextProtos)
	if err != nil {
		t.Fatalf("Server() with a SEC 1 key = %v", err)
	}
	if err := dial(t, serve(t, cfg), &tls.Config{RootCAs: p.ca.Pool(), ServerName: "localhost"}); err != nil {
		t.Errorf("dial a server with a SEC 1 key: %v", err)
	}
}

// TestClientIdentity: only a verified chain names the client: by its first
// URI SAN, else by its subject.
func TestClientIdentity(t *testing.T) {
	spiffe, _ := url.Parse("spiffe://example.test/ns/a/sa/one")
	other, _ := url.Parse("spiffe://example.test/ns/b/sa/two")
	subject := pkix.Name{CommonName: "client one", Organization: []string{"Example"}}
	withURI := &x509.Certificate{Subject: subject, URIs: []*url.URL{spiffe, other}}
	withoutURI := &x509.Certificate{Subject: subject}
	tests := []struct {
		name  string
		state *tls.ConnectionState
		want  string
	}{
		{"no state", nil, ""},
		{"no certificate", &tls.ConnectionState{}, ""},
		{"an unverified certificate", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{withURI}}, ""},
		{"an empty chain", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{withURI}, VerifiedChains: [][]*x509.Certificate{{}}}, ""},
		{"URI SANs", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{withURI}, VerifiedChains: [][]*x509.Certificate{{withURI}}}, spiffe.String()},
		{"no URI SAN", &tls.ConnectionState{PeerCertificates: []*x509.Certificate{withoutURI}, VerifiedChains: [][]*x509.Certificate{{withoutURI}}}, subject.String()},
	}
	for _, tt := range tests {
		if got := ClientIdentity(tt.state); got != tt.want {
			t.Errorf("%s: ClientIdentity() = %q, want %q", tt.name, got, tt.want)
		}
	}
}
