package gateway

import (
	"context"
	"encoding/json"
	"fmt"
	"maps"
	"net/http"
	"slices"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
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

// gateway holds the mux and what its hooks need.
type gateway struct {
	mux    *runtime.ServeMux
	health HealthChecker
	// allow is the Allow header of a 405: every method some route uses.
	allow string
	// index lists the routes for the message of an unknown-path 404.
	index string
	// routes spells each RPC route as the OpenAPI document does
	// (/v1/Resellers/{resellerId}), by routeKey.
	routes map[string]string
}

// routeKey blanks the variables of a path template, so that grpc-gateway's
// pattern (/v1/Resellers/{reseller_id=*}) and the OpenAPI path
// (/v1/Resellers/{resellerId}) of one route have the same key.
func routeKey(template string) string {
	segs := strings.Split(template, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, "{") {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// newGateway builds the mux with the mirror's options, health and OpenAPI
// routes, and no RPC route yet: New registers them (the benchmarks also
// without interceptors).
func newGateway(opts ...Option) (*gateway, error) {
	var o options
	for _, opt := range opts {
		opt(&o)
	}
	// The RPC routes, as the OpenAPI document (generated from the same HTTP
	// rules as the handlers) names them.
	var doc struct {
		Paths map[string]map[string]json.RawMessage
	}
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		return nil, fmt.Errorf("gateway: read the OpenAPI document: %w", err)
	}
	g := &gateway{health: o.health, routes: map[string]string{}}
	methods := map[string]bool{http.MethodGet: true} // health and OpenAPI
	var index []string
	for p, ops := range doc.Paths {
		for m := range ops {
			methods[strings.ToUpper(m)] = true
			index = append(index, strings.ToUpper(m)+" "+p)
		}
		g.routes[routeKey(p)] = p
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
		runtime.WithMiddlewares(g.checkRequest),
		// A POST with a form body must not reach a GET route (its body would
		// become query parameters), and no header may change the method.
		runtime.WithDisablePathLengthFallback(),
		runtime.WithDisableHTTPMethodOverride(),
	)
	for path, h := range map[string]runtime.HandlerFunc{
		OpenAPIPath:   serveJSON(openAPIDoc),
		OpenAPIv3Path: serveJSON(openAPIv3Doc),
		HealthzPath:   serveHealthz,
		ReadyzPath:    g.serveReadyz,
	} {
		if err := g.mux.HandlePath(http.MethodGet, path, h); err != nil {
			return nil, fmt.Errorf("gateway: route %s: %w", path, err)
		}
	}
	return g, nil
}
