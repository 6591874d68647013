//go:build load

package loadtest

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"golang.org/x/net/http2"
	"golang.org/x/net/http2/hpack"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// podLimit is the container's memory limit in deploy/deployment.yaml, and
// manifestMemLimit the ConfigMap's GOMEMLIMIT, under which the facade runs here.
const (
	podLimit         = 176 << 20
	manifestMemLimit = "115MiB"
)

// floodSettings are TestFlood's knobs (docs/load.md).
type floodSettings struct {
	conns, streams int           // FLOOD_CONNS (300), FLOOD_STREAMS (100 per connection)
	hold           time.Duration // FLOOD_HOLD: how long the flood's connections stay open
	ports          []string      // FLOOD_PORTS: "grpc,http", flooded one after the other
	settle         time.Duration // LOAD_SETTLE
}

// TestFlood (run by hand; make load runs the floods within TestLoad) floods
// each port in turn with connections that open streams with
// headers and never a message, while a healthy caller on its own connection keeps
// calling; it checks that the facade's memory stays under the pod's limit, that the
// healthy caller is answered again at the latest once the held streams time out,
// that no healthy call fails after the flood, and that goroutines come back.
func TestFlood(t *testing.T) {
	fs := floodSettings{
		conns:   envInt(t, "FLOOD_CONNS", 300),
		streams: envInt(t, "FLOOD_STREAMS", 100),
		hold:    envDuration(t, "FLOOD_HOLD", 7*time.Second),
		ports:   strings.Split(envString("FLOOD_PORTS", "grpc,http"), ","),
		settle:  envDuration(t, "LOAD_SETTLE", 15*time.Second),
	}
	portFile := filepath.Join(t.TempDir(), "sandbox.addr")
	sb := startProcess(t, "sandbox", sandboxBin, "-addr", "127.0.0.1:0", "-port-file", portFile, "-latency", "5ms", "-idle-timeout", "1s")
	upstream := "http://" + waitPortFile(t, sb, portFile)
	bin := envString("LOAD_SERVER_BIN", serverBin)                          // another build, to compare
	t.Setenv("GOMEMLIMIT", envString("FLOOD_GOMEMLIMIT", manifestMemLimit)) // the manifests' setting; "off" for none
	args := append([]string{"-upstream-url", upstream, "-log-level", "error"},
		strings.Fields(os.Getenv("FLOOD_ARGS"))...) // such as -max-calls=500
	facade, grpcAddr, httpAddr, _ := startFacade(t, bin, false, args...)
	base := "http://" + httpAddr
	scraper := newScraper(base + "/metrics")
	refs := references(t, grpcAddr, base, 5*time.Second)
	id := slices.Sorted(func(yield func(string) bool) {
		for k := range refs {
			if !yield(k) {
				return
			}
		}
	})[0]
	baseline := scraper.quiet(t).sum("go_goroutines", nil) // the warm-up's connections closed

	var rows []string
	for _, port := range fs.ports {
		addr, path := grpcAddr, "/"+pb.ResellerService_ServiceDesc.ServiceName+"/GetReseller"
		if port == "http" {
			addr = httpAddr
		}
		t.Logf("%s flood: %d connections × %d streams", port, fs.conns, fs.streams)
		healthy := newHealthyCaller(t, port, grpcAddr, base, id)
		healthy.start()
		healthy.await(25) // healthy calls before the flood

		peaks := scraper.sampleEvery(250 * time.Millisecond)
		start := time.Now()
		fl := startFlood(addr, path, fs.conns, fs.streams)
		healthy.mark("flood")
		time.Sleep(fs.hold) // a slow peer: the flood holds its streams
		fl.close()
		healthy.mark("recovery")
		peak := peaks()
		floodEnd := time.Now()
		var recovered time.Duration
		for {
			m, err := scraper.scrape()
			g := m.sum("go_goroutines", nil)
			if err == nil && g <= baseline+goroutineMargin+healthyGoroutines {
				recovered = time.Since(floodEnd)
				healthy.mark("after")
				break
			}
			if time.Since(floodEnd) > fs.settle {
				t.Errorf("%s flood: goroutines %v, %v after the flood ended (baseline %v)", port, g, fs.settle, baseline)
				break
			}
			<-time.After(50 * time.Millisecond) // the next scrape
		}
		healthy.await(50) // healthy calls after the flood
		calls := healthy.stop()
		hwm, _ := procStatus(facade.cmd.Process.Pid, "VmHWM")

		during, recovery, after := calls["flood"], calls["recovery"], calls["after"]
		rows = append(rows, fmt.Sprintf("| %s | %d×%d | %d / %d | %d (%s) | %.0f | %s | %s | %s | %s | %s | %s |",
			port, fs.conns, fs.streams, fl.refusedFast.Load(), fl.ended.Load(), fl.conns.Load(), time.Since(start).Round(time.Millisecond),
			peak.goroutines, mib(peak.rss), mib(hwm), during.summary(), recovered.Round(10*time.Millisecond), recovery.summary(), after.summary()))
		if hwm >= podLimit {
			t.Errorf("%s flood: VmHWM %s, over the pod's limit %s", port, mib(hwm), mib(podLimit))
		}
		if after.ok == 0 || after.failed > 0 {
			t.Errorf("%s flood: healthy calls once recovered: %s; want all answered", port, after.summary())
		}
		if during.ok == 0 {
			t.Errorf("%s flood: no healthy call answered during the flood (%s)", port, during.summary())
		}
	}
	summary := "| port | flood | streams ended within 1 s / ended by the server | connections that sent every stream (time) | goroutines (peak) | RSS (peak) | VmHWM | healthy caller during the flood | recovery (goroutines back) | healthy caller during recovery | after |\n|---|---|---|---|---|---|---|---|---|---|---|\n" + strings.Join(rows, "\n")
	t.Log("\n" + summary)
	if r := os.Getenv("FLOOD_REPORT"); r != "" {
		if err := os.WriteFile(r, []byte(summary+"\n"), 0o644); err != nil {
			t.Error(err)
		}
	}
	if err := facade.stop(15 * time.Second); err != nil {
		t.Errorf("facade did not exit cleanly on SIGTERM: %v", err)
	}
	_ = sb.stop(15 * time.Second)
}

// healthyGoroutines is what the healthy caller's connection may hold on the server.
const healthyGoroutines = 4

// sampleEvery scrapes every d until the returned function is called, which
// returns the peaks. It keeps one connection open from the start, so that a
// flood that fills the HTTP port's connections does not starve it.
func (s *scraper) sampleEvery(d time.Duration) func() snapshot {
	tr := &http.Transport{}
	ka := &scraper{url: s.url, hc: &http.Client{Transport: tr, Timeout: 5 * time.Second}}
	var peak snapshot
	sample := func() {
		if m, err := ka.scrape(); err == nil {
			peak.goroutines = max(peak.goroutines, m.sum("go_goroutines", nil))
			peak.rss = max(peak.rss, m.sum("process_resident_memory_bytes", nil))
		}
	}
	sample() // the connection, before the flood
	done := make(chan struct{})
	out := make(chan snapshot, 1)
	go func() {
		defer tr.CloseIdleConnections()
		tick := time.NewTicker(d)
		defer tick.Stop()
		for {
			select {
			case <-done:
				out <- peak
				return
			case <-tick.C:
				sample()
			}
		}
	}()
	return func() snapshot { close(done); return <-out }
}

// flood holds connections with streams that sent headers and no message.
type flood struct {
	mu    sync.Mutex
	netc  []net.Conn
	wg    sync.WaitGroup
	conns atomic.Int64 // connections whose streams were all sent
	// refusedFast counts streams the server ended within a second of opening them;
	// ended all streams it ended.
	refusedFast, ended atomic.Int64
}

// startFlood opens conns connections to addr at once, each with streams
// headers-only streams to path, over HTTP/2 with prior knowledge (h2c).
func startFlood(addr, path string, conns, streams int) *flood {
	f := &flood{}
	for range conns {
		f.wg.Go(func() { f.one(addr, path, streams) })
	}
	return f
}

func (f *flood) one(addr, path string, streams int) {
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		return
	}
	f.mu.Lock()
	f.netc = append(f.netc, c)
	f.mu.Unlock()
	if _, err := c.Write([]byte(http2.ClientPreface)); err != nil {
		return
	}
	fr := http2.NewFramer(c, c)
	if fr.WriteSettings() != nil {
		return
	}
	var hb bytes.Buffer
	enc := hpack.NewEncoder(&hb)
	opened := time.Now()
	for i := range streams {
		hb.Reset()
		for _, h := range [][2]string{{":method", "POST"}, {":scheme", "http"}, {":authority", addr}, {":path", path},
			{"content-type", "application/grpc"}, {"te", "trailers"}, {"authorization", "Bearer load-flood"}} {
			_ = enc.WriteField(hpack.HeaderField{Name: h[0], Value: h[1]})
		}
		if fr.WriteHeaders(http2.HeadersFrameParam{StreamID: uint32(2*i + 1), BlockFragment: hb.Bytes(), EndHeaders: true}) != nil {
			return
		}
	}
	f.conns.Add(1)
	ended := map[uint32]bool{}
	end := func(id uint32) {
		if !ended[id] {
			ended[id] = true
			f.ended.Add(1)
			if time.Since(opened) < time.Second {
				f.refusedFast.Add(1)
			}
		}
	}
	for { // until close: ack settings and pings, count ended streams
		fm, err := fr.ReadFrame()
		if err != nil {
			return
		}
		switch fm := fm.(type) {
		case *http2.SettingsFrame:
			if !fm.IsAck() {
				_ = fr.WriteSettingsAck()
			}
		case *http2.PingFrame:
			if !fm.IsAck() {
				_ = fr.WritePing(true, fm.Data)
			}
		case *http2.RSTStreamFrame:
			end(fm.StreamID)
		case *http2.HeadersFrame:
			if fm.StreamEnded() {
				end(fm.StreamID)
			}
		case *http2.DataFrame:
			if fm.StreamEnded() {
				end(fm.StreamID)
			}
		}
	}
}

// close closes the flood's connections and waits for its goroutines.
func (f *flood) close() {
	f.mu.Lock()
	for _, c := range f.netc {
		_ = c.Close()
	}
	f.mu.Unlock()
	f.wg.Wait()
}

// healthyCaller calls GetReseller in a loop on a connection of its own (gRPC, or
// HTTP/1.1 to the REST mirror), recording outcomes and latency by phase.
type healthyCaller struct {
	t        *testing.T
	call     func(ctx context.Context) error
	stopc    chan struct{}
	done     chan struct{}
	answered chan struct{} // gets a value after a call when none is pending
	mu       sync.Mutex
	phase    string
	calls    map[string]*phaseCalls
	close    func()
	every    time.Duration // between calls' starts
}

// phaseCalls are the healthy caller's outcomes in one phase.
type phaseCalls struct {
	ok, failed int
	lat        []time.Duration
	errs       map[string]int
}

func (p *phaseCalls) summary() string {
	if p == nil {
		return "none"
	}
	slices.Sort(p.lat)
	q := func(f float64) time.Duration {
		if len(p.lat) == 0 {
			return 0
		}
		return p.lat[min(len(p.lat)-1, int(f*float64(len(p.lat))))].Round(100 * time.Microsecond)
	}
	s := fmt.Sprintf("%d of %d answered, p50 %v, p99 %v", p.ok, p.ok+p.failed, q(0.5), q(0.99))
	for e, n := range p.errs {
		s += fmt.Sprintf("; %d× %s", n, e)
	}
	return s
}

func newHealthyCaller(t *testing.T, port, grpcAddr, base, id string) *healthyCaller {
	h := &healthyCaller{t: t, stopc: make(chan struct{}), done: make(chan struct{}), answered: make(chan struct{}, 1), phase: "before", calls: map[string]*phaseCalls{}, every: 20 * time.Millisecond}
	k := call{method: getReseller, kind: kindReseller, resellerID: id, auth: "Bearer load-healthy", tenant: tenants[0]}
	if port == "grpc" {
		conn, err := newConn(grpcAddr)
		if err != nil {
			t.Fatal(err)
		}
		rs := pb.NewResellerServiceClient(conn)
		h.call = func(ctx context.Context) error { return resultErr(doGRPC(ctx, rs, nil, k)) }
		h.close = func() { _ = conn.Close() }
	} else {
		tr := &http.Transport{MaxConnsPerHost: 1}
		hc := &http.Client{Transport: tr}
		h.call = func(ctx context.Context) error { return resultErr(doREST(ctx, hc, base, k)) }
		h.close = tr.CloseIdleConnections
	}
	return h
}

func resultErr(r result) error {
	if r.code == "OK" {
		return nil
	}
	return fmt.Errorf("%s/%s", r.code, r.reason)
}

func (h *healthyCaller) start() {
	go func() {
		defer close(h.done)
		tick := time.NewTicker(h.every)
		defer tick.Stop()
		for {
			select {
			case <-h.stopc:
				return
			case <-tick.C:
			}
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
			t0 := time.Now()
			err := h.call(ctx)
			d := time.Since(t0)
			cancel()
			h.mu.Lock()
			p := h.calls[h.phase]
			if p == nil {
				p = &phaseCalls{errs: map[string]int{}}
				h.calls[h.phase] = p
			}
			if err == nil {
				p.ok++
				p.lat = append(p.lat, d)
			} else {
				p.failed++
				p.errs[err.Error()]++
			}
			h.mu.Unlock()
			select {
			case h.answered <- struct{}{}:
			default:
			}
		}
	}()
}

// await waits until the healthy caller has made n calls in the current
// phase, at most 30s.
func (h *healthyCaller) await(n int) {
	h.t.Helper()
	timeout := time.After(30 * time.Second)
	for {
		h.mu.Lock()
		phase, p := h.phase, h.calls[h.phase]
		made := p != nil && p.ok+p.failed >= n
		h.mu.Unlock()
		if made {
			return
		}
		select {
		case <-h.answered:
		case <-timeout:
			h.t.Errorf("the healthy caller made fewer than %d calls in 30s (phase %s)", n, phase)
			return
		}
	}
}

func (h *healthyCaller) mark(phase string) {
	h.mu.Lock()
	h.phase = phase
	h.mu.Unlock()
}

func (h *healthyCaller) stop() map[string]*phaseCalls {
	close(h.stopc)
	<-h.done
	h.close()
	return h.calls
}

// floods are what TestLoad interleaves with its load: each port in turn is
// flooded (floodSettings) after a quiet gap, until too little load time is
// left for another flood and the quiet load after it.
type floods struct {
	t                  *testing.T
	fs                 floodSettings
	gap                time.Duration // FLOOD_GAP: quiet load before each flood
	grpcAddr, httpAddr string
	scraper            *scraper

	// seq numbers the phases of the load: even while no flood is on, odd from a
	// flood's start until the facade's goroutines are back to where they were
	// before it (flood k is 2k-1, the quiet load after it 2k).
	seq  atomic.Int64
	rows []floodRow
	peak snapshot
	done chan struct{}
}

// floodRow is what one flood did to the facade.
type floodRow struct {
	port                      string
	refusedFast, ended, conns int64
	peak                      snapshot
	recovered                 time.Duration
}

func newFloods(t *testing.T, grpcAddr, httpAddr string, s *scraper) *floods {
	return &floods{t: t, grpcAddr: grpcAddr, httpAddr: httpAddr, scraper: s, done: make(chan struct{}),
		gap: envDuration(t, "FLOOD_GAP", 5*time.Second),
		fs: floodSettings{
			conns:   envInt(t, "FLOOD_CONNS", 300),
			streams: envInt(t, "FLOOD_STREAMS", 100),
			hold:    envDuration(t, "FLOOD_HOLD", 7*time.Second),
			ports:   strings.Split(envString("FLOOD_PORTS", "grpc,http"), ","),
			settle:  envDuration(t, "LOAD_SETTLE", 15*time.Second),
		}}
}

// run floods until the load ends at until (or stop closes), leaving at least
// 2 s of quiet load after the last flood; wait returns once it is done.
func (f *floods) run(until time.Time, stop <-chan struct{}) {
	go func() {
		defer close(f.done)
		for i := 0; f.fs.conns > 0 && time.Until(until) >= f.gap+f.fs.hold+2*time.Second; i++ {
			select {
			case <-stop:
				return
			case <-time.After(f.gap):
			}
			f.one(f.fs.ports[i%len(f.fs.ports)])
		}
	}()
}

func (f *floods) wait() { <-f.done }

// one floods port for FLOOD_HOLD, then waits until the facade's goroutines
// are back to their count before the flood (within a margin for the load's
// own), at most LOAD_SETTLE.
func (f *floods) one(port string) {
	addr, path := f.grpcAddr, "/"+pb.ResellerService_ServiceDesc.ServiceName+"/GetReseller"
	if port == "http" {
		addr = f.httpAddr
	}
	m, _ := f.scraper.scrape()
	before := m.sum("go_goroutines", nil)
	peaks := f.scraper.sampleEvery(250 * time.Millisecond)
	f.seq.Add(1)
	fl := startFlood(addr, path, f.fs.conns, f.fs.streams)
	<-time.After(f.fs.hold) // the flood's length
	fl.close()
	closed := time.Now()
	row := floodRow{port: port, refusedFast: fl.refusedFast.Load(), ended: fl.ended.Load(), conns: fl.conns.Load()}
	// The facade is another process: its goroutine count is polled, and its
	// count of calls refused as too many, which must stay still for a poll
	// (a busy machine ends the flood's last streams a little after most).
	poll := time.NewTicker(50 * time.Millisecond)
	defer poll.Stop()
	tooMany := func(labels string) bool { return strings.Contains(labels, `reason="too_many_calls"`) }
	for lastRefused := -1.0; ; <-poll.C {
		m, err := f.scraper.scrape()
		refused := m.sum("cloudcockpit_refused_calls_total", tooMany)
		if g := m.sum("go_goroutines", nil); err == nil && g <= before+floodGoroutineMargin && refused == lastRefused {
			break
		}
		lastRefused = refused
		if time.Since(closed) > f.fs.settle {
			f.t.Errorf("%s flood: goroutines not back to %v (+%d), or calls still refused as too many, %v after it ended", port, before, floodGoroutineMargin, f.fs.settle)
			break
		}
	}
	row.recovered = time.Since(closed)
	f.seq.Add(1)
	row.peak = peaks()
	f.peak = snapshot{goroutines: max(f.peak.goroutines, row.peak.goroutines), rss: max(f.peak.rss, row.peak.rss)}
	f.rows = append(f.rows, row)
}

// floodGoroutineMargin is how far above its count before a flood go_goroutines
// may be for the flood to count as over: the load's own calls come and go, a
// flood's connections hold hundreds.
const floodGoroutineMargin = 100

// phaseOf returns the phase a call belongs to from seq at its start and at
// its end: a call that overlapped a flood belongs to that flood (odd).
func phaseOf(start, end int64) int64 {
	if start == end {
		return start
	}
	return start | 1
}
