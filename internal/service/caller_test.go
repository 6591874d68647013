package service

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"net/url"
	"testing"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

func TestCallerIdentity(t *testing.T) {
	spiffe, _ := url.Parse("spiffe://example.org/ns/a/sa/b")
	withCert := func(c *x509.Certificate) context.Context {
		state := tls.ConnectionState{PeerCertificates: []*x509.Certificate{c}, VerifiedChains: [][]*x509.Certificate{{c}}}
		return peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{State: state}})
	}
	unverified := &x509.Certificate{Subject: pkix.Name{CommonName: "mallory"}}
	tests := []struct {
		name string
		give context.Context
		want string
	}{
		{"no peer", context.Background(), ""},
		{"plaintext peer", peer.NewContext(context.Background(), &peer.Peer{}), ""},
		{"TLS without a client certificate", peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{}}), ""},
		{"unverified certificate", peer.NewContext(context.Background(), &peer.Peer{AuthInfo: credentials.TLSInfo{State: tls.ConnectionState{PeerCertificates: []*x509.Certificate{unverified}}}}), ""},
		{"URI SAN", withCert(&x509.Certificate{Subject: pkix.Name{CommonName: "a"}, URIs: []*url.URL{spiffe}}), "spiffe://example.org/ns/a/sa/b"},
		{"subject", withCert(&x509.Certificate{Subject: pkix.Name{CommonName: "client-a", Organization: []string{"Contoso"}}}), "CN=client-a,O=Contoso"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := CallerIdentity(tt.give); got != tt.want {
				t.Errorf("CallerIdentity() = %q, want %q", got, tt.want)
			}
		})
	}
}
