package gateway

import (
	"context"
	"fmt"
	"net/http"

	"google.golang.org/grpc"
	"google.golang.org/grpc/health"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// New returns the REST mirror: an http.Handler serving the RPC routes, which
// call the service implementations in process (grpc-gateway's
// RegisterXHandlerServer wiring) through interceptors, the gRPC server's own
// chain, the first outermost (see docs/rest-mirror.md; none: no chain), plus
// OpenAPIPath, OpenAPIv3Path, HealthzPath and ReadyzPath. /readyz reports
// hs's overall status (service ""); with a nil hs it answers like
// /healthz. New fails only if the services' HTTP rules cannot be read.
func New(reseller pb.ResellerServiceServer, customer pb.CustomerServiceServer, hs *health.Server, interceptors ...grpc.UnaryServerInterceptor) (http.Handler, error) {
	g, err := newGateway(hs)
	if err != nil {
		return nil, err
	}
	l := local{reseller: reseller, customer: customer, icpt: chain(append([]grpc.UnaryServerInterceptor{rejectIgnoredQuery}, interceptors...))}
	if err := pb.RegisterResellerServiceHandlerServer(context.Background(), g.mux, l); err != nil {
		return nil, fmt.Errorf("gateway: register ResellerService: %w", err)
	}
	if err := pb.RegisterCustomerServiceHandlerServer(context.Background(), g.mux, l); err != nil {
		return nil, fmt.Errorf("gateway: register CustomerService: %w", err)
	}
	return g.mux, nil
}

// chain composes interceptors into one, the first outermost, as
// grpc.ChainUnaryInterceptor does for a server: a frame per interceptor.
func chain(interceptors []grpc.UnaryServerInterceptor) grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		for i := len(interceptors) - 1; i > 0; i-- {
			icpt, next := interceptors[i], handler
			handler = func(ctx context.Context, req any) (any, error) { return icpt(ctx, req, info, next) }
		}
		return interceptors[0](ctx, req, info, handler)
	}
}

// intercept calls method of a service through the interceptor chain icpt,
// as the gRPC server would.
func intercept[Req, Resp any](ctx context.Context, icpt grpc.UnaryServerInterceptor, method string, req Req, call func(context.Context, Req) (Resp, error)) (zero Resp, _ error) {
	resp, err := icpt(ctx, req, &grpc.UnaryServerInfo{FullMethod: method}, func(ctx context.Context, req any) (any, error) {
		return call(ctx, req.(Req))
	})
	if err != nil {
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

func (l local) GetReseller(ctx context.Context, req *pb.GetResellerRequest) (*pb.Reseller, error) {
	return intercept(ctx, l.icpt, pb.ResellerService_GetReseller_FullMethodName, req, l.reseller.GetReseller)
}

func (l local) GetAcceptanceLink(ctx context.Context, req *pb.GetAcceptanceLinkRequest) (*pb.GetAcceptanceLinkResponse, error) {
	return intercept(ctx, l.icpt, pb.CustomerService_GetAcceptanceLink_FullMethodName, req, l.customer.GetAcceptanceLink)
}
