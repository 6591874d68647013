package server

import (
	"fmt"
	"net/http"
	"net/url"
	"strings"

	"github.com/rs/cors"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// corsMaxAge, in seconds, is how long a browser may cache a preflight: Chromium's cap.
const corsMaxAge = 7200

// withCORS wraps h with rs/cors, granting origins what docs/browsers.md ("CORS")
// lists and never credentials mode; with no origins it returns h unchanged.
func withCORS(h http.Handler, origins []string) http.Handler {
	if len(origins) == 0 {
		return h
	}
	return cors.New(cors.Options{
		AllowedOrigins: origins,
		AllowedMethods: []string{http.MethodGet, http.MethodPost},
		AllowedHeaders: []string{
			apierr.HeaderAuthorization, apierr.HeaderTenant, apierr.HeaderCorrelationID,
			"Content-Type", "Accept", "Accept-Encoding",
			"Connect-Protocol-Version", "Connect-Timeout-Ms",
			"Connect-Accept-Encoding", "Connect-Content-Encoding",
			"Grpc-Timeout", "Grpc-Accept-Encoding", "Grpc-Encoding",
			"X-Grpc-Web", "X-User-Agent",
			apierr.HeaderTraceparent, apierr.HeaderTracestate, "Cache-Control", // stale-if-error=N
		},
		ExposedHeaders: []string{
			apierr.HeaderCorrelationID, "Retry-After", "WWW-Authenticate",
			"Grpc-Status", "Grpc-Message", "Grpc-Status-Details-Bin",
			"Grpc-Encoding", "Connect-Content-Encoding", "Content-Encoding", "Cache-Status", "Age", // a stale answer's labels
		},
		MaxAge: corsMaxAge,
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
