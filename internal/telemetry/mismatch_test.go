package telemetry

import (
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus/testutil"
)

func TestMismatchedAnswers(t *testing.T) {
	tests := []struct {
		name string
		give []string
		want string
	}{
		{
			name: "none: zero series",
			want: `
cloudcockpit_upstream_mismatched_answers_total{operation="GetAcceptanceLink"} 0
cloudcockpit_upstream_mismatched_answers_total{operation="GetReseller"} 0
`,
		},
		{
			name: "counted by operation, unknown ones as other",
			give: []string{apierr.OpGetReseller, apierr.OpGetReseller, "Unknown"},
			want: `
cloudcockpit_upstream_mismatched_answers_total{operation="GetAcceptanceLink"} 0
cloudcockpit_upstream_mismatched_answers_total{operation="GetReseller"} 2
cloudcockpit_upstream_mismatched_answers_total{operation="other"} 1
`,
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics(Build{})
			for _, op := range tt.give {
				m.MismatchedAnswer(op)
			}
			want := "# HELP cloudcockpit_upstream_mismatched_answers_total Upstream answers rejected because they were about another resource than the one asked for, by operation.\n" +
				"# TYPE cloudcockpit_upstream_mismatched_answers_total counter" + tt.want
			if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), "cloudcockpit_upstream_mismatched_answers_total"); err != nil {
				t.Error(err)
			}
		})
	}
}
