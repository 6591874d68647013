package sandbox

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"time"
)

// Start serves a sandbox with the sample data (New()) on a loopback port and returns its
// base URL and a function that stops it. cmd/server uses it for -sandbox.
func Start(ctx context.Context) (baseURL string, stop func(), err error) {
	var lc net.ListenConfig
	l, err := lc.Listen(ctx, "tcp", "127.0.0.1:0")
	if err != nil {
		return "", nil, fmt.Errorf("listen for the sandbox upstream: %w", err)
	}
	srv := &http.Server{Handler: New(), ReadHeaderTimeout: 10 * time.Second}
	go func() { _ = srv.Serve(l) }()
	return "http://" + l.Addr().String(), func() { _ = srv.Close() }, nil
}
