package main

import (
	"fmt"
	"image/color"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gonum.org/v1/plot"
	"gonum.org/v1/plot/plotter"
	"gonum.org/v1/plot/plotutil"
	"gonum.org/v1/plot/vg"
	"gonum.org/v1/plot/vg/draw"
	"gonum.org/v1/plot/vg/vgimg"
)

// window is the range of the rates and quantiles, like [$__rate_interval].
const window = 10 * time.Second

// badCodes are the codes that count against the availability SLO
// (docs/operations.md; rules.yaml).
var badCodes = map[string]bool{
	"Unknown": true, "Internal": true, "Unavailable": true, "DeadlineExceeded": true,
	"ResourceExhausted": true, "DataLoss": true, "Unimplemented": true,
}

// facadeCall selects the facade's own services (not health or reflection).
func facadeCall(l map[string]string) bool {
	return strings.HasPrefix(l["grpc_service"], "cloudcockpit.")
}

// line is one named series of a panel.
type line struct {
	name   string
	points []point
	dashed bool
}

// panel is one plot: a title, a y axis and its lines.
type panel struct {
	title, yLabel string
	logY          bool
	lines         []line
}

// render draws the panels of the dashboard that the recording has data for
// into out, one PNG per figure.
func render(r *recording, ph phases, out string) error {
	figures := []struct {
		file   string
		panels []panel
	}{
		{"ops-traffic.png", []panel{trafficPanel(r), availabilityPanel(r)}},
		{"ops-latency.png", []panel{latencyPanel(r)}},
		{"ops-upstream.png", []panel{upstreamPanel(r), resiliencePanel(r)}},
		{"ops-breakers.png", []panel{breakersPanel(r), refusedPanel(r)}},
		{"ops-process.png", []panel{memoryPanel(r), concurrencyPanel(r)}},
	}
	for _, f := range figures {
		var ps []panel
		for _, p := range f.panels {
			if len(p.lines) == 0 {
				fmt.Fprintf(os.Stderr, "plots: %s: no data for %q (the binary does not export its metrics yet)\n", f.file, p.title)
				continue
			}
			ps = append(ps, p)
		}
		if len(ps) == 0 {
			continue
		}
		if err := save(filepath.Join(out, f.file), ps, ph); err != nil {
			return fmt.Errorf("%s: %w", f.file, err)
		}
		fmt.Fprintf(os.Stderr, "plots: wrote %s\n", filepath.Join(out, f.file))
	}
	return nil
}

// grouped turns a series map into lines, sorted by name, named by label.
func grouped(s series, name func(string) string) []line {
	var out []line
	for k, pts := range s {
		out = append(out, line{name: name(k), points: pts})
	}
	slices.SortFunc(out, func(a, b line) int { return strings.Compare(a.name, b.name) })
	return out
}

func trafficPanel(r *recording) panel {
	s := r.rate(selector{"grpc_server_handled_total", facadeCall}, "grpc_code", window)
	return panel{title: "Facade calls per second by code", yLabel: "calls/s", lines: grouped(s, func(k string) string { return k })}
}

func availabilityPanel(r *recording) panel {
	bad := selector{"grpc_server_handled_total", func(l map[string]string) bool { return facadeCall(l) && badCodes[l["grpc_code"]] }}
	all := selector{"grpc_server_handled_total", facadeCall}
	ratio := r.ratio(bad, all, window)
	for i := range ratio {
		ratio[i].v *= 100
	}
	if len(ratio) == 0 {
		return panel{}
	}
	first, last := ratio[0].t, ratio[len(ratio)-1].t
	flat := func(v float64) []point { return []point{{first, v}, {last, v}} }
	return panel{title: "Availability SLI: failed calls / all calls", yLabel: "% of calls", lines: []line{
		{name: "failed (facade's or upstream's fault)", points: ratio},
		{name: "fast-burn threshold (14.4 x 0.5%)", points: flat(14.4 * 0.5), dashed: true},
		{name: "error budget (0.5%)", points: flat(0.5), dashed: true},
	}}
}

func latencyPanel(r *recording) panel {
	ms := func(pts []point) []point {
		for i := range pts {
			pts[i].v *= 1000
		}
		return pts
	}
	call := selector{"grpc_server_handling_seconds_bucket", facadeCall}
	attempt := selector{name: "cloudcockpit_upstream_request_duration_seconds_bucket"}
	return panel{title: "Latency: facade call vs upstream attempt", yLabel: "ms (log scale)", logY: true, lines: []line{
		{name: "facade p99", points: ms(r.quantile(0.99, call, window))},
		{name: "facade p50", points: ms(r.quantile(0.5, call, window))},
		{name: "upstream p99", points: ms(r.quantile(0.99, attempt, window)), dashed: true},
		{name: "upstream p50", points: ms(r.quantile(0.5, attempt, window)), dashed: true},
	}}
}

func upstreamPanel(r *recording) panel {
	s := r.rate(selector{name: "cloudcockpit_upstream_requests_total"}, "status", window)
	return panel{title: "Upstream attempts per second by status", yLabel: "attempts/s", lines: grouped(s, func(k string) string { return k })}
}

func resiliencePanel(r *recording) panel {
	var lines []line
	for _, m := range []struct{ metric, name string }{
		{"cloudcockpit_upstream_retries_total", "retries"},
		{"cloudcockpit_upstream_coalesced_calls_total", "coalesced calls"},
		{"cloudcockpit_upstream_mismatched_answers_total", "mismatched answers"},
	} {
		if r.has(m.metric) {
			lines = append(lines, line{name: m.name, points: r.rate(selector{name: m.metric}, "", window)[""]})
		}
	}
	return panel{title: "Retries, coalescing, mismatched answers", yLabel: "per second", lines: lines}
}

func breakersPanel(r *recording) panel {
	s := r.gauge(selector{name: "cloudcockpit_upstream_breakers"}, "state")
	lines := grouped(s, func(k string) string { return "breakers " + k })
	if r.has("cloudcockpit_upstream_tenants") {
		lines = append(lines, line{name: "tenants tracked", points: r.gauge(selector{name: "cloudcockpit_upstream_tenants"}, "")[""], dashed: true})
	}
	if len(s) == 0 {
		return panel{title: "Circuit breakers by state"}
	}
	return panel{title: "Circuit breakers by state", yLabel: "breakers", lines: lines}
}

func refusedPanel(r *recording) panel {
	s := r.rate(selector{name: "cloudcockpit_upstream_rejected_total"}, "reason", window)
	return panel{title: "Calls refused locally by reason", yLabel: "calls/s", lines: grouped(s, func(k string) string { return k })}
}

func memoryPanel(r *recording) panel {
	mib := func(pts []point) []point {
		for i := range pts {
			pts[i].v /= 1 << 20
		}
		return pts
	}
	return panel{title: "Memory", yLabel: "MiB", lines: []line{
		{name: "resident (RSS)", points: mib(r.gauge(selector{name: "process_resident_memory_bytes"}, "")[""])},
		{name: "Go heap in use", points: mib(r.gauge(selector{name: "go_memstats_heap_inuse_bytes"}, "")[""])},
	}}
}

func concurrencyPanel(r *recording) panel {
	return panel{title: "Goroutines and calls in flight", yLabel: "count", lines: []line{
		{name: "goroutines", points: r.gauge(selector{name: "go_goroutines"}, "")[""]},
		{name: "facade calls in flight", points: r.gauge(selector{"grpc_server_in_flight_requests", facadeCall}, "")[""]},
		{name: "upstream requests in flight", points: r.gauge(selector{name: "cloudcockpit_upstream_in_flight_requests"}, "")[""], dashed: true},
	}}
}

// save draws the panels side by side into one PNG file.
func save(path string, panels []panel, ph phases) error {
	plots := make([]*plot.Plot, len(panels))
	for i, p := range panels {
		pl, err := draw1(p, ph)
		if err != nil {
			return fmt.Errorf("%s: %w", p.title, err)
		}
		plots[i] = pl
	}
	w := vg.Length(len(panels)) * 5.5 * vg.Inch
	img := vgimg.NewWith(vgimg.UseWH(w, 3.4*vg.Inch), vgimg.UseDPI(110))
	dc := draw.New(img)
	tiles := draw.Tiles{Rows: 1, Cols: len(panels), PadX: vg.Millimeter * 6, PadTop: vg.Millimeter * 2, PadBottom: vg.Millimeter * 2, PadLeft: vg.Millimeter * 2, PadRight: vg.Millimeter * 4}
	canvases := plot.Align([][]*plot.Plot{plots}, tiles, dc)
	for i, pl := range plots {
		pl.Draw(canvases[0][i])
	}
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	if _, err := (vgimg.PngCanvas{Canvas: img}).WriteTo(f); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// faultShade is the faulty phase's background.
var faultShade = color.RGBA{R: 255, G: 200, B: 200, A: 255}

// draw1 makes one panel's plot, with the faulty phase shaded.
func draw1(p panel, ph phases) (*plot.Plot, error) {
	pl := plot.New()
	pl.Title.Text = p.title
	pl.X.Label.Text = "seconds since the load started (shaded: upstream faults injected)"
	pl.Y.Label.Text = p.yLabel
	pl.Legend.Top = true
	pl.Legend.Left = true
	pl.Legend.TextStyle.Font.Size = vg.Points(8)
	pl.X.Tick.Marker = plot.TickerFunc(everyTwenty)
	// Every panel spans the whole run, also when its series start late
	// (a counter appears at its first increment).
	pl.X.Min, pl.X.Max = 0, ph.end.Seconds()
	pl.Add(plotter.NewGrid())
	lo, hi := math.Inf(1), math.Inf(-1)
	var xys []plotter.XYs
	for _, l := range p.lines {
		var pts plotter.XYs
		for _, pt := range l.points {
			if math.IsNaN(pt.v) || math.IsInf(pt.v, 0) || (p.logY && pt.v <= 0) {
				continue
			}
			pts = append(pts, plotter.XY{X: pt.t, Y: pt.v})
			lo, hi = math.Min(lo, pt.v), math.Max(hi, pt.v)
		}
		xys = append(xys, pts)
	}
	if math.IsInf(lo, 0) {
		return nil, fmt.Errorf("no finite values")
	}
	if !p.logY {
		lo = math.Min(lo, 0)
	}
	if hi == lo {
		hi = lo + 1
	}
	hi *= 1.25 // room for the legend
	if p.logY {
		pl.Y.Scale = plot.LogScale{}
		pl.Y.Tick.Marker = plot.LogTicks{Prec: -1}
		hi *= 4
	}
	shade, err := plotter.NewPolygon(plotter.XYs{
		{X: ph.faultsOn.Seconds(), Y: lo}, {X: ph.faultsOff.Seconds(), Y: lo},
		{X: ph.faultsOff.Seconds(), Y: hi}, {X: ph.faultsOn.Seconds(), Y: hi},
	})
	if err != nil {
		return nil, err
	}
	shade.Color = faultShade
	shade.LineStyle.Width = 0
	pl.Add(shade)
	for i, l := range p.lines {
		if len(xys[i]) == 0 {
			continue
		}
		ln, err := plotter.NewLine(xys[i])
		if err != nil {
			return nil, err
		}
		ln.Color = plotutil.Color(i)
		ln.Width = vg.Points(1.5)
		if l.dashed {
			ln.Dashes = []vg.Length{vg.Points(5), vg.Points(3)}
		}
		pl.Add(ln)
		pl.Legend.Add(l.name, ln)
	}
	return pl, nil
}

// everyTwenty puts a labelled tick every 20 s and a small one every 5 s.
func everyTwenty(lo, hi float64) []plot.Tick {
	var ticks []plot.Tick
	for t := math.Ceil(lo/5) * 5; t <= hi; t += 5 {
		label := ""
		if math.Mod(t, 20) == 0 {
			label = fmt.Sprintf("%.0f", t)
		}
		ticks = append(ticks, plot.Tick{Value: t, Label: label})
	}
	return ticks
}
