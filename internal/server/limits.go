package server

import (
	"cmp"
	"net"
	"sync"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/experimental"
	"google.golang.org/grpc/keepalive"
	"google.golang.org/grpc/mem"
)

// Defaults of Config's limits on one gRPC connection and on the whole process (both
// ports), sized against the pod's memory limit: docs/security.md, "Server limits".
const (
	DefaultGRPCMaxConcurrentStreams = 100
	DefaultGRPCConnectionTimeout    = 10 * time.Second
	DefaultGRPCKeepaliveMinTime     = 10 * time.Second
	DefaultGRPCMaxConnectionIdle    = 5 * time.Minute
	DefaultGRPCMaxConnectionAge     = 10 * time.Minute

	DefaultMaxConnections = 128
	DefaultMaxCalls       = 500
	DefaultMessageTimeout = 5 * time.Second
)

// httpMaxStreams caps one HTTP/2 connection's streams on the HTTP port, on each of which net/http
// spends memory before a handler can refuse it (docs/security.md); browsers use a few per page.
const httpMaxStreams = 4

// receiveWindow is a stream's flow-control window (both ports): what its call has not
// read yet, in memory (docs/security.md). On the HTTP port a connection's is its streams'
// sum: net/http returns it only as handlers read, and a stalled stream must not stall others.
const receiveWindow = 64 << 10

// grpcStreams is the stream cap of one connection, on both ports.
func (c Config) grpcStreams() uint32 {
	return uint32(cmp.Or(c.GRPCMaxConcurrentStreams, DefaultGRPCMaxConcurrentStreams)) //nolint:gosec // G115: Validate bounds it
}

// grpc-go's default buffer pool without its 1 MiB tier, which held every message over 32 KiB until
// written (an unread streaming answer, docs/security.md); the process's: its codec takes no option.
func init() {
	experimental.SetDefaultBufferPool(mem.NewTieredBufferPool(256, 4<<10, 16<<10, 32<<10, 64<<10, 128<<10))
}

// grpcLimits returns the gRPC server options that bound one client connection.
func (c Config) grpcLimits() []grpc.ServerOption {
	return []grpc.ServerOption{
		grpc.MaxConcurrentStreams(c.grpcStreams()),
		grpc.StaticStreamWindowSize(receiveWindow), // not the BDP estimate, which a client drives to 16 MiB
		// At most a shutdown's drain: grpc-go's Stop waits for every handshake in progress.
		grpc.ConnectionTimeout(min(cmp.Or(c.GRPCConnectionTimeout, DefaultGRPCConnectionTimeout), cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout))),
		grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{MinTime: cmp.Or(c.GRPCKeepaliveMinTime, DefaultGRPCKeepaliveMinTime), PermitWithoutStream: true}),
		grpc.KeepaliveParams(keepalive.ServerParameters{ // zero is never for grpc-go
			MaxConnectionIdle:     max(cmp.Or(c.GRPCMaxConnectionIdle, DefaultGRPCMaxConnectionIdle), 0),
			MaxConnectionAge:      max(cmp.Or(c.GRPCMaxConnectionAge, DefaultGRPCMaxConnectionAge), 0),
			MaxConnectionAgeGrace: cmp.Or(c.ShutdownTimeout, DefaultShutdownTimeout), // as long as a shutdown gives
		}),
	}
}

// limitListener is netutil.LimitListener whose connections keep CloseWrite, with
// which net/http half-closes a connection after a 431 or 400 to a request it did not
// read whole, so that the client reads the answer instead of a reset.
type limitListener struct {
	net.Listener
	full      func() // nil, or called when a connection finds every slot taken: it may free one
	slots     chan struct{}
	done      chan struct{}
	closeOnce sync.Once
}

func newLimitListener(l net.Listener, n int, full func()) *limitListener {
	return &limitListener{Listener: l, full: full, slots: make(chan struct{}, n), done: make(chan struct{})}
}

// Accept waits for a connection, then for a free slot; with none free, it first
// calls full (when set), which may free one for it.
func (l *limitListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	if len(l.slots) == cap(l.slots) && l.full != nil {
		l.full()
	}
	select {
	case l.slots <- struct{}{}:
	case <-l.done:
		_ = c.Close()
		return nil, net.ErrClosed
	}
	return &limitConn{Conn: c, release: sync.OnceFunc(func() { <-l.slots })}, nil
}

// Close closes the listener and ends a wait for a slot.
func (l *limitListener) Close() error {
	l.closeOnce.Do(func() { close(l.done) })
	return l.Listener.Close()
}

// limitConn gives its slot back when it is closed.
type limitConn struct {
	net.Conn
	release func() // runs once
}

func (c *limitConn) Close() error {
	defer c.release()
	return c.Conn.Close()
}

// CloseWrite half-closes the connection where the underlying one can.
func (c *limitConn) CloseWrite() error {
	if cw, ok := c.Conn.(interface{ CloseWrite() error }); ok {
		return cw.CloseWrite()
	}
	return nil
}
