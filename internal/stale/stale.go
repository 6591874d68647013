// Package stale keeps the last successful answer of each call, per caller,
// and serves it, labelled, while the upstream fails (stale-if-error, RFC
// 5861): only to the tenant and credentials that fetched it, only for
// failures that say nothing about the request (the upstream's 429, 500, 502,
// 503, 504, no answer, a timeout, or a local refusal: circuit breaker open,
// no request slot), and no older than the operator's bound and the caller's
// `cache-control: stale-if-error=N`. docs/resilience.md says when a stale
// answer is served; docs/security.md what is stored and for how long.
package stale

import (
	"context"
	"crypto/hmac"
	"crypto/rand"
	"crypto/sha256"
	"net/http"
	"reflect"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/google/uuid"
	"github.com/maypok86/otter/v2"
	"github.com/prometheus/client_golang/prometheus"
	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/reflect/protoreflect"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

// Metadata keys: the caller's request directive, and the labels of a stale
// answer. The REST mirror's HTTP headers have the same names.
const (
	MDCacheControl = "cache-control"
	MDCacheStatus  = "cache-status"
	MDAge          = "age"
)

// Name is the cache's name in Cache-Status (RFC 9211).
const Name = "cloudcockpit-facade"

// DefaultMaxBytes is the default bound of a Store's size: 16 MiB, about a tenth
// of the pod's 176 MiB memory limit (docs/configuration.md).
const DefaultMaxBytes = 16 << 20

// An entry's weight is what it holds on the heap, estimated (memSize) so
// that the bound holds for the heap and not only for the payloads, as
// TestHeapBound measures: entryOverhead for the cache's node, the key and
// the entry, fieldCost for each value beyond its bytes (a pointer, a
// header, the allocator's rounding), mapEntryCost for each map entry.
const (
	entryOverhead = 320
	fieldCost     = 40
	mapEntryCost  = 64
)

// Key names one stored answer: the operation, the request's ids as GUIDs,
// the tenant, and a keyed fingerprint of the caller's credentials. Its zero
// value is not stored.
type Key struct {
	op     string
	ids    [2]uuid.UUID
	given  [2]bool // which ids the request has: an absent one is not the nil GUID
	tenant string
	cred   [sha256.Size]byte
}

// entry is a stored answer and when it was fetched.
type entry struct {
	msg     proto.Message
	fetched time.Time
}

// Store holds the last good answers. A nil *Store stores nothing and serves
// nothing. It is safe for concurrent use.
type Store struct {
	cache  *otter.Cache[Key, entry]
	maxAge time.Duration
	secret [32]byte // HMAC key of the credential fingerprints, drawn by New

	mu      sync.Mutex
	perCred map[[sha256.Size]byte]int // live entries per fingerprint, to forget them on 401/403

	served map[[2]string]prometheus.Counter // cloudcockpit_stale_answers_total's children
}

// New returns a Store whose answers are served for at most maxAge and whose
// entries weigh at most maxBytes in all (0: DefaultMaxBytes), registering
// its metrics on reg when it is not nil. It returns nil, a Store that
// does nothing, when maxAge is not positive. Close stops it.
func New(maxAge time.Duration, maxBytes int64, reg prometheus.Registerer) *Store {
	if maxAge <= 0 {
		return nil
	}
	if maxBytes <= 0 {
		maxBytes = DefaultMaxBytes
	}
	s := &Store{maxAge: maxAge, perCred: map[[sha256.Size]byte]int{}, served: map[[2]string]prometheus.Counter{}}
	_, _ = rand.Read(s.secret[:]) // crypto/rand.Read never fails (Go 1.24)
	s.cache = otter.Must(&otter.Options[Key, entry]{
		MaximumWeight: uint64(maxBytes),
		Weigher: func(k Key, e entry) uint32 {
			return uint32(memSize(e.msg.ProtoReflect()) + len(k.tenant) + entryOverhead) //nolint:gosec // G115: bounded by the upstream body limit
		},
		ExpiryCalculator: otter.ExpiryWriting[Key, entry](maxAge),
		OnAtomicDeletion: s.deleted,
	})
	counter := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloudcockpit_stale_answers_total",
		Help: "Stale answers served because the upstream failed, by operation and reason (upstream-503, unreachable, circuit-open, ...).",
	}, []string{"operation", "reason"})
	for _, op := range operations {
		for _, r := range reasons {
			s.served[[2]string{op, r}] = counter.WithLabelValues(op, r)
		}
	}
	if reg != nil {
		reg.MustRegister(counter,
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cloudcockpit_stale_entries", Help: "Answers held for stale-if-error."},
				func() float64 { return float64(s.cache.EstimatedSize()) }),
			prometheus.NewGaugeFunc(prometheus.GaugeOpts{Name: "cloudcockpit_stale_bytes", Help: "Weight in bytes of the answers held for stale-if-error (bounded by -stale-cache-max-bytes)."},
				func() float64 { return float64(s.cache.WeightedSize()) }))
	}
	return s
}

// Close stops the store's clean-up goroutine.
func (s *Store) Close() {
	if s != nil {
		s.cache.StopAllGoroutines()
	}
}

// Len returns how many answers the store holds.
func (s *Store) Len() int { s.cache.CleanUp(); return s.cache.EstimatedSize() }

// Bytes returns the weight of the answers held, at most the store's bound.
func (s *Store) Bytes() uint64 { s.cache.CleanUp(); return s.cache.WeightedSize() }

// Key returns the key of a call: op, its tenant, its Authorization value and
// its request's ids (empty ones skipped). The zero Key (a nil Store, or an
// id that is not a GUID) is neither stored nor served.
func (s *Store) Key(op, tenant, authorization string, ids ...string) Key {
	if s == nil || len(ids) > 2 {
		return Key{}
	}
	k := Key{op: op, tenant: tenant}
	for i, id := range ids {
		if id == "" {
			continue
		}
		u, err := uuid.Parse(id)
		if err != nil {
			return Key{}
		}
		k.ids[i], k.given[i] = u, true
	}
	// The scheme is case-insensitive: one token is one credential however
	// its scheme is spelt, so that a 401 or 403 forgets all its answers.
	if scheme, token, ok := strings.Cut(authorization, " "); ok && strings.EqualFold(scheme, "Bearer") {
		authorization = "Bearer " + token
	}
	mac := hmac.New(sha256.New, s.secret[:])
	mac.Write([]byte(authorization))
	mac.Sum(k.cred[:0])
	return k
}

// Put stores a copy of m, a successful answer fetched now, under k.
func (s *Store) Put(k Key, m proto.Message) {
	if s == nil || k.op == "" {
		return
	}
	s.count(k.cred, 1)
	if _, added := s.cache.Set(k, entry{msg: proto.Clone(m), fetched: time.Now()}); !added {
		s.count(k.cred, -1)
	}
}

// memSize estimates the heap that m holds: its struct, its fields' values
// and the messages in them.
func memSize(m protoreflect.Message) int {
	n := int(reflect.TypeOf(m.Interface()).Elem().Size())
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		switch {
		case fd.IsList():
			for i := range v.List().Len() {
				n += valueSize(fd, v.List().Get(i))
			}
		case fd.IsMap():
			v.Map().Range(func(k protoreflect.MapKey, mv protoreflect.Value) bool {
				n += mapEntryCost + valueSize(fd.MapKey(), k.Value()) + valueSize(fd.MapValue(), mv)
				return true
			})
		default:
			n += valueSize(fd, v)
		}
		return true
	})
	return n
}

// valueSize estimates the heap that one value of field fd holds.
func valueSize(fd protoreflect.FieldDescriptor, v protoreflect.Value) int {
	switch fd.Kind() {
	case protoreflect.MessageKind, protoreflect.GroupKind:
		return memSize(v.Message())
	case protoreflect.StringKind:
		return fieldCost + len(v.String())
	case protoreflect.BytesKind:
		return fieldCost + len(v.Bytes())
	}
	return fieldCost
}

// deleted keeps perCred in step with the cache.
func (s *Store) deleted(e otter.DeletionEvent[Key, entry]) {
	if e.Cause != otter.CauseReplacement {
		s.count(e.Key.cred, -1)
	}
}

func (s *Store) count(cred [sha256.Size]byte, n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.perCred[cred] += n; s.perCred[cred] <= 0 {
		delete(s.perCred, cred)
	}
}

// Answer decides what err, the upstream failure of the call keyed k, does
// to the store; it returns a copy of the stored answer when the call may
// have it, after labelling it (Cache-Status, Age, the access log's stale
// field) and counting it. A 404 forgets k, a 401 or 403 every answer of k's
// credentials.
func Answer[M proto.Message](ctx context.Context, s *Store, k Key, err error) (M, bool) {
	var none M
	if s == nil || k.op == "" {
		return none, false
	}
	reason, act := judge(rest.AsError(ctx, err))
	switch act {
	case forget:
		s.cache.Invalidate(k)
		return none, false
	case forgetCredential:
		s.forgetCredential(k.cred)
		return none, false
	case keep:
		return none, false
	}
	limit := min(s.maxAge, accepted(ctx))
	e, ok := s.cache.GetIfPresent(k)
	age := time.Since(e.fetched)
	if !ok || limit <= 0 || age > limit {
		return none, false
	}
	m, ok := proto.Clone(e.msg).(M)
	if !ok {
		return none, false
	}
	_ = grpc.SetHeader(ctx, metadata.Pairs(
		MDCacheStatus, Name+"; hit; detail="+reason,
		MDAge, strconv.FormatInt(int64(age/time.Second), 10)))
	telemetry.StatsFromContext(ctx).MarkStale()
	s.served[[2]string{k.op, reason}].Inc()
	return m, true
}

// forgetCredential removes every answer fetched with the credentials whose
// fingerprint is cred; it scans the store only when it holds one.
func (s *Store) forgetCredential(cred [sha256.Size]byte) {
	s.mu.Lock()
	n := s.perCred[cred]
	s.mu.Unlock()
	if n == 0 {
		return
	}
	var doomed []Key
	for k := range s.cache.Keys() {
		if k.cred == cred {
			doomed = append(doomed, k)
		}
	}
	for _, k := range doomed {
		s.cache.Invalidate(k)
	}
}

// action is what an upstream failure does to the store.
type action uint8

const (
	keep             action = iota // answer the error; the store is unchanged
	serve                          // a stored answer may stand in
	forget                         // the upstream says the resource is gone (404)
	forgetCredential               // the upstream refuses the credentials (401, 403)
)

// The labels of cloudcockpit_stale_answers_total, bound at New.
var (
	operations = []string{apierr.OpGetReseller, apierr.OpGetAcceptanceLink}
	reasons    = []string{"upstream-429", "upstream-500", "upstream-502", "upstream-503", "upstream-504", "unreachable", "timeout", "circuit-open", "over-limit"}
)

// judge is the one place that decides which upstream failures a stale
// answer may stand in for, and names the reason (Cache-Status detail and
// metric label): failures that say nothing about the request.
func judge(e *rest.Error) (string, action) {
	switch e.Kind {
	case rest.KindAnswered:
		switch e.StatusCode {
		case http.StatusTooManyRequests, http.StatusInternalServerError, http.StatusBadGateway,
			http.StatusServiceUnavailable, http.StatusGatewayTimeout:
			return "upstream-" + strconv.Itoa(e.StatusCode), serve
		case http.StatusNotFound:
			return "", forget
		case http.StatusUnauthorized, http.StatusForbidden:
			return "", forgetCredential
		}
	case rest.KindUnreachable, rest.KindTimeout, rest.KindCircuitOpen, rest.KindOverLimit:
		return strings.ReplaceAll(e.Kind.String(), "_", "-"), serve
	}
	return "", keep
}

// accepted returns the staleness the caller accepts: its
// `cache-control: stale-if-error=N` (seconds; 0 refuses stale answers), or
// no bound of its own when it sends none.
func accepted(ctx context.Context) time.Duration {
	limit := time.Duration(1<<63 - 1)
	for _, v := range metadata.ValueFromIncomingContext(ctx, MDCacheControl) {
		for d := range strings.SplitSeq(v, ",") {
			name, val, _ := strings.Cut(strings.TrimSpace(d), "=")
			if !strings.EqualFold(name, "stale-if-error") {
				continue
			}
			if n, err := strconv.ParseUint(strings.Trim(val, `"`), 10, 32); err == nil {
				limit = min(limit, time.Duration(n)*time.Second)
			}
		}
	}
	return limit
}
