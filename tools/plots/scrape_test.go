package main

import (
	"math"
	"testing"
	"time"

	"github.com/google/go-cmp/cmp"
	dto "github.com/prometheus/client_model/go"
)

// histogramScrape is one scrape of a histogram with buckets 0.1, 1 and
// +Inf holding the given cumulative counts.
func histogramScrape(at time.Duration, le01, le1, inf float64) scrape {
	b := func(le string, v float64) sample {
		return sample{"h_bucket", map[string]string{"le": le}, v}
	}
	return scrape{at: at, samples: []sample{b("0.1", le01), b("1", le1), b("+Inf", inf), {"h_count", map[string]string{}, inf}}}
}

func TestQuantile(t *testing.T) {
	tests := []struct {
		name       string
		q          float64
		old, cur   [3]float64 // cumulative counts at le 0.1, 1, +Inf
		want       float64
		wantNaN    bool
		wantWindow bool
	}{
		{name: "median in the first bucket", q: 0.5, cur: [3]float64{100, 100, 100}, want: 0.05},
		{name: "interpolated in the second bucket", q: 0.75, cur: [3]float64{50, 100, 100}, want: 0.55},
		{name: "in +Inf: the highest finite bound", q: 0.99, cur: [3]float64{0, 50, 100}, want: 1},
		{name: "only the window's increase counts", q: 0.5, old: [3]float64{1000, 1000, 1000}, cur: [3]float64{1000, 1100, 1100}, want: 0.55},
		{name: "no calls in the window", q: 0.5, old: [3]float64{5, 5, 5}, cur: [3]float64{5, 5, 5}, wantNaN: true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &recording{scrapes: []scrape{
				histogramScrape(0, tt.old[0], tt.old[1], tt.old[2]),
				histogramScrape(10*time.Second, tt.cur[0], tt.cur[1], tt.cur[2]),
			}}
			got := r.quantile(tt.q, selector{name: "h_bucket"}, 10*time.Second)
			if len(got) != 1 {
				t.Fatalf("got %d points, want 1", len(got))
			}
			if tt.wantNaN {
				if !math.IsNaN(got[0].v) {
					t.Errorf("got %v, want NaN", got[0].v)
				}
				return
			}
			if math.Abs(got[0].v-tt.want) > 1e-9 {
				t.Errorf("got %v, want %v", got[0].v, tt.want)
			}
		})
	}
}

func TestRateAndRatio(t *testing.T) {
	c := func(at time.Duration, ok, bad float64) scrape {
		return scrape{at: at, samples: []sample{
			{"calls_total", map[string]string{"code": "OK"}, ok},
			{"calls_total", map[string]string{"code": "Unavailable"}, bad},
		}}
	}
	r := &recording{scrapes: []scrape{c(0, 0, 0), c(5*time.Second, 50, 0), c(10*time.Second, 90, 10), c(15*time.Second, 140, 10)}}
	rates := r.rate(selector{name: "calls_total"}, "code", 10*time.Second)
	// Windows end at 10 s (from 0 s) and 15 s (from 5 s).
	if got := rates["OK"]; len(got) != 2 || got[0] != (point{10, 9}) || got[1] != (point{15, 9}) {
		t.Errorf("OK rates = %v, want [{10 9} {15 9}]", got)
	}
	if got := rates["Unavailable"]; len(got) != 2 || got[0] != (point{10, 1}) || got[1] != (point{15, 1}) {
		t.Errorf("Unavailable rates = %v, want [{10 1} {15 1}]", got)
	}
	bad := selector{"calls_total", func(l map[string]string) bool { return l["code"] == "Unavailable" }}
	got := r.ratio(bad, selector{name: "calls_total"}, 10*time.Second)
	if len(got) != 2 || got[0] != (point{10, 0.1}) || got[1] != (point{15, 0.1}) {
		t.Errorf("ratio = %v, want [{10 0.1} {15 0.1}]", got)
	}
}

func TestFlattenHistogram(t *testing.T) {
	bucket := func(ub float64, n uint64) *dto.Bucket { return &dto.Bucket{UpperBound: &ub, CumulativeCount: &n} }
	count, sum := uint64(5), 1.5
	tests := []struct {
		name    string
		buckets []*dto.Bucket
	}{
		{"+Inf bucket listed", []*dto.Bucket{bucket(0.1, 3), bucket(math.Inf(1), 5)}},
		{"+Inf bucket implied", []*dto.Bucket{bucket(0.1, 3)}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			m := &dto.Metric{Histogram: &dto.Histogram{SampleCount: &count, SampleSum: &sum, Bucket: tt.buckets}}
			got := map[string]float64{}
			for _, s := range flatten("h", dto.MetricType_HISTOGRAM, m, map[string]string{}) {
				key := s.name + "{" + s.labels["le"] + "}"
				if _, dup := got[key]; dup {
					t.Errorf("%s appears twice", key)
				}
				got[key] = s.value
			}
			want := map[string]float64{"h_count{}": 5, "h_sum{}": 1.5, "h_bucket{0.1}": 3, "h_bucket{+Inf}": 5}
			if diff := cmp.Diff(want, got); diff != "" {
				t.Errorf("samples (-want +got):\n%s", diff)
			}
		})
	}
}
