package server

import (
	"cmp"
	"context"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/http/pprof"
	"time"
)

// serveDebug serves the Go runtime profiles (net/http/pprof) on addr, on a
// listener of their own so that they are never reachable through the HTTP
// listener's REST mirror. It returns a function that closes the listener.
func serveDebug(ctx context.Context, addr string, log *slog.Logger) (func(), error) {
	log = cmp.Or(log, slog.Default())
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", addr)
	if err != nil {
		return nil, fmt.Errorf("listen for the debug profiles on %s: %w", addr, err)
	}
	mux := http.NewServeMux() // /debug/pprof/ and nothing else
	mux.HandleFunc("/debug/pprof/", pprof.Index)
	mux.HandleFunc("/debug/pprof/cmdline", pprof.Cmdline)
	mux.HandleFunc("/debug/pprof/profile", pprof.Profile)
	mux.HandleFunc("/debug/pprof/symbol", pprof.Symbol)
	mux.HandleFunc("/debug/pprof/trace", pprof.Trace)
	srv := &http.Server{Handler: mux, ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	log.Info("serving Go runtime profiles", slog.String("debug", l.Addr().String()))
	return func() { _ = srv.Close() }, nil
}
