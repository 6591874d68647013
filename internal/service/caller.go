package service

import (
	"context"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
)

// callerIdentity returns the identity of the client's verified certificate
// (mutual TLS): its first URI SAN (a SPIFFE ID, for example), else its
// subject; "" when the call came without one. It reads the gRPC peer, which
// grpc-go fills for calls on the gRPC port and, through
// grpc.Server.ServeHTTP, for Connect and gRPC-Web calls on the HTTP port, and
// which gateway.New fills from the request's TLS state for the REST
// mirror.
func callerIdentity(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return ""
	}
	leaf := info.State.VerifiedChains[0][0]
	if len(leaf.URIs) > 0 {
		return leaf.URIs[0].String()
	}
	return leaf.Subject.String()
}
