package main

import (
	"context"
	"fmt"
	"io"
	"math"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// sample is one series of one scrape, named as Prometheus stores it
// (histograms as _bucket{le}, _sum and _count).
type sample struct {
	name   string
	labels map[string]string
	value  float64
}

// scrape is one read of /metrics.
type scrape struct {
	at      time.Duration // since the load started
	samples []sample
}

// recording is the scrapes of one load run, oldest first.
type recording struct{ scrapes []scrape }

// scrapeEvery reads url every interval until ctx ends; failed reads are
// skipped.
func (r *recording) scrapeEvery(ctx context.Context, client *http.Client, url string, interval time.Duration, start time.Time) {
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		if s, err := read(ctx, client, url); err == nil {
			r.scrapes = append(r.scrapes, scrape{at: time.Since(start), samples: s})
		}
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
	}
}

// read scrapes url once.
func read(ctx context.Context, client *http.Client, url string) ([]sample, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return nil, err
	}
	resp, err := client.Do(req)
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("%s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	families, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		return nil, err
	}
	var out []sample
	for name, f := range families {
		for _, m := range f.GetMetric() {
			labels := map[string]string{}
			for _, l := range m.GetLabel() {
				labels[l.GetName()] = l.GetValue()
			}
			out = append(out, flatten(name, f.GetType(), m, labels)...)
		}
	}
	return out, nil
}

// flatten turns one metric into the samples Prometheus would store.
func flatten(name string, typ dto.MetricType, m *dto.Metric, labels map[string]string) []sample {
	switch typ {
	case dto.MetricType_COUNTER:
		return []sample{{name, labels, m.GetCounter().GetValue()}}
	case dto.MetricType_GAUGE:
		return []sample{{name, labels, m.GetGauge().GetValue()}}
	case dto.MetricType_HISTOGRAM:
		h := m.GetHistogram()
		out := []sample{{name + "_count", labels, float64(h.GetSampleCount())}, {name + "_sum", labels, h.GetSampleSum()}}
		inf := false
		for _, b := range h.GetBucket() {
			inf = inf || math.IsInf(b.GetUpperBound(), 1)
			out = append(out, sample{name + "_bucket", with(labels, "le", strconv.FormatFloat(b.GetUpperBound(), 'g', -1, 64)), float64(b.GetCumulativeCount())})
		}
		if !inf { // the text parser may or may not list the +Inf bucket
			out = append(out, sample{name + "_bucket", with(labels, "le", "+Inf"), float64(h.GetSampleCount())})
		}
		return out
	case dto.MetricType_UNTYPED:
		return []sample{{name, labels, m.GetUntyped().GetValue()}}
	}
	return nil
}

func with(labels map[string]string, k, v string) map[string]string {
	out := make(map[string]string, len(labels)+1)
	for lk, lv := range labels {
		out[lk] = lv
	}
	out[k] = v
	return out
}

// selector picks samples by name and labels.
type selector struct {
	name  string
	match func(map[string]string) bool // nil: every series
}

// sumBy sums the selected samples of one scrape by the value of label by
// ("" sums them all into one group, "").
func (s scrape) sumBy(sel selector, by string) map[string]float64 {
	out := map[string]float64{}
	for _, x := range s.samples {
		if x.name == sel.name && (sel.match == nil || sel.match(x.labels)) {
			out[x.labels[by]] += x.value
		}
	}
	return out
}

// has reports whether any scrape shows the metric name.
func (r *recording) has(name string) bool {
	for _, s := range r.scrapes {
		for _, x := range s.samples {
			if x.name == name {
				return true
			}
		}
	}
	return false
}

// point is one value of a series at an offset in seconds.
type point struct{ t, v float64 }

// series maps a group (label value) to its points.
type series map[string][]point

// gauge returns the selected gauge summed by label by, at every scrape.
func (r *recording) gauge(sel selector, by string) series {
	out := series{}
	for _, s := range r.scrapes {
		for k, v := range s.sumBy(sel, by) {
			out[k] = append(out[k], point{s.at.Seconds(), v})
		}
	}
	return out
}

// rate returns the per-second increase of the selected counters over
// window, summed by label by, at every scrape at least window after the
// first (like rate(x[window]) with a step of the scrape interval).
func (r *recording) rate(sel selector, by string, window time.Duration) series {
	out := series{}
	r.windows(window, func(old, cur scrape) {
		dt := (cur.at - old.at).Seconds()
		before := old.sumBy(sel, by)
		for k, v := range cur.sumBy(sel, by) {
			out[k] = append(out[k], point{cur.at.Seconds(), (v - before[k]) / dt})
		}
	})
	return out
}

// ratio returns rate(num)/rate(den) over window (summed); NaN where den is 0.
func (r *recording) ratio(num, den selector, window time.Duration) []point {
	var out []point
	r.windows(window, func(old, cur scrape) {
		n := cur.sumBy(num, "")[""] - old.sumBy(num, "")[""]
		d := cur.sumBy(den, "")[""] - old.sumBy(den, "")[""]
		v := math.NaN()
		if d > 0 {
			v = n / d
		}
		out = append(out, point{cur.at.Seconds(), v})
	})
	return out
}

// quantile returns histogram_quantile(q) of the selected _bucket series
// over window.
func (r *recording) quantile(q float64, sel selector, window time.Duration) []point {
	var out []point
	r.windows(window, func(old, cur scrape) {
		before, now := old.sumBy(sel, "le"), cur.sumBy(sel, "le")
		type bucket struct{ le, count float64 }
		var bs []bucket
		for le, v := range now {
			ub, err := strconv.ParseFloat(le, 64)
			if err != nil {
				continue
			}
			bs = append(bs, bucket{ub, v - before[le]})
		}
		sort.Slice(bs, func(i, j int) bool { return bs[i].le < bs[j].le })
		v := math.NaN()
		if n := len(bs); n > 1 && bs[n-1].count > 0 {
			rank := q * bs[n-1].count
			i := slices.IndexFunc(bs, func(b bucket) bool { return b.count >= rank })
			switch {
			case i == n-1: // in the +Inf bucket: the highest finite bound
				v = bs[n-2].le
			case i == 0:
				v = bs[0].le * rank / bs[0].count
			default:
				lo, hi := bs[i-1], bs[i]
				v = lo.le + (hi.le-lo.le)*(rank-lo.count)/(hi.count-lo.count)
			}
		}
		out = append(out, point{cur.at.Seconds(), v})
	})
	return out
}

// windows calls f with each scrape and the newest scrape at least window
// older than it.
func (r *recording) windows(window time.Duration, f func(old, cur scrape)) {
	j := 0
	for _, cur := range r.scrapes {
		for j+1 < len(r.scrapes) && cur.at-r.scrapes[j+1].at >= window {
			j++
		}
		if cur.at-r.scrapes[j].at >= window {
			f(r.scrapes[j], cur)
		}
	}
}

// summarize prints the totals of the last scrape: calls by code, upstream
// attempts by status, retries and coalesced calls.
func (r *recording) summarize(w io.Writer, ph phases) {
	last := r.scrapes[len(r.scrapes)-1]
	fmt.Fprintf(w, "plots: %d scrapes over %v\n", len(r.scrapes), last.at.Round(time.Second))
	for _, m := range []struct {
		sel selector
		by  string
	}{
		{selector{"grpc_server_handled_total", func(l map[string]string) bool { return strings.HasPrefix(l["grpc_service"], "cloudcockpit.") }}, "grpc_code"},
		{selector{name: "cloudcockpit_upstream_requests_total"}, "status"},
		{selector{name: "cloudcockpit_upstream_retries_total"}, ""},
		{selector{name: "cloudcockpit_upstream_coalesced_calls_total"}, ""},
		{selector{name: "cloudcockpit_upstream_rejected_total"}, "reason"},
	} {
		fmt.Fprintf(w, "plots: %s by %q: %v\n", m.sel.name, m.by, last.sumBy(m.sel, m.by))
	}
	// The facade's overhead while the upstream is healthy: the median, over
	// the healthy phase's windows, of the facade's quantile minus the
	// upstream attempt's.
	call := selector{"grpc_server_handling_seconds_bucket", func(l map[string]string) bool { return strings.HasPrefix(l["grpc_service"], "cloudcockpit.") }}
	attempt := selector{name: "cloudcockpit_upstream_request_duration_seconds_bucket"}
	for _, q := range []float64{0.5, 0.99} {
		f, u := r.quantile(q, call, window), r.quantile(q, attempt, window)
		var gaps []float64
		for i := range min(len(f), len(u)) {
			if f[i].t < ph.faultsOn.Seconds() && !math.IsNaN(f[i].v-u[i].v) {
				gaps = append(gaps, 1000*(f[i].v-u[i].v))
			}
		}
		if len(gaps) > 0 {
			slices.Sort(gaps)
			fmt.Fprintf(w, "plots: healthy phase, facade p%g minus upstream p%g: median %.1f ms over %d windows (min %.1f, max %.1f)\n",
				100*q, 100*q, gaps[len(gaps)/2], len(gaps), gaps[0], gaps[len(gaps)-1])
		}
	}
}
