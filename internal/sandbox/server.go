package sandbox

import (
	"encoding/json"
	"net/http"
	"net/url"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync/atomic"
	"time"

	"github.com/google/uuid"
)

// Server is the simulated CloudCockpit upstream. It implements [http.Handler]: serve it
// at the root of an HTTP server (a [net/http/httptest.Server] in tests) and point the
// REST client's base URL there. A Server is safe for concurrent use; its zero value is
// not usable, build one with [New].
type Server struct {
	latency  time.Duration
	requests atomic.Int64
	data     catalog
	faults   *faults // nil: no fault injection (see WithFaults)
	echo     bool    // answers carry the credential fingerprint (see WithCredentialEcho)
}

var _ http.Handler = (*Server)(nil)

// Option configures a [Server] built by [New].
type Option func(*Server)

// WithLatency makes the server wait d before it answers each request, imitating the
// round trip to the real upstream. The wait ends early, with no answer written, when the
// request's context is cancelled. The default is 0 (answer at once); a negative d is
// treated as 0.
func WithLatency(d time.Duration) Option {
	return func(s *Server) {
		s.latency = max(d, 0)
	}
}

// New returns a Server holding the sample data, configured by opts. By default it
// answers at once; see [WithLatency].
func New(opts ...Option) *Server {
	s := &Server{data: loadCatalog()}
	for _, opt := range opts {
		opt(s)
	}
	return s
}

// Requests returns how many HTTP requests the server has received, whatever it answered
// (including 401, 404 and requests abandoned during the latency). Tests use it to assert
// that a call was answered without reaching the upstream.
func (s *Server) Requests() int64 {
	return s.requests.Load()
}

// route identifies which upstream operation a path names.
type route int

const (
	routeUnknown route = iota
	routeReseller
	routeAcceptanceLink
)

// Property names of the upstream's parameters and headers, as its envelopes name them.
const (
	propTenant             = "X-Tenant"
	propResellerID         = "resellerId"
	propProviderInstanceID = "providerInstanceId"
)

// ServeHTTP answers one request as the CloudCockpit API would; see the package
// documentation for the rules and their order.
func (s *Server) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.requests.Add(1)
	if s.latency > 0 {
		select {
		case <-time.After(s.latency):
		case <-r.Context().Done():
			return
		}
	}
	if s.faults != nil && s.faults.inject(w, r) {
		return
	}

	cid := r.Header.Get("X-Correlation-Id")
	if cid == "" {
		cid = uuid.NewString()
	}
	h := w.Header()
	h.Set("X-Correlation-Id", cid)

	rt, resellerID := parsePath(r.URL)
	switch {
	case rt == routeUnknown:
		writeEnvelope(w, http.StatusNotFound, typeNotFound, "The requested resource was not found.", cid, nil)
		return
	case r.Method != http.MethodGet:
		h.Set("Allow", http.MethodGet)
		writeEnvelope(w, http.StatusMethodNotAllowed, typeMethodNotAllowed,
			"The request method "+r.Method+" is not supported for this resource.", cid, nil)
		return
	case !authorized(r.Header.Get("Authorization")):
		// The spec documents no body for 401; ASP.NET's JWT handler sends this challenge.
		h.Set("WWW-Authenticate", "Bearer")
		h.Set("Content-Length", "0")
		w.WriteHeader(http.StatusUnauthorized)
		return
	}

	var fp string // the credential fingerprint to echo, if any
	if s.echo {
		fp = CredentialFingerprint(r.Header.Get("Authorization"), r.Header.Get("X-Tenant"))
	}

	errs := checkTenant(r.Header.Values("X-Tenant"))
	var providerInstanceID string
	if rt == routeAcceptanceLink {
		q, _ := url.ParseQuery(r.URL.RawQuery) // a malformed pair is dropped, not a reason to reject
		providerInstanceID, resellerID = queryValue(q, propProviderInstanceID), queryValue(q, propResellerID)
		errs = checkID(errs, propProviderInstanceID, providerInstanceID, true)
	}
	errs = checkID(errs, propResellerID, resellerID, rt == routeReseller)
	switch {
	case len(errs) > 0:
		writeEnvelope(w, http.StatusBadRequest, typeValidation, "One or more validation errors occurred.", cid, errs)
	case rt == routeReseller:
		s.serveReseller(w, cid, resellerID, fp)
	default:
		s.serveAcceptanceLink(w, cid, providerInstanceID, resellerID, fp)
	}
}

func (s *Server) serveReseller(w http.ResponseWriter, cid, resellerID, fp string) {
	r, ok := s.data[strings.ToLower(resellerID)]
	if !ok {
		writeEnvelope(w, http.StatusNotFound, typeNotFound, "Reseller not found.", cid, nil)
		return
	}
	body := r.payload
	if fp != "" {
		var err error
		if body, err = echoPayload(body, fp); err != nil {
			panic(err) // the samples are JSON objects: checked by buildCatalog
		}
	}
	write(w, http.StatusOK, contentTypeJSON, body)
}

func (s *Server) serveAcceptanceLink(w http.ResponseWriter, cid, providerInstanceID, resellerID, fp string) {
	i := slices.IndexFunc(providerInstances, func(p providerInstance) bool {
		return strings.EqualFold(p.id, providerInstanceID)
	})
	if i < 0 {
		writeEnvelope(w, http.StatusNotFound, typeNotFound, "Provider instance not found.", cid, nil)
		return
	}
	p := providerInstances[i]
	var reseller *sample
	if resellerID != "" {
		r, ok := s.data[strings.ToLower(resellerID)]
		if !ok {
			writeEnvelope(w, http.StatusNotFound, typeNotFound, "Reseller not found.", cid, nil)
			return
		}
		reseller = &r.sample
	}
	link := acceptanceLink(p, reseller, fp)
	if p.plainText {
		write(w, http.StatusOK, contentTypePlain, []byte(link))
		return
	}
	body, _ := json.Marshal(link) // a string always marshals, & escaped as \u0026 as System.Text.Json does
	write(w, http.StatusOK, contentTypeJSON, body)
}

// write sends an answer with its Content-Type and Content-Length.
func write(w http.ResponseWriter, code int, contentType string, body []byte) {
	h := w.Header()
	h.Set("Content-Type", contentType)
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(code)
	_, _ = w.Write(body) // the client has gone if this fails; nothing to do
}

// The upstream's routes, matched case-insensitively and with one optional trailing
// slash, as ASP.NET routing does.
var (
	resellerPath = regexp.MustCompile(`(?i)^/v1/Resellers/([^/]+)/?$`)
	linkPath     = regexp.MustCompile(`(?i)^/v1/Customers/relationship-acceptance/?$`)
)

// parsePath matches a request path against the upstream's routes. For the reseller
// route it also returns the (unescaped) resellerId segment.
func parsePath(u *url.URL) (route, string) {
	p := u.EscapedPath()
	if linkPath.MatchString(p) {
		return routeAcceptanceLink, ""
	}
	m := resellerPath.FindStringSubmatch(p)
	if m == nil {
		return routeUnknown, ""
	}
	id, err := url.PathUnescape(m[1])
	if err != nil {
		id = m[1] // a malformed escape is kept as it came and fails the UUID check
	}
	return routeReseller, id
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

// checkTenant validates the X-Tenant header values.
func checkTenant(values []string) []fieldError {
	var problem string
	switch {
	case len(values) == 0 || strings.TrimSpace(values[0]) == "":
		problem = "The X-Tenant header is required."
	case len(values) > 1:
		problem = "The X-Tenant header must be sent once."
	case !isDomain(strings.TrimSpace(values[0])):
		problem = "The X-Tenant header must be the portal domain of a tenant, such as " + SampleTenant + "."
	default:
		return nil
	}
	return []fieldError{{PropertyName: propTenant, Description: []string{problem}}}
}

// checkID appends a violation to errs when id is missing (and required) or not a UUID.
// The value is not echoed: callers may send anything, and envelopes reach logs.
func checkID(errs []fieldError, property, id string, required bool) []fieldError {
	switch {
	case id == "" && required:
		return append(errs, fieldError{PropertyName: property, Description: []string{
			"The " + property + " field is required.",
		}})
	case id != "" && !isUUID(id):
		return append(errs, fieldError{PropertyName: property, Description: []string{
			"The value is not valid for " + property + ": expected a GUID such as 00000000-0000-0000-0000-000000000000.",
		}})
	}
	return errs
}

// authorized reports whether an Authorization header value is "Bearer <token>" with a
// non-empty token; the scheme is case-insensitive (RFC 9110) and the token is not checked.
func authorized(header string) bool {
	scheme, token, ok := strings.Cut(header, " ")
	if !ok || !strings.EqualFold(scheme, "Bearer") {
		return false
	}
	token = strings.TrimLeft(token, " ")
	return token != "" && !strings.ContainsAny(token, " \t")
}

// domainName matches a DNS name with at least two labels of letters, digits and inner
// hyphens, 1 to 63 characters each.
var domainName = regexp.MustCompile(`^(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// isDomain reports whether s looks like a DNS name such as portal.cloudcockpit.com
// (see domainName): 253 characters at most, an optional trailing dot.
func isDomain(s string) bool {
	s = strings.TrimSuffix(s, ".")
	return len(s) <= 253 && domainName.MatchString(s)
}

// isUUID reports whether s is a UUID in its canonical 8-4-4-4-12 hexadecimal form, in
// either case (the form the upstream documents and the facade sends).
func isUUID(s string) bool {
	return len(s) == 36 && uuid.Validate(s) == nil
}
