package resilience

import (
	"cmp"
	"sync"
	"time"
)

// Defaults of TenantSettings, used for its zero fields.
const (
	DefaultMaxTenants = 1024
	DefaultTenantIdle = 5 * time.Minute
)

// TenantSettings configures Tenants; a negative MaxTenants or Idle means the default.
type TenantSettings struct {
	// MaxTenants bounds the proven tenants and, apart from them, the unproven ones.
	MaxTenants int
	// Idle is how long a tenant's state is kept after its last call ended.
	Idle time.Duration
	// Breaker configures each tenant's circuit breaker.
	Breaker BreakerSettings
}

// evictScan bounds the unproven entries a new tenant looks at for one to
// evict, so that each new name costs little under the lock.
const evictScan = 16

// Tenant is the resilience state of one tenant, from Tenants.Acquire until
// Tenants.Release.
type Tenant struct {
	// Breaker is the tenant's circuit breaker, nil when breakers are disabled.
	Breaker *Breaker
	Budget  *RetryBudget

	name string
	// Guarded by Tenants.mu.
	proven   bool
	refs     int
	lastUsed time.Time
}

// Tenants holds per-tenant state, keyed by the caller-chosen tenant name, in
// two bounded sets, proven and unproven, so that made-up names cannot take the
// state of real tenants (docs/resilience.md#bounded-per-tenant-state). An
// entry in use is never evicted. It is safe for concurrent use.
type Tenants struct {
	settings TenantSettings

	mu        sync.Mutex
	proven    map[string]*Tenant
	unproven  map[string]*Tenant
	nextSweep time.Time
}

// NewTenants returns an empty set.
func NewTenants(s TenantSettings) *Tenants {
	s.MaxTenants = cmp.Or(max(s.MaxTenants, 0), DefaultMaxTenants)
	s.Idle = cmp.Or(max(s.Idle, 0), DefaultTenantIdle)
	b := &s.Breaker
	b.FailureRatio = cmp.Or(b.FailureRatio, DefaultFailureRatio)
	b.MinCalls = cmp.Or(b.MinCalls, DefaultMinCalls)
	b.Window = cmp.Or(max(b.Window, 0), DefaultWindow)
	b.OpenFor = cmp.Or(max(b.OpenFor, 0), DefaultOpenFor)
	b.HalfOpenCalls = cmp.Or(b.HalfOpenCalls, DefaultHalfOpenCalls)
	return &Tenants{settings: s, proven: make(map[string]*Tenant), unproven: make(map[string]*Tenant)}
}

// Acquire returns name's state, creating it when needed; release it with
// Release once the call is over.
func (t *Tenants) Acquire(name string) *Tenant {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.proven[name]
	if !ok {
		e, ok = t.unproven[name]
	}
	if !ok {
		if now.After(t.nextSweep) {
			t.sweep(now)
		}
		e = &Tenant{Breaker: newBreaker(t.settings.Breaker), Budget: NewRetryBudget(), name: name}
		// When full, evict one not in use whose breaker is closed (new names
		// must not close an open or half-open breaker); when none can go, e
		// serves this call only.
		seen := 0
		for n, u := range t.unproven {
			if seen++; len(t.unproven) < t.settings.MaxTenants || seen > evictScan {
				break
			}
			if u.refs == 0 && u.Breaker.State() == BreakerClosed {
				delete(t.unproven, n)
			}
		}
		if len(t.unproven) < t.settings.MaxTenants {
			t.unproven[name] = e
		}
	}
	e.refs++
	e.lastUsed = now
	return e
}

// Release hands back a state returned by Acquire. When proven, as the
// upstream answered the call with a success, an unproven tenant moves to the
// proven set if it has room, else it tries again on its next success.
func (t *Tenants) Release(e *Tenant, proven bool) {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e.refs--
	e.lastUsed = now
	if !proven || e.proven {
		return
	}
	if len(t.proven) >= t.settings.MaxTenants && now.After(t.nextSweep) {
		t.sweep(now)
	}
	if _, taken := t.proven[e.name]; taken || len(t.proven) >= t.settings.MaxTenants {
		return
	}
	if t.unproven[e.name] == e {
		delete(t.unproven, e.name)
	}
	e.proven = true
	t.proven[e.name] = e
}

// sweep evicts the entries unused for longer than the idle time, at most
// once per idle/4; called with mu held.
func (t *Tenants) sweep(now time.Time) {
	t.nextSweep = now.Add(t.settings.Idle / 4)
	for _, m := range []map[string]*Tenant{t.proven, t.unproven} {
		for name, e := range m {
			if e.refs == 0 && now.Sub(e.lastUsed) > t.settings.Idle {
				delete(m, name)
			}
		}
	}
}

// Len returns the number of tenants, proven or not, with state of their own.
func (t *Tenants) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.proven) + len(t.unproven)
}

// BreakerStates returns how many proven tenants' breakers are in each state,
// indexed by BreakerState; unproven tenants, whose names anyone can make up,
// are left out.
func (t *Tenants) BreakerStates() (n [3]int) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for _, e := range t.proven {
		n[e.Breaker.State()]++
	}
	return n
}
