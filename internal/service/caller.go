package service

import (
	"context"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig"
)

// CallerIdentity returns the identity of the client's verified certificate
// (mutual TLS, see tlsconfig.ClientIdentity); "" when the call came without
// one. It reads the gRPC peer, which grpc-go fills for calls on the gRPC
// port (already in the tap handle) and, through grpc.Server.ServeHTTP, for
// Connect and gRPC-Web calls on the HTTP port, and which gateway.New fills
// from the request's TLS state for the REST mirror.
func CallerIdentity(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok {
		return ""
	}
	return tlsconfig.ClientIdentity(&info.State)
}
