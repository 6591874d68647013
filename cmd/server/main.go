// Command server runs cloudcockpit-facade: a gRPC facade (with a JSON/REST
// mirror) over the CloudCockpit partner REST API.
//
// Configuration comes from flags and environment variables; a flag wins over
// its variable. `server -h` lists them all.
package main

import (
	"cmp"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"log"
	"log/slog"
	"net"
	"os"
	"os/signal"
	"runtime"
	"runtime/debug"
	"strings"
	"syscall"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	embedded "github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

func main() {
	cfg, cli, err := parseConfig(os.Args[1:], os.Getenv, os.Stderr)
	if errors.Is(err, flag.ErrHelp) {
		os.Exit(0)
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "cloudcockpit-facade:", err)
		os.Exit(2)
	}
	if cli.showVersion {
		fmt.Println(versionString())
		return
	}
	if cfg.DebugAddr == "" {
		// Nobody can fetch a heap profile: the runtime stops sampling
		// allocations for one (its table of sampled stacks alone is about
		// 1 MiB resident under load; docs/performance.md#memory).
		runtime.MemProfileRate = 0
	}
	if offLoopback(cfg.DebugAddr) {
		cfg.Logger.Warn("-debug-addr (DEBUG_ADDR) is not a loopback address: whoever reaches it reads the process's profiles and makes it spend CPU on them; bind it to 127.0.0.1",
			slog.String("debug_addr", cfg.DebugAddr))
	}
	cfg.Build = build()
	log.SetFlags(0)
	log.SetOutput(libraryLog{cfg.Logger})
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	ignoreHangup(cfg.Logger)
	err = server.Run(ctx, cfg)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "cloudcockpit-facade:", err)
		os.Exit(1)
	}
}

// ignoreHangup keeps SIGHUP, the conventional "reload", from ending the
// process without a drain (its default action): nothing is reloaded, since
// files and settings are read once, at start-up, and each SIGHUP logs so.
func ignoreHangup(log *slog.Logger) {
	hup := make(chan os.Signal, 1)
	signal.Notify(hup, syscall.SIGHUP)
	go func() {
		for range hup {
			log.Warn("SIGHUP ignored: settings and certificates are read once, at start-up; restart the process to load new ones")
		}
	}()
}

// offLoopback reports whether addr, a listen address, may listen beyond the
// loopback interface: all interfaces, an address that is not loopback, or a
// host name other than localhost. An unparsable one is left to the listener.
func offLoopback(addr string) bool {
	host, _, err := net.SplitHostPort(addr)
	if err != nil || host == "localhost" {
		return false
	}
	ip := net.ParseIP(host)
	return ip == nil || !ip.IsLoopback()
}

// libraryLog takes what libraries write to the standard log package into
// the process log, at warn, without anything they quote: net/http's
// transport quotes up to 4 KiB of an upstream answer nobody asked for
// ("Unsolicited response received on idle HTTP channel starting with
// \"HTTP/1.1 ...\""), which may hold another caller's token.
type libraryLog struct{ *slog.Logger }

// Write implements io.Writer: one call is one line.
func (l libraryLog) Write(p []byte) (int, error) {
	text, _, quoted := strings.Cut(strings.TrimSpace(string(p)), `"`)
	if quoted {
		text += "(quoted text withheld)"
	}
	l.Warn("library log", slog.String("text", text))
	return len(p), nil
}

// cliOptions is what the command line asks of main beyond the server's
// configuration.
type cliOptions struct {
	showVersion bool
}

// parseConfig reads the settings (settings.go) from args and, where no flag
// set them, from variables through getenv into a server.Config. A bad value
// is an error that names the flag or variable.
func parseConfig(args []string, getenv func(string) string, stderr io.Writer) (server.Config, cliOptions, error) {
	cfg := server.DefaultConfig()
	cli := cliDefaults
	table := settings(&cfg, &cli)
	fs := flag.NewFlagSet("cloudcockpit-facade", flag.ContinueOnError)
	// The flag package would print the whole help after a bad flag; the
	// error alone is the one line main prints. -h prints the help.
	fs.SetOutput(io.Discard)
	for _, s := range table {
		fs.Var(s.value, s.name, s.help)
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, flag.ErrHelp) {
			printUsage(stderr, fs, table)
		}
		return cfg, cliOptions{}, err
	}
	if fs.NArg() > 0 {
		return cfg, cliOptions{}, fmt.Errorf("unexpected argument %q (flags start with -)", fs.Arg(0))
	}
	set := map[string]bool{}
	fs.Visit(func(f *flag.Flag) { set[f.Name] = true })
	var errs []error
	for _, s := range table {
		if v := getenv(s.env); s.env != "" && v != "" && !set[s.name] {
			set[s.name] = true
			if err := s.value.Set(v); err != nil {
				errs = append(errs, fmt.Errorf("%s=%q: %w", s.env, v, err))
			}
		}
	}
	if err := errors.Join(errs...); err != nil {
		return cfg, cliOptions{}, err
	}
	cfg.UpstreamURLSet = set["upstream-url"]
	if cfg.Sandbox {
		cfg.StartSandbox = embedded.Start
	}
	if cfg.DefaultTenant != "" && !rest.IsDomainName(cfg.DefaultTenant) {
		return cfg, cliOptions{}, fmt.Errorf("-default-tenant (CLOUDCOCKPIT_TENANT) %q is not a domain name such as portal.cloudcockpit.com", cfg.DefaultTenant)
	}
	logger, err := newLogger(cli.logLevel, cli.logFormat, os.Stderr)
	if err != nil {
		return cfg, cliOptions{}, err
	}
	cfg.Logger = logger
	if err := cfg.Validate(); err != nil {
		return cfg, cliOptions{}, err
	}
	return cfg, cliOptions{showVersion: cli.version}, nil
}

// newLogger builds the process logger from the level and format settings.
func newLogger(level, format string, w io.Writer) (*slog.Logger, error) {
	var lv slog.Level
	if err := lv.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("-log-level (LOG_LEVEL) %q: want debug, info, warn or error", level)
	}
	opts := &slog.HandlerOptions{Level: lv}
	switch strings.ToLower(format) {
	case "json":
		return slog.New(slog.NewJSONHandler(w, opts)), nil
	case "text":
		return slog.New(slog.NewTextHandler(w, opts)), nil
	}
	return nil, fmt.Errorf("-log-format (LOG_FORMAT) %q: want json or text", format)
}

// version and revision may be set at link time
// (-ldflags "-X main.version=v1.2.3 -X main.revision=abc123"), as `make build`
// and the Dockerfile do; otherwise the Go toolchain's build info is used
// (build; the build-info metric shows the same).
var version, revision string

// build is the binary's version and revision: as set at link time, else as
// the Go toolchain recorded them (module version, vcs.revision).
func build() telemetry.Build {
	b := telemetry.Build{Version: version, Revision: revision}
	if bi, ok := debug.ReadBuildInfo(); ok {
		b.Version = cmp.Or(b.Version, bi.Main.Version)
		for _, kv := range bi.Settings {
			if kv.Key == "vcs.revision" {
				b.Revision = cmp.Or(b.Revision, kv.Value)
			}
		}
	}
	return b
}

// versionString describes the build: version, VCS revision, the other VCS
// settings and build tags the toolchain recorded, and the Go version.
func versionString() string {
	b := build()
	s := "cloudcockpit-facade " + cmp.Or(b.Version, "unknown") + " vcs.revision=" + cmp.Or(b.Revision, "unknown")
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, kv := range bi.Settings {
			switch kv.Key {
			case "vcs.time", "vcs.modified", "-tags":
				s += " " + kv.Key + "=" + kv.Value
			}
		}
	}
	return s + " " + runtime.Version()
}
