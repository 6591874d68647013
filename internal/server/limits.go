package server

import (
	"fmt"
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

// maxGRPCStreamsLimit is the largest GRPCMaxConcurrentStreams accepted.
const maxGRPCStreamsLimit = 10000

// validateLimits checks the gRPC server's connection limits.
func (c Config) validateLimits() error {
	switch {
	case c.GRPCMaxConcurrentStreams < 1 || c.GRPCMaxConcurrentStreams > maxGRPCStreamsLimit:
		return fmt.Errorf("-grpc-max-streams (GRPC_MAX_CONCURRENT_STREAMS) must be between 1 and %d, got %d", maxGRPCStreamsLimit, c.GRPCMaxConcurrentStreams)
	case c.GRPCConnectionTimeout <= 0:
		return fmt.Errorf("-grpc-connection-timeout (GRPC_CONNECTION_TIMEOUT) must be positive, got %v", c.GRPCConnectionTimeout)
	case c.GRPCKeepaliveMinTime <= 0:
		return fmt.Errorf("-grpc-keepalive-min-time (GRPC_KEEPALIVE_MIN_TIME) must be positive, got %v", c.GRPCKeepaliveMinTime)
	case c.GRPCMaxConnectionIdle < 0:
		return fmt.Errorf("-grpc-max-connection-idle (GRPC_MAX_CONNECTION_IDLE) must not be negative (0 disables it), got %v", c.GRPCMaxConnectionIdle)
	}
	return nil
}

// grpcLimits returns the gRPC server options that bound what one client
// connection can hold: streams, handshake time, ping rate and idle time.
// Zero values (a Config not from DefaultConfig) leave grpc-go's defaults.
func (c Config) grpcLimits() []grpc.ServerOption {
	var opts []grpc.ServerOption
	if c.GRPCMaxConcurrentStreams > 0 {
		opts = append(opts, grpc.MaxConcurrentStreams(uint32(min(c.GRPCMaxConcurrentStreams, maxGRPCStreamsLimit)))) //nolint:gosec // G115: bounded above
	}
	if c.GRPCConnectionTimeout > 0 {
		opts = append(opts, grpc.ConnectionTimeout(c.GRPCConnectionTimeout))
	}
	if c.GRPCKeepaliveMinTime > 0 {
		opts = append(opts, grpc.KeepaliveEnforcementPolicy(keepalive.EnforcementPolicy{
			MinTime:             c.GRPCKeepaliveMinTime,
			PermitWithoutStream: true,
		}))
	}
	if c.GRPCMaxConnectionIdle > 0 {
		opts = append(opts, grpc.KeepaliveParams(keepalive.ServerParameters{MaxConnectionIdle: c.GRPCMaxConnectionIdle}))
	}
	return opts
}
