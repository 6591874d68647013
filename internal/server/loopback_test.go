package server

import (
	"context"
	"errors"
	"io"
	"log/slog"
	"net"
	"sync"
	"testing"
	"time"
)

// served is Serve running on two loopback listeners (serveOnLoopback).
type served struct {
	grpcAddr, httpAddr string // the listeners' addresses
	httpURL            string // "http://" + httpAddr
	// stop tells Serve to stop; wait waits, at most 10s, for it to return
	// and returns its error.
	stop context.CancelFunc
	wait func() error
	// httpClosed is closed once Serve closes the HTTP listener: its drain
	// has begun.
	httpClosed <-chan struct{}
}

// serveOnLoopback runs Serve with cfg (its Logger discarding when nil) on
// two loopback listeners. Serve is stopped, and must return nil, when the
// test ends.
func serveOnLoopback(t *testing.T, cfg Config) *served {
	t.Helper()
	gl := listen(t)
	hl := &closeNotifier{Listener: listen(t), closed: make(chan struct{})}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	ctx, cancel := context.WithCancel(context.Background())
	errc := make(chan error, 1)
	go func() { errc <- Serve(ctx, cfg, gl, hl) }()
	s := &served{
		grpcAddr: gl.Addr().String(), httpAddr: hl.Addr().String(), httpURL: "http://" + hl.Addr().String(),
		stop: cancel, httpClosed: hl.closed,
		wait: sync.OnceValue(func() error {
			select {
			case err := <-errc:
				return err
			case <-time.After(10 * time.Second):
				return errors.New("Serve did not return within 10s")
			}
		}),
	}
	t.Cleanup(func() {
		cancel()
		if err := s.wait(); err != nil {
			t.Errorf("Serve = %v", err)
		}
	})
	return s
}

// listen returns a listener on a free loopback port.
func listen(t *testing.T) net.Listener {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	return l
}

// closeNotifier is a listener that closes closed when it is closed.
type closeNotifier struct {
	net.Listener
	once   sync.Once
	closed chan struct{}
}

func (l *closeNotifier) Close() error {
	l.once.Do(func() { close(l.closed) })
	return l.Listener.Close()
}
