// Command sandbox serves the simulated CloudCockpit upstream of package
// internal/sandbox as a standalone HTTP process, for benchmarks and manual tests that
// want the upstream in its own process:
//
//	sandbox -addr 127.0.0.1:8081 -latency 20ms -port-file /tmp/sandbox.addr
//
// It writes the address it listens on to -port-file (when given) once it accepts
// connections, and shuts down gracefully on SIGINT or SIGTERM.
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
	"syscall"
	"time"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// shutdownTimeout bounds how long in-flight requests may take to finish on shutdown.
const shutdownTimeout = 5 * time.Second

// config is what the flags set.
type config struct {
	addr     string
	latency  time.Duration
	portFile string
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
	srv := &http.Server{
		Handler:           sandbox.New(sandbox.WithLatency(cfg.latency)),
		ReadHeaderTimeout: 10 * time.Second,
		IdleTimeout:       2 * time.Minute,
	}
	serveErr := make(chan error, 1)
	go func() { serveErr <- srv.Serve(ln) }()

	addr := ln.Addr().String()
	if cfg.portFile != "" {
		if err := writeFileAtomic(cfg.portFile, []byte(addr)); err != nil {
			_ = srv.Close()
			<-serveErr
			return fmt.Errorf("write port file: %w", err)
		}
	}
	fmt.Fprintf(stderr, "sandbox: serving the simulated CloudCockpit API on http://%s (latency %v)\n", addr, cfg.latency)

	select {
	case err := <-serveErr:
		return fmt.Errorf("serve: %w", err)
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), shutdownTimeout)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		_ = srv.Close()
		<-serveErr
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-serveErr; !errors.Is(err, http.ErrServerClosed) {
		return fmt.Errorf("serve: %w", err)
	}
	return nil
}

// writeFileAtomic writes data to a temporary file beside path and renames it into place,
// so that a reader polling for path never sees it half-written.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name()) // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Chmod(0o644); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
