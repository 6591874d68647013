package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// CORS lists: what a browser page on an allowed origin may send to the HTTP
// port and read from its answers. They cover the REST mirror, Connect
// (@connectrpc/connect-web) and gRPC-Web (connect-web's gRPC-Web transport,
// the grpc-web package).
var (
	// corsMethods: GET for the mirror and Connect's GET form, POST for
	// Connect and gRPC-Web calls.
	corsMethods = []string{http.MethodGet, http.MethodPost}
	// corsRequestHeaders: the API's headers, then Connect's and gRPC-Web's
	// protocol headers, then W3C trace context.
	corsRequestHeaders = []string{
		apierr.HeaderAuthorization, apierr.HeaderTenant, apierr.HeaderCorrelationID,
		"Content-Type", "Accept", "Accept-Encoding",
		"Connect-Protocol-Version", "Connect-Timeout-Ms",
		"Connect-Accept-Encoding", "Connect-Content-Encoding",
		"Grpc-Timeout", "Grpc-Accept-Encoding", "Grpc-Encoding",
		"X-Grpc-Web", "X-User-Agent",
		apierr.HeaderTraceparent, apierr.HeaderTracestate,
	}
	// corsExposedHeaders: response headers a page may read, beyond the
	// CORS-safelisted ones.
	corsExposedHeaders = []string{
		apierr.HeaderCorrelationID, "Retry-After", "WWW-Authenticate",
		"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin",
		"Grpc-Encoding", "Connect-Content-Encoding", "Content-Encoding",
	}
)

// corsMaxAge is how long a browser may cache a preflight's answer (seconds);
// Chromium caps it at 2 hours.
const corsMaxAge = 7200

// withCORS wraps h with rs/cors for origins. No origins: h unchanged, so a
// browser on another origin gets no grant (and a preflight gets the
// mirror's 405). "*" grants every origin. Credentials mode (cookies) is
// never granted: the API authenticates with the Authorization header, which
// a page sends explicitly.
func withCORS(h http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: corsMethods,
		AllowedHeaders: corsRequestHeaders,
		ExposedHeaders: corsExposedHeaders,
		MaxAge:         corsMaxAge,
	}).Handler(h)
}

// validateOrigins checks the CORS origins: each is "*" or a scheme and host
// (with an optional port), such as https://app.example.com, as browsers send
// the Origin header.
func validateOrigins(origins []string) error {
	for _, o := range origins {
		if o == "*" {
			continue
		}
		u, err := url.Parse(o)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" ||
			u.Path != "" || u.RawQuery != "" || u.Fragment != "" || u.User != nil || strings.ToLower(o) != o {
			return fmt.Errorf("-cors-allowed-origins (CORS_ALLOWED_ORIGINS): %q is not an origin such as https://app.example.com (lower case, no path) or *", o)
		}
	}
	return nil
}
