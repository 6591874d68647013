// Command plots renders the key panels of deploy/monitoring/dashboard.json
// from a real load run, for docs/operations.md (`make plots`):
//
//	plots -server-bin build/plots/server -sandbox-bin build/plots/sandbox -out docs/img
//
// It starts two standalone sandbox upstreams (cmd/sandbox), one healthy and
// one injecting faults (-fault-rate of 503, 502, dropped and slow answers:
// 80% of the requests by default, so that three in five fail, above the
// breakers' default failure ratio), behind a TCP switch; starts the facade
// (cmd/server) on the switch; drives REST calls at -rate through a healthy
// phase, a faulty phase and a recovered phase; scrapes /metrics every -scrape; and draws
// what the dashboard's panels would show, as PNG files, with the faulty
// phase shaded. Panels whose metrics the binary does not export are skipped
// and named on stderr.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"
)

// config is what the flags set.
type config struct {
	serverBin, sandboxBin, out string
	healthy, faulty, recovered time.Duration
	scrape                     time.Duration
	rate                       float64
	callers                    int
	faultRate                  float64
	faultKinds                 string
	latency                    time.Duration
}

func main() {
	var cfg config
	flag.StringVar(&cfg.serverBin, "server-bin", "build/plots/server", "facade binary (cmd/server)")
	flag.StringVar(&cfg.sandboxBin, "sandbox-bin", "build/plots/sandbox", "standalone sandbox binary (cmd/sandbox)")
	flag.StringVar(&cfg.out, "out", "docs/img", "directory the PNG files are written to")
	flag.DurationVar(&cfg.healthy, "healthy", 40*time.Second, "length of the first phase, on the healthy upstream")
	flag.DurationVar(&cfg.faulty, "faulty", 50*time.Second, "length of the second phase, on the faulty upstream")
	flag.DurationVar(&cfg.recovered, "recovered", 40*time.Second, "length of the last phase, on the healthy upstream again")
	flag.DurationVar(&cfg.scrape, "scrape", 2*time.Second, "interval between scrapes of /metrics")
	flag.Float64Var(&cfg.rate, "rate", 150, "facade calls per second, all callers together")
	flag.IntVar(&cfg.callers, "callers", 16, "concurrent REST callers")
	flag.Float64Var(&cfg.faultRate, "fault-rate", 0.8, "share of upstream requests that fail in the faulty phase")
	flag.StringVar(&cfg.faultKinds, "fault-kinds", "unavailable,bad-gateway,drop,slow", "kinds of fault the faulty upstream injects (cmd/sandbox -fault-kinds)")
	flag.DurationVar(&cfg.latency, "latency", 20*time.Millisecond, "the sandboxes' answer delay, imitating the real upstream's round trip")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "plots:", err)
		os.Exit(1)
	}
}

// run does the load run and renders the panels.
func run(ctx context.Context, cfg config) error {
	if cfg.callers <= 0 || cfg.rate <= 0 || cfg.scrape <= 0 {
		return errors.New("-callers, -rate and -scrape must be positive")
	}
	if err := os.MkdirAll(cfg.out, 0o755); err != nil {
		return err
	}
	rec, phases, err := loadRun(ctx, cfg)
	if err != nil {
		return err
	}
	rec.summarize(os.Stderr, phases)
	return render(rec, phases, cfg.out)
}
