// Command sandbox serves the simulated CloudCockpit upstream of package
// internal/sandbox as a standalone HTTP process, for benchmarks and manual tests that
// want the upstream in its own process:
//
//	sandbox -addr 127.0.0.1:8081 -latency 20ms -port-file /tmp/sandbox.addr
//
// It writes the address it listens on to -port-file (when given) once it accepts
// connections, and shuts down gracefully on SIGINT or SIGTERM, printing how many
// requests it served and how many faults it injected.
//
// For load and failure tests, -fault-rate makes a share of the requests fail
// (sandbox.WithFaults: kinds from -fault-kinds, reproducible from -fault-seed) and
// -echo-credentials makes every 200 answer carry a fingerprint of the caller's
// Authorization and X-Tenant (sandbox.WithCredentialEcho):
//
//	sandbox -addr 127.0.0.1:0 -fault-rate 0.05 -fault-seed 7 -fault-kinds all -echo-credentials
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/signal"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// shutdownTimeout bounds how long in-flight requests may take to finish on shutdown.
const shutdownTimeout = 5 * time.Second

// config is what the flags set.
type config struct {
	addr        string
	latency     time.Duration
	portFile    string
	faultRate   float64
	faultSeed   int64
	faultKinds  []sandbox.FaultKind
	echo        bool
	idleTimeout time.Duration
	// tlsCert and tlsKey, both set, make it serve HTTPS (HTTP/2 and
	// HTTP/1.1 by ALPN) instead of plaintext HTTP/1.1.
	tlsCert, tlsKey string
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := run(ctx, os.Args[1:], os.Stderr)
	stop()
	switch {
	case errors.Is(err, flag.ErrHelp):
		os.Exit(0)
	case errors.Is(err, errUsage):
		os.Exit(2) // the flag package has already said what is wrong
	case err != nil:
		fmt.Fprintf(os.Stderr, "sandbox: %v\n", err)
		os.Exit(1)
	}
}

// errUsage reports bad command-line arguments, already explained on stderr.
var errUsage = errors.New("usage")

// parseFlags turns the command line into a config.
func parseFlags(args []string, stderr io.Writer) (config, error) {
	var cfg config
	fs := flag.NewFlagSet("sandbox", flag.ContinueOnError)
	fs.SetOutput(stderr)
	fs.StringVar(&cfg.addr, "addr", "127.0.0.1:8081", "`address` to listen on (port 0 picks a free port)")
	fs.DurationVar(&cfg.latency, "latency", 0, "fixed `delay` before each answer, imitating the real upstream's round trip")
	fs.StringVar(&cfg.portFile, "port-file", "", "`path` of a file to write the listening address to once serving")
	fs.Float64Var(&cfg.faultRate, "fault-rate", 0, "share of requests (0 to 1) that fail with an injected fault; 0 injects none")
	fs.Int64Var(&cfg.faultSeed, "fault-seed", 1, "`seed` of the fault draws: the same seed gives the same sequence of faults")
	kinds := fs.String("fault-kinds", "default", "comma-separated `kinds` of fault to inject: unavailable, bad-gateway, rate-limited, drop, reset, slow, html-200, default (all but html-200) or all")
	fs.BoolVar(&cfg.echo, "echo-credentials", false, "put a fingerprint of the caller's Authorization and X-Tenant into every 200 answer")
	fs.DurationVar(&cfg.idleTimeout, "idle-timeout", 2*time.Minute, "how long an idle keep-alive connection stays open")
	fs.StringVar(&cfg.tlsCert, "tls-cert", "", "PEM certificate `file`: with -tls-key, serve HTTPS (HTTP/2 or HTTP/1.1 by ALPN); default plaintext")
	fs.StringVar(&cfg.tlsKey, "tls-key", "", "PEM private key `file` of -tls-cert")
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			return cfg, err
		}
		return cfg, errUsage
	}
	if fs.NArg() > 0 {
		fmt.Fprintf(stderr, "unexpected arguments: %q\n", fs.Args())
		fs.Usage()
		return cfg, errUsage
	}
	if cfg.latency < 0 {
		return cfg, fmt.Errorf("-latency %v: must not be negative", cfg.latency)
	}
	if !(cfg.faultRate >= 0 && cfg.faultRate <= 1) {
		return cfg, fmt.Errorf("-fault-rate %v: must be between 0 and 1", cfg.faultRate)
	}
	var err error
	if cfg.faultKinds, err = sandbox.ParseFaultKinds(*kinds); err != nil {
		return cfg, fmt.Errorf("-fault-kinds: %w", err)
	}
	if (cfg.tlsCert == "") != (cfg.tlsKey == "") {
		return cfg, errors.New("-tls-cert and -tls-key go together")
	}
	if cfg.idleTimeout <= 0 {
		return cfg, fmt.Errorf("-idle-timeout %v: must be positive", cfg.idleTimeout)
	}
	return cfg, nil
}

// run serves the sandbox until ctx is done, then shuts down gracefully.
func run(ctx context.Context, args []string, stderr io.Writer) error {
	cfg, err := parseFlags(args, stderr)
	if err != nil {
		return err
	}

	ln, err := (&net.ListenConfig{}).Listen(ctx, "tcp", cfg.addr)
	if err != nil {
		return fmt.Errorf("listen: %w", err)
	}
	opts := []sandbox.Option{sandbox.WithLatency(cfg.latency), sandbox.WithFaults(cfg.faultRate, cfg.faultSeed, cfg.faultKinds...)}
	if cfg.echo {
		opts = append(opts, sandbox.WithCredentialEcho())
	}
	sb := sandbox.New(opts...)
	srv := &http.Server{
		Handler:           sb,
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       cfg.idleTimeout,
	}
	serveErr := make(chan error, 1)
	scheme := "http"
	if cfg.tlsCert != "" {
		scheme = "https"
		go func() { serveErr <- srv.ServeTLS(ln, cfg.tlsCert, cfg.tlsKey) }()
	} else {
		go func() { serveErr <- srv.Serve(ln) }()
	}

	addr := ln.Addr().String()
	if cfg.portFile != "" {
		if err := writeFileAtomic(cfg.portFile, []byte(addr)); err != nil {
			_ = srv.Close()
			<-serveErr //nolint:errcheck // after Close, Serve returns http.ErrServerClosed
			return fmt.Errorf("write port file: %w", err)
		}
	}
	fmt.Fprintf(stderr, "sandbox: serving the simulated CloudCockpit API on %s://%s (latency %v%s)\n", scheme, addr, cfg.latency, describeOptions(cfg))
	defer func() { fmt.Fprintf(stderr, "sandbox: %s\n", summary(sb)) }()

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		<-serveErr //nolint:errcheck // after Close, Serve returns http.ErrServerClosed
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// describeOptions lists the fault and echo settings for the start-up line; empty when
// neither is on.
func describeOptions(cfg config) string {
	var b strings.Builder
	if cfg.faultRate > 0 {
		names := make([]string, len(cfg.faultKinds))
		for i, k := range cfg.faultKinds {
			names[i] = k.String()
		}
		fmt.Fprintf(&b, ", fault rate %v seed %d kinds %s", cfg.faultRate, cfg.faultSeed, strings.Join(names, ","))
	}
	if cfg.echo {
		b.WriteString(", echoing credential fingerprints")
	}
	return b.String()
}

// summary says how many requests the server received and how many faults of each kind
// it injected, in a stable order:
//
//	requests=1234 faults=61 unavailable=10 bad-gateway=9 ...
func summary(sb *sandbox.Server) string {
	counts := sb.Faults()
	var total int64
	var parts []string
	for _, k := range sandbox.AllFaultKinds() {
		if n, ok := counts[k]; ok {
			total += n
			parts = append(parts, fmt.Sprintf("%s=%d", k, n))
		}
	}
	return strings.TrimSpace(fmt.Sprintf("requests=%d faults=%d %s", sb.Requests(), total, strings.Join(parts, " ")))
}

// writeFileAtomic writes data to a temporary file beside path and renames it into place,
// so that a reader polling for path never sees it half-written.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
