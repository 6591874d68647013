package server

import (
	"cmp"
	"fmt"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/keepalive"
)

// Defaults of the gRPC server's connection limits (see Config).
const (
	DefaultGRPCMaxConcurrentStreams = 100
	DefaultGRPCConnectionTimeout    = 10 * time.Second
	DefaultGRPCKeepaliveMinTime     = 10 * time.Second
	DefaultGRPCMaxConnectionIdle    = 5 * time.Minute
)

// Defaults of the process's own limits, over both ports (see Config and
// docs/security.md for how they were sized against the pod's 128 MiB).
const (
	DefaultMaxConnections = 128
	DefaultMaxCalls       = 500
	DefaultMessageTimeout = 5 * time.Second
)

// httpMaxStreams caps the streams of one HTTP/2 connection on the HTTP port
// (below GRPCMaxConcurrentStreams when that is higher). net/http starts a
// goroutine and builds a request for every stream before a handler can
// refuse it (about 10 KiB each, measured), so the HTTP port's memory under a
// flood grows with MaxConnections × this cap, which must stay well inside
// the pod's 128 MiB; browsers use a few streams per page.
const httpMaxStreams = 16

// maxProcessLimit is the largest MaxConnections and MaxCalls accepted.
const maxProcessLimit = 100_000

// maxGRPCStreamsLimit is the largest GRPCMaxConcurrentStreams accepted.
const maxGRPCStreamsLimit = 10000

// validateLimits checks the gRPC server's connection limits.
func (c Config) validateLimits() error {
	switch {
	case c.GRPCMaxConcurrentStreams < 0 || c.GRPCMaxConcurrentStreams > maxGRPCStreamsLimit:
		return fmt.Errorf("-grpc-max-streams (GRPC_MAX_CONCURRENT_STREAMS) must be between 1 and %d, got %d", maxGRPCStreamsLimit, c.GRPCMaxConcurrentStreams)
	case c.GRPCConnectionTimeout < 0:
		return fmt.Errorf("-grpc-connection-timeout (GRPC_CONNECTION_TIMEOUT) must not be negative, got %v", c.GRPCConnectionTimeout)
	case c.GRPCKeepaliveMinTime < 0:
		return fmt.Errorf("-grpc-keepalive-min-time (GRPC_KEEPALIVE_MIN_TIME) must not be negative, got %v", c.GRPCKeepaliveMinTime)
	case c.MaxConnections < 0 || c.MaxConnections > maxProcessLimit:
		return fmt.Errorf("-max-connections (MAX_CONNECTIONS) must be between 1 and %d, got %d", maxProcessLimit, c.MaxConnections)
	case c.MaxCalls < 0 || c.MaxCalls > maxProcessLimit:
		return fmt.Errorf("-max-calls (MAX_CALLS) must be between 1 and %d, got %d", maxProcessLimit, c.MaxCalls)
	case c.MessageTimeout < 0:
		return fmt.Errorf("-message-timeout (MESSAGE_TIMEOUT) must not be negative, got %v", c.MessageTimeout)
	}
	return nil
}

// grpcStreams is the stream cap of one connection, on both ports.
func (c Config) grpcStreams() uint32 {
	return uint32(cmp.Or(c.GRPCMaxConcurrentStreams, DefaultGRPCMaxConcurrentStreams)) //nolint:gosec // G115: Validate bounds it
}

// grpcLimits returns the gRPC server options that bound what one client
// connection can hold: streams, handshake time, ping rate and idle time.
func (c Config) grpcLimits() []grpc.ServerOption {
	opts := []grpc.ServerOption{
		grpc.MaxConcurrentStreams(c.grpcStreams()),
		grpc.ConnectionTimeout(cmp.Or(c.GRPCConnectionTimeout, DefaultGRPCConnectionTimeout)),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             cmp.Or(c.GRPCKeepaliveMinTime, DefaultGRPCKeepaliveMinTime),
			PermitWithoutStream: true,
		}),
	}
	if idle := cmp.Or(c.GRPCMaxConnectionIdle, DefaultGRPCMaxConnectionIdle); idle > 0 {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: idle}))
	}
	return opts
}

// limitListener accepts at most n connections at once; the rest wait in the
// kernel's backlog until one closes. It is netutil.LimitListener but for one
// thing: its connections keep CloseWrite, with which net/http half-closes a
// connection after answering 431 or 400 to a request it did not read whole,
// so that the client reads the answer instead of a reset.
type limitListener struct {
	net.Listener
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, n int) *limitListener {
	return &limitListener{Listener: l, slots: make(chan struct{}, n), done: make(chan struct{})}
}

// Accept waits for a free slot, then for a connection.
func (l *limitListener) Accept() (net.Conn, error) {
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		return nil, net.ErrClosed
	}
	c, err := l.Listener.Accept()
	if err != nil {
		<-l.slots
		return nil, err
	}
	return &limitConn{Conn: c, release: func() { <-l.slots }}, nil
}

// Close closes the listener and ends a wait for a slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when it is closed.
type limitConn struct {
	net.Conn
	once    sync.Once
	release func()
}

func (c *limitConn) Close() error {
	err := c.Conn.Close()
	c.once.Do(c.release)
	return err
}

// CloseWrite half-closes the connection where the underlying one can.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
