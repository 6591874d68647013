package rest

import (
	"cmp"
	"crypto/tls"
	"net"
	"net/http"
	"sync"
	"time"
)

// TransportConfig tunes NewTransport.
type TransportConfig struct {
	// TLS verifies the upstream's certificate (and may present a client
	// certificate). Nil means Go's defaults: the system roots, TLS 1.2 or
	// later. NewTransport clones it.
	TLS *tls.Config
	// MaxConns is the most connections to the upstream host, in use or
	// idle; it should match Config.MaxConcurrent. Zero means
	// DefaultMaxConcurrent.
	MaxConns int
	// ResponseHeaderTimeout bounds the wait for response headers after the
	// request is written, a backstop under the client's attempt timeout.
	// Zero means none.
	ResponseHeaderTimeout time.Duration
}

// NewTransport returns a clone of http.DefaultTransport (proxies from the
// environment, HTTP/2 over TLS when offered, transparent gzip: the body limit
// applies to decompressed bytes) tuned for many concurrent calls to one
// upstream host: as many idle connections kept as MaxConns, so that every
// request slot keeps a warm one; a 10s dial timeout; HTTP/2 pings that
// detect a dead connection. net/http discards an idle connection on which
// unasked bytes arrive, so an upstream that answers twice cannot hand one
// caller's answer to the next.
func NewTransport(cfg TransportConfig) *http.Transport {
	maxConns := cmp.Or(max(cfg.MaxConns, 0), DefaultMaxConcurrent)
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DialContext = (&net.Dialer{Timeout: 10 * time.Second, KeepAlive: 30 * time.Second}).DialContext
	t.MaxIdleConns = maxConns
	t.MaxIdleConnsPerHost = maxConns
	t.MaxConnsPerHost = maxConns
	t.ResponseHeaderTimeout = max(cfg.ResponseHeaderTimeout, 0)
	t.MaxResponseHeaderBytes = 1 << 20
	t.HTTP2 = &http.HTTP2Config{SendPingTimeout: 30 * time.Second, PingTimeout: 10 * time.Second}
	if cfg.TLS != nil {
		t.TLSClientConfig = cfg.TLS.Clone()
	}
	return t
}

// sharedTransport is the transport of every Client built without
// Config.Transport, so that all of them share one connection pool.
var sharedTransport = sync.OnceValue(func() http.RoundTripper {
	return NewTransport(TransportConfig{})
})
