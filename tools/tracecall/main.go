// Command tracecall reads a runtime/trace of the facade recorded while one
// caller made calls one after another (`bench -trace FILE`), and prints the
// timeline of a typical call: every goroutine hand-off and wait from the
// moment the gRPC reader is woken by the network to the moment the next
// call's request arrives, as the median offset over all calls, in µs.
//
//	go run ./tools/tracecall FILE   (from tools/, or cd tools && go run ./tracecall FILE)
//
// Goroutines are named by the function they run (the gRPC reader, the
// stream worker, gRPC's loopy writer, net/http's write and read loops of
// the upstream connection); each step is "role: from→to", with the role
// that woke it in brackets ("net" for the network poller).
package main

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"
	"time"

	"golang.org/x/exp/trace"
)

// roles names goroutines by a function on their stacks, first match wins.
var roles = []struct{ fn, role string }{
	{"net/http.(*persistConn).writeLoop", "http-write-loop"},
	{"net/http.(*persistConn).readLoop", "http-read-loop"},
	{"(*loopyWriter).run", "grpc-writer"},
	{"(*http2Server).HandleStreams", "grpc-reader"},
	{"(*Server).serverWorker", "handler"},
	{"(*Server).handleStream", "handler"},
	{"(*Server).serveStreams", "grpc-reader"},
	{"net/http.(*conn).serve", "debug-http"},
}

func main() {
	if len(os.Args) != 2 {
		fmt.Fprintln(os.Stderr, "usage: tracecall TRACE_FILE")
		os.Exit(2)
	}
	if err := run(os.Args[1], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "tracecall:", err)
		os.Exit(1)
	}
}

// step is one goroutine state change within a call.
type step struct {
	key string
	at  time.Duration // since the call's start
}

func run(path string, out io.Writer) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer func() { _ = f.Close() }()
	r, err := trace.NewReader(f)
	if err != nil {
		return err
	}
	role := map[trace.GoID]string{}
	// name returns g's role, learning it from stk, a stack of g itself.
	name := func(g trace.GoID, stk trace.Stack) string {
		if g == trace.NoGoroutine {
			return "net"
		}
		if n, ok := role[g]; ok {
			return n
		}
		for fr := range stk.Frames() {
			for _, ro := range roles {
				if strings.Contains(fr.Func, ro.fn) {
					role[g] = ro.role
					return ro.role
				}
			}
		}
		return "other"
	}
	// all is every step in time order (at: trace time), starts the index
	// in all of each call's first step, wake the last wake-up of the gRPC
	// reader by the network, -1 once a call started there.
	var all []step
	var starts []int
	wake := -1
	cpuOf := map[trace.GoID]time.Duration{}
	running := map[trace.GoID]trace.Time{}
	for {
		ev, err := r.ReadEvent()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			return err
		}
		if ev.Kind() != trace.EventStateTransition {
			continue
		}
		st := ev.StateTransition()
		if st.Resource.Kind != trace.ResourceGoroutine {
			continue
		}
		g := st.Resource.Goroutine()
		from, to := st.Goroutine()
		own := st.Stack
		if ev.Goroutine() == g {
			own = ev.Stack()
		}
		who := name(g, own)
		if to == trace.GoRunning {
			running[g] = ev.Time()
		} else if t0, ok := running[g]; ok && from == trace.GoRunning {
			if wake >= 0 || len(starts) > 0 {
				cpuOf[g] += ev.Time().Sub(t0)
			}
			delete(running, g)
		}
		if who == "debug-http" || who == "other" && to != trace.GoRunning && from != trace.GoRunning {
			continue
		}
		by := ""
		if from == trace.GoWaiting && to == trace.GoRunnable {
			by = " [" + name(ev.Goroutine(), trace.NoStack) + "]"
		}
		reason := ""
		if to == trace.GoWaiting && st.Reason != "" {
			reason = " (" + st.Reason + ")"
		}
		all = append(all, step{key: fmt.Sprintf("%s: %v→%v%s%s", who, from, to, by, reason), at: time.Duration(ev.Time())})
		if who == "grpc-reader" && by == " [net]" {
			wake = len(all) - 1
		}
		if who == "handler" && by == " [grpc-reader]" && wake >= 0 {
			// The frames that woke the reader carried a request: a call
			// starts there.
			starts = append(starts, wake)
			wake = -1
		}
	}
	// Steps before the first call and after the last start are dropped.
	var calls [][]step
	for i := 1; i < len(starts); i++ {
		c := slices.Clone(all[starts[i-1]:starts[i]])
		t0 := c[0].at
		for j := range c {
			c[j].at -= t0
		}
		calls = append(calls, c)
	}
	cpu := map[string]time.Duration{}
	for g, d := range cpuOf {
		cpu[role[g]] += d
	}
	if len(calls) < 3 {
		return fmt.Errorf("%d calls found: was the trace recorded at one caller on the facade-grpc phase?", len(calls))
	}
	// The typical call: the most frequent sequence length, then medians of
	// each step's offset over the calls of that length with the same keys.
	byShape := map[string][][]step{}
	for _, c := range calls {
		keys := make([]string, len(c))
		for i, s := range c {
			keys[i] = s.key
		}
		k := strings.Join(keys, "\n")
		byShape[k] = append(byShape[k], c)
	}
	var best [][]step
	for _, cs := range byShape {
		if len(cs) > len(best) {
			best = cs
		}
	}
	fmt.Fprintf(out, "%d calls; the most frequent sequence of state changes covers %d of them; median offsets from the gRPC reader's wake-up:\n\n", len(calls), len(best))
	fmt.Fprintln(out, "| µs | Δ µs | goroutine: state change [woken by] (wait reason) |\n|---|---|---|")
	prev := time.Duration(0)
	for i := range best[0] {
		at := make([]time.Duration, len(best))
		for j, c := range best {
			at[j] = c[i].at
		}
		slices.Sort(at)
		m := at[len(at)/2]
		fmt.Fprintf(out, "| %.1f | %.1f | %s |\n", us(m), us(m-prev), best[0][i].key)
		prev = m
	}
	fmt.Fprintf(out, "\nCPU time per call by goroutine (all %d calls):\n\n| goroutine | µs/call |\n|---|---|\n", len(calls))
	names := make([]string, 0, len(cpu))
	for n := range cpu {
		names = append(names, n)
	}
	slices.SortFunc(names, func(a, b string) int { return int(cpu[b] - cpu[a]) })
	for _, n := range names {
		fmt.Fprintf(out, "| %s | %.1f |\n", n, us(cpu[n])/float64(len(calls)))
	}
	return nil
}

func us(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }
