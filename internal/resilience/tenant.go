package resilience

import (
	"sync"
	"time"

	"golang.org/x/sync/semaphore"
)

// Defaults of TenantSettings, used for its zero fields.
const (
	// DefaultMaxTenants bounds the tenants with state of their own.
	DefaultMaxTenants = 1024
	// DefaultTenantIdle is how long a tenant's state outlives its last call.
	DefaultTenantIdle = 5 * time.Minute
)

// TenantSettings configures Tenants.
type TenantSettings struct {
	// MaxTenants bounds the tenants that have state of their own. When the
	// set is full and no entry is idle, further tenants share one overflow
	// state (one breaker, one budget, one share of slots) until entries
	// expire. Zero means DefaultMaxTenants.
	MaxTenants int

	// Idle is how long a tenant's state is kept after its last call ended;
	// idle entries are evicted. Zero means DefaultTenantIdle.
	Idle time.Duration

	// Slots caps the requests in flight for one tenant (its fair share of
	// the Limiter's global slots). Zero or negative means no cap of its
	// own.
	Slots int

	// Breaker configures each tenant's circuit breaker.
	Breaker BreakerSettings
}

// Tenant is the resilience state of one tenant: its circuit breaker, its
// retry budget and its share of the upstream slots. Get it from
// Tenants.Acquire and hand it back with Tenants.Release.
type Tenant struct {
	// Breaker is the tenant's circuit breaker; nil when breakers are
	// disabled (a nil *Breaker admits everything).
	Breaker *Breaker
	// Budget is the tenant's retry budget.
	Budget *RetryBudget

	slots     *semaphore.Weighted // nil: no cap of its own
	slotLimit int

	// Guarded by Tenants.mu.
	refs     int
	lastUsed time.Time
}

// Tenants is a bounded set of per-tenant state, keyed by tenant name, whose
// idle entries are evicted. It is safe for concurrent use.
type Tenants struct {
	settings TenantSettings

	mu        sync.Mutex
	m         map[string]*Tenant
	overflow  *Tenant
	nextSweep time.Time
}

// NewTenants returns an empty set.
func NewTenants(s TenantSettings) *Tenants {
	if s.MaxTenants <= 0 {
		s.MaxTenants = DefaultMaxTenants
	}
	if s.Idle <= 0 {
		s.Idle = DefaultTenantIdle
	}
	s.Breaker = s.Breaker.withDefaults()
	t := &Tenants{settings: s, m: make(map[string]*Tenant)}
	t.overflow = t.newTenant()
	return t
}

func (t *Tenants) newTenant() *Tenant {
	e := &Tenant{Breaker: newBreaker(t.settings.Breaker), Budget: NewRetryBudget()}
	if t.settings.Slots > 0 {
		e.slots = semaphore.NewWeighted(int64(t.settings.Slots))
		e.slotLimit = t.settings.Slots
	}
	return e
}

// Acquire returns name's state, creating it when needed; release it with
// Release once the call is over. When the set is full of tenants in use or
// recently used, it returns the shared overflow state.
func (t *Tenants) Acquire(name string) *Tenant {
	now := time.Now()
	t.mu.Lock()
	defer t.mu.Unlock()
	e, ok := t.m[name]
	if !ok {
		if now.After(t.nextSweep) || len(t.m) >= t.settings.MaxTenants {
			t.sweep(now)
		}
		if len(t.m) >= t.settings.MaxTenants {
			e = t.overflow
		} else {
			e = t.newTenant()
			t.m[name] = e
		}
	}
	e.refs++
	e.lastUsed = now
	return e
}

// Release hands back a state returned by Acquire.
func (t *Tenants) Release(e *Tenant) {
	now := time.Now()
	t.mu.Lock()
	e.refs--
	e.lastUsed = now
	t.mu.Unlock()
}

// sweep evicts the entries that are unused and idle for longer than the
// idle time; called with mu held. It runs at most once per idle/4 unless
// the set is full, so its cost is spread thin.
func (t *Tenants) sweep(now time.Time) {
	t.nextSweep = now.Add(t.settings.Idle / 4)
	for name, e := range t.m {
		if e.refs == 0 && now.Sub(e.lastUsed) > t.settings.Idle {
			delete(t.m, name)
		}
	}
}

// Len returns the number of tenants with state of their own.
func (t *Tenants) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.m)
}

// BreakerStates returns how many tenants' breakers are in each state,
// indexed by BreakerState (the overflow state is counted when it has been
// used). Reading a state moves an open breaker whose time is up to
// half-open.
func (t *Tenants) BreakerStates() [3]int {
	var n [3]int
	t.mu.Lock()
	defer t.mu.Unlock()
	if t.settings.Breaker.FailureRatio < 0 {
		n[BreakerClosed] = len(t.m)
		return n
	}
	for _, e := range t.m {
		n[e.Breaker.State()]++
	}
	if !t.overflow.lastUsed.IsZero() {
		n[t.overflow.Breaker.State()]++
	}
	return n
}
