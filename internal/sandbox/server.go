// Package sandbox is an in-memory imitation of the CloudCockpit partner REST API: what
// `cloudcockpit-facade -sandbox` and cmd/sandbox serve instead of the real upstream, and
// what tests and benchmarks point the facade's REST client at. docs/sandbox.md is its
// specification.
package sandbox

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// Server is the simulated upstream, an [http.Handler] to serve at the root of an HTTP
// server; safe for concurrent use. Its zero value serves the sample data, as New() does.
type Server struct {
	latency  time.Duration
	requests atomic.Int64
	faults   *faults // nil: no fault injection (see WithFaults)
	echo     bool    // answers carry the credential fingerprint (see WithCredentialEcho)
}

// Option configures a [Server] built by [New].
type Option func(*Server)

// WithLatency makes the server wait d before it answers each request (no answer if the
// request's context ends first). The default is 0 (answer at once); a negative d is 0.
func WithLatency(d time.Duration) Option { return func(s *Server) { s.latency = max(d, 0) } }

// New returns a Server holding the sample data, configured by opts.
func New(opts ...Option) *Server {
	s := &Server{}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Start serves a sandbox with the sample data (New()) on a loopback port and returns its
// base URL and a function that stops it. cmd/server uses it for -sandbox.
func Start(ctx context.Context) (baseURL string, stop func(), err error) {
	l, err := new(net.ListenConfig).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for the sandbox upstream: %w", err)
	}
	srv := &http.Server{Handler: New(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}

// Requests returns how many HTTP requests the server has received, whatever it answered.
func (s *Server) Requests() int64 { return s.requests.Load() }

// Words of the upstream's answers: its envelopes' property names and 404 type, its
// content types.
const (
	propResellerID         = "resellerId"
	propProviderInstanceID = "providerInstanceId"
	typeNotFound           = "NotFound"

	contentTypeJSON  = "application/json; charset=utf-8"
	contentTypePlain = "text/plain; charset=utf-8"
	contentTypeHTML  = "text/html; charset=utf-8"
)

// ServeHTTP answers one request as the CloudCockpit API would, checks in the order
// docs/sandbox.md gives.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.latency > 0 && !sleep(r.Context(), s.latency) {
		return
	}
	if s.faults != nil && s.faults.inject(w, r) {
		return
	}
	cid := r.Header.Get(apierr.HeaderCorrelationID)
	if cid == "" {
		cid = uuid.NewString()
	}
	h := w.Header()
	h.Set(apierr.HeaderCorrelationID, cid)
	found, link, resellerID := route(r.URL)
	switch {
	case !found:
		writeEnvelope(w, http.StatusNotFound, typeNotFound, "The requested resource was not found.", cid, nil)
		return
	case r.Method != http.MethodGet:
		h.Set("Allow", http.MethodGet)
		writeEnvelope(w, http.StatusMethodNotAllowed, "MethodNotAllowed",
			"The request method "+r.Method+" is not supported for this resource.", cid, nil)
		return
	case !authorized(r.Header.Get(apierr.HeaderAuthorization)):
		// The spec documents no body for 401; ASP.NET's JWT handler sends this challenge.
		h.Set("WWW-Authenticate", "Bearer")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}
	errs := checkTenant(r.Header.Values(apierr.HeaderTenant))
	var providerInstanceID string
	if link {
		q, _ := url.ParseQuery(r.URL.RawQuery) // a malformed pair is dropped, not a reason to reject
		providerInstanceID, resellerID = queryValue(q, propProviderInstanceID), queryValue(q, propResellerID)
		errs = checkID(errs, propProviderInstanceID, providerInstanceID, true)
	}
	errs = checkID(errs, propResellerID, resellerID, !link)
	var fp string // the credential fingerprint to echo, if any
	if s.echo {
		fp = CredentialFingerprint(r.Header.Get(apierr.HeaderAuthorization), r.Header.Get(apierr.HeaderTenant))
	}
	provider, known := providerTenants[strings.ToLower(providerInstanceID)]
	reseller, ok := loadCatalog()[strings.ToLower(resellerID)] // the zero sample when resellerID is ""
	switch {
	case len(errs) > 0:
		writeEnvelope(w, http.StatusBadRequest, "ValidationError", "One or more validation errors occurred.", cid, errs)
	case link && !known:
		writeEnvelope(w, http.StatusNotFound, typeNotFound, "Provider instance not found.", cid, nil)
	case !ok && resellerID != "":
		writeEnvelope(w, http.StatusNotFound, typeNotFound, "Reseller not found.", cid, nil)
	case !link:
		write(w, http.StatusOK, contentTypeJSON, echoPayload(reseller.payload, fp))
	case strings.EqualFold(providerInstanceID, PlainTextProviderInstanceID): // the raw URL, as ASP.NET sometimes answers a string
		write(w, http.StatusOK, contentTypePlain, []byte(acceptanceLink(provider, reseller, fp)))
	default:
		body, _ := json.Marshal(acceptanceLink(provider, reseller, fp)) // & becomes \u0026, as System.Text.Json writes it
		write(w, http.StatusOK, contentTypeJSON, body)
	}
}

func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-time.After(d):
		return true
	case <-ctx.Done():
		return false
	}
}

func write(w http.ResponseWriter, code int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body) // the client has gone if this fails; nothing to do
}

// writeEnvelope answers with the upstream's error envelope; nil errs is serialised as null.
func writeEnvelope(w http.ResponseWriter, code int, typ, description, correlationID string, errs []rest.PropertyError) {
	body, _ := json.Marshal(rest.Envelope{ // only strings and ints: cannot fail
		StatusCode: code, Type: typ, Description: description, CorrelationID: correlationID, Errors: errs,
	})
	write(w, code, contentTypeJSON, body)
}

// routes matches the upstream's two routes case-insensitively and with one optional
// trailing slash, as ASP.NET routing does; the first group is the reseller route's id.
var routes = regexp.MustCompile(`(?i)^/v1/(?:Resellers/([^/]+)|Customers/relationship-acceptance)/?$`)

// route matches a request path: link for the acceptance-link route, otherwise the
// reseller route's (unescaped) resellerId segment.
func route(u *url.URL) (found, link bool, resellerID string) {
	m := routes.FindStringSubmatch(u.EscapedPath())
	if m == nil || m[1] == "" {
		return m != nil, m != nil, "" // no route, or the acceptance-link route
	}
	id, err := url.PathUnescape(m[1])
	if err != nil {
		id = m[1] // a malformed escape is kept as it came and fails the UUID check
	}
	return true, false, id
}

// queryValue returns the first value of a query parameter whose name matches
// case-insensitively, as ASP.NET model binding does; unknown parameters are ignored.
func queryValue(q url.Values, name string) string {
	if v, ok := q[name]; ok && len(v) > 0 {
		return v[0]
	}
	for k, v := range q {
		if strings.EqualFold(k, name) && len(v) > 0 {
			return v[0]
		}
	}
	return ""
}

func checkTenant(values []string) []rest.PropertyError {
	switch {
	case len(values) == 0 || strings.TrimSpace(values[0]) == "":
		return violation(nil, apierr.HeaderTenant, "The X-Tenant header is required.")
	case len(values) > 1:
		return violation(nil, apierr.HeaderTenant, "The X-Tenant header must be sent once.")
	case !isDomain(strings.TrimSpace(values[0])):
		return violation(nil, apierr.HeaderTenant, "The X-Tenant header must be the portal domain of a tenant, such as "+SampleTenant+".")
	}
	return nil
}

// checkID appends a violation to errs when id is missing (and required) or not a UUID.
// The value is not echoed: callers may send anything, and envelopes reach logs.
func checkID(errs []rest.PropertyError, property, id string, required bool) []rest.PropertyError {
	switch {
	case id == "" && required:
		return violation(errs, property, "The "+property+" field is required.")
	case id != "" && !correlation.IsUUID(id):
		return violation(errs, property, "The value is not valid for "+property+
			": expected a GUID such as 00000000-0000-0000-0000-000000000000.")
	}
	return errs
}

func violation(errs []rest.PropertyError, property, problem string) []rest.PropertyError {
	return append(errs, rest.PropertyError{PropertyName: property, Description: []string{problem}})
}

// authorized reports whether an Authorization header value is "Bearer <token>" with a
// non-empty token; the scheme is case-insensitive (RFC 9110) and the token is not checked.
func authorized(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	token = strings.TrimLeft(token, " ")
	return ok && strings.EqualFold(scheme, "Bearer") && token != "" && !strings.ContainsAny(token, " \t")
}

// isDomain reports whether s is a tenant domain (rest.IsDomainName), with an optional trailing dot.
func isDomain(s string) bool { return rest.IsDomainName(strings.TrimSuffix(s, ".")) }
