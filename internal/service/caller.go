package service

import (
	"context"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/tlsconfig"
)

// CallerIdentity returns the identity of the client's verified certificate
// (mutual TLS, see tlsconfig.ClientIdentity); "" when the call came without
// one. It reads the gRPC peer, which the gRPC server fills on both ports
// (already in the tap handle) and gateway.New for the REST mirror.
func CallerIdentity(ctx context.Context) string {
	if p, ok := peer.FromContext(ctx); ok {
		if info, ok := p.AuthInfo.(credentials.TLSInfo); ok {
			return tlsconfig.ClientIdentity(&info.State)
		}
	}
	return ""
}
