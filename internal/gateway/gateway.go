package gateway

import (
	"context"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// Paths the mirror serves besides the RPC routes.
const (
	// OpenAPIPath serves the OpenAPI (Swagger 2.0) document of the mirror.
	OpenAPIPath = "/openapi.json"
	// OpenAPIv3Path serves the same document as OpenAPI 3.0.
	OpenAPIv3Path = "/openapi.v3.json"
	// HealthzPath is the liveness probe: 200 while the process serves HTTP.
	HealthzPath = "/healthz"
	// ReadyzPath is the readiness probe: 200 while the gRPC health status is
	// SERVING, 503 otherwise (for example while shutting down).
	ReadyzPath = "/readyz"
)

// HealthChecker answers the gRPC health check in-process. *health.Server
// (google.golang.org/grpc/health) implements it.
type HealthChecker interface {
	// Check reports the serving status of req.Service ("" for the server as
	// a whole).
	Check(ctx context.Context, req *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error)
}

// Option configures New.
type Option func(*options)

type options struct {
	health HealthChecker
}

// WithHealth makes GET /readyz report hc's overall status (service ""): 200
// with {"status":"SERVING"} while it is SERVING, 503 with the status name
// otherwise. Without it /readyz answers like /healthz.
func WithHealth(hc HealthChecker) Option {
	return func(o *options) { o.health = hc }
}

// services lists the gRPC services the mirror exposes.
var services = []string{
	pb.ResellerService_ServiceDesc.ServiceName,
	pb.CustomerService_ServiceDesc.ServiceName,
}

// gateway holds the mux and what its hooks need.
type gateway struct {
	mux    *runtime.ServeMux
	health HealthChecker
	// routes maps "METHOD pattern" (runtime.Pattern.String()) to the RPC
	// route it serves.
	routes map[string]*route
	// allow is the Allow header of a 405: every method some route uses.
	allow string
	// index lists the routes for the message of an unknown-path 404.
	index string
}

// newGateway builds the mux with the mirror's options, health and OpenAPI
// routes, and no RPC route yet: New registers them (the benchmarks also
// without interceptors).
func newGateway(opts ...Option) (*gateway, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	descs := make([]protoreflect.ServiceDescriptor, 0, len(services))
	for _, name := range services {
		d, err := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(name))
		if err != nil {
			return nil, fmt.Errorf("gateway: find service %s: %w", name, err)
		}
		sd, ok := d.(protoreflect.ServiceDescriptor)
		if !ok {
			return nil, fmt.Errorf("gateway: %s is not a service", name)
		}
		descs = append(descs, sd)
	}
	routes, err := buildRoutes(descs)
	if err != nil {
		return nil, err
	}
	g := &gateway{health: o.health, routes: routes}

	methods := map[string]bool{http.MethodGet: true} // health and OpenAPI
	var index []string
	for _, rt := range routes {
		methods[rt.method] = true
		index = append(index, rt.method+" "+rt.display)
	}
	index = append(index, "GET "+OpenAPIPath, "GET "+OpenAPIv3Path, "GET "+HealthzPath, "GET "+ReadyzPath)
	slices.Sort(index)
	g.index = strings.Join(index, ", ")
	g.allow = strings.Join(slices.Sorted(maps.Keys(methods)), ", ")

	g.mux = runtime.NewServeMux(
		runtime.WithIncomingHeaderMatcher(incomingHeader),
		runtime.WithOutgoingHeaderMatcher(outgoingHeader),
		runtime.WithOutgoingTrailerMatcher(dropHeader),
		runtime.WithMarshalerOption(runtime.MIMEWildcard, newMarshaler()),
		runtime.WithErrorHandler(g.handleError),
		runtime.WithRoutingErrorHandler(g.handleRoutingError),
		runtime.WithMiddlewares(g.checkQuery),
		// A POST with a form body must not reach a GET route (its body would
		// become query parameters), and no header may change the method.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
	)
	for path, h := range map[string]runtime.HandlerFunc{
		OpenAPIPath:   serveOpenAPI,
		OpenAPIv3Path: serveOpenAPIv3,
		HealthzPath:   serveHealthz,
		ReadyzPath:    g.serveReadyz,
	} {
		if err := g.mux.HandlePath(http.MethodGet, path, h); err != nil {
			return nil, fmt.Errorf("gateway: route %s: %w", path, err)
		}
	}
	return g, nil
}
