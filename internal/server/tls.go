package server

import (
	"crypto/tls"
	"fmt"
	"slices"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig"
)

// listenerTLS holds the two listeners' TLS configurations, both nil for plaintext.
type listenerTLS struct{ grpc, http *tls.Config }

func (c Config) loadListenerTLS() (listenerTLS, error) {
	if c.TLSCertFile == "" || c.TLSKeyFile == "" {
		return listenerTLS{}, nil
	}
	files := tlsconfig.ServerFiles{CertFile: c.TLSCertFile, KeyFile: c.TLSKeyFile, ClientCAFile: c.TLSClientCAFile}
	g, err := tlsconfig.Server(files, tlsconfig.GRPCNextProtos)
	if err != nil {
		return listenerTLS{}, fmt.Errorf("TLS: %w", err)
	}
	h := g.Clone() // the files are read once
	h.NextProtos = slices.Clone(tlsconfig.HTTPNextProtos)
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
