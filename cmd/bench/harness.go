package main

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"sync"
	"time"

	"google.golang.org/grpc"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// Phase kinds: the five of a round, in the order it runs them, and the
// credentials check that runs once before the rounds.
const (
	kindDirect    = "direct"
	kindFloor     = "grpc-floor"
	kindGRPC      = "facade-grpc"
	kindREST      = "facade-rest"
	kindCoalesced = "facade-coalesced"
	kindCheck     = "credentials-check"
	// Over TLS: the sandbox serving HTTPS, and a facade trusting its CA.
	kindDirectTLS = "direct-tls"
	kindGRPCTLS   = "facade-grpc-tls"
	// kindCompare is facade-grpc on the -compare-bin binary.
	kindCompare = "compare-grpc"
	// kindCeiling is GetReseller on the harness's -ceiling-server.
	kindCeiling = "ceiling-grpc"
)

// phase is one kind of load at one number of callers.
type phase struct {
	kind    string
	callers int
	call    callFunc
	facade  *proc // the facade it drives; nil for direct and grpc-floor
}

func (p *phase) name() string { return phaseName(p.kind, p.callers) }

// roundResult is what one run of a phase measured.
type roundResult struct {
	load     loadResult
	cpu      cpuUse
	rssPeak  memSample // the phase's facade's largest VmRSS sample during the phase
	upstream int64     // requests through the counting proxy during the whole phase
}

// harness holds the processes, connections and load generator of one run.
type harness struct {
	cfg     config
	out     io.Writer
	workdir string

	sandbox, floor, facade, coalescer *proc
	sandboxURL                        string
	facadeAddrs                       map[string]string // flag name → address
	proxy                             *countingProxy
	floorConn, facadeConn, coalConn   *grpc.ClientConn
	directHTTP, restHTTP              *http.Client
	gen                               *loadGen

	// The TLS sandbox and what drives it, and the facades of the TLS and
	// -compare-bin phases, by phase kind.
	sandboxTLS    *proc
	sandboxTLSURL string
	directTLSHTTP *http.Client
	extras        map[string]*extraFacade

	roundPeak []uint64 // largest VmRSS of the main facade in each round
}

// extraFacade is a facade of its own phase kind.
type extraFacade struct {
	p    *proc
	conn *grpc.ClientConn
}

// run benchmarks and reports; missed tells whether a target was missed.
func run(ctx context.Context, cfg config, out io.Writer) (missed bool, err error) {
	h := &harness{cfg: cfg, out: out}
	if cfg.workdir != "" {
		h.workdir = cfg.workdir
		err = os.MkdirAll(h.workdir, 0o750)
	} else {
		h.workdir, err = os.MkdirTemp("", "cloudcockpit-bench-")
	}
	if err != nil {
		return false, err
	}
	defer func() {
		if cfg.workdir == "" && err == nil {
			_ = os.RemoveAll(h.workdir)
		} else {
			fmt.Fprintf(out, "logs kept in %s\n", h.workdir)
		}
	}()
	defer h.close()
	if err := h.start(ctx); err != nil {
		return false, err
	}
	phases := h.phases()
	if len(phases) == 0 {
		return false, errors.New("-phases selects no phase")
	}
	machine := describeMachine(ctx, cfg.serverBin)
	fmt.Fprintf(out, "%s\n", machine.oneLine())

	var check *phaseResult
	if h.selected(kindCoalesced, cfg.coalesceCallers) {
		check = h.credentialsCheck(ctx)
	}
	results := h.rounds(ctx, phases)
	if err := ctx.Err(); err != nil {
		return false, err
	}
	mem := h.memory()
	h.close()

	rep := newReport(cfg, machine, results, check, mem, h.roundPeak)
	rep.print(out)
	if cfg.out != "" {
		if err := rep.writeFile(cfg.out); err != nil {
			return false, err
		}
		fmt.Fprintf(out, "\nwrote %s\n", cfg.out)
	}
	return rep.missed(), nil
}

// start builds what is missing and starts the sandbox, the grpc-floor, the
// counting proxy and both facades, and checks that each answers.
func (h *harness) start(ctx context.Context) error {
	if err := h.build(ctx); err != nil {
		return err
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	var addr string
	h.sandbox, addr, err = h.startWithPortFile(ctx, "sandbox", h.cfg.sandboxBin, "-addr", "127.0.0.1:0")
	if err != nil {
		return err
	}
	h.sandboxURL = "http://" + addr
	h.floor, addr, err = h.startWithPortFile(ctx, "grpc-floor", self, "-floor-server", "-addr", "127.0.0.1:0", "-reseller", h.cfg.resellerID)
	if err != nil {
		return err
	}
	if h.floorConn, err = dialGRPC(addr); err != nil {
		return err
	}
	if h.proxy, err = startCountingProxy(ctx, h.sandboxURL, h.cfg.coalesceLatency, max(h.cfg.coalesceCallers, 64)); err != nil {
		return err
	}
	flags, err := listenFlags(ctx, h.cfg.serverBin)
	if err != nil {
		return err
	}
	if h.cfg.trace != "" && h.cfg.debugAddrs["facade"] == "" {
		a, err := freeAddr(ctx)
		if err != nil {
			return err
		}
		h.cfg.debugAddrs = map[string]string{"facade": a}
	}
	if h.facade, h.facadeAddrs, h.facadeConn, err = h.startFacade(ctx, "facade", h.cfg.serverBin, h.sandboxURL, flags, nil, nil); err != nil {
		return err
	}
	if h.coalescer, _, h.coalConn, err = h.startFacade(ctx, "facade-coalescing", h.cfg.serverBin, h.proxy.url(), flags, nil, nil); err != nil {
		return err
	}
	maxCallers := slices.Max(append(slices.Clone(h.cfg.callers), h.cfg.memCallers, h.cfg.coalesceCallers))
	h.directHTTP, h.restHTTP = newHTTPClient(maxCallers), newHTTPClient(maxCallers)
	// The facade holds at most this many connections per port by default
	// (more wait to be accepted): REST callers beyond it share connections
	// instead of waiting for one past the phase's deadline.
	h.restHTTP.Transport.(*http.Transport).MaxConnsPerHost = server.DefaultMaxConnections
	if err := h.startExtras(ctx, self, flags, maxCallers); err != nil {
		return err
	}
	h.gen = newLoadGen(maxCallers)
	fmt.Fprintf(h.out, "sandbox pid %d (%s), grpc-floor pid %d, facade pid %d (gRPC %s, HTTP %s), coalescing facade pid %d (upstream %s via the counting proxy, +%v)\n",
		h.sandbox.pid(), h.sandboxURL, h.floor.pid(), h.facade.pid(), h.facadeAddrs["grpc-addr"], h.facadeAddrs["http-addr"],
		h.coalescer.pid(), h.sandboxURL, h.cfg.coalesceLatency)
	return h.smoke(ctx)
}

// startExtras starts what the selected TLS, -compare-bin and ceiling-grpc
// phases need: a throw-away CA, the sandbox serving HTTPS with a certificate
// it signed, a client for it, the facades, and the ceiling server (self, this
// binary, in -ceiling-server mode).
func (h *harness) startExtras(ctx context.Context, self string, flags []string, maxCallers int) error {
	h.extras = map[string]*extraFacade{}
	start := func(kind, bin, upstream string, args, env []string) error {
		if !h.selectedKind(kind) {
			return nil
		}
		p, _, conn, err := h.startFacade(ctx, kind, bin, upstream, flags, args, env)
		if err == nil {
			h.extras[kind] = &extraFacade{p: p, conn: conn}
		}
		return err
	}
	if h.cfg.compareBin != "" {
		if err := start(kindCompare, h.cfg.compareBin, h.sandboxURL, nil, nil); err != nil {
			return err
		}
	}
	if h.selectedKind(kindCeiling) {
		p, addr, err := h.startWithPortFile(ctx, kindCeiling, self, "-ceiling-server", "-addr", "127.0.0.1:0", "-upstream", h.sandboxURL)
		if err != nil {
			return err
		}
		conn, err := dialGRPC(addr)
		h.extras[kindCeiling] = &extraFacade{p: p, conn: conn} // before the check: close stops the process
		if err != nil {
			return err
		}
	}
	if !h.selectedKind(kindDirectTLS) && !h.selectedKind(kindGRPCTLS) {
		return nil
	}
	pki, err := newTestPKI(h.workdir)
	if err != nil {
		return err
	}
	var addr string
	h.sandboxTLS, addr, err = h.startWithPortFile(ctx, "sandbox-tls", h.cfg.sandboxBin, "-addr", "127.0.0.1:0", "-tls-cert", pki.certFile, "-tls-key", pki.keyFile)
	if err != nil {
		return err
	}
	h.sandboxTLSURL = "https://" + addr
	h.directTLSHTTP = newHTTPClient(maxCallers)
	// HTTP/1.1, as the facade talks to its upstream.
	h.directTLSHTTP.Transport.(*http.Transport).TLSClientConfig = &tls.Config{RootCAs: pki.pool, MinVersion: tls.VersionTLS12}
	return start(kindGRPCTLS, h.cfg.serverBin, h.sandboxTLSURL, []string{"-upstream-ca", pki.caFile}, nil)
}

// build builds the binaries that were not given, with the go command, from
// the module in the current directory.
func (h *harness) build(ctx context.Context) error {
	for _, b := range []struct {
		dst *string
		pkg string
	}{{&h.cfg.serverBin, "./cmd/server"}, {&h.cfg.sandboxBin, "./cmd/sandbox"}} {
		if *b.dst != "" {
			continue
		}
		bin := filepath.Join(h.workdir, "bin", filepath.Base(b.pkg))
		fmt.Fprintf(h.out, "go build -o %s %s\n", bin, b.pkg)
		cmd := exec.CommandContext(ctx, "go", "build", "-o", bin, b.pkg)
		cmd.Stdout, cmd.Stderr = h.out, os.Stderr
		if err := cmd.Run(); err != nil {
			return fmt.Errorf("build %s: %w", b.pkg, err)
		}
		*b.dst = bin
	}
	return nil
}

// startWithPortFile starts a process that reports its address in a port
// file, and returns the address.
func (h *harness) startWithPortFile(ctx context.Context, name, bin string, args ...string) (*proc, string, error) {
	portFile := filepath.Join(h.workdir, name+".addr")
	_ = os.Remove(portFile)
	p, err := startProc(ctx, name, bin, append(args, "-port-file", portFile), filepath.Join(h.workdir, name+".log"))
	if err != nil {
		return nil, "", err
	}
	addr, err := waitPortFile(ctx, p, portFile)
	if err != nil {
		p.stop(time.Second)
		return nil, "", err
	}
	return p, addr, nil
}

// startFacade starts the facade binary in its default configuration with
// upstream as its upstream and every listener on a free loopback port, and
// waits until its gRPC health service answers SERVING. A port taken between
// choosing and binding it makes the process exit; it is tried again.
func (h *harness) startFacade(ctx context.Context, name, bin, upstream string, listenFlags, extraArgs, env []string) (*proc, map[string]string, *grpc.ClientConn, error) {
	for attempt := 1; ; attempt++ {
		addrs := map[string]string{}
		args := append([]string{"-upstream-url", upstream}, extraArgs...)
		if a := h.cfg.debugAddrs[name]; a != "" {
			args = append(args, "-debug-addr", a)
		}
		for _, f := range listenFlags {
			a, err := freeAddr(ctx)
			if err != nil {
				return nil, nil, nil, err
			}
			addrs[f] = a
			args = append(args, "-"+f, a)
		}
		p, err := startProc(ctx, name, bin, args, filepath.Join(h.workdir, name+".log"), env...)
		if err != nil {
			return nil, nil, nil, err
		}
		conn, err := waitServing(ctx, p, addrs["grpc-addr"])
		if err == nil {
			return p, addrs, conn, nil
		}
		p.stop(time.Second)
		if attempt == 3 || ctx.Err() != nil {
			return nil, nil, nil, err
		}
	}
}

// waitServing waits until the gRPC health service on addr answers SERVING.
func waitServing(ctx context.Context, p *proc, addr string) (*grpc.ClientConn, error) {
	conn, err := dialGRPC(addr)
	if err != nil {
		return nil, err
	}
	deadline := time.Now().Add(15 * time.Second)
	health := healthpb.NewHealthClient(conn)
	for {
		cctx, cancel := context.WithTimeout(ctx, time.Second)
		resp, err := health.Check(cctx, &healthpb.HealthCheckRequest{})
		cancel()
		switch {
		case err == nil && resp.GetStatus() == healthpb.HealthCheckResponse_SERVING:
			return conn, nil
		case p.exited():
			_ = conn.Close()
			return nil, p.diedError()
		case time.Now().After(deadline) || ctx.Err() != nil:
			_ = conn.Close()
			if err == nil {
				err = fmt.Errorf("health status %v", resp.GetStatus())
			}
			return nil, fmt.Errorf("%s not SERVING after 15s (log %s): %w", p.name, p.logPath, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// smoke makes one call of every kind, so that a broken set-up stops the run
// at once with a clear message. The REST mirror is only warned about: its
// phases report the errors.
func (h *harness) smoke(ctx context.Context) error {
	ctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	checks := []struct {
		name string
		call callFunc
	}{
		{kindDirect, newHTTPTarget(h.directHTTP, h.resellerURL(h.sandboxURL), h.cfg.resellerID, 1).call},
		{kindFloor, newGRPCTarget(h.floorConn, h.cfg.resellerID, 1, false).call},
		{kindGRPC, newGRPCTarget(h.facadeConn, h.cfg.resellerID, 1, false).call},
		{kindCoalesced, newGRPCTarget(h.coalConn, h.cfg.resellerID, 1, true).call},
	}
	for _, c := range checks {
		if err := c.call(ctx, 0); err != nil {
			return fmt.Errorf("%s: first call failed: %w", c.name, err)
		}
	}
	rest := newHTTPTarget(h.restHTTP, h.resellerURL("http://"+h.facadeAddrs["http-addr"]), h.cfg.resellerID, 1)
	if err := rest.call(ctx, 0); err != nil {
		fmt.Fprintf(h.out, "WARNING: the REST mirror does not answer (%v): the facade-rest phases will report errors\n", err)
	}
	return nil
}

func (h *harness) resellerURL(base string) string {
	return base + "/v1/Resellers/" + h.cfg.resellerID
}

// selectedKind reports whether -phases selects kind at some callers. The
// -compare-bin phases need that flag.
func (h *harness) selectedKind(kind string) bool {
	if kind == kindCompare && h.cfg.compareBin == "" {
		return false
	}
	return slices.ContainsFunc(h.cfg.callers, func(n int) bool { return h.selected(kind, n) })
}

// selected reports whether -phases selects kind at callers.
func (h *harness) selected(kind string, callers int) bool {
	if callers <= 0 {
		return false
	}
	if len(h.cfg.only) == 0 {
		return true
	}
	return slices.Contains(h.cfg.only, kind) || slices.Contains(h.cfg.only, phaseName(kind, callers))
}

// phases lists the phases of a round, in order.
func (h *harness) phases() []*phase {
	var out []*phase
	add := func(kind string, callers int, facade *proc, call func(n int) callFunc) {
		if !h.selected(kind, callers) {
			return
		}
		for _, p := range out {
			if p.kind == kind && p.callers == callers {
				return
			}
		}
		out = append(out, &phase{kind: kind, callers: callers, facade: facade, call: call(callers)})
	}
	direct := func(n int) callFunc {
		return newHTTPTarget(h.directHTTP, h.resellerURL(h.sandboxURL), h.cfg.resellerID, n).call
	}
	floor := func(n int) callFunc { return newGRPCTarget(h.floorConn, h.cfg.resellerID, n, false).call }
	facade := func(n int) callFunc { return newGRPCTarget(h.facadeConn, h.cfg.resellerID, n, false).call }
	rest := func(n int) callFunc {
		return newHTTPTarget(h.restHTTP, h.resellerURL("http://"+h.facadeAddrs["http-addr"]), h.cfg.resellerID, n).call
	}
	coalesced := func(n int) callFunc { return newGRPCTarget(h.coalConn, h.cfg.resellerID, n, true).call }
	directTLS := func(n int) callFunc {
		return newHTTPTarget(h.directTLSHTTP, h.resellerURL(h.sandboxTLSURL), h.cfg.resellerID, n).call
	}
	for _, n := range h.cfg.callers {
		add(kindDirect, n, nil, direct)
		add(kindFloor, n, nil, floor)
		add(kindGRPC, n, h.facade, facade)
		for _, kind := range []string{kindCompare, kindCeiling, kindGRPCTLS} {
			if x := h.extras[kind]; x != nil {
				add(kind, n, x.p, func(n int) callFunc { return newGRPCTarget(x.conn, h.cfg.resellerID, n, false).call })
			}
		}
		add(kindREST, n, h.facade, rest)
		if h.sandboxTLS != nil {
			add(kindDirectTLS, n, nil, directTLS)
		}
	}
	add(kindFloor, h.cfg.coalesceCallers, nil, floor)
	add(kindCoalesced, h.cfg.coalesceCallers, h.coalescer, coalesced)
	add(kindGRPC, h.cfg.memCallers, h.facade, facade)
	add(kindREST, h.cfg.memCallers, h.facade, rest)
	return out
}

// credentialsCheck runs the coalescing facade once with a token per caller:
// every facade call must then be one upstream request. It shows that the
// facade-grpc and facade-rest phases, whose callers have their own tokens
// too, measure one upstream request per call.
func (h *harness) credentialsCheck(ctx context.Context) *phaseResult {
	callers := min(h.cfg.coalesceCallers, 16)
	p := &phase{kind: kindCheck, callers: callers, facade: h.coalescer,
		call: newGRPCTarget(h.coalConn, h.cfg.resellerID, callers, false).call}
	r := h.runPhase(ctx, p, min(h.cfg.warmup, 200*time.Millisecond), min(h.cfg.duration, time.Second))
	res := &phaseResult{phase: p, rounds: []roundResult{r}}
	fmt.Fprintf(h.out, "%s\n", res.progressLine())
	return res
}

// rounds runs every phase once per round, forwards in odd rounds and
// backwards in even ones, so that slow drifts of the machine's load weigh on
// every phase alike.
func (h *harness) rounds(ctx context.Context, phases []*phase) []*phaseResult {
	results := make([]*phaseResult, len(phases))
	for i, p := range phases {
		results[i] = &phaseResult{phase: p}
	}
	h.roundPeak = make([]uint64, 0, h.cfg.rounds)
	for r := range h.cfg.rounds {
		fmt.Fprintf(h.out, "round %d/%d\n", r+1, h.cfg.rounds)
		order := slices.Clone(results)
		if r%2 == 1 {
			slices.Reverse(order)
		}
		var peak uint64
		for _, res := range order {
			if ctx.Err() != nil {
				return results
			}
			rr := h.runPhase(ctx, res.phase, h.cfg.warmup, h.cfg.duration)
			res.rounds = append(res.rounds, rr)
			if res.phase.facade == h.facade {
				peak = max(peak, rr.rssPeak.rss)
			}
			fmt.Fprintf(h.out, "  %s\n", res.progressLine())
		}
		h.roundPeak = append(h.roundPeak, peak)
	}
	return results
}

// runPhase runs one phase once, sampling the facade's RSS throughout and the
// CPU time of every process over the measurement window.
func (h *harness) runPhase(ctx context.Context, p *phase, warmup, window time.Duration) roundResult {
	var rr roundResult
	up0 := h.proxy.requests.Load()
	stopSampling := make(chan struct{})
	var sampled sync.WaitGroup
	if p.facade != nil {
		sampled.Go(func() {
			t := time.NewTicker(20 * time.Millisecond)
			defer t.Stop()
			for {
				if m, _, err := procMem(p.facade.pid()); err == nil {
					rr.rssPeak = rr.rssPeak.larger(m)
				}
				select {
				case <-t.C:
				case <-stopSampling:
					return
				}
			}
		})
	}
	var c0, c1 cpuSnapshot
	var traced chan error
	rr.load = h.gen.run(ctx, p.callers, warmup, window, p.call, windowHooks{
		start: func() {
			c0 = h.cpuSnapshot()
			if h.cfg.trace != "" && p.kind == kindGRPC && p.callers == 1 {
				traced = make(chan error, 1)
				go func() { traced <- h.fetchTrace(ctx, min(window, time.Second)) }()
			}
		},
		end: func() { c1 = h.cpuSnapshot() },
	})
	close(stopSampling)
	sampled.Wait()
	rr.cpu = c1.since(c0)
	rr.upstream = h.proxy.requests.Load() - up0
	if traced != nil {
		if err := <-traced; err != nil {
			fmt.Fprintf(h.out, "WARNING: no trace: %v\n", err)
		} else {
			fmt.Fprintf(h.out, "wrote the facade's runtime trace to %s (go tool trace %s)\n", h.cfg.trace, h.cfg.trace)
		}
		h.cfg.trace = "" // the first such phase only
	}
	return rr
}

// fetchTrace records d of the facade's runtime/trace from its
// /debug/pprof/trace into the -trace file.
func (h *harness) fetchTrace(ctx context.Context, d time.Duration) error {
	url := fmt.Sprintf("http://%s/debug/pprof/trace?seconds=%g", h.cfg.debugAddrs["facade"], d.Seconds())
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		return err
	}
	defer func() { _ = resp.Body.Close() }()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("%s: %s", url, resp.Status)
	}
	f, err := os.Create(h.cfg.trace)
	if err != nil {
		return err
	}
	_, err = io.Copy(f, resp.Body)
	return errors.Join(err, f.Close())
}

// memoryResult is what the facades' peak RSS was over the whole run.
type memoryResult struct {
	facadeHWM, coalescerHWM uint64
}

func (h *harness) memory() memoryResult {
	var m memoryResult
	if h.facade != nil {
		_, m.facadeHWM, _ = procMem(h.facade.pid())
	}
	if h.coalescer != nil {
		_, m.coalescerHWM, _ = procMem(h.coalescer.pid())
	}
	return m
}

// close stops everything start started; it may be called more than once.
func (h *harness) close() {
	conns := []**grpc.ClientConn{&h.floorConn, &h.facadeConn, &h.coalConn}
	procs := []**proc{&h.facade, &h.coalescer, &h.floor, &h.sandbox, &h.sandboxTLS}
	for _, x := range h.extras {
		conns, procs = append(conns, &x.conn), append(procs, &x.p)
	}
	for _, c := range conns {
		if *c != nil {
			_ = (*c).Close()
			*c = nil
		}
	}
	for _, c := range []*http.Client{h.directHTTP, h.restHTTP, h.directTLSHTTP} {
		if c != nil {
			c.CloseIdleConnections()
		}
	}
	for _, p := range procs {
		if *p != nil {
			(*p).stop(5 * time.Second)
		}
	}
	if h.proxy != nil {
		h.proxy.close()
		h.proxy = nil
	}
}

// cpuSnapshot is the CPU time used so far by each process of the run and by
// the whole machine.
type cpuSnapshot struct {
	harness, sandbox, floor, facades time.Duration
	machineBusy, machineTotal        time.Duration
}

func (h *harness) cpuSnapshot() cpuSnapshot {
	var s cpuSnapshot
	s.harness, _ = procCPU(0)
	s.floor, _ = procCPU(h.floor.pid())
	add := func(dst *time.Duration, p *proc) {
		if p != nil {
			d, _ := procCPU(p.pid())
			*dst += d
		}
	}
	add(&s.sandbox, h.sandbox)
	add(&s.sandbox, h.sandboxTLS)
	add(&s.facades, h.facade)
	add(&s.facades, h.coalescer)
	for _, x := range h.extras {
		add(&s.facades, x.p)
	}
	s.machineBusy, s.machineTotal, _ = machineCPU()
	return s
}

// cpuUse is the CPU time each role used during a measurement window;
// others is what the rest of the machine (other users) used.
type cpuUse struct {
	harness, sandbox, floor, facade, others time.Duration
	capacity                                time.Duration // all cores × window
}

func (s cpuSnapshot) since(o cpuSnapshot) cpuUse {
	u := cpuUse{
		harness:  s.harness - o.harness,
		sandbox:  s.sandbox - o.sandbox,
		floor:    s.floor - o.floor,
		facade:   s.facades - o.facades,
		capacity: s.machineTotal - o.machineTotal,
	}
	u.others = max(0, s.machineBusy-o.machineBusy-u.harness-u.sandbox-u.floor-u.facade)
	return u
}
