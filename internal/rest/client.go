package rest

import (
	"bytes"
	"cmp"
	"context"
	"crypto/sha256"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"golang.org/x/net/http/httpguts"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
)

// Defaults of Config, used for its zero fields.
const (
	DefaultUserAgent             = "cloudcockpit-facade"
	DefaultMaxBodyBytes    int64 = 1 << 20 // 1 MiB
	DefaultTimeout               = 10 * time.Second
	DefaultAttemptTimeout        = 5 * time.Second
	DefaultMaxAttempts           = 3 // the first attempt included
	DefaultRetryBackoff          = 50 * time.Millisecond
	DefaultMaxRetryBackoff       = time.Second
	DefaultMaxConcurrent         = 64
	DefaultQueueTimeout          = time.Second
)

const (
	drainLimit      = 64 << 10  // bounds what drainAndClose discards
	maxPooledBuffer = 256 << 10 // keeps the buffer pool from pinning large buffers
)

// Config configures a Client. Only BaseURL is required. A zero field means
// the default of its name (DefaultTimeout for Timeout; resilience's
// DefaultRetryRatio, DefaultMaxTenants and DefaultTenantIdle for RetryRatio,
// MaxTenants and TenantIdle) unless its doc says otherwise. New rejects a
// negative MaxBodyBytes, Timeout, MaxAttempts, RetryBackoff, MaxRetryBackoff
// or TenantIdle; the other fields say what negative means.
type Config struct {
	// BaseURL is the API root, for example
	// https://app-cloudcockpitapi-prod-01.azurewebsites.net: an absolute
	// http or https URL with a host, without credentials, query or fragment.
	// It may carry a path prefix; a trailing slash is ignored.
	BaseURL string
	// Transport sends the requests, one RoundTrip per attempt and without
	// an http.Client, so that no redirect carries the caller's X-Tenant and
	// Authorization to another URL. It must not let two principals share a
	// connection (see NewPools). Nil means one NewPools of a default
	// NewTransport, shared by all such Clients.
	Transport http.RoundTripper
	// UserAgent is the User-Agent header value, without control characters.
	UserAgent string
	// MaxBodyBytes caps how many bytes of a response body are read: a 2xx
	// body over it fails with KindTooLarge, a non-2xx one loses its Envelope.
	MaxBodyBytes int64
	// Timeout bounds a call, all attempts and back-off included, when its
	// context has no deadline (a context deadline is used as it is).
	Timeout time.Duration
	// AttemptTimeout bounds each attempt from sending the request to the end
	// of the response body (a retryable KindTimeout); negative disables it.
	AttemptTimeout time.Duration
	// MaxAttempts caps a call's attempts, the first included; 1 disables retries.
	MaxAttempts int
	// RetryBackoff is the back-off base and MaxRetryBackoff its cap: before
	// retry n the client waits a random duration in
	// [0, min(MaxRetryBackoff, RetryBackoff·2^(n-1))).
	RetryBackoff, MaxRetryBackoff time.Duration
	// RetryRatio bounds the retries of all tenants together to this share of
	// the first attempts (resilience.RetryCeiling); negative allows none.
	RetryRatio float64
	// MaxConcurrent limits the upstream requests in flight (negative: no limit);
	// one over it waits up to QueueTimeout, then fails with KindOverLimit.
	MaxConcurrent int
	// TenantMaxConcurrent limits the requests in flight of one tenant (with a
	// Caller, tenant and token) and of one Caller, in front of MaxConcurrent. Zero
	// means half of MaxConcurrent (at least 1), none when MaxConcurrent is
	// negative; negative means no limit.
	TenantMaxConcurrent int
	// QueueTimeout bounds a request's wait for a slot; negative means no wait.
	QueueTimeout time.Duration
	// Breaker configures each tenant's circuit breaker.
	Breaker resilience.BreakerSettings
	// MaxTenants is resilience.TenantSettings.MaxTenants; negative, like
	// zero, means the default.
	MaxTenants int
	// TenantIdle is how long a tenant's state outlives its last call.
	TenantIdle time.Duration
	// DisableCoalescing gives identical concurrent calls an upstream call each.
	DisableCoalescing bool
	// OnCoalesced, when not nil, is called each time a call joins another's
	// upstream request, with the joining call's context, the operation name
	// and the correlation id that request carried ("" when the call left
	// before it ended). OnRejected is called with the operation and a Reject
	// reason each time a call or retry is refused before sending. Both must be
	// cheap and safe for concurrent use.
	OnCoalesced func(ctx context.Context, operation, correlationID string)
	OnRejected  func(operation, reason string)
}

// Reasons passed to Config.OnRejected.
const (
	RejectCircuitOpen            = "circuit_open"
	RejectConcurrencyLimit       = "concurrency_limit"
	RejectTenantConcurrencyLimit = "tenant_concurrency_limit"
)

// Client calls the CloudCockpit partner REST API. Build it with New. It is
// safe for concurrent use.
type Client struct {
	cfg     Config // defaults applied
	tenants *resilience.Tenants
	limiter *resilience.Limiter // nil: no limit
	ceiling *resilience.RetryCeiling

	resellers resilience.Group[flightKey, flight[*Reseller]]
	links     resilience.Group[flightKey, flight[string]]

	resellersPrefix string // "{base}/v1/Resellers/"
	acceptanceURL   string // "{base}/v1/Customers/relationship-acceptance"
}

// flightKey makes calls identical for coalescing; caller too: a shared request holds its first caller's share of slots.
type flightKey struct{ url, tenant, authorization, caller string }

// CallInfo holds the per-call values the caller forwards upstream. All but
// Caller become request headers, each omitted when empty; values must not
// contain control characters.
type CallInfo struct {
	// Tenant is sent as X-Tenant: the tenant's portal domain.
	Tenant string
	// Authorization is sent unchanged, normally "Bearer <JWT>". The package
	// never logs it or puts it in an error.
	Authorization string
	// CorrelationID is sent as X-Correlation-Id.
	CorrelationID string
	// Traceparent and Tracestate are the caller's W3C trace context.
	Traceparent, Tracestate string
	// Caller is the client's authenticated identity (certificate URI SAN,
	// else subject), or empty. It is never sent; when set, the call takes a
	// slot of its share as well as of Tenant's.
	Caller string
}

// shareKeys are the keys of the call's shares of the upstream slots, taken in this
// order: the caller's identity when known, then its tenant's (TenantShare).
func (ci CallInfo) shareKeys() []string {
	if ci.Caller != "" {
		return []string{"\x00" + ci.Caller, TenantShare(ci.Caller, ci.Tenant, ci.Authorization)}
	}
	return []string{TenantShare("", ci.Tenant, "")}
}

// TenantShare is the key of a tenant's share of slots, whose stall must not take every
// slot: its lower-case name, with a caller identity the token's SHA-256 too (no other
// certificate fills the share by the name). No tenant or token holds a control character.
func TenantShare(caller, tenant, authorization string) string {
	if caller == "" {
		return strings.ToLower(tenant)
	}
	token := sha256.Sum256([]byte(authorization)) // not a second copy of the token
	return strings.ToLower(tenant) + "\x00" + string(token[:])
}

// IsDomainName reports whether s is a plausible tenant domain: at least two
// dot-separated labels of letters, digits and hyphens, each 1-63 characters
// and not starting or ending with a hyphen, 253 characters at most.
func IsDomainName(s string) bool {
	if len(s) > 253 { // the longest DNS name
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if len(label) == 0 || len(label) > 63 || label[0] == '-' || label[len(label)-1] == '-' ||
			strings.ContainsFunc(label, func(c rune) bool {
				return !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '-')
			}) {
			return false
		}
	}
	return strings.Contains(s, ".") // two labels or more
}

// New validates cfg (see Config) and returns a Client.
func New(cfg Config) (*Client, error) {
	base, err := ParseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, fmt.Errorf("rest: %w", err)
	}
	cfg.UserAgent = cmp.Or(cfg.UserAgent, DefaultUserAgent)
	if !httpguts.ValidHeaderFieldValue(cfg.UserAgent) {
		return nil, errors.New("rest: user agent contains control characters")
	}
	if err := cmp.Or(negative("max body bytes", cfg.MaxBodyBytes), negative("timeout", cfg.Timeout),
		negative("max attempts", cfg.MaxAttempts), negative("retry backoff", cfg.RetryBackoff),
		negative("max retry backoff", cfg.MaxRetryBackoff), negative("tenant idle time", cfg.TenantIdle)); err != nil {
		return nil, err
	}
	if cfg.Transport == nil {
		cfg.Transport = sharedTransport()
	}
	cfg.MaxBodyBytes = cmp.Or(cfg.MaxBodyBytes, DefaultMaxBodyBytes)
	cfg.Timeout = cmp.Or(cfg.Timeout, DefaultTimeout)
	cfg.AttemptTimeout = cmp.Or(cfg.AttemptTimeout, DefaultAttemptTimeout) // negative: none
	cfg.MaxAttempts = cmp.Or(cfg.MaxAttempts, DefaultMaxAttempts)
	cfg.RetryBackoff = cmp.Or(cfg.RetryBackoff, DefaultRetryBackoff)
	cfg.MaxRetryBackoff = cmp.Or(cfg.MaxRetryBackoff, DefaultMaxRetryBackoff)
	cfg.QueueTimeout = cmp.Or(cfg.QueueTimeout, DefaultQueueTimeout)
	cfg.MaxConcurrent = cmp.Or(cfg.MaxConcurrent, DefaultMaxConcurrent)
	if cfg.TenantMaxConcurrent == 0 && cfg.MaxConcurrent > 0 {
		cfg.TenantMaxConcurrent = max(cfg.MaxConcurrent/2, 1)
	}
	return &Client{
		cfg:             cfg,
		tenants:         resilience.NewTenants(resilience.TenantSettings{MaxTenants: cfg.MaxTenants, Idle: cfg.TenantIdle, Breaker: cfg.Breaker}),
		limiter:         resilience.NewLimiter(cfg.MaxConcurrent, cfg.TenantMaxConcurrent, cfg.QueueTimeout),
		ceiling:         resilience.NewRetryCeiling(cfg.RetryRatio),
		resellersPrefix: base + "/v1/Resellers/",
		acceptanceURL:   base + "/v1/Customers/relationship-acceptance",
	}, nil
}

func negative[T int | int64 | time.Duration](name string, v T) error {
	if v < 0 {
		return fmt.Errorf("rest: %s must not be negative, got %v", name, v)
	}
	return nil
}

// ParseBaseURL validates raw as Config.BaseURL and returns it as
// scheme://host[:port][/prefix] without a trailing slash.
func ParseBaseURL(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errors.New("base URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The *url.Error would repeat raw, which may hold credentials.
		if uerr, ok := errors.AsType[*url.Error](err); ok {
			err = uerr.Err
		}
		return "", fmt.Errorf("base URL is not a valid URL: %w", err)
	}
	port, perr := strconv.ParseUint(cmp.Or(u.Port(), "443"), 10, 16) // url.Parse takes any digits
	switch {
	case u.User != nil:
		return "", fmt.Errorf("base URL %q must not contain credentials", u.Redacted())
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("base URL %q must be an absolute http or https URL", raw)
	case u.Opaque != "" || u.Hostname() == "":
		return "", fmt.Errorf("base URL %q has no host", raw)
	case perr != nil || port == 0:
		return "", fmt.Errorf("base URL %q has a port outside 1-65535", raw)
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Errorf("base URL %q must not have a query", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", fmt.Errorf("base URL %q must not have a fragment", raw)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// BreakerStates is resilience.Tenants.BreakerStates for the Client's tenants.
func (c *Client) BreakerStates() [3]int { return c.tenants.BreakerStates() }

// Tenants returns the number of tenants with resilience state of their own.
func (c *Client) Tenants() int { return c.tenants.Len() }

// GetReseller fetches one reseller: GET {base}/v1/Resellers/{resellerID},
// the id escaped as one path segment; an empty id, "." or ".." fails with
// KindInvalid. The result may be shared with coalesced callers: treat it as
// read-only.
func (c *Client) GetReseller(ctx context.Context, ci CallInfo, resellerID string) (r *Reseller, err error) {
	switch resellerID {
	case "":
		err = &Error{Kind: KindInvalid, Err: errors.New("id is empty")}
	case ".", "..": // servers and proxies resolve dot segments away
		err = &Error{Kind: KindInvalid, Err: fmt.Errorf("id %q is a dot segment", resellerID)}
	default:
		r, err = call(ctx, c, &c.resellers, request[*Reseller]{
			op: apierr.OpGetReseller, info: ci, url: c.resellersPrefix + url.PathEscape(resellerID),
			decode: DecodeReseller,
		})
	}
	if err != nil {
		return nil, fmt.Errorf("get reseller %q: %w", resellerID, err)
	}
	return r, nil
}

// GetAcceptanceLink fetches the link a customer follows to accept a
// relationship: GET {base}/v1/Customers/relationship-acceptance with
// providerInstanceId and, when not empty, resellerId.
func (c *Client) GetAcceptanceLink(ctx context.Context, ci CallInfo, providerInstanceID, resellerID string) (string, error) {
	q := make(url.Values, 2)
	q.Set("providerInstanceId", providerInstanceID)
	if resellerID != "" {
		q.Set("resellerId", resellerID)
	}
	link, err := call(ctx, c, &c.links, request[string]{
		op: apierr.OpGetAcceptanceLink, info: ci, url: c.acceptanceURL + "?" + q.Encode(), decode: DecodeAcceptanceLink,
	})
	if err != nil {
		return "", fmt.Errorf("get acceptance link for provider instance %q: %w", providerInstanceID, err)
	}
	return link, nil
}

// setHeaders sets exactly the headers the upstream gets. The values share
// one allocation, each of capacity 1 so that appending cannot spill.
func (c *Client) setHeaders(h http.Header, ci *CallInfo) {
	v := &[...]string{c.cfg.UserAgent, "application/json", ci.Tenant, ci.Authorization, ci.CorrelationID, ci.Traceparent, ci.Tracestate}
	for i, name := range [...]string{"User-Agent", "Accept", apierr.HeaderTenant, apierr.HeaderAuthorization,
		apierr.HeaderCorrelationID, apierr.HeaderTraceparent, apierr.HeaderTracestate} {
		if v[i] != "" {
			h[name] = v[i : i+1 : i+1]
		}
	}
}

// readBody reads resp's body into a pooled buffer, to hand back with
// putBuffer; over MaxBodyBytes or maxBodyElements it is KindTooLarge.
func (c *Client) readBody(resp *http.Response) (*bytes.Buffer, error) {
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	if n := resp.ContentLength; n <= c.cfg.MaxBodyBytes {
		if n > 0 && n <= maxPooledBuffer {
			buf.Grow(int(n) + bytes.MinRead) // ReadFrom wants MinRead spare bytes to see EOF
		}
		limit := min(c.cfg.MaxBodyBytes, math.MaxInt64-1) + 1 // one byte more tells "exactly at the limit" from "over it"
		if _, err := buf.ReadFrom(io.LimitReader(resp.Body, limit)); err != nil {
			return buf, fmt.Errorf("read response body: %w", err)
		}
		if int64(buf.Len()) <= c.cfg.MaxBodyBytes {
			if b := buf.Bytes(); bytes.Count(b, []byte{','})+bytes.Count(b, []byte{'{'})+bytes.Count(b, []byte{'['}) > maxBodyElements {
				return buf, &Error{Kind: KindTooLarge, Limit: c.cfg.MaxBodyBytes, Err: fmt.Errorf("over %d JSON elements", maxBodyElements)}
			}
			return buf, nil
		}
	}
	if resp.ContentLength < 0 { // a rest of unknown length: draining it (drainAndClose) could only wait
		_ = resp.Body.Close()
	}
	return buf, &Error{Kind: KindTooLarge, Limit: c.cfg.MaxBodyBytes}
}

// maxBodyElements bounds a body's JSON elements, over-counted as its commas and
// opening brackets: decoding costs memory per element (docs/upstream-client.md#tolerance-rules).
const maxBodyElements = 10_000

// upstreamError builds the *Error for a non-2xx answer; a body that cannot
// be read in time or in full only costs the Envelope.
func (c *Client) upstreamError(resp *http.Response) *Error {
	e := &Error{Kind: KindAnswered, StatusCode: resp.StatusCode}
	if v := resp.Header.Get("Retry-After"); v != "" {
		e.RetryAfter, e.HasRetryAfter = ParseRetryAfter(v, time.Now())
	}
	buf, err := c.readBody(resp)
	defer putBuffer(buf)
	if err == nil {
		e.Envelope, _ = DecodeEnvelope(buf.Bytes())
	}
	return e
}

// drainAndClose discards a bounded rest of resp's body, so the connection
// can be reused, and closes it. A body declared longer than that bound is
// closed at once: draining could not reach its end, only wait for it.
func drainAndClose(resp *http.Response) {
	if resp.ContentLength <= drainLimit { // -1: not declared
		_, _ = io.CopyN(io.Discard, resp.Body, drainLimit)
	}
	_ = resp.Body.Close()
}

// checkCallInfo rejects header values that net/http would refuse to send,
// naming the header but never its value.
func checkCallInfo(ci CallInfo) error {
	for _, h := range [...]struct{ name, value string }{
		{apierr.HeaderTenant, ci.Tenant}, {apierr.HeaderAuthorization, ci.Authorization}, {apierr.HeaderCorrelationID, ci.CorrelationID},
		{apierr.HeaderTraceparent, ci.Traceparent}, {apierr.HeaderTracestate, ci.Tracestate},
	} {
		if !httpguts.ValidHeaderFieldValue(h.value) {
			return &Error{Kind: KindInvalid, Err: errors.New(h.name + " contains control characters")}
		}
	}
	return nil
}

// bufferPool recycles response body buffers; decoding copies what it keeps.
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() <= maxPooledBuffer {
		bufferPool.Put(buf)
	}
}

// TransportConfig tunes NewTransport.
type TransportConfig struct {
	// TLS is the upstream TLS configuration; nil means Go's defaults.
	TLS *tls.Config
	// MaxConns is the most connections to the upstream host, in use or
	// idle. Zero or negative means DefaultMaxConcurrent.
	MaxConns int
	// ResponseHeaderTimeout bounds the wait for response headers; zero: none.
	ResponseHeaderTimeout time.Duration
}

// NewTransport returns a clone of http.DefaultTransport tuned for many calls
// to one upstream host (docs/resilience.md#the-upstream-transport). Callers
// with different credentials must not share its connections: wrap it in NewPools.
func NewTransport(cfg TransportConfig) *http.Transport {
	maxConns := cmp.Or(max(cfg.MaxConns, 0), DefaultMaxConcurrent)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = maxConns
	t.MaxIdleConnsPerHost = maxConns
	t.MaxConnsPerHost = maxConns
	t.ResponseHeaderTimeout = max(cfg.ResponseHeaderTimeout, 0)
	t.MaxResponseHeaderBytes = 64 << 10 // net/http keeps a header line in about 16 times its size
	t.Protocols = new(http.Protocols)
	t.Protocols.SetHTTP1(true)
	t.TLSClientConfig = cfg.TLS.Clone() // nil stays nil, as in http.DefaultTransport
	return t
}

// sharedTransport is the transport of every Client built without one.
var sharedTransport = sync.OnceValue(func() http.RoundTripper {
	return NewPools(NewTransport(TransportConfig{}), 0)
})
