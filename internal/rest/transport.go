package rest

import (
	"net"
	"net/http"
	"sync"
	"time"
)

// NewTransport returns an *http.Transport tuned for many concurrent calls to a
// single upstream host: up to 256 idle connections in total and per host, idle
// connections closed after 90s, a 10s TLS handshake timeout, a 30s dial
// timeout, HTTP/2 attempted when the server offers it, and proxies taken from
// the environment (HTTPS_PROXY, HTTP_PROXY, NO_PROXY). ResponseHeaderTimeout
// is 0: the caller's context deadline bounds each request. Response headers
// are limited to 1 MiB.
func NewTransport() *http.Transport {
	dialer := &net.Dialer{
		Timeout:   30 * time.Second,
		KeepAlive: 30 * time.Second,
	}
	return &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           256,
		MaxIdleConnsPerHost:    256,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		ResponseHeaderTimeout:  0,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// sharedTransport is the transport every Client built without
// Config.Transport or Config.HTTPClient uses, so that all of them share one
// connection pool.
var sharedTransport = sync.OnceValue(func() http.RoundTripper {
	return NewHTTP1Transport(nil)
})

// noRedirects makes the client hand 3xx answers back instead of following
// them: the API does not redirect, and following a redirect would send the
// caller's X-Tenant (and possibly Authorization) to another URL.
func noRedirects(*http.Request, []*http.Request) error {
	return http.ErrUseLastResponse
}
