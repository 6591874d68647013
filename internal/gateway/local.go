package gateway

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/netip"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/health"
	"google.golang.org/grpc/peer"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// New returns the REST mirror: an http.Handler serving the RPC routes, which
// call the service implementations in process (grpc-gateway's
// RegisterXHandlerServer wiring) through interceptor, the gRPC server's own
// chain (see ChainUnaryInterceptors and docs/rest-mirror.md; nil: none), plus
// OpenAPIPath, OpenAPIv3Path, HealthzPath and ReadyzPath. /readyz reports
// hs's overall status (service ""); with a nil hs it answers like
// /healthz. Over TLS, the handlers find the client's certificate in the gRPC
// peer, as on the gRPC port. New fails only if the services' HTTP rules
// cannot be read.
func New(reseller pb.ResellerServiceServer, customer pb.CustomerServiceServer, interceptor grpc.UnaryServerInterceptor, hs *health.Server) (http.Handler, error) {
	chain := []grpc.UnaryServerInterceptor{rejectIgnoredQuery}
	if interceptor != nil {
		chain = append(chain, interceptor)
	}
	interceptor = ChainUnaryInterceptors(chain...)
	g, err := newGateway(hs)
	if err != nil {
		return nil, err
	}
	ctx := context.Background()
	l := local{reseller: reseller, customer: customer, icpt: interceptor}
	if err := pb.RegisterResellerServiceHandlerServer(ctx, g.mux, l); err != nil {
		return nil, fmt.Errorf("gateway: register ResellerService: %w", err)
	}
	if err := pb.RegisterCustomerServiceHandlerServer(ctx, g.mux, l); err != nil {
		return nil, fmt.Errorf("gateway: register CustomerService: %w", err)
	}
	return withPeer(g.mux), nil
}

// withPeer gives the handlers the client's address and TLS state as gRPC
// peer information, as grpc.Server.ServeHTTP does for the calls it serves,
// so that the services find a client certificate whatever the protocol.
func withPeer(h http.Handler) http.Handler {
	return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.TLS != nil {
			addr, _ := netip.ParseAddrPort(r.RemoteAddr)
			r = r.WithContext(peer.NewContext(r.Context(), &peer.Peer{
				Addr:     net.TCPAddrFromAddrPort(addr),
				AuthInfo: credentials.TLSInfo{State: *r.TLS, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}},
			}))
		}
		h.ServeHTTP(w, r)
	})
}

// ChainUnaryInterceptors composes interceptors into one, the first outermost,
// as grpc.ChainUnaryInterceptor does for a server.
func ChainUnaryInterceptors(interceptors ...grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		if len(interceptors) == 0 {
			return handler(ctx, req)
		}
		return interceptors[0](ctx, req, info, func(ctx context.Context, req any) (any, error) {
			return ChainUnaryInterceptors(interceptors[1:]...)(ctx, req, info, handler)
		})
	}
}

// intercept calls method of a service through the interceptor chain icpt,
// as the gRPC server would.
func intercept[Req, Resp any](ctx context.Context, icpt grpc.UnaryServerInterceptor, method string, req Req, call func(context.Context, Req) (Resp, error)) (Resp, error) {
	resp, err := icpt(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, req any) (any, error) {
		return call(ctx, req.(Req))
	})
	if err != nil {
		var zero Resp
		return zero, err
	}
	return resp.(Resp), nil
}

// local runs the interceptor chain around the services.
type local struct {
	pb.UnimplementedResellerServiceServer
	pb.UnimplementedCustomerServiceServer
	reseller pb.ResellerServiceServer
	customer pb.CustomerServiceServer
	icpt     grpc.UnaryServerInterceptor
}

// GetReseller implements pb.ResellerServiceServer.
func (l local) GetReseller(ctx context.Context, req *pb.GetResellerRequest) (*pb.Reseller, error) {
	return intercept(ctx, l.icpt, pb.ResellerService_GetReseller_FullMethodName, req, l.reseller.GetReseller)
}

// GetAcceptanceLink implements pb.CustomerServiceServer.
func (l local) GetAcceptanceLink(ctx context.Context, req *pb.GetAcceptanceLinkRequest) (*pb.GetAcceptanceLinkResponse, error) {
	return intercept(ctx, l.icpt, pb.CustomerService_GetAcceptanceLink_FullMethodName, req, l.customer.GetAcceptanceLink)
}
