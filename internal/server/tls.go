package server

import (
	"crypto/tls"
	"errors"
	"fmt"
	"net/url"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig"
)

// validateTLS checks that the TLS settings go together; the files are read
// (and their contents checked) when the server starts.
func (c Config) validateTLS() error {
	switch {
	case (c.TLSCertFile == "") != (c.TLSKeyFile == ""):
		return errors.New("-tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE) go together: set both to serve TLS, or neither")
	case c.TLSClientCAFile != "" && c.TLSCertFile == "":
		return errors.New("-tls-client-ca (TLS_CLIENT_CA_FILE) needs -tls-cert (TLS_CERT_FILE) and -tls-key (TLS_KEY_FILE): client certificates are checked only over TLS")
	case c.UpstreamCAFile != "" && c.Sandbox:
		return errors.New("-upstream-ca (UPSTREAM_CA_FILE) has no use with -sandbox, whose upstream is plain HTTP in the process")
	case c.UpstreamCAFile != "":
		if u, err := url.Parse(c.UpstreamURL); err == nil && u.Scheme != "https" {
			return fmt.Errorf("-upstream-ca (UPSTREAM_CA_FILE) is set, but the upstream URL %q is not https: the CA would never be used", c.UpstreamURL)
		}
	}
	return nil
}

// TLSEnabled reports whether the gRPC and HTTP listeners serve TLS.
func (c Config) TLSEnabled() bool { return c.TLSCertFile != "" && c.TLSKeyFile != "" }

// listenerTLS holds the TLS configurations of the two listeners; both are
// nil when the listeners serve plaintext.
type listenerTLS struct {
	grpc, http *tls.Config
}

// loadListenerTLS reads the certificate, key and client CA files.
func (c Config) loadListenerTLS() (listenerTLS, error) {
	if !c.TLSEnabled() {
		return listenerTLS{}, nil
	}
	files := tlsconfig.ServerFiles{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile, ClientCAFile: c.TLSClientCAFile}
	g, err := tlsconfig.Server(files, tlsconfig.GRPCNextProtos)
	if err != nil {
		return listenerTLS{}, fmt.Errorf("TLS: %w", err)
	}
	h, err := tlsconfig.Server(files, tlsconfig.HTTPNextProtos)
	if err != nil {
		return listenerTLS{}, fmt.Errorf("TLS: %w", err)
	}
	return listenerTLS{grpc: g, http: h}, nil
}

// mode names the listeners' security for the start-up log.
func (l listenerTLS) mode() string {
	switch {
	case l.grpc == nil:
		return "off (plaintext)"
	case l.grpc.ClientAuth == tls.RequireAndVerifyClientCert:
		return "mutual (client certificates required)"
	}
	return "on"
}

// upstreamTLS returns the TLS configuration of the upstream connection:
// TLS 1.2 or later, certificates always verified, against the system roots
// plus UpstreamCAFile when set.
func (c Config) upstreamTLS() (*tls.Config, error) {
	cfg, err := tlsconfig.Upstream(c.UpstreamCAFile)
	if err != nil {
		return nil, fmt.Errorf("upstream TLS: %w", err)
	}
	return cfg, nil
}
