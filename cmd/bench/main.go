// Command bench measures cloudcockpit-facade against its limits: it starts
// the standalone sandbox upstream, a grpc-floor server and the facade binary,
// each in its own process, then drives them from this process with one
// closed-loop load generator, in interleaved rounds (A B C … then … C B A), so
// that the noise of a shared machine hits every phase alike:
//
//   - direct: HTTP GET to the sandbox, body read fully (a caller without the
//     facade);
//   - grpc-floor: a bare gRPC server answering a fixed Reseller (a gRPC round
//     trip alone);
//   - facade-grpc: GetReseller through the facade, each caller with its own
//     token, so that every call is one upstream request;
//   - facade-rest: the same through the REST mirror;
//   - facade-coalesced: 64 callers with the same token asking for the same
//     reseller, through a second facade whose upstream requests pass a
//     counting proxy that also adds the upstream's latency;
//   - direct-tls and facade-grpc-tls: the same as direct and facade-grpc
//     against a second sandbox serving HTTPS with a certificate of a
//     throw-away CA the facade trusts (-upstream-ca), over HTTP/1.1;
//   - compare-grpc, with -compare-bin: facade-grpc on another build, for A/B
//     comparisons whose rounds interleave with facade-grpc's;
//   - ceiling-grpc: the facade's service (validation, mapping) over a bare
//     GET on the facade's transport, without its interceptors, request
//     slots, breaker, retries or coalescing (see runCeiling): what the
//     facade's libraries and contract allow, so that facade-grpc over
//     ceiling-grpc is the share its own per-call work leaves.
//
// -trace writes a runtime/trace of the facade during a facade-grpc phase at
// one caller, which tools/tracecall turns into the timeline of one call.
// It prints per phase the throughput, latency percentiles, errors, the
// facade's peak RSS and CPU per call, checks the targets of the performance
// issue, and writes the same tables with a description of the machine to
// -out. `make bench` builds the binaries and runs it; `bench -h` lists the
// flags. In -floor-server and -ceiling-server modes it is the grpc-floor
// or the ceiling-grpc server itself.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"os"
	"os/signal"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// config is what the flags set.
type config struct {
	serverBin, sandboxBin string
	// compareBin is a second facade binary whose compare-grpc phases run
	// beside facade-grpc, for A/B measurements in one run; empty: none.
	compareBin string
	workdir    string
	out        string

	rounds          int
	duration        time.Duration
	warmup          time.Duration
	callers         []int
	memCallers      int
	coalesceCallers int
	coalesceLatency time.Duration
	resellerID      string
	only            []string
	quick           bool
	// debugAddrs is the -debug-addr (Go runtime profiles) of each facade,
	// by process name, when profiling was asked for.
	debugAddrs map[string]string
	// trace is the file the facade's runtime/trace of the first facade-grpc
	// phase at one caller is written to; empty: none.
	trace  string
	strict bool

	// -instructions mode (instr.go)
	instructions, split bool
	calls, repeat       int

	// -floor-server and -ceiling-server modes
	floor, ceiling bool
	addr, portFile string
	upstream       string
}

// exitTargetsMissed is the exit status of a -strict run that missed a target.
const exitTargetsMissed = 3

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	cfg, err := parseFlags(os.Args[1:], os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(2)
	}
	switch {
	case cfg.floor:
		err = runFloor(ctx, cfg.addr, cfg.portFile, cfg.resellerID)
	case cfg.ceiling:
		err = runCeiling(ctx, cfg.addr, cfg.portFile, cfg.upstream, cfg.debugAddrs["facade"])
	case cfg.instructions:
		err = runInstructions(ctx, cfg, os.Stdout)
	default:
		var missed bool
		missed, err = run(ctx, cfg, os.Stdout)
		if err == nil && missed && cfg.strict {
			stop()
			os.Exit(exitTargetsMissed)
		}
	}
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "bench:", err)
		os.Exit(1)
	}
}

// parseFlags turns the command line into a config. -quick changes the
// defaults of -rounds, -duration, -warmup and -out; flags given explicitly
// win.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	cfg := config{}
	fs := flag.NewFlagSet("bench", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.serverBin, "server-bin", "", "facade `binary` (built from ./cmd/server into the work directory when empty)")
	fs.StringVar(&cfg.sandboxBin, "sandbox-bin", "", "sandbox upstream `binary` (built from ./cmd/sandbox when empty)")
	fs.StringVar(&cfg.compareBin, "compare-bin", "", "a second facade `binary` (another build or setting), measured in compare-grpc phases interleaved with facade-grpc, for A/B comparisons in one run")
	fs.StringVar(&cfg.workdir, "workdir", "", "`directory` for logs and port files, kept afterwards (default: a temporary one, removed)")
	fs.StringVar(&cfg.out, "out", "bench/results.md", "markdown `file` the results are written to (-quick: bench/results-quick.md); empty: none")
	fs.IntVar(&cfg.rounds, "rounds", 3, "interleaved rounds of every phase (-quick: 2)")
	fs.DurationVar(&cfg.duration, "duration", 4*time.Second, "measured `time` of each phase in each round (-quick: 600ms)")
	fs.DurationVar(&cfg.warmup, "warmup", 500*time.Millisecond, "unmeasured warm-up before each phase (-quick: 200ms)")
	callers := fs.String("callers", "1,32", "comma-separated concurrent callers of the direct, grpc-floor, facade-grpc, ceiling-grpc and facade-rest phases")
	fs.IntVar(&cfg.memCallers, "mem-callers", 256, "callers of the memory phases (facade-grpc and facade-rest); 0 skips them")
	fs.IntVar(&cfg.coalesceCallers, "coalesce-callers", 64, "callers of the facade-coalesced phase (and of its grpc-floor reference); 0 skips it")
	fs.DurationVar(&cfg.coalesceLatency, "coalesce-latency", 2*time.Millisecond, "latency the counting proxy adds to each upstream request of the coalescing facade")
	fs.StringVar(&cfg.resellerID, "reseller", sandbox.ContosoResellerID, "reseller `id` every call asks for (the sandbox's ~1.5 KB Contoso by default)")
	only := fs.String("phases", "", "comma-separated phases to run, by kind (facade-grpc) or kind/callers (facade-grpc/32); default all")
	fs.BoolVar(&cfg.quick, "quick", false, "short run for CI (about 20 s)")
	debug := fs.String("debug-addr", "", "serve the Go runtime profiles of the facade at this loopback `address` (and of the coalescing facade at the next port), for `go tool pprof` during a run")
	fs.StringVar(&cfg.trace, "trace", "", "write a runtime/trace of the facade during the first facade-grpc phase at 1 caller (its first second) to this `file`, for `go tool trace` (serves the facade's profiles at a free loopback port unless -debug-addr is given)")
	fs.BoolVar(&cfg.strict, "strict", false, "exit with status 3 when a target is missed")
	fs.BoolVar(&cfg.instructions, "instructions", false, "count the user-space instructions per call of the facade (and of -compare-bin and the ceiling-grpc server) under valgrind's callgrind, instead of load phases: -calls calls per measurement, -repeat measurements (phases facade-grpc, facade-rest, compare-grpc, compare-rest, ceiling-grpc; -out: bench/instructions.md)")
	fs.IntVar(&cfg.calls, "calls", 2000, "-instructions: calls per measurement (rounded down to a multiple of the callers)")
	fs.IntVar(&cfg.repeat, "repeat", 3, "-instructions: measurements of each phase, each on a server process of its own")
	fs.BoolVar(&cfg.split, "split", false, "-instructions: split the median measurement of each phase by package group (callgrind_annotate; the binaries need their symbol tables)")
	fs.BoolVar(&cfg.floor, "floor-server", false, "serve the grpc-floor instead of benchmarking (used by the harness itself)")
	fs.BoolVar(&cfg.ceiling, "ceiling-server", false, "serve the ceiling-grpc phase's server instead of benchmarking (used by the harness itself)")
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:0", "-floor-server, -ceiling-server: listen `address`")
	fs.StringVar(&cfg.portFile, "port-file", "", "-floor-server, -ceiling-server: `file` to write the listening address to")
	fs.StringVar(&cfg.upstream, "upstream", "", "-ceiling-server: the upstream's base `URL`")
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), "Usage: bench [flags]\n\nBenchmarks cloudcockpit-facade against the direct upstream and a bare gRPC server.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		return cfg, err
	}
	if fs.NArg() > 0 {
		return cfg, fmt.Errorf("unexpected argument %q", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	if cfg.quick {
		quickDefault(set, "rounds", func() { cfg.rounds = 2 })
		quickDefault(set, "duration", func() { cfg.duration = 600 * time.Millisecond })
		quickDefault(set, "warmup", func() { cfg.warmup = 200 * time.Millisecond })
		quickDefault(set, "out", func() { cfg.out = "bench/results-quick.md" })
	}
	if cfg.instructions {
		quickDefault(set, "out", func() { cfg.out = "bench/instructions.md" })
	}
	for s := range strings.SplitSeq(*callers, ",") {
		n, err := strconv.Atoi(strings.TrimSpace(s))
		if err != nil || n < 1 {
			return cfg, fmt.Errorf("-callers %q: want positive numbers separated by commas", *callers)
		}
		cfg.callers = append(cfg.callers, n)
	}
	if *debug != "" {
		host, port, err := net.SplitHostPort(*debug)
		n, perr := strconv.Atoi(port)
		if err != nil || perr != nil || n < 1 || n > 65534 {
			return cfg, fmt.Errorf("-debug-addr %q: want host:port with a fixed port", *debug)
		}
		cfg.debugAddrs = map[string]string{
			"facade":            net.JoinHostPort(host, port),
			"facade-coalescing": net.JoinHostPort(host, strconv.Itoa(n+1)),
		}
	}
	if *only != "" {
		cfg.only = strings.Split(*only, ",")
	}
	switch {
	case cfg.rounds < 1:
		return cfg, errors.New("-rounds must be at least 1")
	case cfg.duration <= 0 || cfg.warmup < 0:
		return cfg, errors.New("-duration must be positive and -warmup not negative")
	case cfg.calls < 1 || cfg.repeat < 1:
		return cfg, errors.New("-calls and -repeat must be at least 1")
	case cfg.memCallers < 0 || cfg.coalesceCallers < 0 || cfg.coalesceLatency < 0:
		return cfg, errors.New("-mem-callers, -coalesce-callers and -coalesce-latency must not be negative")
	}
	return cfg, nil
}

// quickDefault applies a -quick default unless the flag was given.
func quickDefault(set map[string]bool, name string, apply func()) {
	if !set[name] {
		apply()
	}
}
