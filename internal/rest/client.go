package rest

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strings"
	"sync"
	"time"
)

const (
	// DefaultUserAgent is the User-Agent sent when Config.UserAgent is empty.
	DefaultUserAgent = "cloudcockpit-facade"

	// DefaultMaxBodyBytes is the response body limit used when
	// Config.MaxBodyBytes is zero: 1 MiB.
	DefaultMaxBodyBytes int64 = 1 << 20
)

const (
	// drainLimit bounds how much of an unread body is discarded before
	// closing it, so that the connection can usually be reused without
	// letting a huge body keep us reading.
	drainLimit = 64 << 10

	// maxPooledBuffer keeps the buffer pool from pinning large buffers.
	maxPooledBuffer = 256 << 10
)

// ErrInvalidRequest reports arguments from which no safe upstream request can
// be built: an id that cannot be exactly one URL path segment (empty, "." or
// ".."), or a header value with control characters. Nothing was sent upstream.
// It is returned wrapped; test for it with errors.Is.
var ErrInvalidRequest = errors.New("invalid upstream request")

// Config configures a Client. Only BaseURL is required.
type Config struct {
	// BaseURL is the API root, for example
	// https://app-cloudcockpitapi-prod-01.azurewebsites.net. It must be an
	// absolute http or https URL with a host and without credentials, query or
	// fragment. It may carry a path prefix; a trailing slash is ignored.
	BaseURL string

	// HTTPClient sends the requests. When nil, all Clients share one
	// *http.Client built on NewTransport that does not follow redirects and
	// has no overall timeout (the request context bounds each call).
	HTTPClient *http.Client

	// UserAgent is the User-Agent header value. Empty means DefaultUserAgent.
	UserAgent string

	// MaxBodyBytes caps how many bytes of a response body are read. A 2xx
	// body over the cap fails with *BodyTooLargeError; a non-2xx body over
	// the cap yields an *Error without Envelope. Zero means
	// DefaultMaxBodyBytes; negative values are rejected by New.
	MaxBodyBytes int64
}

// Client calls the CloudCockpit partner REST API. Build it with New. A Client
// is immutable and safe for concurrent use by multiple goroutines.
type Client struct {
	hc        *http.Client
	userAgent string
	maxBody   int64

	// resellersPrefix is "{base}/v1/Resellers/"; an escaped id is appended.
	resellersPrefix string
	// acceptanceURL is "{base}/v1/Customers/relationship-acceptance".
	acceptanceURL string
}

// CallInfo holds the per-call values the caller forwards upstream. Exactly
// these become request headers, each omitted when empty; values must not
// contain control characters.
type CallInfo struct {
	// Tenant is sent as X-Tenant: the portal domain of the tenant, for
	// example portal.cloudcockpit.com.
	Tenant string

	// Authorization is sent unchanged as Authorization, normally
	// "Bearer <JWT>". The package never logs it or puts it in an error.
	Authorization string

	// CorrelationID is sent as X-Correlation-Id so that upstream audit logs
	// and error envelopes can be correlated with the call.
	CorrelationID string
}

// New validates cfg and returns a Client. It fails with a descriptive error
// when BaseURL is missing or not an absolute http(s) URL with a host, when it
// has credentials, a query or a fragment, when UserAgent contains control
// characters, or when MaxBodyBytes is negative.
func New(cfg Config) (*Client, error) {
	base, err := parseBaseURL(cfg.BaseURL)
	if err != nil {
		return nil, err
	}
	ua := cfg.UserAgent
	if ua == "" {
		ua = DefaultUserAgent
	}
	if !validHeaderValue(ua) {
		return nil, errors.New("rest: user agent contains control characters")
	}
	maxBody := cfg.MaxBodyBytes
	switch {
	case maxBody < 0:
		return nil, fmt.Errorf("rest: max body bytes must not be negative, got %d", maxBody)
	case maxBody == 0:
		maxBody = DefaultMaxBodyBytes
	}
	hc := cfg.HTTPClient
	if hc == nil {
		hc = sharedHTTPClient()
	}
	return &Client{
		hc:              hc,
		userAgent:       ua,
		maxBody:         maxBody,
		resellersPrefix: base + "/v1/Resellers/",
		acceptanceURL:   base + "/v1/Customers/relationship-acceptance",
	}, nil
}

// parseBaseURL validates raw and returns it as scheme://host[/prefix] without
// a trailing slash.
func parseBaseURL(raw string) (string, error) {
	if strings.TrimSpace(raw) == "" {
		return "", errors.New("rest: base URL is required")
	}
	u, err := url.Parse(raw)
	if err != nil {
		// The *url.Error would repeat raw, which may hold credentials.
		var uerr *url.Error
		if errors.As(err, &uerr) {
			err = uerr.Err
		}
		return "", fmt.Errorf("rest: base URL is not a valid URL: %w", err)
	}
	switch {
	case u.User != nil:
		return "", fmt.Errorf("rest: base URL %q must not contain credentials", u.Redacted())
	case u.Scheme != "http" && u.Scheme != "https":
		return "", fmt.Errorf("rest: base URL %q must be an absolute http or https URL", raw)
	case u.Opaque != "" || u.Host == "":
		return "", fmt.Errorf("rest: base URL %q has no host", raw)
	case u.RawQuery != "" || u.ForceQuery:
		return "", fmt.Errorf("rest: base URL %q must not have a query", raw)
	case u.Fragment != "" || strings.Contains(raw, "#"):
		return "", fmt.Errorf("rest: base URL %q must not have a fragment", raw)
	}
	return u.Scheme + "://" + u.Host + strings.TrimRight(u.EscapedPath(), "/"), nil
}

// CloseIdleConnections closes the idle connections of the underlying HTTP
// client. Call it on shutdown; the Client stays usable afterwards.
func (c *Client) CloseIdleConnections() {
	c.hc.CloseIdleConnections()
}

// GetReseller fetches one reseller: GET {base}/v1/Resellers/{resellerID}. The
// id is sent as exactly one escaped path segment whatever it contains ("a/b"
// becomes "a%2Fb"); an empty id, "." or ".." fails with ErrInvalidRequest.
// See the package documentation for the errors it returns.
func (c *Client) GetReseller(ctx context.Context, ci CallInfo, resellerID string) (*Reseller, error) {
	if err := checkSegment(resellerID); err != nil {
		return nil, fmt.Errorf("get reseller %q: %w", resellerID, err)
	}
	var r *Reseller
	err := c.get(ctx, ci, c.resellersPrefix+url.PathEscape(resellerID), func(_ string, body []byte) error {
		var err error
		r, err = DecodeReseller(body)
		return err
	})
	if err != nil {
		return nil, fmt.Errorf("get reseller %q: %w", resellerID, err)
	}
	return r, nil
}

// GetAcceptanceLink fetches the link a customer follows to accept a
// relationship: GET {base}/v1/Customers/relationship-acceptance with the
// query parameters providerInstanceId and, when resellerID is not empty,
// resellerId. The result is an absolute http(s) URL; see
// DecodeAcceptanceLink for the accepted body forms and the package
// documentation for the errors it returns.
func (c *Client) GetAcceptanceLink(ctx context.Context, ci CallInfo, providerInstanceID, resellerID string) (string, error) {
	q := make(url.Values, 2)
	q.Set("providerInstanceId", providerInstanceID)
	if resellerID != "" {
		q.Set("resellerId", resellerID)
	}
	var link string
	err := c.get(ctx, ci, c.acceptanceURL+"?"+q.Encode(), func(contentType string, body []byte) error {
		var err error
		link, err = DecodeAcceptanceLink(contentType, body)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("get acceptance link for provider instance %q: %w", providerInstanceID, err)
	}
	return link, nil
}

// get sends one GET to rawURL and hands a 2xx body to decode. The body slice
// is only valid during the call.
func (c *Client) get(ctx context.Context, ci CallInfo, rawURL string, decode func(contentType string, body []byte) error) error {
	if err := checkCallInfo(ci); err != nil {
		return err
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, rawURL, nil)
	if err != nil {
		return fmt.Errorf("build request: %w", err)
	}
	c.setHeaders(req.Header, ci)

	resp, err := c.hc.Do(req)
	if err != nil {
		return withContextErr(ctx, err)
	}
	defer drainAndClose(resp.Body)

	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return c.upstreamError(resp)
	}
	if resp.ContentLength > c.maxBody {
		return &BodyTooLargeError{Limit: c.maxBody}
	}
	buf := getBuffer(resp.ContentLength)
	defer putBuffer(buf)
	if err := c.readBody(buf, resp.Body); err != nil {
		return withContextErr(ctx, err)
	}
	return decode(resp.Header.Get("Content-Type"), buf.Bytes())
}

// setHeaders sets exactly the headers the upstream gets: the CallInfo ones
// that are not empty, User-Agent and Accept.
func (c *Client) setHeaders(h http.Header, ci CallInfo) {
	if ci.Tenant != "" {
		h["X-Tenant"] = []string{ci.Tenant}
	}
	if ci.Authorization != "" {
		h["Authorization"] = []string{ci.Authorization}
	}
	if ci.CorrelationID != "" {
		h["X-Correlation-Id"] = []string{ci.CorrelationID}
	}
	h["User-Agent"] = []string{c.userAgent}
	h["Accept"] = []string{"application/json"}
}

// readBody reads at most maxBody bytes of body into buf and reports
// *BodyTooLargeError when there is more.
func (c *Client) readBody(buf *bytes.Buffer, body io.Reader) error {
	limit := c.maxBody
	if limit < math.MaxInt64 {
		limit++ // one byte more tells "exactly at the limit" from "over it"
	}
	if _, err := buf.ReadFrom(io.LimitReader(body, limit)); err != nil {
		return fmt.Errorf("read response body: %w", err)
	}
	if int64(buf.Len()) > c.maxBody {
		return &BodyTooLargeError{Limit: c.maxBody}
	}
	return nil
}

// upstreamError builds the *Error for a non-2xx answer. A body that cannot be
// read or is over the limit only costs the Envelope: the status is what
// matters.
func (c *Client) upstreamError(resp *http.Response) *Error {
	e := &Error{
		StatusCode:  resp.StatusCode,
		ContentType: resp.Header.Get("Content-Type"),
	}
	if v := resp.Header.Get("Retry-After"); v != "" {
		e.RetryAfter, e.HasRetryAfter = ParseRetryAfter(v, time.Now())
	}
	if resp.ContentLength > c.maxBody || resp.ContentLength == 0 {
		return e
	}
	buf := getBuffer(resp.ContentLength)
	defer putBuffer(buf)
	if err := c.readBody(buf, resp.Body); err == nil {
		if env, ok := DecodeEnvelope(buf.Bytes()); ok {
			e.Envelope = env
		}
	}
	return e
}

// withContextErr makes sure errors.Is finds the caller's context error when
// the context ended, whatever error the transport chose to report.
func withContextErr(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil && !errors.Is(err, ctxErr) {
		return fmt.Errorf("%w: %w", ctxErr, err)
	}
	return err
}

// drainAndClose discards a bounded rest of body, so the connection can be
// reused, and closes it.
func drainAndClose(body io.ReadCloser) {
	_, _ = io.CopyN(io.Discard, body, drainLimit)
	_ = body.Close()
}

// checkSegment rejects ids that cannot be one path segment even when escaped:
// an empty id would address the collection, and dot segments are resolved
// away by servers and proxies.
func checkSegment(id string) error {
	switch id {
	case "":
		return fmt.Errorf("%w: id is empty", ErrInvalidRequest)
	case ".", "..":
		return fmt.Errorf("%w: id %q is a dot segment", ErrInvalidRequest, id)
	}
	return nil
}

// checkCallInfo rejects header values that net/http would refuse to send,
// naming the header but never its value.
func checkCallInfo(ci CallInfo) error {
	switch {
	case !validHeaderValue(ci.Tenant):
		return fmt.Errorf("%w: X-Tenant contains control characters", ErrInvalidRequest)
	case !validHeaderValue(ci.Authorization):
		return fmt.Errorf("%w: Authorization contains control characters", ErrInvalidRequest)
	case !validHeaderValue(ci.CorrelationID):
		return fmt.Errorf("%w: X-Correlation-Id contains control characters", ErrInvalidRequest)
	}
	return nil
}

// validHeaderValue reports whether v is a legal field value (RFC 9110 5.5):
// no control characters other than horizontal tab.
func validHeaderValue(v string) bool {
	for i := 0; i < len(v); i++ {
		if b := v[i]; (b < ' ' && b != '\t') || b == 0x7f {
			return false
		}
	}
	return true
}

// bufferPool recycles response body buffers; decoding copies what it keeps,
// so a buffer is free again once the decode function returns.
var bufferPool = sync.Pool{New: func() any { return new(bytes.Buffer) }}

// getBuffer returns an empty pooled buffer, grown for a body of the given
// length when it is known.
func getBuffer(contentLength int64) *bytes.Buffer {
	buf := bufferPool.Get().(*bytes.Buffer)
	buf.Reset()
	if contentLength > 0 && contentLength <= maxPooledBuffer {
		// ReadFrom wants MinRead spare bytes before it sees EOF.
		buf.Grow(int(contentLength) + bytes.MinRead)
	}
	return buf
}

// putBuffer returns buf to the pool unless it grew too large to keep.
func putBuffer(buf *bytes.Buffer) {
	if buf.Cap() > maxPooledBuffer {
		return
	}
	bufferPool.Put(buf)
}
