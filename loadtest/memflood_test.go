//go:build load

package loadtest

import (
	"bufio"
	"bytes"
	"compress/gzip"
	"context"
	"encoding/binary"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"
	"google.golang.org/grpc/metadata"
	rpb "google.golang.org/grpc/reflection/grpc_reflection_v1"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// memFloodParts are TestMemFlood's attacks, each against the bounds of
// docs/security.md ("Server limits", "Limits of the whole process"), in the
// order they start (the large floods last, so that the small ones hold
// connections of their own).
var memFloodParts = []string{"tenants", "headers", "gzip", "trickle", "slowloris", "reflect-unread", "grpc-held", "h2c-held", "grpc-unread"}

// TestMemFlood (run by hand: go test -tags load -run '^TestMemFlood$'
// ./loadtest/) runs every attack that a bound of the process was built
// against at once, for MEMFLOOD_DURATION, against one facade (-sandbox, the
// environment of deploy/configmap.yaml), while a healthy caller on each port
// calls GetReseller every 100 ms on its own connection. It samples the
// facade's VmRSS every 250 ms and runs it in a memory cgroup of the pod's
// limit (podLimit, or MEMFLOOD_POD_LIMIT_MIB; podCgroup; where none can be
// made, VmHWM must stay under it). It fails when the kernel kills the facade
// there, or a healthy call fails once the attack is over. docs/load.md
// ("Every flood at once") describes the parts and records the figures.
func TestMemFlood(t *testing.T) {
	a := &attack{
		parts:   strings.Split(envString("MEMFLOOD_PARTS", strings.Join(memFloodParts, ",")), ","),
		pad:     envInt(t, "MEMFLOOD_HEADER_BYTES", 30000),
		reopen:  envDuration(t, "MEMFLOOD_REOPEN", time.Second),
		counts:  map[string]*atomic.Int64{},
		tenant:  tenants[0],
		service: pb.ResellerService_ServiceDesc.ServiceName,
	}
	duration := envDuration(t, "MEMFLOOD_DURATION", 30*time.Second)
	for k, v := range configMapEnv(t) { // GOMEMLIMIT, STALE_IF_ERROR, LOG_LEVEL...
		t.Setenv(k, v)
	}
	if v := os.Getenv("MEMFLOOD_GOMEMLIMIT"); v != "" { // another, to compare
		t.Setenv("GOMEMLIMIT", v)
	}
	bin := envString("LOAD_SERVER_BIN", serverBin)
	limit := int64(envInt(t, "MEMFLOOD_POD_LIMIT_MIB", podLimit>>20)) << 20 // another, to compare
	pod := newPodCgroup(t, limit)
	if pod != nil {
		bin = pod.wrap(t, bin)
	}
	facade, grpcAddr, httpAddr, debugAddr := startFacade(t, bin, true,
		append([]string{"-sandbox"}, strings.Fields(os.Getenv("MEMFLOOD_ARGS"))...)...)
	pid := facade.cmd.Process.Pid
	a.grpcAddr, a.httpAddr = grpcAddr, httpAddr
	base := "http://" + httpAddr
	refs := references(t, grpcAddr, base, 5*time.Second)
	for id := range refs {
		a.id = id
	}

	rss := sampleRSS(pid, debugAddr, 250*time.Millisecond)
	healthy := map[string]*healthyCaller{}
	for _, port := range []string{"grpc", "http"} {
		h := newHealthyCaller(t, port, grpcAddr, base, a.id)
		h.every = 100 * time.Millisecond
		h.start()
		healthy[port] = h
	}
	for _, h := range healthy {
		h.await(10)
	}
	idle, _ := procStatus(pid, "VmRSS")

	ctx, cancel := context.WithTimeout(t.Context(), duration)
	defer cancel()
	for _, h := range healthy {
		h.mark("attack")
	}
	rss.mark("attack")
	var wg sync.WaitGroup
	for _, part := range a.parts {
		run, ok := a.runners()[part]
		if !ok {
			t.Fatalf("MEMFLOOD_PARTS: no part %q (parts: %s)", part, strings.Join(memFloodParts, ","))
		}
		wg.Go(func() { run(ctx) })
		time.Sleep(200 * time.Millisecond) // the next part's connections queue behind this one's
	}
	if f := os.Getenv("MEMFLOOD_PROFILE"); f != "" { // the heap two thirds into the attack
		select {
		case <-ctx.Done():
		case <-time.After(duration * 2 / 3):
			saveHeapProfile(t, debugAddr, f)
		}
	}
	<-ctx.Done()
	ended := time.Now()
	waited := make(chan struct{})
	go func() { wg.Wait(); close(waited) }()
	select {
	case <-waited:
	case <-time.After(15 * time.Second):
		t.Errorf("the attack's goroutines did not end within 15s of its end")
	}
	for _, h := range healthy {
		h.mark("after")
	}
	rss.mark("after")
	time.Sleep(time.Until(ended.Add(6 * time.Second))) // the facade's answers time out (answerWriteTimeout runs from the attack)
	for _, h := range healthy {
		h.mark("settled")
	}
	for _, h := range healthy {
		h.await(30)
	}
	calls := map[string]map[string]*phaseCalls{}
	for port, h := range healthy {
		calls[port] = h.stop()
	}
	peaks := rss.stop()
	hwm, _ := procStatus(pid, "VmHWM")
	inPod := "no cgroup"
	var oomKills int64
	if pod != nil {
		peak, atLimit, kills, err := pod.read()
		if err != nil {
			t.Errorf("the pod's cgroup: %v", err)
		}
		oomKills = kills
		inPod = fmt.Sprintf("%s · %d · %d", mib(peak), atLimit, kills)
	}

	var counts []string
	for k, v := range a.counts {
		counts = append(counts, fmt.Sprintf("%s=%d", k, v.Load()))
	}
	slices.Sort(counts)
	pad := "none"
	if a.pad > 0 {
		pad = fmt.Sprintf("%d B", a.pad)
	}
	row := fmt.Sprintf("| %s | %s | %v | %s | %s | %s | %s | %s | %.0f | %s | %s | %s | %s | %s |",
		strings.Join(a.parts, ", "), pad, a.reopen, mib(idle), mib(peaks["attack"].rss), mib(peaks["attack"].anon), mib(hwm), inPod, peaks["attack"].goroutines,
		calls["grpc"]["attack"].summary(), calls["http"]["attack"].summary(),
		calls["grpc"]["settled"].summary(), calls["http"]["settled"].summary(), mib(peaks["after"].rss))
	summary := "| parts | header bytes on held streams | reopen | VmRSS idle | VmRSS (peak, 250 ms) | RssAnon (peak) | VmHWM | in the pod's cgroup: peak · times at the limit · OOM kills | goroutines (peak) | healthy gRPC during | healthy REST during | healthy gRPC after | healthy REST after | VmRSS after (peak) |\n" +
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|---|\n" + row
	t.Logf("attack counts: %s", strings.Join(counts, " "))
	t.Logf("VmRSS every second during the attack (MiB): %s", rss.series())
	t.Log("\n" + summary)
	if r := os.Getenv("MEMFLOOD_REPORT"); r != "" {
		f, err := os.OpenFile(r, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
		if err == nil {
			_, err = fmt.Fprintf(f, "%s\n<!-- counts: %s -->\n", row, strings.Join(counts, " "))
			_ = f.Close()
		}
		if err != nil {
			t.Error(err)
		}
	}
	switch {
	case oomKills > 0:
		t.Errorf("the kernel killed the facade %d times in a cgroup of the pod's limit %s", oomKills, mib(float64(limit)))
	case pod == nil && hwm >= float64(limit):
		t.Errorf("VmHWM %s, over the pod's limit %s", mib(hwm), mib(float64(limit)))
	}
	for port, c := range calls {
		if s := c["settled"]; s == nil || s.ok == 0 || s.failed > 0 {
			t.Errorf("healthy %s caller once the attack is over: %s; want all answered", port, s.summary())
		}
		if d := c["attack"]; a.reopen == 0 && (d == nil || d.ok == 0) {
			t.Errorf("healthy %s caller: none answered during an attack that opens no stream again (%s)", port, d.summary())
		}
	}
	if err := facade.stop(15 * time.Second); err != nil {
		t.Errorf("facade did not exit cleanly on SIGTERM: %v", err)
	}
}

// configMapEnv reads the data of deploy/configmap.yaml but the listen
// addresses and the upstream (flags, -sandbox here).
func configMapEnv(t *testing.T) map[string]string {
	b, err := os.ReadFile("../deploy/configmap.yaml")
	if err != nil {
		t.Fatal(err)
	}
	env := map[string]string{}
	_, data, _ := strings.Cut(string(b), "\ndata:\n")
	for line := range strings.Lines(data) {
		k, v, ok := strings.Cut(strings.TrimSpace(line), ": ")
		if ok && !strings.HasPrefix(k, "#") && !strings.HasSuffix(k, "_ADDR") && k != "CLOUDCOCKPIT_BASE_URL" {
			env[k] = strings.Trim(v, `"`)
		}
	}
	if env["GOMEMLIMIT"] != manifestMemLimit {
		t.Fatalf("deploy/configmap.yaml: GOMEMLIMIT %q, want %q", env["GOMEMLIMIT"], manifestMemLimit)
	}
	return env
}

// memPeak is the most of the facade's memory and goroutines in a phase:
// anon is RssAnon, the part of VmRSS not backed by files (such as the
// binary's text), which the kernel cannot reclaim under the pod's limit.
type memPeak struct{ rss, anon, goroutines float64 }

// rssSampler reads the facade's VmRSS and RssAnon every interval and its goroutines
// (from the profiles' listener) every second, keeping the peaks by phase.
type rssSampler struct {
	mu     sync.Mutex
	phase  string
	peaks  map[string]memPeak
	attack []float64 // VmRSS each second of the attack
	done   chan struct{}
	out    chan struct{}
}

func sampleRSS(pid int, debugAddr string, d time.Duration) *rssSampler {
	s := &rssSampler{phase: "before", peaks: map[string]memPeak{}, done: make(chan struct{}), out: make(chan struct{})}
	hc := &http.Client{Timeout: 2 * time.Second}
	var wg sync.WaitGroup
	every := func(d time.Duration, f func(i int, p *memPeak)) {
		wg.Go(func() {
			tick := time.NewTicker(d)
			defer tick.Stop()
			for i := 0; ; i++ {
				select {
				case <-s.done:
					return
				case <-tick.C:
				}
				s.mu.Lock()
				p := s.peaks[s.phase]
				f(i, &p)
				s.peaks[s.phase] = p
				s.mu.Unlock()
			}
		})
	}
	every(d, func(i int, p *memPeak) { // under s.mu: /proc is quick
		if v, err := procStatus(pid, "RssAnon"); err == nil {
			p.anon = max(p.anon, v)
		}
		if v, err := procStatus(pid, "VmRSS"); err == nil {
			p.rss = max(p.rss, v)
			if s.phase == "attack" && i%int(time.Second/d) == 0 {
				s.attack = append(s.attack, v)
			}
		}
	})
	goroutinesNow := make(chan float64, 1)
	go func() { // the profile can take a while under the attack
		for {
			select {
			case <-s.done:
				return
			case goroutinesNow <- goroutines(hc, debugAddr):
			}
		}
	}()
	every(d, func(_ int, p *memPeak) {
		select {
		case g := <-goroutinesNow:
			p.goroutines = max(p.goroutines, g)
		default:
		}
	})
	go func() { wg.Wait(); close(s.out) }()
	return s
}

func (s *rssSampler) mark(phase string) { s.mu.Lock(); s.phase = phase; s.mu.Unlock() }

func (s *rssSampler) stop() map[string]memPeak { close(s.done); <-s.out; return s.peaks }

func (s *rssSampler) series() string {
	var b strings.Builder
	for _, v := range s.attack {
		fmt.Fprintf(&b, "%.0f ", v/(1<<20))
	}
	return b.String()
}

// goroutines reads the facade's goroutine count from its goroutine profile.
func goroutines(hc *http.Client, debugAddr string) float64 {
	resp, err := hc.Get("http://" + debugAddr + "/debug/pprof/goroutine?debug=1")
	if err != nil {
		return -1
	}
	defer resp.Body.Close()
	line, _ := bufio.NewReader(resp.Body).ReadString('\n') // "goroutine profile: total N"
	var n float64
	if _, err := fmt.Sscanf(line, "goroutine profile: total %g", &n); err != nil {
		return -1
	}
	return n
}

// saveHeapProfile writes the facade's heap profile to file, and the same as
// text, with the runtime's MemStats (stacks, GC), to file.txt.
func saveHeapProfile(t *testing.T, debugAddr, file string) {
	for _, f := range [][2]string{{"", file}, {"?debug=1", file + ".txt"}} {
		resp, err := http.Get("http://" + debugAddr + "/debug/pprof/heap" + f[0])
		if err != nil {
			t.Errorf("heap profile: %v", err)
			return
		}
		b, _ := io.ReadAll(resp.Body)
		_ = resp.Body.Close()
		if err := os.WriteFile(f[1], b, 0o644); err != nil {
			t.Error(err)
		}
	}
}

// attack runs the parts; every count it keeps is logged at the end.
type attack struct {
	parts              []string
	pad                int           // literal header bytes on each held stream (MEMFLOOD_HEADER_BYTES)
	reopen             time.Duration // before a held stream the facade ended is opened again; 0: never
	grpcAddr, httpAddr string
	id, tenant         string
	service            string // the ResellerService's full name

	mu     sync.Mutex
	counts map[string]*atomic.Int64
}

func (a *attack) count(part, what string) {
	a.mu.Lock()
	c := a.counts[part+"."+what]
	if c == nil {
		c = new(atomic.Int64)
		a.counts[part+"."+what] = c
	}
	a.mu.Unlock()
	c.Add(1)
}

func (a *attack) runners() map[string]func(context.Context) {
	return map[string]func(context.Context){
		"tenants": a.tenants, "headers": a.headers, "gzip": a.gzip, "trickle": a.trickle,
		"slowloris": a.slowloris, "reflect-unread": a.reflectUnread, "grpc-held": a.grpcHeld, "h2c-held": a.h2cHeld,
		"grpc-unread": a.grpcUnread,
	}
}

// workers runs n copies of f until ctx ends.
func workers(ctx context.Context, n int, f func(ctx context.Context, i int)) {
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() { f(ctx, i) })
	}
	wg.Wait()
}

// sleep waits d or until ctx ends, and reports whether ctx is still on.
func sleep(ctx context.Context, d time.Duration) bool {
	select {
	case <-ctx.Done():
		return false
	case <-time.After(d):
		return true
	}
}

// tenants: unary calls (8 on the gRPC port, each on its connection, 8 REST
// over HTTP/1.1), each with an invented tenant and token, as many as
// answered: per-tenant resilience state, per-principal upstream pools, the
// stale store.
func (a *attack) tenants(ctx context.Context) {
	workers(ctx, 16, func(ctx context.Context, i int) {
		rng := rand.New(rand.NewPCG(uint64(i), uint64(time.Now().UnixNano())))
		var do func(ctx context.Context, k call) result
		if i%2 == 0 {
			conn, err := newConn(a.grpcAddr)
			if err != nil {
				return
			}
			defer conn.Close()
			rs := pb.NewResellerServiceClient(conn)
			do = func(ctx context.Context, k call) result { return doGRPC(ctx, rs, nil, k) }
		} else {
			tr := &http.Transport{MaxConnsPerHost: 1}
			defer tr.CloseIdleConnections()
			hc := &http.Client{Transport: tr}
			do = func(ctx context.Context, k call) result { return doREST(ctx, hc, "http://"+a.httpAddr, k) }
		}
		for ctx.Err() == nil {
			k := call{method: getReseller, kind: kindReseller, resellerID: a.id,
				auth: fmt.Sprintf("Bearer m%016x", rng.Uint64()), tenant: fmt.Sprintf("t%016x.example.com", rng.Uint64())}
			cctx, cancel := context.WithTimeout(ctx, 5*time.Second)
			r := do(cctx, k)
			cancel()
			a.count("tenants", r.code)
		}
	})
}

// padValue fills header values: padding on held streams and large headers.
var padValue = strings.Repeat("x", 4000)

// headers: unary calls with ~28 KB of headers, under the 32 KiB limit: 4
// REST over HTTP/1.1, 4 on the gRPC port (metadata).
func (a *attack) headers(ctx context.Context) {
	workers(ctx, 8, func(ctx context.Context, i int) {
		k := call{method: getReseller, kind: kindReseller, resellerID: a.id, auth: "Bearer memflood", tenant: a.tenant}
		if i%2 == 0 {
			conn, err := newConn(a.grpcAddr)
			if err != nil {
				return
			}
			defer conn.Close()
			rs := pb.NewResellerServiceClient(conn)
			md := metadata.MD{}
			for j := range 7 {
				md.Set(fmt.Sprintf("x-pad-%d", j), padValue)
			}
			for ctx.Err() == nil {
				cctx, cancel := context.WithTimeout(metadata.NewOutgoingContext(ctx, md), 5*time.Second)
				r := doGRPC(cctx, rs, nil, k)
				cancel()
				a.count("headers", "grpc."+r.code)
			}
			return
		}
		tr := &http.Transport{MaxConnsPerHost: 1}
		defer tr.CloseIdleConnections()
		for ctx.Err() == nil {
			req, _ := http.NewRequestWithContext(ctx, http.MethodGet, "http://"+a.httpAddr+"/v1/Resellers/"+a.id, nil)
			req.Header.Set("Authorization", k.auth)
			req.Header.Set("X-Tenant", k.tenant)
			for j := range 7 {
				req.Header.Set(fmt.Sprintf("X-Pad-%d", j), padValue)
			}
			a.count("headers", "rest."+httpOutcome(tr.RoundTrip(req)))
		}
	})
}

// httpOutcome reads and closes an answer, and names it by status.
func httpOutcome(resp *http.Response, err error) string {
	if err != nil {
		return "error"
	}
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 1<<20))
	_ = resp.Body.Close()
	return fmt.Sprint(resp.StatusCode)
}

// gzipBomb is 60 MiB of zeros, gzipped: about 61 KB.
var gzipBomb = sync.OnceValue(func() []byte {
	var b bytes.Buffer
	w, _ := gzip.NewWriterLevel(&b, gzip.BestCompression)
	zeros := make([]byte, 1<<20)
	for range 60 {
		_, _ = w.Write(zeros)
	}
	_ = w.Close()
	return b.Bytes()
})

// gzip: one worker a form sends the bomb in a loop: Connect JSON and proto,
// gRPC-Web +json, REST (chunked), gRPC on the gRPC port and over h2c.
func (a *attack) gzip(ctx context.Context) {
	bomb := gzipBomb()
	framed := append([]byte{1, 0, 0, 0, 0}, bomb...)
	binary.BigEndian.PutUint32(framed[1:], uint32(len(bomb))) //nolint:gosec // G115: small
	method := "/" + a.service + "/GetReseller"
	type form struct {
		name, ctype, path string
		hdr               map[string]string
		body              []byte
	}
	forms := []form{
		{"connect-json", "application/json", method, map[string]string{"Content-Encoding": "gzip"}, bomb},
		{"connect-proto", "application/proto", method, map[string]string{"Content-Encoding": "gzip"}, bomb},
		{"grpcweb-json", "application/grpc-web+json", method, map[string]string{"Grpc-Encoding": "gzip"}, framed},
		{"rest", "application/json", "/v1/Resellers/" + a.id, map[string]string{"Content-Encoding": "gzip"}, bomb},
	}
	workers(ctx, len(forms)+2, func(ctx context.Context, i int) {
		if i >= len(forms) { // gRPC, raw: the gRPC port, then h2c on the HTTP port
			addr, ctype, name := a.grpcAddr, "application/grpc", "grpc"
			if i > len(forms) {
				addr, ctype, name = a.httpAddr, "application/grpc+json", "h2c-json"
			}
			for ctx.Err() == nil {
				r, err := dialRaw(ctx, addr)
				if err != nil {
					sleep(ctx, 100*time.Millisecond)
					continue
				}
				for ctx.Err() == nil {
					s, err := r.open(a.grpcHeaders(addr, method, ctype, "grpc-encoding", "gzip"), 0, false)
					if err != nil {
						break
					}
					r.send(s, framed, 5*time.Second, true)
					select {
					case <-ctx.Done():
					case <-s.done:
					case <-time.After(10 * time.Second):
					}
					a.count("gzip", name)
				}
				r.close()
			}
			return
		}
		f := forms[i]
		tr := &http.Transport{MaxConnsPerHost: 1}
		defer tr.CloseIdleConnections()
		for ctx.Err() == nil {
			var body io.Reader = bytes.NewReader(f.body)
			if f.name == "rest" {
				body = io.MultiReader(body) // no length: chunked
			}
			req, _ := http.NewRequestWithContext(ctx, http.MethodPost, "http://"+a.httpAddr+f.path, body)
			req.Header.Set("Content-Type", f.ctype)
			req.Header.Set("Authorization", "Bearer memflood")
			req.Header.Set("X-Tenant", a.tenant)
			for k, v := range f.hdr {
				req.Header.Set(k, v)
			}
			a.count("gzip", f.name+"."+httpOutcome(tr.RoundTrip(req)))
		}
	})
}

// trickle: 16 HTTP/1.1 connections each send a request whose 60,000-byte
// body (Connect JSON, or a gRPC-Web message) comes a byte every 50 ms, then
// connect again once the facade answers or closes.
func (a *attack) trickle(ctx context.Context) {
	workers(ctx, 16, func(ctx context.Context, i int) {
		ctype, head := "application/json", []byte{}
		if i%2 == 1 {
			ctype, head = "application/grpc-web+proto", []byte{0, 0, 0, 0xea, 0x60} // 60,000 bytes
		}
		for ctx.Err() == nil {
			c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", a.httpAddr)
			if err != nil {
				sleep(ctx, 100*time.Millisecond)
				continue
			}
			stop := context.AfterFunc(ctx, func() { _ = c.Close() })
			answered := make(chan struct{})
			go func() { _, _ = io.Copy(io.Discard, c); close(answered) }()
			_, err = fmt.Fprintf(c, "POST /%s/GetReseller HTTP/1.1\r\nHost: facade\r\nContent-Type: %s\r\nContent-Length: %d\r\n"+
				"Authorization: Bearer memflood\r\nX-Tenant: %s\r\n\r\n%s", a.service, ctype, len(head)+60000, a.tenant, head)
			a.count("trickle", "requests")
			for sent := 0; err == nil && sent < 60000; sent++ {
				select {
				case <-answered:
					err = io.EOF
				case <-ctx.Done():
					err = ctx.Err()
				case <-time.After(50 * time.Millisecond):
					_, err = c.Write([]byte{' '})
				}
			}
			_ = c.Close()
			stop()
			<-answered
		}
	})
}

// slowloris: 16 HTTP/1.1 connections each send a request's headers 4 KB
// every 600 ms, up to 28 KB (the facade allows 10 s for them), then wait for
// the facade to close the connection, and connect again.
func (a *attack) slowloris(ctx context.Context) {
	workers(ctx, 16, func(ctx context.Context, i int) {
		for ctx.Err() == nil {
			c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", a.httpAddr)
			if err != nil {
				sleep(ctx, 100*time.Millisecond)
				continue
			}
			stop := context.AfterFunc(ctx, func() { _ = c.Close() })
			a.count("slowloris", "conns")
			_, err = fmt.Fprintf(c, "GET /v1/Resellers/%s HTTP/1.1\r\nHost: facade\r\n", a.id)
			for j := 0; err == nil && j < 7 && sleep(ctx, 600*time.Millisecond); j++ {
				_, err = fmt.Fprintf(c, "X-Pad-%d: %s\r\n", j, padValue[:3980])
			}
			_ = c.SetReadDeadline(time.Now().Add(15 * time.Second))
			if _, err := c.Read(make([]byte, 1024)); err != nil && ctx.Err() == nil {
				a.count("slowloris", "closed by the facade")
			}
			_ = c.Close()
			stop()
		}
	})
}

// reflectionRequests are four reflection requests whose answers echo 60 KiB.
var reflectionRequests = sync.OnceValue(func() []byte {
	req, _ := proto.Marshal(&rpb.ServerReflectionRequest{Host: strings.Repeat("x", 60<<10),
		MessageRequest: &rpb.ServerReflectionRequest_ListServices{}})
	var b []byte
	for range 4 {
		m := []byte{0, 0, 0, 0, 0}
		binary.BigEndian.PutUint32(m[1:], uint32(len(req))) //nolint:gosec // G115: small
		b = append(append(b, m...), req...)
	}
	return b
})

// reflectionPath is the reflection service's bidirectional method.
const reflectionPath = rpb.ServerReflection_ServerReflectionInfo_FullMethodName

// reflectUnread: 4 gRPC-port connections that grant no window each open 16
// reflection streams and send requests whose large answers they never read.
func (a *attack) reflectUnread(ctx context.Context) {
	workers(ctx, 4, func(ctx context.Context, i int) {
		r, err := dialRaw(ctx, a.grpcAddr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		if err != nil {
			return
		}
		defer r.close()
		a.held(ctx, "reflect-unread", r, 16, func(int) ([][2]string, bool) {
			return a.grpcHeaders(a.grpcAddr, reflectionPath, "application/grpc"), false
		}, func(_ int, s *rawStream) { r.send(s, reflectionRequests(), 500*time.Millisecond, false) })
	})
}

// grpcHeld: 128 gRPC-port connections of 100 streams each (the port's
// connections, grpc-go's streams) that send headers (MEMFLOOD_HEADER_BYTES
// more of them) and never a message.
func (a *attack) grpcHeld(ctx context.Context) {
	workers(ctx, 128, func(ctx context.Context, i int) {
		r, err := dialRaw(ctx, a.grpcAddr)
		if err != nil {
			return
		}
		defer r.close()
		a.held(ctx, "grpc-held", r, 100, func(int) ([][2]string, bool) {
			return a.grpcHeaders(a.grpcAddr, "/"+a.service+"/GetReseller", "application/grpc"), false
		}, nil)
	})
}

// grpcUnread: 128 gRPC-port connections that grant no window, each with 100
// streams (grpc-go's) that send a Health/Check message and
// MEMFLOOD_HEADER_BYTES more headers: each call ends and frees its slot, but
// its answer is never written, and grpc-go keeps the stream until its
// connection closes (docs/security.md, "Answers not read").
func (a *attack) grpcUnread(ctx context.Context) {
	workers(ctx, 128, func(ctx context.Context, i int) {
		r, err := dialRaw(ctx, a.grpcAddr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		if err != nil {
			return
		}
		defer r.close()
		a.held(ctx, "grpc-unread", r, 100, func(int) ([][2]string, bool) {
			return a.grpcHeaders(a.grpcAddr, "/grpc.health.v1.Health/Check", "application/grpc"), false
		}, func(_ int, s *rawStream) { r.send(s, make([]byte, 5), time.Second, true) })
	})
}

// h2cHeld: 128 HTTP-port h2c connections that grant no window, each with 16
// streams (the port grants 4 at once and refuses the rest), every one with
// MEMFLOOD_HEADER_BYTES more headers, in turn: a reflection stream sent requests whose answers it never
// reads; a gRPC GetReseller whose message comes a byte a DATA frame every
// 10 ms; a /metrics scrape, never read; a gRPC GetReseller with headers only.
func (a *attack) h2cHeld(ctx context.Context) {
	workers(ctx, 128, func(ctx context.Context, i int) {
		r, err := dialRaw(ctx, a.httpAddr, http2.Setting{ID: http2.SettingInitialWindowSize, Val: 0})
		if err != nil {
			return
		}
		defer r.close()
		get := "/" + a.service + "/GetReseller"
		a.held(ctx, "h2c-held", r, 16, func(slot int) ([][2]string, bool) {
			switch slot % 4 {
			case 0:
				return a.grpcHeaders(a.httpAddr, reflectionPath, "application/grpc"), false
			case 2:
				return [][2]string{{":method", "GET"}, {":scheme", "http"}, {":authority", a.httpAddr}, {":path", "/metrics"}}, true
			default:
				return a.grpcHeaders(a.httpAddr, get, "application/grpc"), false
			}
		}, func(slot int, s *rawStream) {
			switch slot % 4 {
			case 0:
				r.send(s, reflectionRequests(), 500*time.Millisecond, false)
			case 1:
				r.send(s, []byte{0, 0, 0, 0xea, 0x60}, time.Second, false) // 60,000 bytes
				tick := time.NewTicker(10 * time.Millisecond)
				defer tick.Stop()
				for range 60000 {
					select {
					case <-ctx.Done():
						return
					case <-s.done:
						return
					case <-tick.C:
					}
					if r.send(s, []byte{0x0a}, time.Second, false) != 1 {
						return
					}
				}
			}
		})
	})
}

// held runs streams streams on r, each opened with the headers head gives
// for its slot (and endStream) and a.pad bytes more, then body; once the
// facade ends one it is opened again after a.reopen (never if 0).
func (a *attack) held(ctx context.Context, part string, r *rawConn, streams int, head func(slot int) ([][2]string, bool), body func(slot int, s *rawStream)) {
	workers(ctx, streams, func(ctx context.Context, slot int) {
		for ctx.Err() == nil {
			h, end := head(slot)
			s, err := r.open(h, a.pad, end)
			if err != nil {
				return
			}
			a.count(part, "streams")
			if body != nil {
				body(slot, s)
			}
			select {
			case <-ctx.Done():
				return
			case <-s.done:
			}
			if time.Since(s.opened) < time.Second {
				a.count(part, "ended within 1s")
			} else {
				a.count(part, "ended later")
			}
			if a.reopen <= 0 || !sleep(ctx, a.reopen) {
				return
			}
		}
	})
}

func (a *attack) grpcHeaders(addr, path, ctype string, more ...string) [][2]string {
	h := [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", addr}, {":path", path},
		{"content-type", ctype}, {"te", "trailers"}, {"authorization", "Bearer memflood"}, {"x-tenant", a.tenant}}
	for i := 0; i+1 < len(more); i += 2 {
		h = append(h, [2]string{more[i], more[i+1]})
	}
	return h
}

// padBlock encodes pad bytes of header values (x-pad-0: xxx..., at most 4000
// a field) as HPACK literals never indexed and without Huffman coding, so
// that every stream costs the server a copy of its own, and the client
// little CPU: the encoding holds no state and is made once.
func padBlock(pad int) []byte {
	padBlocks.Lock()
	defer padBlocks.Unlock()
	if b, ok := padBlocks.m[pad]; ok {
		return b
	}
	integer := func(b []byte, first byte, prefix uint, v int) []byte { // RFC 7541, 5.1
		limit := 1<<prefix - 1
		if v < limit {
			return append(b, first|byte(v))
		}
		b = append(b, first|byte(limit))
		for v -= limit; v >= 128; v >>= 7 {
			b = append(b, byte(v%128+128))
		}
		return append(b, byte(v))
	}
	var b []byte
	for i, left := 0, pad; left > 0; i++ {
		name, n := fmt.Sprintf("x-pad-%d", i), min(left, len(padValue))
		b = integer(append(integer(append(b, 0x10), 0, 7, len(name)), name...), 0, 7, n) // never indexed, new name
		b = append(b, padValue[:n]...)
		left -= n
	}
	padBlocks.m[pad] = b
	return b
}

var padBlocks = struct {
	sync.Mutex
	m map[int][]byte
}{m: map[int][]byte{}}

// rawConn is a raw HTTP/2 (h2c) client connection that keeps to the server's
// flow control when it sends, acknowledges SETTINGS and PINGs, and reads no
// answer: its streams end when the server ends them.
type rawConn struct {
	c    net.Conn
	stop func() bool
	wmu  sync.Mutex // guards the framer's writes, the encoder and next
	fr   *http2.Framer
	hb   bytes.Buffer
	enc  *hpack.Encoder
	next uint32

	mu      sync.Mutex
	cond    *sync.Cond
	connWin int64
	initWin int64
	streams map[uint32]*rawStream
	err     error
}

// rawStream is a stream of a rawConn; done closes when the server ends it.
type rawStream struct {
	id     uint32
	win    int64
	opened time.Time
	done   chan struct{}
}

func dialRaw(ctx context.Context, addr string, settings ...http2.Setting) (*rawConn, error) {
	c, err := (&net.Dialer{Timeout: 5 * time.Second}).DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, err
	}
	r := &rawConn{c: c, fr: http2.NewFramer(c, bufio.NewReader(c)), next: 1, connWin: 65535, initWin: 65535, streams: map[uint32]*rawStream{}}
	r.stop = context.AfterFunc(ctx, r.close)
	r.enc = hpack.NewEncoder(&r.hb)
	r.cond = sync.NewCond(&r.mu)
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		r.close()
		return nil, err
	}
	if err := r.fr.WriteSettings(settings...); err != nil {
		r.close()
		return nil, err
	}
	go r.read()
	return r, nil
}

func (r *rawConn) close() { _ = r.c.Close() }

func (r *rawConn) write(w func(*http2.Framer) error) error {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	return w(r.fr)
}

func (r *rawConn) read() {
	for {
		f, err := r.fr.ReadFrame()
		r.mu.Lock()
		if err != nil {
			r.err = err
			for id, s := range r.streams {
				close(s.done)
				delete(r.streams, id)
			}
			r.cond.Broadcast()
			r.mu.Unlock()
			return
		}
		var end uint32
		switch f := f.(type) {
		case *http2.SettingsFrame:
			if !f.IsAck() {
				if v, ok := f.Value(http2.SettingInitialWindowSize); ok {
					for _, s := range r.streams {
						s.win += int64(v) - r.initWin
					}
					r.initWin = int64(v)
				}
				go func() { _ = r.write(func(fr *http2.Framer) error { return fr.WriteSettingsAck() }) }()
			}
		case *http2.PingFrame:
			if !f.IsAck() {
				data := f.Data
				go func() { _ = r.write(func(fr *http2.Framer) error { return fr.WritePing(true, data) }) }()
			}
		case *http2.WindowUpdateFrame:
			if f.StreamID == 0 {
				r.connWin += int64(f.Increment)
			} else if s := r.streams[f.StreamID]; s != nil {
				s.win += int64(f.Increment)
			}
		case *http2.RSTStreamFrame:
			end = f.StreamID
		case *http2.HeadersFrame:
			if f.StreamEnded() {
				end = f.StreamID
			}
		case *http2.DataFrame:
			if f.StreamEnded() {
				end = f.StreamID
			}
		}
		if s := r.streams[end]; s != nil {
			close(s.done)
			delete(r.streams, end)
		}
		r.cond.Broadcast()
		r.mu.Unlock()
	}
}

// open starts a stream with fields and padBlock(pad), split into
// CONTINUATION frames of 16 KiB.
func (r *rawConn) open(fields [][2]string, pad int, endStream bool) (*rawStream, error) {
	r.wmu.Lock()
	defer r.wmu.Unlock()
	s := &rawStream{id: r.next, opened: time.Now(), done: make(chan struct{})}
	r.next += 2
	r.hb.Reset()
	for _, f := range fields {
		_ = r.enc.WriteField(hpack.HeaderField{Name: f[0], Value: f[1]})
	}
	r.hb.Write(padBlock(pad))
	r.mu.Lock()
	if r.err != nil {
		r.mu.Unlock()
		return nil, r.err
	}
	s.win = r.initWin
	r.streams[s.id] = s
	r.mu.Unlock()
	block := r.hb.Bytes()
	first := block[:min(len(block), 16<<10)]
	err := r.fr.WriteHeaders(http2.HeadersFrameParam{StreamID: s.id, BlockFragment: first, EndHeaders: len(first) == len(block), EndStream: endStream})
	for block = block[len(first):]; err == nil && len(block) > 0; {
		n := min(len(block), 16<<10)
		err = r.fr.WriteContinuation(s.id, n == len(block), block[:n])
		block = block[n:]
	}
	return s, err
}

// send writes p on s in DATA frames of at most 16 KiB, each once the
// server's windows allow, waiting at most wait for them; endStream ends the
// stream with the last. It returns the bytes sent.
func (r *rawConn) send(s *rawStream, p []byte, wait time.Duration, endStream bool) int {
	sent := 0
	for len(p) > 0 {
		n := r.take(s, min(len(p), 16<<10), wait)
		last := n == len(p) && endStream
		if n == 0 || r.write(func(fr *http2.Framer) error { return fr.WriteData(s.id, last, p[:n]) }) != nil {
			return sent
		}
		sent += n
		p = p[n:]
	}
	return sent
}

// take waits, at most wait, for the windows to let at most n bytes go on s,
// and takes them: 0 when none came, or s or the connection ended.
func (r *rawConn) take(s *rawStream, n int, wait time.Duration) int {
	r.mu.Lock()
	defer r.mu.Unlock()
	timedOut := false // under r.mu
	timer := time.AfterFunc(wait, func() { r.mu.Lock(); timedOut = true; r.cond.Broadcast(); r.mu.Unlock() })
	defer timer.Stop()
	open := func() bool { return r.streams[s.id] == s }
	for r.err == nil && open() && min(r.connWin, s.win) <= 0 && !timedOut {
		r.cond.Wait()
	}
	k := int(min(int64(n), r.connWin, s.win))
	if r.err != nil || !open() || k <= 0 {
		return 0
	}
	r.connWin -= int64(k)
	s.win -= int64(k)
	return k
}
