package rest

import (
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

// NewTransport returns net/http's Transport tuned for many concurrent calls
// to a single upstream host: as many idle connections kept as MaxConns, so
// that every request slot keeps a warm one; HTTP/2 over TLS when offered,
// with pings that detect a dead connection; gzip decompressed transparently
// (the body limit applies to the decompressed bytes); proxies from the
// environment. net/http discards an idle connection on which unasked bytes
// arrive, so an upstream that answers twice cannot hand one caller's answer
// to the next.
func NewTransport(cfg TransportConfig) *http.Transport {
	maxConns := cfg.MaxConns
	if maxConns <= 0 {
		maxConns = DefaultMaxConcurrent
	}
	dialer := &net.Dialer{
		Timeout:   10 * time.Second,
		KeepAlive: 30 * time.Second,
	}
	t := &http.Transport{
		Proxy:                  http.ProxyFromEnvironment,
		DialContext:            dialer.DialContext,
		ForceAttemptHTTP2:      true,
		MaxIdleConns:           maxConns,
		MaxIdleConnsPerHost:    maxConns,
		MaxConnsPerHost:        maxConns,
		IdleConnTimeout:        90 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		ExpectContinueTimeout:  1 * time.Second,
		ResponseHeaderTimeout:  max(cfg.ResponseHeaderTimeout, 0),
		MaxResponseHeaderBytes: 1 << 20,
		HTTP2: &http.HTTP2Config{
			SendPingTimeout: 30 * time.Second,
			PingTimeout:     10 * time.Second,
		},
	}
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
