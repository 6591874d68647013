package telemetry

import (
	"cmp"
	"context"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/collectors"
	"github.com/prometheus/client_golang/prometheus/promauto"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/resilience"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

const opOther = "other"

// latencyBuckets spans a loopback call (~100 µs) to the default upstream timeout (10 s).
var latencyBuckets = []float64{.0001, .00025, .0005, .001, .0025, .005, .01, .025, .05, .1, .25, .5, 1, 2.5, 5, 10}

// Metrics holds the facade's Prometheus collectors in their own registry.
type Metrics struct {
	// Registry is what /metrics serves.
	Registry *prometheus.Registry

	serverHandled, upstreamRequests, upstreamRetries, breakerMoves *prometheus.CounterVec
	rejected, coalesced, refusedCalls, mismatched                  *prometheus.CounterVec
	serverDuration, upstreamDuration, upstreamAttempts             *prometheus.HistogramVec
	serverInFlight, upstreamInFlight                               *prometheus.GaugeVec

	// upstream is read when the per-tenant gauges are scraped.
	upstream atomic.Pointer[UpstreamState]

	// ops and methods hold the series bound to their labels, so that a call hashes no
	// label values; methods stays small, as only registered methods reach it.
	ops     map[string]*series
	methods sync.Map // full method name → *series
}

// series are the upstream series of one operation, or the server series of one
// method (attempts and retries nil); ok counts 200 answers, or calls ending OK.
type series struct {
	inFlight           prometheus.Gauge
	duration, attempts prometheus.Observer
	retries, ok        prometheus.Counter
}

// UpstreamState is what the per-tenant gauges read when scraped: the number
// of tenants' circuit breakers in each state (indexed by resilience.BreakerState)
// and the number of tenants with resilience state. *rest.Client implements it.
type UpstreamState interface {
	BreakerStates() [3]int
	Tenants() int
}

// NewMetrics registers every collector in a new registry, including build
// info, the Go runtime and the process.
func NewMetrics(b Build) *Metrics {
	reg := prometheus.NewRegistry()
	f := promauto.With(reg)
	counter := func(name, help string, labels ...string) *prometheus.CounterVec {
		return f.NewCounterVec(prometheus.CounterOpts{Name: name, Help: help}, labels)
	}
	histogram := func(name, help string, buckets []float64, labels ...string) *prometheus.HistogramVec {
		return f.NewHistogramVec(prometheus.HistogramOpts{Name: name, Help: help, Buckets: buckets}, labels)
	}
	gauge := func(name, help string, labels ...string) *prometheus.GaugeVec {
		return f.NewGaugeVec(prometheus.GaugeOpts{Name: name, Help: help}, labels)
	}
	m := &Metrics{
		Registry: reg,
		serverHandled: counter("grpc_server_handled_total",
			"RPCs completed on the server, by service, method and gRPC status code (REST mirror calls included).", "grpc_service", "grpc_method", "grpc_code"),
		serverDuration: histogram("grpc_server_handling_seconds",
			"Time to handle an RPC on the server, by service and method.", latencyBuckets, "grpc_service", "grpc_method"),
		serverInFlight: gauge("grpc_server_in_flight_requests",
			"RPCs being handled now, by service and method.", "grpc_service", "grpc_method"),
		upstreamRequests: counter("cloudcockpit_upstream_requests_total",
			"Upstream HTTP attempts sent, by operation and HTTP status (\"error\" when no response came, \"canceled\" when the caller left first).", "operation", "status"),
		upstreamDuration: histogram("cloudcockpit_upstream_request_duration_seconds",
			"Duration of one upstream HTTP attempt until its response headers, by operation.", latencyBuckets, "operation"),
		upstreamInFlight: gauge("cloudcockpit_upstream_in_flight_requests",
			"Upstream HTTP attempts in flight, by operation.", "operation"),
		upstreamAttempts: histogram("cloudcockpit_upstream_attempts",
			"Upstream attempts per facade call that reached the upstream, by operation.", []float64{1, 2, 3, 4, 5}, "operation"),
		upstreamRetries: counter("cloudcockpit_upstream_retries_total",
			"Upstream attempts beyond the first, by operation.", "operation"),
		breakerMoves: counter("cloudcockpit_upstream_breaker_transitions_total",
			"State changes of the per-tenant upstream circuit breakers, by new state.", "to"),
		rejected: counter("cloudcockpit_upstream_rejected_total",
			"Upstream calls or retries refused before anything was sent, by operation and reason (circuit_open, concurrency_limit, tenant_concurrency_limit).", "operation", "reason"),
		coalesced: counter("cloudcockpit_upstream_coalesced_calls_total",
			"Facade calls answered by sharing another identical call's upstream request, by operation.", "operation"),
		refusedCalls: counter("cloudcockpit_refused_calls_total",
			"Calls the server's own limits refused or cut before their request arrived, both ports, by reason (too_many_calls, client_share, tenant_share, large_headers, message_timeout).", "reason"),
		mismatched: counter("cloudcockpit_upstream_mismatched_answers_total",
			"Upstream answers rejected because they were about another resource than the one asked for, by operation.", "operation"),
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name: "cloudcockpit_upstream_tenants",
		Help: "Tenants with live upstream resilience state (breaker, retry budget), proven or not; two bounded sets.",
	}, func() float64 {
		if s := m.upstream.Load(); s != nil {
			return float64((*s).Tenants())
		}
		return 0
	})
	m.ops = map[string]*series{}
	for _, op := range []string{apierr.OpGetReseller, apierr.OpGetAcceptanceLink, opOther} {
		m.ops[op] = &series{
			inFlight: m.upstreamInFlight.WithLabelValues(op), duration: m.upstreamDuration.WithLabelValues(op),
			attempts: m.upstreamAttempts.WithLabelValues(op), retries: m.upstreamRetries.WithLabelValues(op),
			ok: m.upstreamRequests.WithLabelValues(op, "200"),
		}
		if op != opOther {
			m.mismatched.WithLabelValues(op)
		}
	}
	f.NewGaugeFunc(prometheus.GaugeOpts{
		Name:        "cloudcockpit_facade_build_info",
		Help:        "Build information of the running binary; always 1.",
		ConstLabels: prometheus.Labels{"version": cmp.Or(b.Version, "unknown"), "revision": cmp.Or(b.Revision, "unknown"), "goversion": runtime.Version()},
	}, func() float64 { return 1 })
	reg.MustRegister(prometheus.CollectorFunc(m.collectBreakers), collectors.NewGoCollector(), collectors.NewProcessCollector(collectors.ProcessCollectorOpts{}))
	return m
}

// Build names the running binary in the build-info metric: its version and
// VCS revision as cmd/server's -version prints them ("unknown" when empty).
type Build struct{ Version, Revision string }

// UnaryServerInterceptor records grpc_server_* metrics for every call.
func (m *Metrics) UnaryServerInterceptor() grpc.UnaryServerInterceptor {
	return func(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
		s := m.method(info.FullMethod)
		s.inFlight.Inc()
		start := time.Now()
		resp, err := handler(ctx, req)
		s.duration.Observe(time.Since(start).Seconds())
		if code := status.Code(err); code == codes.OK {
			s.ok.Inc()
		} else {
			svc, method := splitMethod(info.FullMethod)
			m.serverHandled.WithLabelValues(svc, method, code.String()).Inc()
		}
		s.inFlight.Dec()
		return resp, err
	}
}

// method returns the series of a full method name, bound on first use.
func (m *Metrics) method(full string) *series {
	if s, ok := m.methods.Load(full); ok {
		return s.(*series)
	}
	svc, method := splitMethod(full)
	s, _ := m.methods.LoadOrStore(full, &series{
		inFlight: m.serverInFlight.WithLabelValues(svc, method),
		duration: m.serverDuration.WithLabelValues(svc, method),
		ok:       m.serverHandled.WithLabelValues(svc, method, codes.OK.String()),
	})
	return s.(*series)
}

// ObserveUpstream makes cloudcockpit_upstream_breakers and
// cloudcockpit_upstream_tenants report s; until then they report zero.
func (m *Metrics) ObserveUpstream(s UpstreamState) { m.upstream.Store(&s) }

// BreakerTransition counts a per-tenant breaker's change to state, labelled
// with its name (BreakerState.String).
func (m *Metrics) BreakerTransition(state resilience.BreakerState) {
	m.breakerMoves.WithLabelValues(state.String()).Inc()
}

// Rejected counts an upstream call or retry refused before anything was sent, for
// reason (one of the rest.Reject* constants).
func (m *Metrics) Rejected(op, reason string) {
	m.rejected.WithLabelValues(boundedOp(op), bounded(reason, rest.RejectCircuitOpen, rest.RejectConcurrencyLimit, rest.RejectTenantConcurrencyLimit)).Inc()
}

// Reasons of cloudcockpit_refused_calls_total.
const (
	RefusedTooManyCalls   = "too_many_calls"  // the process had its most calls in flight
	RefusedClientShare    = "client_share"    // the client certificate had its share in flight
	RefusedTenantShare    = "tenant_share"    // the tenant had its share in flight
	RefusedLargeHeaders   = "large_headers"   // the calls in flight held the budget of large headers
	RefusedMessageTimeout = "message_timeout" // the request message did not arrive in time
)

// RefusedCalls returns the cloudcockpit_refused_calls_total counter of reason (a
// Refused* constant, else "other"), bound once so that a refusal looks nothing up.
func (m *Metrics) RefusedCalls(reason string) prometheus.Counter {
	return m.refusedCalls.WithLabelValues(bounded(reason, RefusedTooManyCalls, RefusedClientShare, RefusedTenantShare, RefusedLargeHeaders, RefusedMessageTimeout))
}

var breakersDesc = prometheus.NewDesc("cloudcockpit_upstream_breakers",
	"Upstream circuit breakers of tenants the upstream has answered with a success, in each state (closed, half_open, open).", []string{"state"}, nil)

func (m *Metrics) collectBreakers(ch chan<- prometheus.Metric) {
	var n [3]int
	if s := m.upstream.Load(); s != nil {
		n = (*s).BreakerStates()
	}
	for state, count := range n {
		ch <- prometheus.MustNewConstMetric(breakersDesc, prometheus.GaugeValue, float64(count), resilience.BreakerState(state).String())
	}
}

func bounded(v string, known ...string) string {
	if slices.Contains(known, v) {
		return v
	}
	return opOther
}

// Coalesced counts a call answered by another call's upstream request, and
// gives its access line the correlation id that request carried.
func (m *Metrics) Coalesced(ctx context.Context, op, correlationID string) {
	m.coalesced.WithLabelValues(boundedOp(op)).Inc()
	if s := StatsFromContext(ctx); s != nil && correlationID != "" {
		s.coalescedWith.Store(&correlationID)
	}
}

// callDone records the attempts one facade call made upstream.
func (m *Metrics) callDone(op string, attempts int) {
	if attempts <= 0 {
		return
	}
	s := m.ops[boundedOp(op)]
	s.attempts.Observe(float64(attempts))
	if attempts > 1 {
		s.retries.Add(float64(attempts - 1))
	}
}

// splitMethod splits "/pkg.Service/Method" into service and method.
func splitMethod(full string) (string, string) {
	full = strings.TrimPrefix(full, "/")
	if i := strings.LastIndexByte(full, '/'); i >= 0 {
		return full[:i], full[i+1:]
	}
	return "unknown", full
}

func statusLabel(code int) string {
	if code < 100 || code > 599 {
		return opOther
	}
	return strconv.Itoa(code)
}

func boundedOp(op string) string {
	return bounded(op, apierr.OpGetReseller, apierr.OpGetAcceptanceLink)
}

// MismatchedAnswer counts an upstream answer of op (else "other") rejected because
// it was about another resource than the one asked for.
func (m *Metrics) MismatchedAnswer(op string) { m.mismatched.WithLabelValues(boundedOp(op)).Inc() }
