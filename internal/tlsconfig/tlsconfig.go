// Package tlsconfig builds the facade's *tls.Config values from PEM files: the
// gRPC and HTTP listeners' and the upstream connection's.
//
// Every configuration requires TLS 1.2 or later and leaves cipher suites and
// curves to Go's defaults, which follow Go's security updates. There is
// deliberately no way to skip certificate verification. Errors name the file
// they concern.
package tlsconfig

import (
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/pem"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"
)

// MinVersion is the oldest TLS version any configuration accepts.
const MinVersion = tls.VersionTLS12

var (
	// GRPCNextProtos is what the gRPC listener offers: h2 only, as gRPC requires.
	GRPCNextProtos = []string{"h2"}
	// HTTPNextProtos is what the HTTP listener offers: HTTP/2, then HTTP/1.1.
	HTTPNextProtos = []string{"h2", "http/1.1"}
)

// ServerFiles names the PEM files of a TLS listener.
type ServerFiles struct {
	// CertFile holds the server certificate, then any intermediates. Required.
	CertFile string
	// KeyFile holds its private key (PKCS #1, PKCS #8 or SEC 1). Required.
	KeyFile string
	// ClientCAFile, when set, holds the CAs every client certificate must chain
	// to (mutual TLS). Empty: no client certificate is asked for.
	ClientCAFile string
}

// Server returns the configuration of a listener serving f's certificate,
// offering nextProtos by ALPN (GRPCNextProtos or HTTPNextProtos). The files are
// read once, now.
func Server(f ServerFiles, nextProtos []string) (*tls.Config, error) {
	if f.CertFile == "" || f.KeyFile == "" {
		return nil, errors.New("a TLS listener needs both a certificate file and a key file")
	}
	cert, err := loadKeyPair(f.CertFile, f.KeyFile)
	if err != nil {
		return nil, err
	}
	cfg := &tls.Config{MinVersion: MinVersion, Certificates: []tls.Certificate{cert}, NextProtos: append([]string(nil), nextProtos...)}
	if f.ClientCAFile != "" {
		cfg.ClientCAs, cfg.ClientAuth = x509.NewCertPool(), tls.RequireAndVerifyClientCert
		if _, err := readCertificates(f.ClientCAFile, "client CA", cfg.ClientCAs); err != nil {
			return nil, err
		}
	}
	return cfg, nil
}

// Upstream returns the configuration of the connection to the upstream API:
// certificates are always verified, against the system roots plus, when
// extraCAFile is set, the CA certificates it holds (for an upstream behind a
// private CA, or a test server).
func Upstream(extraCAFile string) (*tls.Config, error) {
	if extraCAFile == "" {
		return &tls.Config{MinVersion: MinVersion}, nil // nil RootCAs: the system roots
	}
	pool, err := x509.SystemCertPool() // a copy: adding to it changes no other pool
	if err != nil {
		pool = x509.NewCertPool() // no system roots (a scratch image without ca-certificates): the extra CAs only
	}
	if _, err := readCertificates(extraCAFile, "upstream CA", pool); err != nil {
		return nil, err
	}
	return &tls.Config{MinVersion: MinVersion, RootCAs: pool}, nil
}

// loadKeyPair reads and checks a certificate chain and its key, with errors
// that say which file is wrong and how.
func loadKeyPair(certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := readCertificates(certFile, "certificate", nil)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := readFile(keyFile, "key")
	if err != nil {
		return tls.Certificate{}, err
	}
	block, rest := pem.Decode(keyPEM)
	for block != nil && !strings.HasSuffix(block.Type, "PRIVATE KEY") { // PKCS #8, RSA or EC
		block, rest = pem.Decode(rest)
	}
	if block == nil {
		return tls.Certificate{}, fmt.Errorf("TLS key file %s holds no PEM private key block", keyFile)
	}
	cert, err := tls.X509KeyPair(certPEM, keyPEM)
	switch {
	case err != nil && strings.Contains(err.Error(), "does not match"):
		return tls.Certificate{}, fmt.Errorf("TLS key file %s does not match the certificate in %s", keyFile, certFile)
	case err != nil:
		return tls.Certificate{}, fmt.Errorf("TLS key file %s (certificate %s): %w", keyFile, certFile, err)
	case cert.Leaf != nil && time.Now().After(cert.Leaf.NotAfter): // every client would refuse it
		return tls.Certificate{}, fmt.Errorf("TLS certificate file %s expired at %s", certFile, cert.Leaf.NotAfter.UTC().Format(time.RFC3339))
	}
	return cert, nil
}

// readFile reads one of the configured files; an empty file is an error.
func readFile(file, what string) ([]byte, error) {
	data, err := os.ReadFile(filepath.Clean(file))
	if err != nil {
		return nil, fmt.Errorf("read TLS %s file: %w", what, err) // the *PathError names the file
	}
	if len(bytes.TrimSpace(data)) == 0 {
		return nil, fmt.Errorf("TLS %s file %s is empty", what, file)
	}
	return data, nil
}

// readCertificates reads a file, parses its CERTIFICATE blocks and adds them to
// pool unless it is nil. A file without a certificate is an error: a CA bundle
// that trusts nothing is never what the operator meant.
func readCertificates(file, what string, pool *x509.CertPool) ([]byte, error) {
	data, err := readFile(file, what)
	if err != nil {
		return nil, err
	}
	n := 0
	for block, rest := pem.Decode(data); block != nil; block, rest = pem.Decode(rest) {
		if block.Type != "CERTIFICATE" {
			continue
		}
		n++
		c, err := x509.ParseCertificate(block.Bytes)
		if err != nil {
			return nil, fmt.Errorf("TLS %s file %s: certificate %d: %w", what, file, n, err)
		}
		if pool != nil {
			pool.AddCert(c)
		}
	}
	if n == 0 {
		return nil, fmt.Errorf("TLS %s file %s holds no PEM CERTIFICATE block", what, file)
	}
	return data, nil
}

// ClientIdentity returns the identity of the client's verified certificate
// in state (mutual TLS): its first URI SAN (a SPIFFE ID, for example), else
// its subject; "" when state is nil or holds no verified chain. The calls
// in flight of one client and its share of upstream slots are keyed by it.
func ClientIdentity(state *tls.ConnectionState) string {
	if state == nil || len(state.VerifiedChains) == 0 || len(state.VerifiedChains[0]) == 0 {
		return ""
	}
	leaf := state.VerifiedChains[0][0]
	if len(leaf.URIs) > 0 {
		return leaf.URIs[0].String()
	}
	return leaf.Subject.String()
}
