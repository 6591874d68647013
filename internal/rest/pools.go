package rest

import (
	"cmp"
	"container/list"
	"crypto/sha256"
	"net/http"
	"sync"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// DefaultMaxPools bounds the principals with connections of their own (a
// token lives about an hour; more principals at once evict each other and
// pay handshakes). Each keeps at most poolIdleConns idle ones (two calls at
// once, a reseller and a link, stay warm): at most 512 in all, not 256
// times the upstream concurrency.
const DefaultMaxPools, poolIdleConns = 256, 2

// Pools is an http.RoundTripper that never lets two principals (X-Tenant and
// Authorization values) share a connection. An HTTP/1.1 client cannot tell
// an answer from unasked bytes that an upstream wrote after its previous
// answer; on a shared connection those bytes, holding one tenant's data or
// token, would be read as the next caller's answer. Per principal, they can
// only be that principal's own. The cost: each principal's first call, and
// its first after eviction, opens a connection (TCP and TLS handshakes).
type Pools struct {
	template *http.Transport
	max      int

	mu    sync.Mutex
	byKey map[[sha256.Size]byte]*list.Element
	lru   list.List // of *pool, the most recently used first
}

// pool is one principal's transport, keyed by a hash: no token outlives its
// requests in memory.
type pool struct {
	key [sha256.Size]byte
	t   *http.Transport
}

// NewPools returns Pools whose principals each get a clone of template
// keeping at most poolIdleConns idle connections. At most maxPools (zero or
// less: DefaultMaxPools) exist at once: a new principal past that evicts the
// least recently used one and closes its idle connections; its requests in
// flight finish, then their connections idle out (IdleConnTimeout).
func NewPools(template *http.Transport, maxPools int) *Pools {
	return &Pools{template: template, max: cmp.Or(max(maxPools, 0), DefaultMaxPools), byKey: make(map[[sha256.Size]byte]*list.Element)}
}

// RoundTrip sends req on its principal's own connections.
func (p *Pools) RoundTrip(req *http.Request) (*http.Response, error) {
	// Values cannot hold control characters (net/http refuses to send
	// them), so 0 and 1 separate them without ambiguity.
	var buf [512]byte
	b := buf[:0]
	for _, v := range req.Header.Values(apierr.HeaderTenant) {
		b = append(append(b, v...), 0)
	}
	b = append(b, 1)
	for _, v := range req.Header.Values(apierr.HeaderAuthorization) {
		b = append(append(b, v...), 0)
	}
	return p.transport(sha256.Sum256(b)).RoundTrip(req)
}

// transport returns the principal's transport, creating it on first use.
func (p *Pools) transport(key [sha256.Size]byte) *http.Transport {
	p.mu.Lock()
	if e, ok := p.byKey[key]; ok {
		p.lru.MoveToFront(e)
		p.mu.Unlock()
		return e.Value.(*pool).t
	}
	var evicted *pool
	if p.lru.Len() >= p.max {
		evicted = p.lru.Remove(p.lru.Back()).(*pool)
		delete(p.byKey, evicted.key)
	}
	t := p.template.Clone()
	if n := t.MaxIdleConnsPerHost; n == 0 || n > poolIdleConns { // negative: none
		t.MaxIdleConnsPerHost = poolIdleConns
	}
	p.byKey[key] = p.lru.PushFront(&pool{key: key, t: t})
	p.mu.Unlock()
	if evicted != nil {
		evicted.t.CloseIdleConnections()
	}
	return t
}

// CloseIdleConnections closes the idle connections of every principal.
func (p *Pools) CloseIdleConnections() {
	p.mu.Lock()
	ts := make([]*http.Transport, 0, p.lru.Len())
	for e := p.lru.Front(); e != nil; e = e.Next() {
		ts = append(ts, e.Value.(*pool).t)
	}
	p.mu.Unlock()
	for _, t := range ts {
		t.CloseIdleConnections()
	}
}
