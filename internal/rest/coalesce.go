package rest

import (
	"context"
	"fmt"
	"hash/maphash"
	"sync"
	"sync/atomic"
	"time"
)

// group coalesces identical concurrent calls of one kind (one Client
// method): calls with the same URL (so the same path and query), the same
// X-Tenant and the same Authorization share one upstream call, its result
// and its error. Calls whose credentials or tenant differ never share.
//
// The shared call runs in its own goroutine on a context detached from the
// callers' (it keeps their values, not their cancellation): a waiter whose
// context ends returns at once with its context's error while the others
// keep waiting, and the shared call is cancelled only when every waiter has
// gone. Its deadline, for retry and queueing decisions, is the latest of its
// waiters' deadlines. It sends the first caller's (the leader's)
// X-Correlation-Id upstream; the other waiters' ids do not reach the
// upstream.
//
// The map is keyed by a seeded 64-bit hash of the URL, tenant and
// credentials, so that no token is held as a map key; a waiter joins a flight
// only when all three are also equal, so a hash collision costs a separate
// call, never a shared result. Neither the key nor the values are logged.
type group[T any] struct {
	// op names the operation for OnCoalesced ("GetReseller", ...).
	op      string
	mu      sync.Mutex
	flights map[uint64]*flight[T]
}

// flight is one shared upstream call.
type flight[T any] struct {
	// Immutable after creation.
	url, tenant, authorization string
	done                       chan struct{}
	cancel                     context.CancelFunc
	// deadline is the latest waiter deadline, Unix nanoseconds.
	deadline atomic.Int64

	// waiters is guarded by group.mu.
	waiters int

	// Written before done is closed.
	val    T
	err    error
	shared bool // more than one waiter was left when the call ended
}

// do runs the call for ctx (which has a deadline) through the group.
func (g *group[T]) do(c *Client, ctx context.Context, ci CallInfo, rawURL string, decode decoder[T], clone func(T) T) (T, error) {
	key := c.flightKey(ci, rawURL)
	deadline, _ := ctx.Deadline()

	g.mu.Lock()
	fl, ok := g.flights[key]
	switch {
	case ok && (fl.url != rawURL || fl.tenant != ci.Tenant || fl.authorization != ci.Authorization):
		// A hash collision: never share across different requests.
		g.mu.Unlock()
		return execute(c, ctx, nil, ci, rawURL, decode)
	case ok:
		fl.waiters++
		g.mu.Unlock()
		fl.extendDeadline(deadline)
		if c.onCoalesced != nil {
			c.onCoalesced(g.op)
		}
	default:
		fl = &flight[T]{url: rawURL, tenant: ci.Tenant, authorization: ci.Authorization, done: make(chan struct{}), waiters: 1}
		fl.deadline.Store(deadline.UnixNano())
		var fctx context.Context
		fctx, fl.cancel = context.WithCancel(context.WithoutCancel(ctx)) //nolint:gosec // G118: fl.cancel is called by run and leave
		if g.flights == nil {
			g.flights = make(map[uint64]*flight[T])
		}
		g.flights[key] = fl
		g.mu.Unlock()
		go g.run(c, fctx, key, fl, ci, decode)
	}

	select {
	case <-fl.done:
		if fl.err != nil {
			return fl.val, fl.err
		}
		if fl.shared && clone != nil {
			return clone(fl.val), nil
		}
		return fl.val, nil
	case <-ctx.Done():
		g.leave(key, fl)
		var zero T
		return zero, ctx.Err()
	}
}

// run performs the shared call and publishes its result. A panic (a bug in
// decoding) becomes the call's error rather than ending the process, as no
// handler's recovery covers this goroutine.
func (g *group[T]) run(c *Client, ctx context.Context, key uint64, fl *flight[T], ci CallInfo, decode decoder[T]) {
	var v T
	var err error
	func() {
		defer func() {
			if p := recover(); p != nil {
				err = &DecodeError{What: "upstream response", Err: fmt.Errorf("panic: %v", p)}
			}
		}()
		v, err = execute(c, ctx, &fl.deadline, ci, fl.url, decode)
	}()
	g.mu.Lock()
	if g.flights[key] == fl {
		delete(g.flights, key)
	}
	fl.val, fl.err, fl.shared = v, err, fl.waiters > 1
	g.mu.Unlock()
	fl.cancel()
	close(fl.done)
}

// leave removes a waiter whose context ended; the last one to leave cancels
// the shared call, and a later identical call starts a new one.
func (g *group[T]) leave(key uint64, fl *flight[T]) {
	g.mu.Lock()
	fl.waiters--
	last := fl.waiters == 0
	if last && g.flights[key] == fl {
		delete(g.flights, key)
	}
	g.mu.Unlock()
	if last {
		fl.cancel()
	}
}

// extendDeadline raises the flight's deadline to d when d is later.
func (fl *flight[T]) extendDeadline(d time.Time) {
	n := d.UnixNano()
	for {
		cur := fl.deadline.Load()
		if n <= cur || fl.deadline.CompareAndSwap(cur, n) {
			return
		}
	}
}

// flightKey hashes what makes two calls identical. The parts cannot contain
// NUL (URLs are escaped, header values are checked), so NUL separates them
// unambiguously.
func (c *Client) flightKey(ci CallInfo, rawURL string) uint64 {
	var h maphash.Hash
	h.SetSeed(c.seed)
	_, _ = h.WriteString(rawURL)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(ci.Tenant)
	_ = h.WriteByte(0)
	_, _ = h.WriteString(ci.Authorization)
	return h.Sum64()
}
