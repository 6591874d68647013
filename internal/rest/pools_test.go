package rest

import (
	"bufio"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"maps"
	"net"
	"net/http"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"testing/synctest"
	"time"
)

// principals are the callers of the pool tests: four tenants, one with two
// tokens (a token is a principal of its own).
var principals = map[string]CallInfo{
	"A":  {Tenant: "a.example", Authorization: "Bearer token-a1"},
	"A2": {Tenant: "a.example", Authorization: "Bearer token-a2"},
	"B":  {Tenant: "b.example", Authorization: "Bearer token-b1"},
	"C":  {Tenant: "c.example", Authorization: "Bearer token-c1"},
	"D":  {Tenant: "d.example", Authorization: "Bearer token-d1"},
}

// memUpstream is an HTTP/1.1 upstream on in-memory connections (net.Pipe),
// dialed by the transport it is installed on, for synctest bubbles. It
// records which principals each connection served and whether the client
// closed it.
type memUpstream struct {
	// answer writes the answer to req; it may write more than one.
	answer func(conn net.Conn, req *http.Request) error

	mu      sync.Mutex
	conns   []*memConn
	stopped bool
	serving sync.WaitGroup // a goroutine per connection
}

type memConn struct {
	server     net.Conn
	principals map[string]bool // "tenant authorization" of each request
	closed     bool
}

func (u *memUpstream) install(tr *http.Transport) {
	tr.DialContext = func(context.Context, string, string) (net.Conn, error) {
		client, server := net.Pipe()
		mc := &memConn{server: server, principals: map[string]bool{}}
		u.mu.Lock()
		defer u.mu.Unlock()
		if u.stopped {
			return nil, errors.New("memUpstream: stopped")
		}
		u.conns = append(u.conns, mc)
		u.serving.Go(func() { u.serve(server, mc) })
		return client, nil
	}
}

// stop closes every connection from the upstream's side, refuses new ones,
// and returns once every connection's goroutine has ended: no request is
// being read or answered any more.
func (u *memUpstream) stop() {
	u.mu.Lock()
	u.stopped = true
	for _, c := range u.conns {
		_ = c.server.Close()
	}
	u.mu.Unlock()
	u.serving.Wait()
}

func (u *memUpstream) serve(conn net.Conn, mc *memConn) {
	defer func() { _ = conn.Close() }()
	br := bufio.NewReader(conn)
	for {
		req, err := http.ReadRequest(br)
		u.mu.Lock()
		if err != nil {
			mc.closed = true
		} else {
			mc.principals[req.Header.Get("X-Tenant")+" "+req.Header.Get("Authorization")] = true
		}
		u.mu.Unlock()
		if err != nil || u.answer(conn, req) != nil {
			return
		}
	}
}

// shared returns how many connections served more than one principal.
func (u *memUpstream) shared() int {
	u.mu.Lock()
	defer u.mu.Unlock()
	n := 0
	for _, c := range u.conns {
		if len(c.principals) > 1 {
			n++
		}
	}
	return n
}

// open returns the indexes of the connections still open.
func (u *memUpstream) open() []int {
	u.mu.Lock()
	defer u.mu.Unlock()
	var open []int
	for i, c := range u.conns {
		if !c.closed {
			open = append(open, i)
		}
	}
	return open
}

// echoing answers every request with echo's 200.
func echoing(conn net.Conn, req *http.Request) error {
	_, err := conn.Write(echo(http.StatusOK, req))
	return err
}

// echo is the answer naming the caller's tenant and quoting its token, as
// a reseller (200) or as an error's description (400).
func echo(status int, req *http.Request) []byte {
	tenant, token := req.Header.Get("X-Tenant"), req.Header.Get("Authorization")
	body := fmt.Sprintf(`{"id":"r1","companyName":%q,"internalIdentifier":%q}`, tenant, token)
	if status != http.StatusOK {
		body = fmt.Sprintf(`{"statusCode":%d,"description":"tenant %s, token %s"}`, status, tenant, token)
	}
	return fmt.Appendf(nil, "HTTP/1.1 %d %s\r\nContent-Type: application/json\r\nContent-Length: %d\r\n\r\n%s",
		status, http.StatusText(status), len(body), body)
}

// TestPrincipalsNeverReceiveAnothersAnswer: an upstream writes, a few
// milliseconds after each answer, an unsolicited copy of it on the same
// connection. Five principals call concurrently, so that a shared
// connection would be taken by another principal before the copy arrives
// (net/http reads it as that request's answer). No caller may receive
// another principal's tenant or token, and no connection may carry two
// principals' requests.
func TestPrincipalsNeverReceiveAnothersAnswer(t *testing.T) {
	for _, status := range []int{http.StatusOK, http.StatusBadRequest} {
		t.Run(http.StatusText(status), func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) { testPrincipalsNeverReceiveAnothersAnswer(t, status) })
		})
	}
}

func testPrincipalsNeverReceiveAnothersAnswer(t *testing.T, status int) {
	u := &memUpstream{answer: func(conn net.Conn, req *http.Request) error {
		resp := echo(status, req)
		if _, err := conn.Write(resp); err != nil {
			return err
		}
		<-time.After(5 * time.Millisecond) // a slow peer, at once in the bubble: the unsolicited copy comes later
		_, err := conn.Write(resp)
		return err
	}}
	_, c := poolsClient(t, u, 0)

	var wg sync.WaitGroup
	var mu sync.Mutex
	answered := 0
	for name, ci := range principals {
		for range 2 {
			wg.Go(func() {
				for range 10 {
					r, err := c.GetReseller(testContext(t), ci, "r1")
					got := fmt.Sprint(err)
					if e, ok := errors.AsType[*Error](err); ok && e.Envelope != nil {
						got += e.Envelope.Description
					}
					if r != nil {
						got += *r.CompanyName + *r.InternalIdentifier
					}
					for other, oci := range principals {
						if other != name && (strings.Contains(got, oci.Authorization) ||
							oci.Tenant != ci.Tenant && strings.Contains(got, oci.Tenant)) {
							t.Errorf("principal %s received %s's tenant or token: %s", name, other, got)
						}
					}
					if strings.Contains(got, ci.Authorization) {
						mu.Lock()
						answered++
						mu.Unlock()
					}
				}
			})
		}
	}
	wg.Wait()
	u.stop() // a request not read yet was answered by a copy: the check of its answer covers it
	if n := u.shared(); n != 0 {
		t.Errorf("%d connections carried more than one principal's requests", n)
	}
	if answered < 50 {
		t.Errorf("%d of 100 calls got their own answer, want most", answered)
	}
}

// TestPoolsConnections: a principal reuses its connection, principals
// (even one tenant's two tokens) never share one, and past the bound the
// least recently used principal is evicted with its idle connection
// closed, a principal never answered with a success (an invented token)
// before any proven one. CloseIdleConnections then closes every
// principal's.
func TestPoolsConnections(t *testing.T) {
	callers := maps.Clone(principals)
	callers["BA"] = CallInfo{Tenant: principals["B"].Tenant, Authorization: principals["A"].Authorization}
	for _, tt := range []struct {
		name       string
		max        int
		maxOpen    int64    // zero: the default
		calls      []string // principals, in turn; "B*" is B's call answered 401
		wantDials  int
		wantClosed []int // connections (in dial order) closed after the calls
	}{
		{"one principal reuses its connection", 0, 0, []string{"A", "A", "A"}, 1, nil},
		{"two tenants never share", 0, 0, []string{"A", "B", "A", "B"}, 2, nil},
		{"two tokens of one tenant never share", 0, 0, []string{"A", "A2", "A", "A2"}, 2, nil},
		{"two tenants of one token never share", 0, 0, []string{"A", "BA", "A", "BA"}, 2, nil},
		{"the least recently used is evicted", 2, 0, []string{"A", "B", "C"}, 3, []int{0}},
		{"a use keeps a principal", 2, 0, []string{"A", "B", "A", "C"}, 3, []int{1}},
		{"an evicted principal dials again", 2, 0, []string{"A", "B", "C", "A"}, 4, []int{0, 1}},
		{"a bound of one", 1, 0, []string{"A", "B", "A"}, 3, []int{0, 1}},
		{"an unproven principal is evicted first", 2, 0, []string{"A", "B*", "C"}, 3, []int{1}},
		{"invented tokens never evict a proven principal", 2, 0, []string{"A", "B*", "C*", "D*", "A"}, 4, []int{1, 2}},
		{"a flood takes one proven principal's place, then only its own", 2, 0, []string{"A", "B", "C*", "D*", "B", "A"}, 5, []int{0, 2, 3}},
		{"a later success proves a principal", 2, 0, []string{"B*", "B", "A*", "C"}, 3, []int{1}},
		// The least recently used principals' idle connections are closed first, unproven ones before any proven.
		{"open connections bounded", 0, 2, []string{"A", "B", "C", "B", "D"}, 4, []int{0, 2}},
		{"open connections bounded, unproven first", 0, 2, []string{"A", "B*", "C", "A"}, 3, []int{1}},
	} {
		t.Run(tt.name, func(t *testing.T) {
			synctest.Test(t, func(t *testing.T) {
				u := &memUpstream{answer: func(conn net.Conn, req *http.Request) error {
					status := http.StatusOK
					if strings.HasSuffix(req.URL.Path, "/refused") {
						status = http.StatusUnauthorized
					}
					_, err := conn.Write(echo(status, req))
					return err
				}}
				p, c := poolsClient(t, u, tt.max)
				p.maxOpen = cmp.Or(tt.maxOpen, p.maxOpen)
				for _, call := range tt.calls {
					name, refused := strings.CutSuffix(call, "*")
					id := "r1"
					if refused {
						id = "refused"
					}
					if _, err := c.GetReseller(testContext(t), callers[name], id); (err != nil) != refused {
						t.Fatalf("principal %s: %v", call, err)
					}
					// net/http's read loop gives the connection back to its pool
					// after the caller has the answer: the next call's dial must
					// find it idle, in any order the goroutines run.
					synctest.Wait()
					if n, bound := p.proven.Len()+p.unproven.Len(), cmp.Or(tt.max, DefaultMaxPools); n > bound || len(p.byKey) != n {
						t.Fatalf("%d pools (%d keys), bound %d", n, len(p.byKey), bound)
					}
					if p.open.Load() > p.maxOpen {
						t.Fatalf("%d connections open, bound %d", p.open.Load(), p.maxOpen)
					}
				}
				synctest.Wait()
				u.mu.Lock()
				var closed []int
				for i, mc := range u.conns {
					if mc.closed {
						closed = append(closed, i)
					}
				}
				dials := len(u.conns)
				u.mu.Unlock()
				if dials != tt.wantDials || fmt.Sprint(closed) != fmt.Sprint(tt.wantClosed) {
					t.Errorf("%d dials, connections %v closed; want %d, %v", dials, closed, tt.wantDials, tt.wantClosed)
				}
				if n := u.shared(); n != 0 {
					t.Errorf("%d connections carried more than one principal's requests", n)
				}
				p.CloseIdleConnections()
				synctest.Wait()
				if open := u.open(); len(open) != 0 {
					t.Errorf("connections %v are open after CloseIdleConnections", open)
				}
			})
		})
	}
}

// TestEvictionLetsRequestsInFlightFinish: evicting a principal whose request
// is waiting for its answer closes nothing under it.
func TestEvictionLetsRequestsInFlightFinish(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &memUpstream{answer: func(conn net.Conn, req *http.Request) error {
			if req.Header.Get("X-Tenant") == principals["A"].Tenant {
				<-time.After(time.Second) // a slow peer, at once in the bubble: A's answer comes after B's call
			}
			_, err := conn.Write(echo(http.StatusOK, req))
			return err
		}}
		_, c := poolsClient(t, u, 1)
		done := make(chan error)
		go func() {
			_, err := c.GetReseller(testContext(t), principals["A"], "r1")
			done <- err
		}()
		synctest.Wait() // A's request is at the upstream
		if _, err := c.GetReseller(testContext(t), principals["B"], "r1"); err != nil {
			t.Fatalf("principal B: %v", err)
		}
		if err := <-done; err != nil {
			t.Errorf("principal A, evicted while in flight: %v", err)
		}
	})
}

// poolsClient returns Pools of at most maxPools principals on u's
// connections, and a Client on them with one attempt and no coalescing.
func poolsClient(t *testing.T, u *memUpstream, maxPools int) (*Pools, *Client) {
	tr := NewTransport(TransportConfig{})
	u.install(tr)
	p := NewPools(tr, maxPools)
	t.Cleanup(p.CloseIdleConnections)
	return p, newTestClient(t, Config{BaseURL: memBaseURL, Transport: p, MaxAttempts: 1, DisableCoalescing: true})
}

// TestCountedConnClosesOnce: a connection closed twice (a failed TLS
// handshake closes the raw one, and net/http again) gives its place back
// once.
func TestCountedConnClosesOnce(t *testing.T) {
	var open atomic.Int64
	open.Store(2)
	a, b := net.Pipe()
	defer func() { _ = b.Close() }()
	c := &countedConn{Conn: a, open: &open}
	_ = c.Close()
	_ = c.Close()
	if n := open.Load(); n != 1 {
		t.Errorf("%d connections counted open after one of 2 was closed twice, want 1", n)
	}
}

// TestEvictionBeforeTheRequestClosesItsConnection: a request that got its
// principal's transport just before another principal evicted it asks that
// transport for a connection afterwards, which clears net/http's
// close-when-idle flag of the eviction. Its connection must still close once
// its answer is read, not idle outside the open-connection bound.
func TestEvictionBeforeTheRequestClosesItsConnection(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &memUpstream{answer: echoing}
		p, c := poolsClient(t, u, 1)
		req, err := http.NewRequestWithContext(testContext(t), http.MethodGet, memBaseURL+"/v1/Resellers/r1", nil)
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("X-Tenant", principals["A"].Tenant)
		req.Header.Set("Authorization", principals["A"].Authorization)
		pl := p.pool(principalKey(req)) // A's transport, taken
		if _, err := c.GetReseller(testContext(t), principals["B"], "r1"); err != nil {
			t.Fatalf("principal B: %v", err) // evicts A
		}
		resp, err := p.send(pl, req) // then used
		if err != nil {
			t.Fatalf("principal A: %v", err)
		}
		if _, err := io.ReadAll(resp.Body); err != nil {
			t.Fatal(err)
		}
		_ = resp.Body.Close()
		synctest.Wait()
		if n := p.open.Load(); n != 1 {
			t.Errorf("%d connections open, want 1 (B's): the evicted principal's stays", n)
		}
	})
}

// TestLateAnswerOfAnEvictedPrincipalLeavesItsSuccessorPooled: principal A's
// slow request is in flight when B evicts A, and A, calling again, gets a new
// pool (evicting B). When the first request's success finally arrives, it must
// not prove the old, evicted pool in place of the new one: the lists would then
// hold more pools than maxPools, or lose the new one with its connection out of
// CloseIdleConnections' (and dial's) reach. Guards settle's check that the pool
// under the principal's key is the very pool that sent the request.
func TestLateAnswerOfAnEvictedPrincipalLeavesItsSuccessorPooled(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var aCalls atomic.Int32
		u := &memUpstream{answer: func(conn net.Conn, req *http.Request) error {
			if req.Header.Get("X-Tenant") == principals["A"].Tenant && aCalls.Add(1) == 1 {
				<-time.After(time.Second) // a slow peer, at once in the bubble: A's first answer comes last
			}
			_, err := conn.Write(echo(http.StatusOK, req))
			return err
		}}
		p, c := poolsClient(t, u, 1)
		done := make(chan error)
		go func() {
			_, err := c.GetReseller(testContext(t), principals["A"], "r1")
			done <- err
		}()
		synctest.Wait() // A's first request is at the upstream
		if _, err := c.GetReseller(testContext(t), principals["B"], "r1"); err != nil {
			t.Fatalf("principal B: %v", err) // evicts A
		}
		if _, err := c.GetReseller(testContext(t), principals["A"], "r1"); err != nil {
			t.Fatalf("principal A, again: %v", err) // a new pool for A, evicting B
		}
		if err := <-done; err != nil {
			t.Fatalf("principal A, first request: %v", err)
		}
		if n := p.proven.Len() + p.unproven.Len(); n != 1 || len(p.byKey) != 1 {
			t.Errorf("%d pools in the lists, %d keys; want 1 and 1 (maxPools 1)", n, len(p.byKey))
		}
		p.CloseIdleConnections()
		synctest.Wait()
		if n := p.open.Load(); n != 0 {
			t.Errorf("%d connections open after CloseIdleConnections, want 0: a pool fell out of reach", n)
		}
		if open := u.open(); len(open) != 0 {
			t.Errorf("connections %v are open after CloseIdleConnections", open)
		}
	})
}

// TestPoolsKeepAWarmConnectionPerPrincipal: the open-connection bound is
// maxPools plus the template's MaxConnsPerHost, so that every principal within
// maxPools keeps its warm connection: principals taking turns, each one call at
// a time, dial once each and never close one another's connection.
func TestPoolsKeepAWarmConnectionPerPrincipal(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &memUpstream{answer: echoing}
		tr := NewTransport(TransportConfig{MaxConns: 1})
		u.install(tr)
		p := NewPools(tr, 3)
		t.Cleanup(p.CloseIdleConnections)
		c := newTestClient(t, Config{BaseURL: memBaseURL, Transport: p, MaxAttempts: 1, DisableCoalescing: true})
		for range 3 {
			for _, name := range []string{"A", "B", "C"} {
				if _, err := c.GetReseller(testContext(t), principals[name], "r1"); err != nil {
					t.Fatalf("principal %s: %v", name, err)
				}
			}
		}
		synctest.Wait()
		u.mu.Lock()
		defer u.mu.Unlock()
		if n := len(u.conns); n != 3 {
			t.Errorf("%d dials for 3 principals within maxPools, want 3 (one warm connection each)", n)
		}
		for i, mc := range u.conns {
			if mc.closed {
				t.Errorf("connection %d closed, want every principal's kept", i)
			}
		}
	})
}

// TestTenantOnlyAndTokenOnlyPrincipalsNeverShare: a call with only an X-Tenant
// and one with only an Authorization of the same text are two principals: the
// key separates the tenant values from the authorization values, so neither can
// take the other's connection (and its unsolicited bytes).
func TestTenantOnlyAndTokenOnlyPrincipalsNeverShare(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		u := &memUpstream{answer: echoing}
		_, c := poolsClient(t, u, 0)
		for _, ci := range []CallInfo{{Tenant: "x.example"}, {Authorization: "x.example"}, {Tenant: "x.example"}} {
			if _, err := c.GetReseller(testContext(t), ci, "r1"); err != nil {
				t.Fatalf("%+v: %v", ci, err)
			}
		}
		synctest.Wait()
		if n := u.shared(); n != 0 {
			t.Errorf("%d connections carried both the tenant-only and the token-only principal", n)
		}
	})
}

// TestPrincipalKeySeparatesValues: the key ends each value, so that values
// that join to the same text ("ab"; "a", "b") are two principals.
func TestPrincipalKeySeparatesValues(t *testing.T) {
	key := func(tenants ...string) [32]byte {
		req, _ := http.NewRequest(http.MethodGet, memBaseURL, nil)
		req.Header["X-Tenant"] = tenants
		return principalKey(req)
	}
	if key("ab") == key("a", "b") {
		t.Error(`X-Tenant "ab" and X-Tenant "a", "b" have one key, want two principals`)
	}
}
