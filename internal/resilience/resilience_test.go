package resilience

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"testing/synctest"
	"time"

	"github.com/google/go-cmp/cmp"
)

func testContext(t *testing.T) context.Context {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	t.Cleanup(cancel)
	return ctx
}

func TestFullJitter(t *testing.T) {
	for n := 1; n <= 40; n++ {
		for range 50 {
			d := FullJitter(10*time.Millisecond, time.Second, n)
			ceiling := min(time.Second, 10*time.Millisecond<<min(n-1, 20))
			if d < 0 || d >= ceiling {
				t.Fatalf("FullJitter(n=%d) = %v, want in [0, %v)", n, d, ceiling)
			}
		}
	}
}

func TestRetryBudget(t *testing.T) {
	b := NewRetryBudget()
	var got []bool
	for range 6 {
		b.Record(Failure)
		got = append(got, b.Allow())
	}
	// 10 tokens: retries while more than 5 are left.
	if diff := cmp.Diff([]bool{true, true, true, true, false, false}, got); diff != "" {
		t.Errorf("Allow() after each failure (-want +got):\n%s", diff)
	}
	for range 10 {
		b.Record(Neutral)
	}
	if b.Allow() {
		t.Error("neutral outcomes gave tokens back")
	}
	for range 11 { // 4 + 1.1 > 5
		b.Record(Success)
	}
	if !b.Allow() {
		t.Error("successes did not bring retries back")
	}
}

func TestRetryCeiling(t *testing.T) {
	retries := func(c *RetryCeiling) int { // until it refuses
		n := 0
		for c.TryRetry() {
			n++
		}
		return n
	}
	afterFirstAttempts := func(c *RetryCeiling) int { // 100 first attempts on the emptied ceiling
		for range 100 {
			c.FirstAttempt()
		}
		return retries(c)
	}
	c := NewRetryCeiling(0.1)
	if n := retries(c); n != retryCeilingBurst {
		t.Fatalf("reserve = %d retries, want %d", n, retryCeilingBurst)
	}
	if n := afterFirstAttempts(c); n != 10 {
		t.Errorf("retries after 100 first attempts = %d, want 10", n)
	}
	if none := NewRetryCeiling(-1); none.TryRetry() {
		t.Error("a negative ratio allowed a retry")
	}
	c = NewRetryCeiling(0) // DefaultRetryRatio
	retries(c)
	if n := afterFirstAttempts(c); n != 10 {
		t.Errorf("retries after 100 first attempts with the default ratio = %d, want 10", n)
	}
}

func TestBreakerOpensOnRatioAfterMinCalls(t *testing.T) {
	synctest.Test(t, testBreakerOpensOnRatioAfterMinCalls)
}

func testBreakerOpensOnRatioAfterMinCalls(t *testing.T) {
	var mu sync.Mutex
	var changes []BreakerState
	b := newBreaker(BreakerSettings{
		FailureRatio: 0.5, MinCalls: 10, Window: time.Minute, OpenFor: 2 * time.Second, HalfOpenCalls: 1,
		OnStateChange: func(_, to BreakerState) { mu.Lock(); changes = append(changes, to); mu.Unlock() },
	})
	call := func(o Outcome) error {
		done, err := b.Allow()
		if err != nil {
			return err
		}
		done(o)
		return nil
	}
	// Neutral outcomes are not counted; 4 failures of 9 counted calls
	// neither reach the minimum nor the ratio.
	for range 20 {
		_ = call(Neutral)
	}
	for range 5 {
		_ = call(Success)
	}
	for range 4 {
		_ = call(Failure)
	}
	if s := b.State(); s != BreakerClosed {
		t.Fatalf("state = %v, want closed", s)
	}
	_ = call(Failure) // 5 of 10: 50%
	var open *OpenError
	if err := call(Success); !errors.As(err, &open) || open.RetryAfter != 2*time.Second {
		t.Fatalf("Allow() = %v (%+v), want *OpenError after the open time", err, open)
	}
	<-time.After(2*time.Second + time.Nanosecond) // the open time passes, at once in the bubble
	if s := b.State(); s != BreakerHalfOpen {
		t.Fatalf("state after the open time = %v, want half-open", s)
	}
	done, err := b.Allow() // the probe
	if err != nil {
		t.Fatal(err)
	}
	if err := call(Success); !errors.As(err, &open) || open.RetryAfter != time.Second {
		t.Errorf("second call while probing = %v (%+v), want *OpenError after a second, not the open time", err, open)
	}
	done(Success)
	if s := b.State(); s != BreakerClosed {
		t.Errorf("state after a successful probe = %v, want closed", s)
	}
	mu.Lock()
	defer mu.Unlock()
	if diff := cmp.Diff([]BreakerState{BreakerOpen, BreakerHalfOpen, BreakerClosed}, changes); diff != "" {
		t.Errorf("state changes (-want +got):\n%s", diff)
	}
}

// TestInventedTenantsCannotTakeProvenState: tenants the upstream never
// answered with a success fill only their own bounded set; a proven tenant
// keeps its state, and a tenant arriving afterwards gets state of its own
// (a closed breaker), even when every unproven entry is in use.
func TestInventedTenantsCannotTakeProvenState(t *testing.T) {
	ts := NewTenants(TenantSettings{MaxTenants: 4, Breaker: BreakerSettings{MinCalls: 1, OpenFor: time.Hour}})
	known := ts.Acquire("known")
	ts.Release(known, true)
	fail := func(e *Tenant) {
		if done, err := e.Breaker.Allow(); err == nil {
			done(Failure)
		}
	}
	for i := range 100 {
		e := ts.Acquire(fmt.Sprint("invented-", i))
		ts.Release(e, false)
	}
	if n := ts.Len(); n != 1+4 {
		t.Errorf("Len() = %d, want 5 (1 proven, 4 unproven)", n)
	}
	if got := ts.Acquire("known"); got != known {
		t.Error("the proven tenant lost its state to invented ones")
	} else {
		ts.Release(got, true)
	}
	var held []*Tenant
	for i := range 4 { // every unproven entry in use
		e := ts.Acquire(fmt.Sprint("held-", i))
		fail(e)
		held = append(held, e)
	}
	late := ts.Acquire("late")
	if _, err := late.Breaker.Allow(); err != nil {
		t.Errorf("a tenant arriving after failing ones is refused: %v", err)
	}
	ts.Release(late, true)
	for _, e := range held {
		if got := ts.Acquire(e.name); got != e {
			t.Errorf("%s was evicted while in use", e.name)
		}
		ts.Release(e, false)
		ts.Release(e, false)
	}
	if diff := cmp.Diff([3]int{2, 0, 0}, ts.BreakerStates()); diff != "" {
		t.Errorf("BreakerStates() counts unproven tenants (-want +got):\n%s", diff)
	}
}

// TestInventedTenantsCannotCloseAnOpenBreaker: an unproven tenant (after a
// restart during an outage, no success yet) whose breaker opened keeps it
// while names are invented to fill the unproven set.
func TestInventedTenantsCannotCloseAnOpenBreaker(t *testing.T) {
	ts := NewTenants(TenantSettings{MaxTenants: 4, Breaker: BreakerSettings{MinCalls: 1, OpenFor: time.Hour}})
	victim := ts.Acquire("victim")
	if done, err := victim.Breaker.Allow(); err == nil {
		done(Failure)
	}
	ts.Release(victim, false)
	for i := range 100 {
		ts.Release(ts.Acquire(fmt.Sprint("invented-", i)), false)
	}
	e := ts.Acquire("victim")
	defer ts.Release(e, false)
	if _, err := e.Breaker.Allow(); err == nil || e != victim {
		t.Error("invented names evicted the tenant whose breaker is open: its breaker is closed again")
	}
}

// TestInventedTenantsCannotCloseAHalfOpenBreaker: once its open period is
// over, an unproven tenant's breaker is half-open, still sparing the failing
// upstream (one probe at a time); names invented to fill the unproven set do
// not replace it with a closed breaker that lets every call through.
func TestInventedTenantsCannotCloseAHalfOpenBreaker(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := NewTenants(TenantSettings{MaxTenants: 4, Idle: time.Hour, Breaker: BreakerSettings{MinCalls: 1, OpenFor: time.Minute}})
		victim := ts.Acquire("victim")
		if done, err := victim.Breaker.Allow(); err == nil {
			done(Failure)
		}
		ts.Release(victim, false)
		<-time.After(2 * time.Minute) // at once in the bubble: the open period is over
		for i := range 100 {
			ts.Release(ts.Acquire(fmt.Sprint("invented-", i)), false)
		}
		e := ts.Acquire("victim")
		defer ts.Release(e, false)
		probe, err := e.Breaker.Allow()
		if err != nil {
			t.Fatalf("the half-open breaker refused its probe: %v", err)
		}
		defer probe(Neutral)
		if done, err := e.Breaker.Allow(); err == nil || e != victim {
			if err == nil {
				done(Neutral)
			}
			t.Error("invented names evicted the tenant whose breaker is half-open: its breaker is closed again")
		}
	})
}

// TestTenantsIdleEviction: idle entries go after the idle time, proven or
// not, but an entry in use stays however long its call lasts.
func TestTenantsIdleEviction(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		const idle = time.Minute
		ts := NewTenants(TenantSettings{MaxTenants: 4, Idle: idle})
		busy := ts.Acquire("busy") // in use throughout
		proven := ts.Acquire("proven")
		ts.Release(proven, true)
		unproven := ts.Acquire("unproven")
		ts.Release(unproven, false)
		<-time.After(idle) // at once in the bubble
		recent := ts.Acquire("recent")
		ts.Release(recent, false)                // idle ago at the sweep: kept, not over it
		<-time.After(idle)                       // at once in the bubble
		ts.Release(ts.Acquire("trigger"), false) // sweeps
		tests := []struct {
			name string
			give *Tenant
			kept bool
		}{
			{"busy", busy, true},
			{"recent", recent, true}, // before new names fill the set
			{"proven", proven, false},
			{"unproven", unproven, false},
		}
		for _, tt := range tests {
			got := ts.Acquire(tt.name)
			if kept := got == tt.give; kept != tt.kept {
				t.Errorf("%s: state kept = %v, want %v", tt.name, kept, tt.kept)
			}
			ts.Release(got, false)
		}
		ts.Release(busy, false)
	})
}

// TestProvenSetFullKeepsTenantsServed: when the proven set is full of tenants
// in use, a newly proven tenant keeps its unproven state (and is served)
// until there is room.
func TestProvenSetFullKeepsTenantsServed(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		ts := NewTenants(TenantSettings{MaxTenants: 1, Idle: time.Minute})
		a := ts.Acquire("a")
		ts.Release(a, true)
		ts.Acquire("a") // in use
		b := ts.Acquire("b")
		ts.Release(b, true)
		if got := ts.Acquire("b"); got != b || got.proven {
			t.Errorf("b: same state = %v, proven = %v; want its unproven state", got == b, got.proven)
		}
		ts.Release(b, false)
		ts.Release(a, false)
		<-time.After(2 * time.Minute)     // at once in the bubble
		ts.Release(ts.Acquire("b"), true) // a is idle now: b takes its place
		if !b.proven {
			t.Error("b was not proven once the proven set had room")
		}
	})
}

// TestUnprovenSetBoundedWhenAllInUse: with every unproven entry in use, a
// new tenant gets state for its call only; the set stays at its bound and
// the entries in use keep theirs.
func TestUnprovenSetBoundedWhenAllInUse(t *testing.T) {
	ts := NewTenants(TenantSettings{MaxTenants: 2})
	a, b := ts.Acquire("a"), ts.Acquire("b")
	c := ts.Acquire("c")
	if n := ts.Len(); n != 2 || c == a || c == b {
		t.Errorf("Len() = %d, want 2, and c with state of its own", n)
	}
	ts.Release(c, false)
	ts.Release(ts.Acquire("d"), false) // c, not in use any more, may go; a and b may not
	if got := ts.Acquire("a"); got != a {
		t.Error("a, in use, lost its state to new tenants")
	}
	if got := ts.Acquire("b"); got != b {
		t.Error("b, in use, lost its state to new tenants")
	}
}

// TestProvenStateIsNotReplaced: two calls of one tenant that each got state
// of their own (the unproven set full, its entry in use) both succeed; the
// first to end proves its state, and the second leaves it in place.
func TestProvenStateIsNotReplaced(t *testing.T) {
	ts := NewTenants(TenantSettings{MaxTenants: 2}) // room for x among the proven
	a, b := ts.Acquire("a"), ts.Acquire("b")
	first, second := ts.Acquire("x"), ts.Acquire("x")
	if first == second {
		t.Fatal("the two calls share state, want state of their own each")
	}
	ts.Release(first, true)
	ts.Release(second, true)
	if got := ts.Acquire("x"); got != first {
		t.Error("x's proven state was replaced by a later call's")
	}
	ts.Release(a, false)
	ts.Release(b, false)
}

// TestLimiterRefusals: without a queue wait the caller's full share refuses
// at once, naming the share; a queue wait never outlasts ctx.
func TestLimiterRefusals(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		l := NewLimiter(10, 1, 0)
		release, err := l.Acquire(testContext(t), "a")
		if err != nil {
			t.Fatal(err)
		}
		var le *LimitError
		if _, err := l.Acquire(testContext(t), "a"); !errors.As(err, &le) || !le.PerKey || le.Limit != 1 {
			t.Errorf("a's second slot without a queue = %v (%+v), want a per-key *LimitError of 1", err, le)
		}
		release()

		l = NewLimiter(1, 0, time.Second)
		release, err = l.Acquire(testContext(t), "a")
		if err != nil {
			t.Fatal(err)
		}
		defer release()
		start := time.Now()
		if _, err := l.Acquire(testContext(t), "b"); !errors.As(err, &le) || le.PerKey {
			t.Errorf("Acquire with the slot taken = %v, want a global *LimitError", err)
		}
		if waited := time.Since(start); waited != time.Second {
			t.Errorf("waited %v for a slot, want the 1s queue wait", waited)
		}
		ctx, cancel := context.WithTimeout(testContext(t), 50*time.Millisecond)
		defer cancel()
		start = time.Now()
		if _, err := l.Acquire(ctx, "b"); !errors.Is(err, context.DeadlineExceeded) {
			t.Errorf("Acquire with the slot taken until after ctx's deadline = %v, want ctx's error", err)
		}
		if waited := time.Since(start); waited != 50*time.Millisecond {
			t.Errorf("waited %v for a slot, want the 50ms to ctx's deadline, not the 1s queue wait", waited)
		}
	})
}

func TestLimiterPerKeyShare(t *testing.T) {
	l := NewLimiter(3, 2, 20*time.Millisecond)
	a, b := "a", "b"
	var releases []func()
	for range 2 {
		r, err := l.Acquire(testContext(t), a)
		if err != nil {
			t.Fatal(err)
		}
		releases = append(releases, r)
	}
	_, err := l.Acquire(testContext(t), a)
	var le *LimitError
	if !errors.As(err, &le) || !le.PerKey || le.Limit != 2 {
		t.Fatalf("third slot of a = %v, want a per-key *LimitError", err)
	}
	r, err := l.Acquire(testContext(t), b)
	if err != nil {
		t.Fatalf("b's first slot = %v, want one", err)
	}
	releases = append(releases, r)
	_, err = l.Acquire(testContext(t), b)
	if !errors.As(err, &le) || le.PerKey || le.Limit != 3 {
		t.Fatalf("b's second slot with the global limit reached = %v, want a global *LimitError", err)
	}
	ctx, cancel := context.WithCancel(testContext(t))
	cancel()
	if _, err := l.Acquire(ctx, b); !errors.Is(err, context.Canceled) {
		t.Errorf("Acquire with an ended context = %v, want context.Canceled", err)
	}
	for _, r := range releases {
		r()
	}
	r, err = l.Acquire(testContext(t), a)
	if err != nil {
		t.Fatalf("after releases: %v", err)
	}
	r()
	if n := len(l.shares); n != 0 {
		t.Errorf("%d shares kept after every call ended, want 0", n)
	}
}

func TestGroupShares(t *testing.T) {
	synctest.Test(t, testGroupShares)
}

func testGroupShares(t *testing.T) {
	var g Group[string, int]
	started := make(chan struct{})
	release := make(chan struct{})
	calls := 0
	fn := func(ctx context.Context, _ Deadline) (int, error) {
		calls++
		close(started)
		<-release
		return 42, ctx.Err()
	}
	const callers = 10
	var wg sync.WaitGroup
	results := make([]int, callers)
	shared := make([]bool, callers)
	wg.Go(func() { results[0], _, shared[0] = g.Do(testContext(t), "k", fn) })
	<-started
	for i := 1; i < callers; i++ {
		wg.Go(func() { results[i], _, shared[i] = g.Do(testContext(t), "k", fn) })
	}
	synctest.Wait() // every caller waits for the shared call
	if n := g.Waiting(); n != callers {
		t.Fatalf("Waiting() = %d, want %d", n, callers)
	}
	close(release)
	wg.Wait()
	if calls != 1 {
		t.Errorf("fn ran %d times, want 1", calls)
	}
	for i := range callers {
		if results[i] != 42 || shared[i] != (i > 0) {
			t.Errorf("caller %d: %d shared=%v", i, results[i], shared[i])
		}
	}
	// Once it is over, an identical call runs fn anew: a call is shared
	// only with those made while it runs, never answered from the past.
	v, _, wasShared := g.Do(testContext(t), "k", func(context.Context, Deadline) (int, error) { return 43, nil })
	if v != 43 || wasShared || g.Waiting() != 0 {
		t.Errorf("a later identical call: %d shared=%v, %d waiting; want its own 43, not shared, none waiting", v, wasShared, g.Waiting())
	}
}

func TestGroupCancelsOnlyWhenEveryCallerLeft(t *testing.T) {
	synctest.Test(t, testGroupCancelsOnlyWhenEveryCallerLeft)
}

func testGroupCancelsOnlyWhenEveryCallerLeft(t *testing.T) {
	var g Group[string, int]
	cancelled := make(chan struct{})
	started := make(chan struct{})
	fn := func(ctx context.Context, _ Deadline) (int, error) {
		close(started)
		<-ctx.Done()
		close(cancelled)
		return 0, ctx.Err()
	}
	ctx1, cancel1 := context.WithCancel(testContext(t))
	ctx2, cancel2 := context.WithCancel(testContext(t))
	errs := make(chan error, 2)
	go func() { _, err, _ := g.Do(ctx1, "k", fn); errs <- err }()
	<-started
	go func() { _, err, _ := g.Do(ctx2, "k", fn); errs <- err }()
	synctest.Wait() // both callers wait for the shared call
	if n := g.Waiting(); n != 2 {
		t.Fatalf("Waiting() = %d, want 2", n)
	}
	cancel1() // the first caller runs the shared call: it leaves, the call goes on
	synctest.Wait()
	select {
	case <-cancelled:
		t.Fatal("the shared call was cancelled while a caller still waited")
	default:
	}
	cancel2()
	for range 2 {
		if err := <-errs; !errors.Is(err, context.Canceled) {
			t.Fatalf("caller = %v, want its context's error", err)
		}
	}
	synctest.Wait()
	select {
	case <-cancelled:
	default:
		t.Fatal("the shared call was not cancelled when every caller left")
	}
}

func TestGroupPanicReachesEveryCaller(t *testing.T) {
	var g Group[string, int]
	_, err, _ := g.Do(testContext(t), "k", func(context.Context, Deadline) (int, error) { panic("bug") })
	if err == nil {
		t.Fatal("a panic gave no error")
	}
}

// TestGroupAbandonedCallIsNotJoined: once every caller left, a call still
// running (its fn ignores the cancellation) is not joined by a later
// identical call, which runs anew; and the abandoned call, when it ends,
// does not unregister the new one, which a third identical call joins.
func TestGroupAbandonedCallIsNotJoined(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, int]
		release, started, left := make(chan struct{}), make(chan struct{}), make(chan struct{})
		ctx, cancel := context.WithCancel(testContext(t))
		go func() {
			_, _, _ = g.Do(ctx, "k", func(context.Context, Deadline) (int, error) { close(started); <-release; return 1, nil })
			close(left)
		}()
		<-started
		cancel() // the only caller leaves; fn runs on
		synctest.Wait()
		type result struct {
			v      int
			shared bool
		}
		releaseLater := make(chan struct{})
		later, third := make(chan result, 1), make(chan result, 1)
		go func() {
			v, _, shared := g.Do(testContext(t), "k", func(context.Context, Deadline) (int, error) { <-releaseLater; return 2, nil })
			later <- result{v, shared}
		}()
		synctest.Wait()
		close(release)
		<-left // the abandoned call has ended
		go func() {
			v, _, shared := g.Do(testContext(t), "k", func(context.Context, Deadline) (int, error) { return 3, nil })
			third <- result{v, shared}
		}()
		synctest.Wait()
		close(releaseLater)
		if r := <-later; r.v != 2 || r.shared {
			t.Errorf("a later identical call = %d shared=%v, want its own 2: it joined the abandoned call", r.v, r.shared)
		}
		if r := <-third; r.v != 2 || !r.shared {
			t.Errorf("a third identical call = %d shared=%v, want the running call's 2: the abandoned call unregistered it", r.v, r.shared)
		}
	})
}

// TestGroupDeadlineIsTheLatest: the shared execution's Deadline is the
// latest of its callers' deadlines, and none when one of them, the first
// or a joiner, had none.
func TestGroupDeadlineIsTheLatest(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		for _, tt := range []struct {
			name          string
			first, joiner time.Duration // 0: no deadline
			want          time.Duration // from now; 0: none
		}{
			{"an earlier deadline", time.Minute, time.Second, time.Minute},
			{"a later deadline", time.Minute, time.Hour, time.Hour},
			{"no deadline", time.Minute, 0, 0},
			{"a deadline after none", 0, time.Hour, 0},
		} {
			var g Group[string, time.Time]
			start := time.Now()
			started, release := make(chan struct{}), make(chan struct{})
			fn := func(_ context.Context, dl Deadline) (time.Time, error) { //nolint:unparam // the signature Do takes
				close(started)
				<-release
				return dl(), nil
			}
			first, cancelFirst := context.WithCancel(context.Background())
			if tt.first > 0 {
				first, cancelFirst = context.WithTimeout(context.Background(), tt.first)
			}
			joiner, cancelJoiner := context.WithCancel(context.Background())
			if tt.joiner > 0 {
				joiner, cancelJoiner = context.WithTimeout(context.Background(), tt.joiner)
			}
			var got time.Time
			done := make(chan struct{})
			go func() { got, _, _ = g.Do(first, "k", fn); close(done) }()
			<-started
			go func() { _, _, _ = g.Do(joiner, "k", fn) }()
			synctest.Wait()
			close(release)
			<-done
			cancelFirst()
			cancelJoiner()
			want := time.Time{}
			if tt.want > 0 {
				want = start.Add(tt.want)
			}
			if !got.Equal(want) {
				t.Errorf("%s: Deadline() = %v, want %v", tt.name, got, want)
			}
		}
	})
}

// TestBreakerStateNames: the metric labels of the states, "unknown" past
// them; a nil breaker (breakers off) is closed and admits every call.
func TestBreakerStateNames(t *testing.T) {
	for s, want := range map[BreakerState]string{BreakerClosed: "closed", BreakerHalfOpen: "half_open", BreakerOpen: "open", 3: "unknown"} {
		if got := s.String(); got != want {
			t.Errorf("BreakerState(%d).String() = %q, want %q", s, got, want)
		}
	}
	var b *Breaker
	if s := b.State(); s != BreakerClosed {
		t.Errorf("nil breaker's state = %v, want closed", s)
	}
	if _, err := b.Allow(); err != nil {
		t.Errorf("nil breaker's Allow() = %v, want nil", err)
	}
}

// TestBreakerHalfOpenHintIsAtMostTheOpenTime: while a half-open breaker's
// probe is out, a refused call is told to come back after a second, or after
// the open time when that is shorter.
func TestBreakerHalfOpenHintIsAtMostTheOpenTime(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(BreakerSettings{FailureRatio: 0.5, MinCalls: 1, Window: time.Minute, OpenFor: 100 * time.Millisecond, HalfOpenCalls: 1})
		done, err := b.Allow()
		if err != nil {
			t.Fatal(err)
		}
		done(Failure)
		time.Sleep(100*time.Millisecond + time.Nanosecond)
		if _, err := b.Allow(); err != nil { // the probe, left out
			t.Fatal(err)
		}
		var open *OpenError
		if _, err := b.Allow(); !errors.As(err, &open) || open.RetryAfter != 100*time.Millisecond {
			t.Errorf("a call while probing = %v (%+v), want *OpenError after the 100ms open time", err, open)
		}
	})
}

// TestBreakerWindowRolls: the window rolls in tenths, so a failure a little
// less than a window old still counts with a new one, even across the
// window's first end.
func TestBreakerWindowRolls(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		b := newBreaker(BreakerSettings{FailureRatio: 1, MinCalls: 2, Window: 10 * time.Second, OpenFor: time.Second, HalfOpenCalls: 1})
		fail := func() {
			done, err := b.Allow()
			if err != nil {
				t.Fatal(err)
			}
			done(Failure)
		}
		time.Sleep(9500 * time.Millisecond)
		fail()
		time.Sleep(time.Second) // 10.5 s from the start, 1 s after the first failure
		fail()
		if s := b.State(); s != BreakerOpen {
			t.Errorf("state after two failures 1s apart = %v, want open", s)
		}
	})
}

// TestFullJitterEdges: no wait when the cap or the base is zero, and the cap when base
// doubled overflows.
func TestFullJitterEdges(t *testing.T) {
	if d := FullJitter(100*time.Millisecond, 0, 1); d != 0 {
		t.Errorf("FullJitter with a zero cap = %v, want 0", d)
	}
	if d := FullJitter(0, time.Second, 1); d != 0 {
		t.Errorf("FullJitter with a zero base = %v, want 0 (min(cap, 0))", d)
	}
	// 2^40 ns doubled 23 times is 2^63: it overflows to a negative duration;
	// 2^41 ns doubled 23 times is 2^64: to exactly 0.
	const base, maxWait = time.Duration(1) << 40, time.Duration(1) << 62
	zero := 0
	for i := range 20 {
		if d := FullJitter(base<<(i%2), maxWait, 24); d < 0 || d >= maxWait {
			t.Fatalf("FullJitter past overflow = %v, want in [0, %v)", d, maxWait)
		} else if d == 0 {
			zero++
		}
	}
	if zero == 20 {
		t.Error("FullJitter past overflow waited 0 every time, want waits up to the cap")
	}
}

// TestRetryBudgetBounds: the budget holds 0 to 10 tokens, a success gives
// back exactly 0.1 token, and a failure with less than a token left empties it.
func TestRetryBudgetBounds(t *testing.T) {
	successesToAllow := func(b *RetryBudget) int { // -1: not after 1000
		for n := range 1000 {
			if b.Allow() {
				return n
			}
			b.Record(Success)
		}
		return -1
	}
	b := NewRetryBudget()
	for range 100 {
		b.Record(Success) // full already: nothing more to give back
	}
	for range 5 {
		b.Record(Failure)
	}
	if b.Allow() {
		t.Error("5 failures after 100 successes left more than 5 tokens: the budget grew past 10")
	}
	if n := successesToAllow(b); n != 1 {
		t.Errorf("successes from 5 tokens until a retry = %d, want 1 (5.1 > 5)", n)
	}

	b = NewRetryBudget()
	for range 9 {
		b.Record(Failure) // 1 token left
	}
	for range 5 {
		b.Record(Success) // 1.5
	}
	b.Record(Failure) // 0.5
	b.Record(Failure) // 0, not -0.5
	if n := successesToAllow(b); n != 51 {
		t.Errorf("successes from an empty budget until a retry = %d, want 51 (5.1 > 5)", n)
	}
}

// TestRetryCeilingHoldsItsBurst: first attempts never store more than the
// reserve of retries.
func TestRetryCeilingHoldsItsBurst(t *testing.T) {
	c := NewRetryCeiling(0.5)
	for range 1000 {
		c.FirstAttempt()
	}
	n := 0
	for c.TryRetry() {
		n++
	}
	if n != retryCeilingBurst {
		t.Errorf("retries after 1000 first attempts = %d, want the reserve of %d", n, retryCeilingBurst)
	}
}

// TestGroupExecutionContextEnds: the shared execution's context ends when
// the execution returns, releasing what was tied to it.
func TestGroupExecutionContextEnds(t *testing.T) {
	var g Group[string, int]
	var fctx context.Context
	_, _, _ = g.Do(testContext(t), "k", func(ctx context.Context, _ Deadline) (int, error) { fctx = ctx; return 1, nil })
	if err := fctx.Err(); !errors.Is(err, context.Canceled) {
		t.Errorf("the execution's context after it returned: %v, want context.Canceled", err)
	}
}

// TestLimiterPerKeyOnly: a per-key share limits without a global limit; with
// neither the Limiter is nil. Without a queue wait, a refusal hints 100ms.
func TestLimiterPerKeyOnly(t *testing.T) {
	if l := NewLimiter(0, 0, time.Second); l != nil {
		t.Errorf("NewLimiter(0, 0) = %+v, want nil", l)
	}
	l := NewLimiter(0, 1, 0)
	release, err := l.Acquire(testContext(t), "a")
	if err != nil {
		t.Fatal(err)
	}
	defer release()
	var le *LimitError
	if _, err := l.Acquire(testContext(t), "a"); !errors.As(err, &le) || !le.PerKey || le.RetryAfter != 100*time.Millisecond {
		t.Errorf("a's second slot = %v (%+v), want a per-key *LimitError that hints 100ms (no queue wait to hint)", err, le)
	}
	r, err := l.Acquire(testContext(t), "b")
	if err != nil {
		t.Errorf("b's first slot = %v, want one", err)
	} else {
		r()
	}
}

// TestGroupFirstCallerLeavesWithItsError: the first caller, whose context
// ended while the shared execution ran, gets its context's error once the
// execution returns, not the result the others get.
func TestGroupFirstCallerLeavesWithItsError(t *testing.T) {
	synctest.Test(t, func(t *testing.T) {
		var g Group[string, int]
		started, release := make(chan struct{}), make(chan struct{})
		fn := func(context.Context, Deadline) (int, error) { close(started); <-release; return 42, nil } //nolint:unparam // the signature Do takes
		ctx, cancel := context.WithCancel(testContext(t))
		type result struct {
			v   int
			err error
		}
		first, joiner := make(chan result, 1), make(chan result, 1)
		go func() { v, err, _ := g.Do(ctx, "k", fn); first <- result{v, err} }()
		<-started
		go func() { v, err, _ := g.Do(testContext(t), "k", fn); joiner <- result{v, err} }()
		synctest.Wait()
		cancel() // the first caller leaves; the joiner still waits, so the execution goes on
		synctest.Wait()
		close(release)
		if r := <-first; r.v != 0 || !errors.Is(r.err, context.Canceled) {
			t.Errorf("first caller = %d, %v; want 0, context.Canceled", r.v, r.err)
		}
		if r := <-joiner; r.v != 42 || r.err != nil {
			t.Errorf("joiner = %d, %v; want 42, nil", r.v, r.err)
		}
	})
}
