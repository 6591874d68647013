package main

import (
	"context"
	"sync"
	"time"
)

// callFunc makes one call as worker w (0 ≤ w < callers) and returns an error
// when the call failed or its answer was not the expected one.
type callFunc func(ctx context.Context, w int) error

// worker is the state one load-generator goroutine owns: nothing in it is
// shared, so recording needs no lock. Each worker is allocated on its own, so
// the counters of two workers never share a cache line.
type worker struct {
	hist     histogram // completions inside the measurement window
	total    uint64    // every completed call, warm-up and overrun included
	errors   uint64    // every failed call, warm-up and overrun included
	firstErr error
}

// loadResult is what one closed-loop run measured.
type loadResult struct {
	callers  int
	window   time.Duration
	hist     histogram // latencies of the calls completed inside the window
	total    uint64    // every completed call, warm-up and overrun included
	errors   uint64
	firstErr string
}

// rps returns the calls completed inside the window per second.
func (r *loadResult) rps() float64 {
	if r.window <= 0 {
		return 0
	}
	return float64(r.hist.n) / r.window.Seconds()
}

// loadGen runs closed-loop load: N goroutines, each making one call after
// the other as fast as the answers come. Its workers are allocated once, for
// the largest number of callers, and reused by every run.
type loadGen struct {
	workers []*worker
}

func newLoadGen(maxCallers int) *loadGen {
	g := &loadGen{workers: make([]*worker, maxCallers)}
	for i := range g.workers {
		g.workers[i] = new(worker)
	}
	return g
}

// windowHooks are called by run at the start and at the end of the
// measurement window, from the goroutine that called run.
type windowHooks struct {
	start, end func()
}

// run makes calls from callers goroutines for warmup+window. A call counts
// toward throughput and latency when it completes inside the window; calls
// made during the warm-up or overrunning the window only count their errors.
// Calls still running window+callTimeout after the start are cancelled (and
// count as errors).
func (g *loadGen) run(ctx context.Context, callers int, warmup, window time.Duration, call callFunc, hooks windowHooks) loadResult {
	if callers > len(g.workers) {
		panic("loadGen: more callers than workers")
	}
	const callTimeout = 30 * time.Second
	begin := time.Now()
	measureStart := begin.Add(warmup)
	measureEnd := measureStart.Add(window)
	ctx, cancel := context.WithDeadline(ctx, measureEnd.Add(callTimeout))
	defer cancel()

	var wg sync.WaitGroup
	for i := range callers {
		w := g.workers[i]
		*w = worker{}
		wg.Go(func() {
			t0 := time.Now()
			for {
				err := call(ctx, i)
				t1 := time.Now()
				w.total++
				if err != nil {
					w.errors++
					if w.firstErr == nil {
						w.firstErr = err
					}
				} else if !t1.Before(measureStart) && t1.Before(measureEnd) {
					w.hist.record(t1.Sub(t0))
				}
				if !t1.Before(measureEnd) || ctx.Err() != nil {
					return
				}
				t0 = t1
			}
		})
	}
	sleepUntil(ctx, measureStart)
	if hooks.start != nil {
		hooks.start()
	}
	sleepUntil(ctx, measureEnd)
	if hooks.end != nil {
		hooks.end()
	}
	wg.Wait()

	res := loadResult{callers: callers, window: window}
	for _, w := range g.workers[:callers] {
		res.hist.merge(&w.hist)
		res.total += w.total
		res.errors += w.errors
		if res.firstErr == "" && w.firstErr != nil {
			res.firstErr = w.firstErr.Error()
		}
	}
	return res
}

// sleepUntil sleeps until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) {
	d := time.Until(t)
	if d <= 0 {
		return
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
	case <-ctx.Done():
	}
}
