package gateway

import (
	"net/http"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
)

// forwarded are the metadata keys that a request header of the same name
// becomes. Authorization is not in it: grpc-gateway always forwards it as
// `authorization` itself, and matching it too would send it twice.
var forwarded = []string{apierr.MDTenant, apierr.MDCorrelationID, apierr.MDTraceparent, apierr.MDTracestate, stale.MDCacheControl}

// answered are the response header metadata keys that become HTTP headers, under
// their plain names (X-Correlation-Id, not Grpc-Metadata-X-Correlation-Id).
var answered = []string{apierr.MDCorrelationID, stale.MDCacheStatus, stale.MDAge}

// incomingHeader decides which request headers become gRPC metadata: those
// of forwarded, nothing else. grpc-gateway still adds its own
// x-forwarded-host and x-forwarded-for metadata, which the service does not
// forward.
func incomingHeader(key string) (string, bool) {
	i := slices.IndexFunc(forwarded, func(md string) bool { return strings.EqualFold(md, key) })
	if i < 0 {
		return "", false
	}
	return forwarded[i], true
}

// requestCorrelationID returns the correlation id (correlation.Resolve) for a response
// the mirror writes itself, and whether the caller's X-Correlation-Id was invalid.
func requestCorrelationID(r *http.Request) (id string, invalid bool) {
	cid := correlation.Resolve(r.Header.Values(apierr.HeaderCorrelationID))
	return cid.Value, cid.Rejected != ""
}

// headerProblems checks that the forwarded headers hold only printable ASCII,
// which is all gRPC metadata can carry. It reports a bad Authorization
// separately (that is UNAUTHENTICATED) from the other headers' violations,
// named by the headers the caller sent (X-Tenant, X-Correlation-Id).
func headerProblems(h http.Header) (badAuth bool, fvs []*errdetails.BadRequest_FieldViolation) {
	for _, header := range [...]string{apierr.HeaderTenant, apierr.HeaderCorrelationID} {
		if slices.ContainsFunc(h.Values(header), unprintable) {
			fvs = append(fvs, &errdetails.BadRequest_FieldViolation{Field: header, Description: "must be printable ASCII"})
		}
	}
	return slices.ContainsFunc(h.Values(apierr.HeaderAuthorization), unprintable), fvs
}

func unprintable(v string) bool {
	return strings.ContainsFunc(v, func(r rune) bool { return r < 0x20 || r > 0x7e })
}
