package telemetry

import (
	"github.com/prometheus/client_golang/prometheus"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// MismatchedAnswers is the counter
// cloudcockpit_upstream_mismatched_answers_total{operation}: upstream
// answers the facade rejected because they were about another resource than
// the one asked for (a reseller whose id is not the requested one). Any
// increase means answers were mixed up on the way (a desynchronised
// connection, a faulty layer) and deserves an alert.
type MismatchedAnswers struct {
	counter *prometheus.CounterVec
}

// NewMismatchedAnswers registers the counter in reg, with a zero series for
// each operation so that a rate can be computed before the first rejection.
func NewMismatchedAnswers(reg prometheus.Registerer) *MismatchedAnswers {
	c := prometheus.NewCounterVec(prometheus.CounterOpts{
		Name: "cloudcockpit_upstream_mismatched_answers_total",
		Help: "Upstream answers rejected because they were about another resource than the one asked for, by operation.",
	}, []string{"operation"})
	reg.MustRegister(c)
	for _, op := range []string{apierr.OpGetReseller, apierr.OpGetAcceptanceLink} {
		c.WithLabelValues(op)
	}
	return &MismatchedAnswers{counter: c}
}

// Inc counts one rejected answer of operation op (an unknown operation is
// counted as "other").
func (m *MismatchedAnswers) Inc(op string) { m.counter.WithLabelValues(boundedOp(op)).Inc() }
