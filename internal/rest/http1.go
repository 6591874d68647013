package rest

import (
	"bufio"
	"compress/gzip"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/url"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/net/http/httpguts"
)

// HTTP1Transport is the upstream client's default http.RoundTripper: HTTP/1.1
// over a pool of keep-alive connections, on which the calling goroutine
// writes the request and reads the response itself. net/http's Transport
// runs two goroutines per connection and hands every request and response
// between them and the caller; on loopback those hand-offs and their
// wake-ups cost more than the round trip itself (see the README's
// "Performance" section). Here a call costs one write and the reads its
// answer needs.
//
// It serves GET and HEAD requests without a body to http and https URLs
// when no proxy applies; everything else goes to Fallback, a net/http
// Transport. The stdlib parses the responses (http.ReadResponse), so
// Content-Length, chunked and close-delimited bodies, and 1xx answers are
// handled as net/http handles them. A request that fails on a reused
// connection before any byte of its answer arrived (the server had closed
// the idle connection) is sent again on another one, as net/http does for
// idempotent requests.
//
// The zero value is not usable; use NewHTTP1Transport.
type HTTP1Transport struct {
	// TLSClientConfig is used for https upstreams (cloned; ServerName and
	// the ALPN protocol are set per connection). Nil means the defaults.
	TLSClientConfig *tls.Config
	// Proxy picks the proxy of a request, as in net/http; a request with a
	// proxy goes to Fallback. Nil means no proxy.
	Proxy func(*http.Request) (*url.URL, error)
	// Fallback serves the requests this transport does not.
	Fallback http.RoundTripper
	// DialTimeout bounds the TCP connect, TLSHandshakeTimeout the TLS
	// handshake; the request's context bounds both as well.
	DialTimeout, TLSHandshakeTimeout time.Duration
	// IdleConnTimeout is how long a connection may stay idle in the pool.
	IdleConnTimeout time.Duration
	// MaxIdleConnsPerHost is the most idle connections kept per host.
	MaxIdleConnsPerHost int
	// MaxResponseHeaderBytes bounds the bytes read before the response
	// headers are complete.
	MaxResponseHeaderBytes int64

	mu   sync.Mutex
	idle map[string][]*http1Conn // per "scheme://host:port", most recently used last
	// sweep closes the connections idle for longer than IdleConnTimeout
	// while nothing uses the pool; armed while the pool holds any.
	sweep *time.Timer
}

// NewHTTP1Transport returns an HTTP1Transport tuned like NewTransport (256
// idle connections per host closed after 90 s, 30 s connect and 10 s TLS
// handshake timeouts, 1 MiB of response headers, proxies from the
// environment) with tlsConfig for https upstreams, falling back to a
// NewTransport with the same TLS configuration.
func NewHTTP1Transport(tlsConfig *tls.Config) *HTTP1Transport {
	fallback := NewTransport()
	fallback.TLSClientConfig = tlsConfig
	return &HTTP1Transport{
		TLSClientConfig:        tlsConfig,
		Proxy:                  http.ProxyFromEnvironment,
		Fallback:               fallback,
		DialTimeout:            30 * time.Second,
		TLSHandshakeTimeout:    10 * time.Second,
		IdleConnTimeout:        90 * time.Second,
		MaxIdleConnsPerHost:    256,
		MaxResponseHeaderBytes: 1 << 20,
	}
}

// requestBuffers recycles the buffers request heads are written into.
var requestBuffers = sync.Pool{New: func() any { b := make([]byte, 0, 1024); return &b }}

// maxStaleRetries bounds how many reused connections one request tries
// after the first failed before it dials a new one.
const maxStaleRetries = 2

// RoundTrip implements http.RoundTripper.
func (t *HTTP1Transport) RoundTrip(req *http.Request) (*http.Response, error) {
	if !t.serves(req) {
		if t.Fallback == nil {
			return nil, fmt.Errorf("rest: HTTP1Transport cannot send %s %s and has no fallback", req.Method, req.URL.Scheme)
		}
		return t.Fallback.RoundTrip(req)
	}
	if t.Proxy != nil {
		if p, err := t.Proxy(req); err != nil {
			return nil, err
		} else if p != nil {
			if t.Fallback == nil {
				return nil, errors.New("rest: HTTP1Transport cannot send through a proxy and has no fallback")
			}
			return t.Fallback.RoundTrip(req)
		}
	}
	wbuf := requestBuffers.Get().(*[]byte)
	defer requestBuffers.Put(wbuf)
	var err error
	if *wbuf, err = appendRequest((*wbuf)[:0], req); err != nil {
		return nil, err
	}
	ctx := req.Context()
	if err := ctx.Err(); err != nil {
		return nil, err // nothing is sent for a call that has ended
	}
	key := req.URL.Scheme + "://" + canonicalAddr(req.URL)
	for stale := 0; ; stale++ {
		pc, reused := t.idleConn(key)
		if !reused || stale >= maxStaleRetries {
			if pc != nil {
				t.putIdle(pc) // unused: keep it for someone else
			}
			var err error
			if pc, err = t.dial(ctx, req.URL, key); err != nil {
				return nil, err
			}
			reused = false
		}
		if trace := httptrace.ContextClientTrace(ctx); trace != nil && trace.GotConn != nil {
			info := httptrace.GotConnInfo{Conn: pc.conn, Reused: reused}
			if reused {
				info.WasIdle, info.IdleTime = true, time.Since(pc.idleSince)
			}
			trace.GotConn(info)
		}
		resp, err := pc.roundTrip(req, *wbuf)
		if err == nil && reused && resp.StatusCode == http.StatusRequestTimeout {
			// A server that times an idle connection out may send a 408 on
			// it before closing it; read after our request, it looks like
			// the answer. net/http takes it for a closed idle connection
			// too, and sends the request again on another.
			// (A fresh connection's 408 is the answer.)
			_ = resp.Body.Close()
			continue
		}
		if err == nil {
			return resp, nil
		}
		if !reused || pc.answered || ctx.Err() != nil || errors.Is(err, errDeadline) {
			return nil, err
		}
		// The server closed the idle connection before our request reached
		// it; nothing of the answer arrived, so sending it again is safe.
	}
}

// serves reports whether req is one the transport sends itself.
func (t *HTTP1Transport) serves(req *http.Request) bool {
	return (req.Method == http.MethodGet || req.Method == http.MethodHead) &&
		(req.Body == nil || req.Body == http.NoBody) &&
		(req.URL.Scheme == "http" || req.URL.Scheme == "https") &&
		req.URL.Host != ""
}

// CloseIdleConnections closes every idle connection, its own and the
// fallback's.
func (t *HTTP1Transport) CloseIdleConnections() {
	t.mu.Lock()
	idle := t.idle
	t.idle = nil
	if t.sweep != nil {
		t.sweep.Stop()
		t.sweep = nil
	}
	t.mu.Unlock()
	for _, conns := range idle {
		for _, pc := range conns {
			_ = pc.conn.Close()
		}
	}
	if ci, ok := t.Fallback.(interface{ CloseIdleConnections() }); ok {
		ci.CloseIdleConnections()
	}
}

// idleConn takes the most recently used idle connection to key, closing
// those idle for too long on the way.
func (t *HTTP1Transport) idleConn(key string) (*http1Conn, bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	conns := t.idle[key]
	for len(conns) > 0 {
		pc := conns[len(conns)-1]
		conns[len(conns)-1] = nil
		conns = conns[:len(conns)-1]
		if t.IdleConnTimeout > 0 && now.Sub(pc.idleSince) > t.IdleConnTimeout {
			go pc.conn.Close() //nolint:errcheck // not under the lock
			continue
		}
		t.idle[key] = conns
		return pc, true
	}
	if t.idle != nil {
		t.idle[key] = conns
	}
	return nil, false
}

// putIdle returns pc to the pool, or closes it when the pool is full. The
// oldest idle connection is closed when it has been idle for too long, so
// that a pool that shrinks after a burst lets its spare connections go.
func (t *HTTP1Transport) putIdle(pc *http1Conn) {
	pc.idleSince = time.Now()
	var toClose []net.Conn
	t.mu.Lock()
	if t.idle == nil {
		t.idle = map[string][]*http1Conn{}
	}
	conns := t.idle[pc.key]
	if t.IdleConnTimeout > 0 && len(conns) > 0 && pc.idleSince.Sub(conns[0].idleSince) > t.IdleConnTimeout {
		toClose = append(toClose, conns[0].conn)
		conns = append(conns[:0], conns[1:]...)
	}
	if len(conns) >= max(t.MaxIdleConnsPerHost, 1) {
		toClose = append(toClose, pc.conn)
	} else {
		conns = append(conns, pc)
	}
	t.idle[pc.key] = conns
	if t.IdleConnTimeout > 0 && t.sweep == nil {
		t.sweep = time.AfterFunc(t.IdleConnTimeout, t.sweepIdle)
	}
	t.mu.Unlock()
	for _, c := range toClose {
		_ = c.Close()
	}
}

// sweepIdle closes the connections idle for longer than IdleConnTimeout,
// and comes back when the oldest left will have been: without it, a pool
// nobody uses would keep its connections open (in CLOSE_WAIT once the
// server gives up on them) until the next request.
func (t *HTTP1Transport) sweepIdle() {
	now := time.Now()
	var toClose []net.Conn
	t.mu.Lock()
	next := time.Duration(-1)
	for key, conns := range t.idle {
		keep := conns[:0]
		for _, pc := range conns {
			if idle := now.Sub(pc.idleSince); idle >= t.IdleConnTimeout {
				toClose = append(toClose, pc.conn)
			} else {
				keep = append(keep, pc)
				if left := t.IdleConnTimeout - idle; next < 0 || left < next {
					next = left
				}
			}
		}
		clear(conns[len(keep):])
		if len(keep) == 0 {
			delete(t.idle, key)
		} else {
			t.idle[key] = keep
		}
	}
	switch {
	case next < 0:
		t.sweep = nil
	case t.sweep == nil:
		// CloseIdleConnections stopped the timer this run came from, and
		// connections came back since.
		t.sweep = time.AfterFunc(next, t.sweepIdle)
	default:
		t.sweep.Reset(next)
	}
	t.mu.Unlock()
	for _, c := range toClose {
		_ = c.Close()
	}
}

// dial opens a new connection to u's host, with TLS for https.
func (t *HTTP1Transport) dial(ctx context.Context, u *url.URL, key string) (*http1Conn, error) {
	d := net.Dialer{Timeout: t.DialTimeout, KeepAlive: 30 * time.Second}
	addr := canonicalAddr(u)
	conn, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	if u.Scheme == "https" {
		cfg := &tls.Config{MinVersion: tls.VersionTLS12}
		if t.TLSClientConfig != nil {
			cfg = t.TLSClientConfig.Clone()
		}
		if cfg.ServerName == "" {
			cfg.ServerName = u.Hostname()
		}
		cfg.NextProtos = []string{"http/1.1"}
		tc := tls.Client(conn, cfg)
		hctx := ctx
		if t.TLSHandshakeTimeout > 0 {
			var cancel context.CancelFunc
			hctx, cancel = context.WithTimeout(ctx, t.TLSHandshakeTimeout)
			defer cancel()
		}
		if err := tc.HandshakeContext(hctx); err != nil {
			_ = conn.Close()
			return nil, err
		}
		conn = tc
	}
	pc := &http1Conn{t: t, key: key, conn: conn}
	pc.lr.r = conn
	pc.br = bufio.NewReaderSize(&pc.lr, 4<<10)
	return pc, nil
}

// canonicalAddr is u's host:port, with the scheme's default port when u
// names none.
func canonicalAddr(u *url.URL) string {
	port := u.Port()
	if port == "" {
		port = "80"
		if u.Scheme == "https" {
			port = "443"
		}
	}
	return net.JoinHostPort(u.Hostname(), port)
}

// http1Conn is one keep-alive connection, used by one request at a time.
type http1Conn struct {
	t         *HTTP1Transport
	key       string
	conn      net.Conn
	lr        countingReader
	br        *bufio.Reader
	idleSince time.Time

	// answered is set once a byte of the current request's answer arrived.
	answered bool
}

// errDeadline marks an I/O timeout that came from the request's context,
// not from a stale connection.
var errDeadline = errors.New("deadline")

// contextError names the context's end in err when that is what ended the
// I/O: the connection's deadline is the context's, and may fire a moment
// before the context's own timer does. Other timeouts are marked with
// errDeadline, so that they are not taken for a stale connection.
func contextError(ctx context.Context, err error) error {
	if ctxErr := ctx.Err(); ctxErr != nil {
		return fmt.Errorf("%w (%w)", ctxErr, err)
	}
	var ne net.Error
	if !errors.As(err, &ne) || !ne.Timeout() {
		return err
	}
	if d, ok := ctx.Deadline(); ok && !time.Now().Before(d) {
		// The context's timer is due: wait for it, so that the caller
		// finds the context ended, as with net/http.
		<-ctx.Done()
		return fmt.Errorf("%w (%w)", ctx.Err(), err)
	}
	return fmt.Errorf("%w: %w", errDeadline, err)
}

// aLongTimeAgo is a deadline in the past, which makes blocked I/O return.
var aLongTimeAgo = time.Unix(1, 0)

// roundTrip writes head, req's request head, and reads the response head.
// On success the connection belongs to the response body until it is read
// to the end or closed; on failure it is closed.
func (pc *http1Conn) roundTrip(req *http.Request, head []byte) (*http.Response, error) {
	ctx := req.Context()
	pc.answered = false
	deadline, _ := ctx.Deadline()
	if err := pc.conn.SetDeadline(deadline); err != nil {
		_ = pc.conn.Close()
		return nil, err
	}
	// When the context ends, the deadline moves to the past and blocked I/O
	// returns; stop then reports false, and the connection is not reused.
	stop := context.AfterFunc(ctx, func() { _ = pc.conn.SetDeadline(aLongTimeAgo) })
	fail := func(err error) (*http.Response, error) {
		stop()
		_ = pc.conn.Close()
		return nil, contextError(ctx, err)
	}
	if _, err := pc.conn.Write(head); err != nil {
		return fail(err)
	}
	pc.lr.n, pc.lr.limit = 0, pc.t.MaxResponseHeaderBytes
	if pc.lr.limit <= 0 {
		pc.lr.limit = math.MaxInt64
	}
	var (
		resp *http.Response
		err  error
	)
	for {
		resp, err = http.ReadResponse(pc.br, req)
		pc.answered = pc.answered || pc.lr.n > 0
		if err != nil {
			if pc.lr.n >= pc.lr.limit {
				// The limit cut the head, wherever that left the parser.
				err = fmt.Errorf("upstream response headers exceed %d bytes", pc.t.MaxResponseHeaderBytes)
			}
			return fail(err)
		}
		if resp.StatusCode >= 200 || resp.StatusCode == http.StatusSwitchingProtocols {
			break
		}
		// An interim 1xx answer: the real one follows.
	}
	pc.lr.limit = math.MaxInt64
	if resp.StatusCode == http.StatusSwitchingProtocols {
		return fail(errors.New("upstream switched protocols on a plain request"))
	}
	if tc, ok := pc.conn.(*tls.Conn); ok {
		cs := tc.ConnectionState()
		resp.TLS = &cs
	}
	b := &http1Body{pc: pc, ctx: ctx, body: resp.Body, stop: stop, reusable: !resp.Close && !req.Close}
	if resp.Body == http.NoBody || resp.Body == nil {
		b.release(true)
		resp.Body = http.NoBody
		return resp, nil
	}
	resp.Body = b
	if askGzip(req) && strings.EqualFold(resp.Header.Get("Content-Encoding"), "gzip") {
		// As net/http: the caller sees the decompressed body, of unknown
		// length.
		resp.Body = &gzipBody{body: b}
		resp.Header.Del("Content-Encoding")
		resp.Header.Del("Content-Length")
		resp.ContentLength = -1
		resp.Uncompressed = true
	}
	return resp, nil
}

// appendRequest appends req's request line and headers to dst, rejecting
// header names and values that are not legal on the wire.
func appendRequest(dst []byte, req *http.Request) ([]byte, error) {
	host := req.Host
	if host == "" {
		host = req.URL.Host
	}
	if !httpguts.ValidHostHeader(host) {
		return dst, fmt.Errorf("rest: invalid Host %q", host)
	}
	dst = append(dst, req.Method...)
	dst = append(dst, ' ')
	dst = append(dst, req.URL.RequestURI()...)
	dst = append(dst, " HTTP/1.1\r\nHost: "...)
	dst = append(dst, host...)
	dst = append(dst, "\r\n"...)
	for name, values := range req.Header {
		if !httpguts.ValidHeaderFieldName(name) || strings.EqualFold(name, "Host") {
			return dst, fmt.Errorf("rest: invalid header name %q", name)
		}
		if framingHeader(name) {
			continue // a request without a body has no framing to describe
		}
		for _, v := range values {
			if !httpguts.ValidHeaderFieldValue(v) {
				return dst, fmt.Errorf("rest: invalid value for header %q", name) // never the value: it may be a token
			}
			dst = append(dst, name...)
			dst = append(dst, ": "...)
			dst = append(dst, strings.TrimSpace(v)...)
			dst = append(dst, "\r\n"...)
		}
	}
	if req.Close {
		dst = append(dst, "Connection: close\r\n"...)
	}
	if askGzip(req) {
		dst = append(dst, "Accept-Encoding: gzip\r\n"...)
	}
	return append(dst, "\r\n"...), nil
}

// framingHeader reports whether name describes a message body's framing,
// which net/http never copies from Request.Header either.
func framingHeader(name string) bool {
	return strings.EqualFold(name, "Content-Length") || strings.EqualFold(name, "Transfer-Encoding") || strings.EqualFold(name, "Trailer")
}

// askGzip reports whether the transport asks for a gzip-compressed answer
// (and then decompresses it), as net/http does: when the caller did not
// choose an encoding or a byte range itself.
func askGzip(req *http.Request) bool {
	return req.Method != http.MethodHead && req.Header.Get("Accept-Encoding") == "" && req.Header.Get("Range") == ""
}

// errHeaderTooLarge ends the reads of a response head over the limit.
var errHeaderTooLarge = errors.New("response headers too large")

// countingReader counts the bytes read through it and stops at limit.
type countingReader struct {
	r        io.Reader
	n, limit int64
}

func (c *countingReader) Read(p []byte) (int, error) {
	if c.n >= c.limit {
		return 0, errHeaderTooLarge
	}
	if rest := c.limit - c.n; int64(len(p)) > rest {
		p = p[:rest]
	}
	n, err := c.r.Read(p)
	c.n += int64(n)
	return n, err
}

// http1Body is a response body on an http1Conn. Read to its end, it gives
// the connection back to the pool; closed before, it closes the connection
// (draining an unknown rest could take long). Close may be called while a
// Read is blocked in another goroutine: closing the connection ends it.
type http1Body struct {
	pc       *http1Conn
	ctx      context.Context
	body     io.Reader
	stop     func() bool
	reusable bool
	released atomic.Bool // the connection is back in the pool or closed
	closed   atomic.Bool
	// readErr is the error that ended the body early, returned again by
	// later Reads (as net/http does); nil after a complete read.
	readErr error
}

// errBodyClosed is what Read returns after Close, as net/http does.
var errBodyClosed = errors.New("http: read on closed response body")

func (b *http1Body) Read(p []byte) (int, error) {
	if b.closed.Load() {
		return 0, errBodyClosed
	}
	if b.released.Load() {
		if b.readErr != nil {
			return 0, b.readErr
		}
		return 0, io.EOF
	}
	n, err := b.body.Read(p)
	switch {
	case errors.Is(err, io.EOF):
		b.release(true)
	case err != nil:
		if b.closed.Load() {
			err = errBodyClosed
		} else {
			err = contextError(b.ctx, err)
		}
		b.readErr = err
		b.release(false)
	}
	return n, err
}

// Close implements io.Closer.
func (b *http1Body) Close() error {
	b.closed.Store(true)
	b.release(false)
	return nil
}

// release ends the body's use of the connection, once: back to the pool
// when the answer was read whole, the connection may be kept and the
// request's context did not interrupt it; closed otherwise.
func (b *http1Body) release(complete bool) {
	if !b.released.CompareAndSwap(false, true) {
		return
	}
	stopped := b.stop()
	pc := b.pc
	if complete && stopped && b.reusable && pc.br.Buffered() == 0 {
		pc.t.putIdle(pc)
		return
	}
	_ = pc.conn.Close()
}

// gzipBody decompresses a gzip-encoded response body, opening the gzip
// stream on the first Read.
type gzipBody struct {
	body *http1Body
	zr   *gzip.Reader
	err  error
}

func (g *gzipBody) Read(p []byte) (int, error) {
	if g.body.closed.Load() {
		return 0, errBodyClosed
	}
	if g.err != nil {
		return 0, g.err
	}
	if g.zr == nil {
		if g.zr, g.err = gzip.NewReader(g.body); g.err != nil {
			return 0, g.err
		}
	}
	n, err := g.zr.Read(p)
	if errors.Is(err, io.EOF) {
		// The gzip stream ended: read the connection's body to its end too,
		// so that the connection can be reused.
		if _, derr := g.body.Read(make([]byte, 1)); !errors.Is(derr, io.EOF) {
			_ = g.body.Close()
		}
	}
	return n, err
}

// Close implements io.Closer.
func (g *gzipBody) Close() error {
	return g.body.Close()
}
