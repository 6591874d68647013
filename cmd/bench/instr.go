package main

import (
	"bufio"
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"google.golang.org/grpc"
)

// The -instructions mode counts the user-space instructions a server executes
// per call under valgrind's callgrind, a figure that does not move with the
// machine's load the way CPU time does. Each server runs under callgrind
// with instrumentation off; for each number of callers the harness makes
// warm-up calls, turns instrumentation on and zeroes the counters
// (callgrind_control), makes exactly -calls calls, dumps the counters and
// turns instrumentation off again, so that start-up, warm-up and the pauses
// between measurements are left out. The sandbox upstream runs natively, as
// its own process. Every measurement is repeated -repeat times, each on a
// server process of its own, the servers alternating, and the report gives
// each measurement, their median and spread, and (with -split) the median
// run's instructions by package group.

// vgGODEBUG is what valgrind 3.19 needs of the Go runtime: no asynchronous
// preemption (callgrind fails an assertion on the runtime's preemption
// signals) and no RDTSCP instruction, which valgrind cannot decode (the
// runtime's cputicks falls back to RDTSC).
//
// memprofilerate=0: the servers serve their profiles (-debug-addr), through
// which the harness starts each measurement with a collection, and the
// facade samples no allocations then unless told otherwise (cmd/server stops
// the sampling only when no profile is served).
const vgGODEBUG = "asyncpreemptoff=1,cpu.rdtscp=off,memprofilerate=0"

// instrTarget is one kind of call on one server: facade-grpc and facade-rest
// on the facade, compare-grpc and compare-rest on -compare-bin, ceiling-grpc
// on this binary's -ceiling-server.
type instrTarget struct {
	kind   string
	server string // the serverRun that serves it
}

// instrServer is a server the mode starts under callgrind.
type instrServer struct {
	name string
	bin  string // empty: this binary in -ceiling-server mode
}

// instrResult is one measurement: instructions over calls.
type instrResult struct {
	kind         string
	callers      int
	calls        int
	instructions uint64
	// work is instructions outside garbage collection and scheduling (the
	// groups whose share moves with timing), when -split read the dump.
	work uint64
	dump string // the callgrind dump of the measured calls
}

func (r instrResult) perCall() float64 { return float64(r.instructions) / float64(r.calls) }

// runInstructions is the -instructions mode.
func runInstructions(ctx context.Context, cfg config, out io.Writer) error {
	if _, err := exec.LookPath("valgrind"); err != nil {
		return errors.New("-instructions needs valgrind (and callgrind_control) on PATH")
	}
	h := &harness{cfg: cfg, out: out}
	var err error
	if cfg.workdir != "" {
		h.workdir = cfg.workdir
		err = os.MkdirAll(h.workdir, 0o750)
	} else {
		h.workdir, err = os.MkdirTemp("", "cloudcockpit-instr-")
	}
	if err != nil {
		return err
	}
	fmt.Fprintf(out, "callgrind dumps in %s\n", h.workdir)
	defer h.close()
	if err := h.build(ctx); err != nil {
		return err
	}
	var addr string
	if h.sandbox, addr, err = h.startWithPortFile(ctx, "sandbox", cfg.sandboxBin, "-addr", "127.0.0.1:0"); err != nil {
		return err
	}
	h.sandboxURL = "http://" + addr
	flags, err := listenFlags(ctx, cfg.serverBin)
	if err != nil {
		return err
	}
	servers, targets := instrPlan(h, cfg)
	if len(targets) == 0 {
		return errors.New("-phases selects nothing -instructions measures (facade-grpc, facade-rest, ceiling-grpc, compare-grpc, compare-rest)")
	}
	machine := describeMachine(ctx, cfg.serverBin)
	fmt.Fprintf(out, "%s\n", machine.oneLine())
	var results []instrResult
	for rep := range cfg.repeat {
		order := slices.Clone(servers)
		if rep%2 == 1 {
			slices.Reverse(order)
		}
		for _, s := range order {
			rs, err := h.instrServerRun(ctx, s, rep, flags, targets)
			results = append(results, rs...)
			if err != nil {
				return err
			}
		}
	}
	var split string
	if cfg.split {
		split = instrSplits(ctx, results)
	}
	table := instrTable(results)
	fmt.Fprintf(out, "\n%s", table)
	if split != "" {
		fmt.Fprintf(out, "\n%s", split)
	}
	if cfg.out != "" {
		md := fmt.Sprintf("# Instructions per call\n\n- date: %s\n- revision: %s\n- facade: %s\n- %s\n\n`bench %s`\n\n%s",
			machine.date, machine.revision, machine.facade, machine.oneLine(), strings.Join(os.Args[1:], " "), table)
		if split != "" {
			md += "\n" + split
		}
		if err := os.WriteFile(cfg.out, []byte(md), 0o644); err != nil { //nolint:gosec // a report, meant to be read
			return err
		}
		fmt.Fprintf(out, "\nwrote %s\n", cfg.out)
	}
	return nil
}

// instrPlan lists the servers to start and the targets -phases selects.
func instrPlan(h *harness, cfg config) ([]instrServer, []instrTarget) {
	servers := []instrServer{{"facade", cfg.serverBin}}
	if cfg.compareBin != "" {
		servers = append(servers, instrServer{"compare", cfg.compareBin})
	}
	servers = append(servers, instrServer{"ceiling", ""})
	all := []instrTarget{
		{kindGRPC, "facade"}, {kindREST, "facade"},
		{kindCompare, "compare"}, {"compare-rest", "compare"},
		{kindCeiling, "ceiling"},
	}
	var targets []instrTarget
	for _, t := range all {
		if slices.ContainsFunc(servers, func(s instrServer) bool { return s.name == t.server }) && h.selectedKind(t.kind) {
			targets = append(targets, t)
		}
	}
	servers = slices.DeleteFunc(servers, func(s instrServer) bool {
		return !slices.ContainsFunc(targets, func(t instrTarget) bool { return t.server == s.name })
	})
	return servers, targets
}

// instrServerRun starts server s under callgrind, measures each of its
// targets at each number of callers, and stops it.
func (h *harness) instrServerRun(ctx context.Context, s instrServer, rep int, flags []string, targets []instrTarget) ([]instrResult, error) {
	outFile := filepath.Join(h.workdir, fmt.Sprintf("callgrind.%s.%d", s.name, rep+1))
	vg := []string{"--tool=callgrind", "--instr-atstart=no", "--callgrind-out-file=" + outFile}
	env := []string{"GODEBUG=" + strings.Trim(os.Getenv("GODEBUG")+","+vgGODEBUG, ",")}
	var (
		p     *proc
		addrs = map[string]string{}
	)
	debugAddr, err := freeAddr(ctx)
	if err != nil {
		return nil, err
	}
	if s.bin == "" {
		self, err := os.Executable()
		if err != nil {
			return nil, err
		}
		portFile := filepath.Join(h.workdir, "ceiling.addr")
		_ = os.Remove(portFile)
		args := slices.Concat(vg, []string{self, "-ceiling-server", "-addr", "127.0.0.1:0", "-upstream", h.sandboxURL, "-port-file", portFile, "-debug-addr", debugAddr})
		if p, err = startProc(ctx, s.name, "valgrind", args, outFile+".log", env...); err != nil {
			return nil, err
		}
		if addrs["grpc-addr"], err = waitPortFile(ctx, p, portFile); err != nil {
			p.stop(5 * time.Second)
			return nil, err
		}
	} else {
		args := slices.Concat(vg, []string{s.bin, "-upstream-url", h.sandboxURL, "-debug-addr", debugAddr})
		for _, f := range flags {
			a, err := freeAddr(ctx)
			if err != nil {
				return nil, err
			}
			addrs[f] = a
			args = append(args, "-"+f, a)
		}
		if p, err = startProc(ctx, s.name, "valgrind", args, outFile+".log", env...); err != nil {
			return nil, err
		}
	}
	defer p.stop(10 * time.Second)
	var conn *grpc.ClientConn
	if s.bin == "" { // the ceiling server has no health service: it listens once it has written its address
		conn, err = dialGRPC(addrs["grpc-addr"])
	} else {
		conn, err = waitServing(ctx, p, addrs["grpc-addr"])
	}
	if err != nil {
		return nil, err
	}
	defer func() { _ = conn.Close() }()
	restHTTP := newHTTPClient(slices.Max(h.cfg.callers))
	defer restHTTP.CloseIdleConnections()

	var results []instrResult
	for _, t := range targets {
		if t.server != s.name {
			continue
		}
		for _, n := range h.cfg.callers {
			if !h.selected(t.kind, n) {
				continue
			}
			call := instrCall(t.kind, conn, restHTTP, "http://"+addrs["http-addr"]+"/v1/Resellers/"+h.cfg.resellerID, h.cfg.resellerID, n)
			r, err := measureInstructions(ctx, p, debugAddr, outFile, t.kind, n, h.cfg.calls, call)
			if err != nil {
				return results, err
			}
			fmt.Fprintf(h.out, "  %-14s run %d  %s  %.0f instructions per call\n", phaseName(t.kind, n), rep+1, r.dump, r.perCall())
			results = append(results, r)
		}
	}
	return results, nil
}

// instrCall returns the call of a target kind at n callers, each caller with
// its own token as in the load phases.
func instrCall(kind string, conn *grpc.ClientConn, restHTTP *http.Client, restURL, resellerID string, n int) callFunc {
	if strings.HasSuffix(kind, "-rest") {
		return newHTTPTarget(restHTTP, restURL, resellerID, n).call
	}
	return newGRPCTarget(conn, resellerID, n, false).call
}

// measureInstructions makes warm-up calls, has the server collect its
// garbage, then makes exactly calls calls from n callers with callgrind's
// counters on, and returns what they counted. The collection before the
// counted calls makes their share of collection cycles the same in every
// run: otherwise one cycle more or less in a window of 1,000 calls moves the
// count by 2 to 4 %.
func measureInstructions(ctx context.Context, p *proc, debugAddr, outFile, kind string, n, calls int, call callFunc) (instrResult, error) {
	r := instrResult{kind: kind, callers: n, calls: calls / n * n}
	if r.calls == 0 {
		return r, fmt.Errorf("-calls %d is fewer than %d callers", calls, n)
	}
	if err := fixedCalls(ctx, n, max(r.calls/4, 4*n), call); err != nil {
		return r, fmt.Errorf("%s warm-up: %w", phaseName(kind, n), err)
	}
	if err := collectGarbage(ctx, debugAddr); err != nil {
		return r, err
	}
	pid := strconv.Itoa(p.pid())
	if err := callgrindControl(ctx, "-i", "on", pid); err != nil {
		return r, err
	}
	if err := callgrindControl(ctx, "-z", pid); err != nil {
		return r, err
	}
	callErr := fixedCalls(ctx, n, r.calls, call)
	before, _ := filepath.Glob(outFile + ".*")
	dumpErr := callgrindControl(ctx, "-d", pid)
	offErr := callgrindControl(ctx, "-i", "off", pid)
	if err := errors.Join(callErr, dumpErr, offErr); err != nil {
		return r, fmt.Errorf("%s: %w", phaseName(kind, n), err)
	}
	dump, err := newDump(ctx, outFile, before)
	if err != nil {
		return r, err
	}
	r.dump = dump
	r.instructions, err = callgrindTotal(dump)
	return r, err
}

// fixedCalls makes exactly total calls from n concurrent callers (total is
// a multiple of n) and returns the first error.
func fixedCalls(ctx context.Context, n, total int, call callFunc) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		first error
	)
	for w := range n {
		wg.Go(func() {
			for range total / n {
				if err := call(ctx, w); err != nil {
					mu.Lock()
					if first == nil {
						first = err
					}
					mu.Unlock()
					return
				}
			}
		})
	}
	wg.Wait()
	return first
}

// collectGarbage has a server run a garbage collection, through the heap
// profile's gc parameter at its -debug-addr.
func collectGarbage(ctx context.Context, debugAddr string) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+debugAddr+"/debug/pprof/heap?gc=1", nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return fmt.Errorf("collect garbage: %w", err)
	}
	_, _ = io.Copy(io.Discard, resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("collect garbage: %s", resp.Status)
	}
	return nil
}

// callgrindControl runs callgrind_control with args.
func callgrindControl(ctx context.Context, args ...string) error {
	ctx, cancel := context.WithTimeout(ctx, 60*time.Second)
	defer cancel()
	out, err := exec.CommandContext(ctx, "callgrind_control", args...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("callgrind_control %s: %w: %s", strings.Join(args, " "), err, bytes.TrimSpace(out))
	}
	return nil
}

// newDump waits for the dump file that was not there before and is complete.
func newDump(ctx context.Context, outFile string, before []string) (string, error) {
	deadline := time.Now().Add(60 * time.Second)
	for {
		files, _ := filepath.Glob(outFile + ".*")
		for _, f := range files {
			if slices.Contains(before, f) || strings.HasSuffix(f, ".log") {
				continue
			}
			if _, err := callgrindTotal(f); err == nil {
				return f, nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return "", fmt.Errorf("no new complete callgrind dump of %s after 60s", outFile)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

// callgrindTotal reads the total of the Ir event from a callgrind dump.
func callgrindTotal(path string) (uint64, error) {
	f, err := os.Open(path)
	if err != nil {
		return 0, err
	}
	defer func() { _ = f.Close() }()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		line := sc.Text()
		if v, ok := strings.CutPrefix(line, "totals:"); ok {
			return strconv.ParseUint(strings.Fields(v)[0], 10, 64)
		}
		if v, ok := strings.CutPrefix(line, "summary:"); ok {
			return strconv.ParseUint(strings.Fields(v)[0], 10, 64)
		}
	}
	if err := sc.Err(); err != nil {
		return 0, err
	}
	return 0, fmt.Errorf("%s: no totals line (dump incomplete?)", path)
}

// instrTable gives each phase's measurements, their median and spread
// ((max−min)/median), and with -split the same of the instructions outside
// garbage collection and scheduling.
func instrTable(results []instrResult) string {
	rows := [][]string{{"phase", "calls per run", "instructions per call, each run", "median", "spread", "without GC and scheduling, each run", "median", "spread"}}
	for _, g := range groupResults(results) {
		row := []string{phaseName(g[0].kind, g[0].callers), strconv.Itoa(g[0].calls)}
		for _, f := range []func(instrResult) uint64{
			func(r instrResult) uint64 { return r.instructions },
			func(r instrResult) uint64 { return r.work },
		} {
			per := make([]string, len(g))
			vals := make([]float64, len(g))
			for i, r := range g {
				vals[i] = float64(f(r)) / float64(r.calls)
				per[i] = strconv.FormatFloat(vals[i], 'f', 0, 64)
			}
			med, spread := medianSpread(vals)
			if med == 0 {
				row = append(row, "—", "—", "—")
				continue
			}
			row = append(row, strings.Join(per, " · "), strconv.FormatFloat(med, 'f', 0, 64), strconv.FormatFloat(spread*100, 'f', 2, 64)+" %")
		}
		rows = append(rows, row)
	}
	return markdownTable(rows)
}

// groupResults groups the measurements by phase, in the order first measured.
func groupResults(results []instrResult) [][]instrResult {
	var groups [][]instrResult
	for _, r := range results {
		i := slices.IndexFunc(groups, func(g []instrResult) bool { return g[0].kind == r.kind && g[0].callers == r.callers })
		if i < 0 {
			groups = append(groups, nil)
			i = len(groups) - 1
		}
		groups[i] = append(groups[i], r)
	}
	return groups
}

// medianSpread returns the median of vals and (max−min)/median.
func medianSpread(vals []float64) (float64, float64) {
	s := slices.Clone(vals)
	slices.Sort(s)
	med := s[len(s)/2]
	if len(s)%2 == 0 {
		med = (s[len(s)/2-1] + s[len(s)/2]) / 2
	}
	if med == 0 {
		return 0, math.NaN()
	}
	return med, (s[len(s)-1] - s[0]) / med
}

// instrGroups names the package groups of the split, in the order a
// function's name is matched against them: the first whose pattern matches
// takes its self cost.
var instrGroups = []struct {
	name string
	re   *regexp.Regexp
}{
	{groupGC, regexp.MustCompile(`^runtime\.(gc|scan|mark|greyobject|findObject|sweep|wbBuf|bulkBarrier|(\(\*gcWork\))|(\(\*mspan\)\.(sweep|markBitsForIndex|typePointersOf|heapBits))|typePointers|(\(\*gcBits\))|(\(\*mheap\)\.(reclaim|nextSpanForSweep))|spanOf|pageIndexOf|(\(\*gcControllerState\))|gcDrain|shade|(\(\*sweepLocked\))|(\(\*mspan\)\.(nextFreeIndex|refillAllocCache|countAlloc))|(\(\*activeSweep\)))`)},
	{"memory allocation", regexp.MustCompile(`^runtime\.(mallocgc|malloc|newobject|newarray|makeslice|growslice|makemap|nextFreeFast|(\(\*mcache\))|(\(\*mcentral\))|(\(\*mheap\))|heapSetType|(\(\*mspan\))|memclrNoHeapPointers|rawstring|rawbyteslice|rawruneslice|deductAssistCredit|publicationBarrier|(\(\*fixalloc\))|(\(\*pageAlloc\))|stkbucket|concatstring|slicebytetostring|stringtoslicebyte|makeBucketArray)`)},
	{groupScheduling, regexp.MustCompile(`^runtime\.(schedule|findRunnable|park_m|gopark|goready|ready|runq|runqget|runqput|runqsteal|runqgrab|stealWork|checkTimers|(\(\*timers\))|(\(\*timer\))|netpoll|futex|lock|unlock|notesleep|notewakeup|semacquire|semrelease|mcall|gogo|goexit|execute|wakep|startm|stopm|handoffp|acquirep|releasep|resetspinning|newproc|gfget|gfput|casgstatus|entersyscall|exitsyscall|reentersyscall|morestack|newstack|copystack|adjust|gentraceback|(\(\*unwinder\))|(\(\*moduledata\))|funcInfo|pcvalue|findfunc|step|readvarint|sysmon|usleep|nanotime|walltime|procyield|osyield|mPark|pidle|(\(\*waitq\))|chan|selectgo|block|sellock|selunlock|send|recv|chansend|chanrecv|closechan|(\(\*hchan\))|acquireSudog|releaseSudog|mstart|gosched|goschedImpl|preemptone|retake|nobarrierWakeTime|netpollready|netpollblock|netpollunblock|(\(\*pollDesc\))|(\(\*pollCache\))|resetForSleep|modtimer|addtimer|deltimer|(\(\*randomOrder\))|cheaprand|getg|systemstack|asmcgocall|rt0_go|isSystemGoroutine|traceback|signal|sig|badsignal|sighandler)`)},
	{groupScheduling, regexp.MustCompile(`^(internal/sync\.\(\*Mutex\)\.lockSlow|internal/sync\.runtime_|sync\.runtime_|sync\.\(\*Mutex\)\.lockSlow)`)}, // spinning on a lock
	{"runtime: maps, strings, copies, interfaces", regexp.MustCompile(`^(runtime\.|internal/runtime/maps\.|internal/abi\.|internal/bytealg\.|aeshash|memeqbody|cmpbody|indexbytebody|countbody)`)},
	{"syscall wrappers (the kernel's work is not counted)", regexp.MustCompile(`^(syscall\.|internal/poll\.|internal/runtime/syscall\.|golang\.org/x/sys/)`)},
	{"upstream HTTP client (net/http, net, bufio, url, textproto)", regexp.MustCompile(`^(net/http\.|net/textproto\.|net/url\.|net\.|bufio\.|mime\.|net/http/internal)`)},
	{"upstream JSON decoding (json/v2, jsontext)", regexp.MustCompile(`^(encoding/json|github\.com/go-json-experiment|unicode/utf8|strconv\.|unicode\.)`)},
	{"gRPC server and HTTP/2 transport (grpc-go, x/net/http2, hpack)", regexp.MustCompile(`^(google\.golang\.org/grpc|golang\.org/x/net/http2)`)},
	{"protobuf (marshal, size, reflection, protojson)", regexp.MustCompile(`^google\.golang\.org/protobuf`)},
	{"validation (protovalidate, CEL, regexp)", regexp.MustCompile(`^(buf\.build/go/protovalidate|github\.com/google/cel-go|regexp|cel\.dev|github\.com/antlr)`)},
	{"access line and logs (log/slog)", regexp.MustCompile(`^(log/slog|log\.)`)},
	{"REST mirror (grpc-gateway, vanguard, connect)", regexp.MustCompile(`^(github\.com/grpc-ecosystem|connectrpc\.com|github\.com/bufbuild|github\.com/rs/cors)`)},
	{"metrics (prometheus client)", regexp.MustCompile(`^(github\.com/prometheus|go\.opentelemetry\.io)`)},
	{"the facade's own code (internal/, cmd/)", regexp.MustCompile(`^(github\.com/cloudcockpit|main\.)`)},
	{"context, sync, time, errors, fmt, strings, bytes, sort, reflect", regexp.MustCompile(`^(context\.|sync|time\.|errors\.|fmt\.|strings\.|bytes\.|sort\.|slices\.|maps\.|reflect\.|internal/|io\.|math|crypto/|hash|container/|iter\.|unique\.|weak\.|encoding/)`)},
}

// The groups whose instructions move with timing more than with the work a
// call asks for: how many collection cycles the calls' window holds, how
// often an idle thread looks for work.
const (
	groupGC         = "garbage collection (marking, sweeping, write barriers)"
	groupScheduling = "goroutine scheduling, stacks, timers, locks"
)

// annotateLine is a line of callgrind_annotate's function list:
// "  1,234 (12.34%)  ???:runtime.mallocgc [/path/server]".
var annotateLine = regexp.MustCompile(`^\s*([\d,]+)\s+\(\s*[\d.]+%\)\s+(?:[^:\s]*:)?(\S+)`)

// instrSplits splits the median run of each facade-grpc, facade-rest and
// ceiling-grpc phase by package group.
func instrSplits(ctx context.Context, results []instrResult) string {
	splits := make(map[string]map[string]uint64, len(results))
	for i := range results {
		split, err := splitDump(ctx, results[i].dump)
		if err != nil {
			continue
		}
		splits[results[i].dump] = split
		results[i].work = split["total"] - split[groupGC] - split[groupScheduling]
	}
	var b strings.Builder
	b.WriteString("Self instructions per call by package group (callgrind_annotate --inclusive=no of the dump of the run nearest the median):\n\n")
	groups := groupResults(results)
	header := []string{"group"}
	cols := []map[string]float64{}
	for _, g := range groups {
		vals := make([]float64, len(g))
		for i, r := range g {
			vals[i] = r.perCall()
		}
		med, _ := medianSpread(vals)
		r := slices.MinFunc(g, func(a, b instrResult) int { // the run nearest the median
			return cmp.Compare(math.Abs(a.perCall()-med), math.Abs(b.perCall()-med))
		})
		split := splits[r.dump]
		if split == nil {
			fmt.Fprintf(&b, "%s: callgrind_annotate failed on %s\n", phaseName(r.kind, r.callers), r.dump)
			continue
		}
		col := map[string]float64{}
		for name, v := range split {
			col[name] = float64(v) / float64(r.calls)
		}
		header = append(header, phaseName(r.kind, r.callers))
		cols = append(cols, col)
	}
	names := make([]string, 0, len(instrGroups)+1)
	for _, g := range instrGroups {
		if !slices.Contains(names, g.name) {
			names = append(names, g.name)
		}
	}
	names = append(names, "other", "total")
	rows := [][]string{header}
	for _, name := range names {
		row := []string{name}
		for _, col := range cols {
			share := col[name] / col["total"] * 100
			row = append(row, fmt.Sprintf("%.0f (%.1f %%)", col[name], share))
		}
		rows = append(rows, row)
	}
	b.WriteString(markdownTable(rows))
	return b.String()
}

// splitDump returns a dump's self instructions by group (and the total).
func splitDump(ctx context.Context, dump string) (map[string]uint64, error) {
	out, err := exec.CommandContext(ctx, "callgrind_annotate", "--auto=no", "--inclusive=no", "--threshold=100", dump).Output()
	if err != nil {
		return nil, fmt.Errorf("callgrind_annotate %s: %w", dump, err)
	}
	split := map[string]uint64{}
	total, err := callgrindTotal(dump)
	if err != nil {
		return nil, err
	}
	split["total"] = total
	var sum uint64
	for line := range strings.Lines(string(out)) {
		m := annotateLine.FindStringSubmatch(line)
		if m == nil || strings.Contains(line, "PROGRAM TOTALS") {
			continue
		}
		v, err := strconv.ParseUint(strings.ReplaceAll(m[1], ",", ""), 10, 64)
		if err != nil {
			continue
		}
		split[groupOf(m[2])] += v
		sum += v
	}
	// The functions' lines may add up to a few instructions more than the
	// total (zeroing the counters in the middle of a function); what they
	// leave out is below the listing's threshold.
	if total > sum {
		split["other"] += total - sum
	}
	return split, nil
}

// groupOf names the package group of a function of callgrind_annotate's listing,
// "other" when no group's pattern matches.
func groupOf(fn string) string {
	for _, g := range instrGroups {
		if g.re.MatchString(fn) {
			return g.name
		}
	}
	return "other"
}
