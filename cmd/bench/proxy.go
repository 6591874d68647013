package main

import (
	"context"
	"errors"
	"net"
	"net/http"
	"net/http/httputil"
	"net/url"
	"sync/atomic"
	"time"
)

// countingProxy sits between the coalescing facade and the sandbox: it counts
// the upstream requests the facade makes and holds each for a fixed delay
// before forwarding it, imitating the real upstream's round trip so that
// concurrent calls for the same reseller overlap. It runs in the harness
// process; only the facade-coalesced phase (and the credentials check) goes
// through it, so it costs the other phases nothing.
type countingProxy struct {
	requests atomic.Int64
	delay    time.Duration
	rp       *httputil.ReverseProxy
	srv      *http.Server
	addr     string
}

// startCountingProxy listens on a loopback port and forwards to upstream.
func startCountingProxy(ctx context.Context, upstream string, delay time.Duration, maxConns int) (*countingProxy, error) {
	target, err := url.Parse(upstream)
	if err != nil {
		return nil, err
	}
	p := &countingProxy{delay: delay}
	p.rp = &httputil.ReverseProxy{
		Rewrite:   func(r *httputil.ProxyRequest) { r.SetURL(target) },
		Transport: newHTTPClient(maxConns).Transport,
	}
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	p.addr = l.Addr().String()
	p.srv = &http.Server{Handler: p, ReadHeaderTimeout: 10 * time.Second}
	go func() {
		if err := p.srv.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			panic(err)
		}
	}()
	return p, nil
}

func (p *countingProxy) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	p.requests.Add(1)
	if p.delay > 0 {
		t := time.NewTimer(p.delay)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	p.rp.ServeHTTP(w, r)
}

// url returns the base URL the facade uses to reach the proxy.
func (p *countingProxy) url() string { return "http://" + p.addr }

func (p *countingProxy) close() {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	_ = p.srv.Shutdown(ctx)
}
