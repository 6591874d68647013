package server

import (
	"errors"
	"fmt"
	"log/slog"
	"net/url"
	"time"
)

// DefaultUpstreamURL is the production base URL of the CloudCockpit API, as the
// spec names it.
const DefaultUpstreamURL = "https://app-cloudcockpitapi-prod-01.azurewebsites.net"

// Config is everything Run needs. The zero value is not usable: start from
// DefaultConfig.
type Config struct {
	// GRPCAddr is the gRPC listen address. Default ":9090".
	GRPCAddr string
	// HTTPAddr is the HTTP listen address (REST mirror, health, OpenAPI).
	// Default ":8080".
	HTTPAddr string
	// UpstreamURL is the CloudCockpit API base URL. Default
	// DefaultUpstreamURL; ignored when Sandbox is set.
	UpstreamURL string
	// UpstreamURLSet records that UpstreamURL was given explicitly, which
	// conflicts with Sandbox.
	UpstreamURLSet bool
	// Sandbox serves the embedded simulated upstream on a loopback port and
	// uses it instead of UpstreamURL.
	Sandbox bool
	// DefaultTenant is used for calls without `x-tenant`; empty means such
	// calls are rejected.
	DefaultTenant string
	// ShutdownTimeout bounds how long in-flight calls may take to finish
	// after a stop signal. Default 10s.
	ShutdownTimeout time.Duration
	// Logger receives the access log and the server's own messages. Default
	// slog.Default().
	Logger *slog.Logger
}

// DefaultConfig returns the configuration used when nothing is set.
func DefaultConfig() Config {
	return Config{
		GRPCAddr:        ":9090",
		HTTPAddr:        ":8080",
		UpstreamURL:     DefaultUpstreamURL,
		ShutdownTimeout: 10 * time.Second,
	}
}

// Validate reports the first problem with c, in words meant for the person
// starting the service.
func (c Config) Validate() error {
	if c.Sandbox && c.UpstreamURLSet {
		return errors.New("-sandbox and -upstream-url (CLOUDCOCKPIT_BASE_URL) both set: say which upstream you mean")
	}
	if c.GRPCAddr == "" {
		return errors.New("-grpc-addr (GRPC_ADDR) must not be empty")
	}
	if c.HTTPAddr == "" {
		return errors.New("-http-addr (HTTP_ADDR) must not be empty")
	}
	if !c.Sandbox {
		u, err := url.Parse(c.UpstreamURL)
		if err != nil || (u.Scheme != "http" && u.Scheme != "https") || u.Host == "" || u.RawQuery != "" || u.Fragment != "" {
			return fmt.Errorf("-upstream-url (CLOUDCOCKPIT_BASE_URL) %q is not an http(s) base URL such as %s", c.UpstreamURL, DefaultUpstreamURL)
		}
	}
	if c.ShutdownTimeout < 0 {
		return errors.New("-shutdown-timeout must not be negative")
	}
	return nil
}
