package main

import (
	"bufio"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"
)

// phases are the offsets, from the start of the load, where the faulty
// phase starts and ends, and where the recording ends.
type phases struct{ faultsOn, faultsOff, end time.Duration }

// resellerIDs are the sandbox's sample resellers; unknownID answers 404
// (NOT_FOUND: the caller's error, which the availability SLO ignores).
var resellerIDs = []string{
	"11111111-1111-4111-8111-111111111111",
	"22222222-2222-4222-8222-222222222222",
	"33333333-3333-4333-8333-333333333333",
	"44444444-4444-4444-8444-444444444444",
	"55555555-5555-4555-8555-555555555555",
}

const unknownID = "99999999-9999-4999-8999-999999999999"

// tenants are the X-Tenant values the callers send, so that per-tenant
// resilience state has a few entries.
var tenants = []string{"portal.cloudcockpit.com", "contoso.cloudcockpit.com", "fabrikam.cloudcockpit.com", "litware.cloudcockpit.com"}

// loadRun starts the upstreams, the switch and the facade, drives the three
// phases and returns the scrapes.
func loadRun(ctx context.Context, cfg config) (*recording, phases, error) {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	dir, err := os.MkdirTemp("", "plots")
	if err != nil {
		return nil, phases{}, err
	}
	defer func() { _ = os.RemoveAll(dir) }()

	lat := "-latency=" + cfg.latency.String()
	healthyAddr, err := startSandbox(ctx, cfg.sandboxBin, dir, "healthy", lat)
	if err != nil {
		return nil, phases{}, err
	}
	faultyAddr, err := startSandbox(ctx, cfg.sandboxBin, dir, "faulty", lat,
		fmt.Sprintf("-fault-rate=%g", cfg.faultRate), "-fault-kinds="+cfg.faultKinds, "-fault-seed=7")
	if err != nil {
		return nil, phases{}, err
	}
	sw, err := newSwitch(healthyAddr)
	if err != nil {
		return nil, phases{}, err
	}
	defer sw.close()
	go sw.serve()

	base, err := startServer(ctx, cfg.serverBin, "http://"+sw.addr())
	if err != nil {
		return nil, phases{}, err
	}
	client := &http.Client{Timeout: 15 * time.Second, Transport: &http.Transport{MaxIdleConnsPerHost: cfg.callers}}

	rec := &recording{}
	start := time.Now()
	scrapeCtx, stopScrape := context.WithCancel(ctx)
	var scraped sync.WaitGroup
	scraped.Go(func() { rec.scrapeEvery(scrapeCtx, client, base+"/metrics", cfg.scrape, start) })

	loadCtx, stopLoad := context.WithCancel(ctx)
	var loaded sync.WaitGroup
	interval := time.Duration(float64(cfg.callers) / cfg.rate * float64(time.Second))
	for i := range cfg.callers {
		loaded.Go(func() { caller(loadCtx, client, base, i, interval) })
	}

	ph := phases{faultsOn: cfg.healthy, faultsOff: cfg.healthy + cfg.faulty}
	fmt.Fprintf(os.Stderr, "plots: healthy upstream for %v\n", cfg.healthy)
	sleep(ctx, cfg.healthy)
	sw.route(faultyAddr)
	fmt.Fprintf(os.Stderr, "plots: faulty upstream (%g of requests fail: %s) for %v\n", cfg.faultRate, cfg.faultKinds, cfg.faulty)
	sleep(ctx, cfg.faulty)
	sw.route(healthyAddr)
	fmt.Fprintf(os.Stderr, "plots: healthy upstream again for %v\n", cfg.recovered)
	sleep(ctx, cfg.recovered)
	stopLoad()
	loaded.Wait()
	sleep(ctx, 2*cfg.scrape) // in-flight gauges and goroutines back at rest
	stopScrape()
	scraped.Wait()
	if err := ctx.Err(); err != nil {
		return nil, phases{}, err
	}
	if len(rec.scrapes) < 10 {
		return nil, phases{}, fmt.Errorf("only %d scrapes of %s succeeded", len(rec.scrapes), base)
	}
	ph.end = rec.scrapes[len(rec.scrapes)-1].at
	return rec, ph, nil
}

// caller makes one REST call every interval (with jitter) until ctx ends:
// a sample reseller for one of the tenants, or, one call in twenty, an
// unknown reseller.
func caller(ctx context.Context, client *http.Client, base string, n int, interval time.Duration) {
	rng := rand.New(rand.NewPCG(uint64(n), 14))
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		id := resellerIDs[rng.IntN(len(resellerIDs))]
		if rng.IntN(20) == 0 {
			id = unknownID
		}
		req, err := http.NewRequestWithContext(ctx, http.MethodGet, base+"/v1/Resellers/"+id, nil)
		if err != nil {
			return
		}
		req.Header.Set("Authorization", "Bearer plots")
		req.Header.Set("X-Tenant", tenants[rng.IntN(len(tenants))])
		if resp, err := client.Do(req); err == nil {
			_, _ = io.Copy(io.Discard, resp.Body)
			_ = resp.Body.Close()
		}
	}
}

// startSandbox starts cmd/sandbox on a free loopback port and returns its
// address once it serves.
func startSandbox(ctx context.Context, bin, dir, name string, args ...string) (string, error) {
	portFile := filepath.Join(dir, name+".addr")
	args = append([]string{"-addr=127.0.0.1:0", "-port-file=" + portFile}, args...)
	cmd := child(ctx, bin, args...)
	cmd.Stdout, cmd.Stderr = io.Discard, io.Discard
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start sandbox %s: %w", name, err)
	}
	go func() { _ = cmd.Wait() }()
	deadline := time.Now().Add(15 * time.Second)
	for time.Now().Before(deadline) {
		if b, err := os.ReadFile(portFile); err == nil && len(b) > 0 {
			return string(b), nil
		}
		sleep(ctx, 50*time.Millisecond)
	}
	return "", fmt.Errorf("sandbox %s did not start within 15s", name)
}

// startServer starts the facade on free loopback ports against upstream and
// returns the base URL of its HTTP listener.
func startServer(ctx context.Context, bin, upstream string) (string, error) {
	cmd := child(ctx, bin, "-upstream-url="+upstream, "-grpc-addr=127.0.0.1:0", "-http-addr=127.0.0.1:0",
		"-log-format=json") // the "listening" line (info) tells the address; the rest is discarded
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return "", err
	}
	cmd.Stdout = io.Discard
	if err := cmd.Start(); err != nil {
		return "", fmt.Errorf("start server: %w", err)
	}
	go func() { _ = cmd.Wait() }()
	addr := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 0, 64<<10), 1<<20)
		for sc.Scan() {
			var line struct{ Msg, HTTP string }
			if json.Unmarshal(sc.Bytes(), &line) == nil && line.Msg == "cloudcockpit-facade listening" {
				addr <- line.HTTP
			}
		}
		_, _ = io.Copy(io.Discard, stderr)
	}()
	select {
	case a := <-addr:
		return "http://" + a, nil
	case <-time.After(20 * time.Second):
		return "", fmt.Errorf("the server did not report its address within 20s")
	case <-ctx.Done():
		return "", ctx.Err()
	}
}

// child is a process that gets SIGTERM when ctx ends or this program dies.
func child(ctx context.Context, bin string, args ...string) *exec.Cmd {
	cmd := exec.CommandContext(ctx, bin, args...)
	cmd.Cancel = func() error { return cmd.Process.Signal(syscall.SIGTERM) }
	cmd.WaitDelay = 5 * time.Second
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGTERM}
	// The facade's own variables (GRPC_ADDR, LOG_LEVEL, ...) are not passed on.
	for _, kv := range os.Environ() {
		if k, _, _ := strings.Cut(kv, "="); k == "PATH" || k == "HOME" || k == "TMPDIR" || strings.HasPrefix(k, "GO") {
			cmd.Env = append(cmd.Env, kv)
		}
	}
	return cmd
}

// sleep waits d or until ctx ends.
func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
