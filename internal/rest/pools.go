package rest

import (
	"cmp"
	"container/list"
	"context"
	"crypto/sha256"
	"io"
	"net"
	"net/http"
	"sync"
	"sync/atomic"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// DefaultMaxPools bounds the principals with connections of their own.
const DefaultMaxPools = 256

// Pools is an http.RoundTripper that never lets two principals (X-Tenant and
// Authorization values) share a connection, where an upstream's unasked bytes
// could be read as another's answer (docs/upstream-client.md). A principal
// answered with a success (2xx) is proven; the others, which anyone can
// invent, are evicted first and give up their idle connections first.
type Pools struct {
	template *http.Transport
	max      int
	maxOpen  int64        // connections open in all pools, see dial
	open     atomic.Int64 // connections open now

	mu               sync.Mutex
	byKey            map[[sha256.Size]byte]*list.Element
	proven, unproven list.List // of *pool, each the most recently used first
}

// pool is one principal's transport, keyed by a hash: no token outlives its
// requests in memory.
type pool struct {
	key    [sha256.Size]byte
	t      *http.Transport
	proven bool // in Pools.proven; guarded by Pools.mu
}

// NewPools returns Pools whose principals each get a clone of template. At
// most maxPools (zero or less: DefaultMaxPools) exist at once, a new one past
// that evicting another (see Pools) and closing its idle connections. All
// together keep at most maxPools plus template's MaxConnsPerHost connections open.
func NewPools(template *http.Transport, maxPools int) *Pools {
	p := &Pools{
		template: template.Clone(),
		max:      cmp.Or(max(maxPools, 0), DefaultMaxPools),
		byKey:    make(map[[sha256.Size]byte]*list.Element),
	}
	p.maxOpen = int64(p.max + cmp.Or(max(template.MaxConnsPerHost, 0), DefaultMaxConcurrent))
	dial := template.DialContext
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	p.template.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		return p.dial(ctx, dial, network, addr)
	}
	return p
}

// dial opens a connection for any principal, counted while it is open. With
// maxOpen open already it first closes idle connections in transports' order
// until fewer are; as the Client's limiter bounds the requests in flight,
// this bounds the connections of all principals too.
func (p *Pools) dial(ctx context.Context, dial func(context.Context, string, string) (net.Conn, error), network, addr string) (net.Conn, error) {
	if p.open.Load() >= p.maxOpen {
		for _, t := range p.transports() {
			if p.open.Load() < p.maxOpen {
				break
			}
			t.CloseIdleConnections()
		}
	}
	c, err := dial(ctx, network, addr)
	if err != nil {
		return nil, err
	}
	p.open.Add(1)
	return &countedConn{Conn: c, open: &p.open}, nil
}

// countedConn gives its place in Pools.open back when closed.
type countedConn struct {
	net.Conn
	open *atomic.Int64
	once sync.Once
}

func (c *countedConn) Close() error {
	c.once.Do(func() { c.open.Add(-1) })
	return c.Conn.Close()
}

// RoundTrip sends req on its principal's own connections.
func (p *Pools) RoundTrip(req *http.Request) (*http.Response, error) {
	return p.send(p.pool(principalKey(req)), req)
}

// principalKey is the SHA-256 of req's X-Tenant and Authorization values, each
// ended by 0 and each header's by 1, bytes net/http refuses to send in a value.
func principalKey(req *http.Request) [sha256.Size]byte {
	var buf [512]byte
	b := buf[:0]
	for _, name := range [...]string{apierr.HeaderTenant, apierr.HeaderAuthorization} {
		for _, v := range req.Header.Values(name) {
			b = append(append(b, v...), 0)
		}
		b = append(b, 1)
	}
	return sha256.Sum256(b)
}

// send sends req on pl's transport; a success (2xx) proves pl. When pl was
// evicted before the answer came, closing the answer's body closes pl's
// idle connections again: the request cleared the flag by which eviction's
// CloseIdleConnections closes connections as they become idle, and its
// connection would otherwise idle out of dial's reach.
func (p *Pools) send(pl *pool, req *http.Request) (*http.Response, error) {
	resp, err := pl.t.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if p.settle(pl, resp.StatusCode/100 == 2) {
		resp.Body = evictedBody{resp.Body, pl.t}
	}
	return resp, nil
}

// evictedBody is the body of an answer on an evicted principal's transport.
type evictedBody struct {
	io.ReadCloser
	t *http.Transport
}

func (b evictedBody) Close() error {
	err := b.ReadCloser.Close()
	b.t.CloseIdleConnections()
	return err
}

// pool returns the principal's pool, creating it, unproven, on first use.
func (p *Pools) pool(key [sha256.Size]byte) *pool {
	p.mu.Lock()
	if e, ok := p.byKey[key]; ok {
		l := &p.unproven
		if e.Value.(*pool).proven {
			l = &p.proven
		}
		l.MoveToFront(e)
		p.mu.Unlock()
		return e.Value.(*pool)
	}
	var evicted *pool
	if p.proven.Len()+p.unproven.Len() >= p.max {
		from := &p.unproven
		if from.Len() == 0 {
			from = &p.proven
		}
		evicted = from.Remove(from.Back()).(*pool)
		delete(p.byKey, evicted.key)
	}
	pl := &pool{key: key, t: p.template.Clone()}
	p.byKey[key] = p.unproven.PushFront(pl)
	p.mu.Unlock()
	if evicted != nil {
		evicted.t.CloseIdleConnections()
	}
	return pl
}

// settle reports whether pl was evicted; if not, and the upstream answered
// with a success, pl is proven.
func (p *Pools) settle(pl *pool, success bool) (evicted bool) {
	p.mu.Lock()
	defer p.mu.Unlock()
	e, ok := p.byKey[pl.key]
	if !ok || e.Value.(*pool) != pl {
		return true
	}
	if success && !pl.proven {
		p.unproven.Remove(e)
		pl.proven = true
		p.byKey[pl.key] = p.proven.PushFront(pl)
	}
	return false
}

// CloseIdleConnections closes the idle connections of every principal.
func (p *Pools) CloseIdleConnections() {
	for _, t := range p.transports() {
		t.CloseIdleConnections()
	}
}

// transports returns every principal's transport, the unproven then the
// proven, each the least recently used first.
func (p *Pools) transports() []*http.Transport {
	p.mu.Lock()
	defer p.mu.Unlock()
	ts := make([]*http.Transport, 0, p.proven.Len()+p.unproven.Len())
	for _, l := range []*list.List{&p.unproven, &p.proven} {
		for e := l.Back(); e != nil; e = e.Prev() {
			ts = append(ts, e.Value.(*pool).t)
		}
	}
	return ts
}
