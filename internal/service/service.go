package service

import (
	"context"
	"log/slog"

	"google.golang.org/grpc"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
)

// Upstream is the part of the upstream client the handlers use. *rest.Client
// implements it; decorators (coalescing, circuit breaking) and tests can too.
type Upstream interface {
	// GetReseller fetches one reseller.
	GetReseller(ctx context.Context, call rest.CallInfo, resellerID string) (*rest.Reseller, error)
	// GetAcceptanceLink fetches a relationship acceptance link; resellerID may
	// be empty.
	GetAcceptanceLink(ctx context.Context, call rest.CallInfo, providerInstanceID, resellerID string) (string, error)
}

// Option configures the services built by New and Register.
type Option func(*config)

type config struct {
	defaultTenant      string
	logger             *slog.Logger
	onMismatchedAnswer func(operation string)
	stale              *stale.Store
}

// WithStale keeps each successful answer in st and answers from it, labelled,
// when the upstream fails in a way it may stand in for (stale.Answer). By
// default (nil) no answer is kept.
func WithStale(st *stale.Store) Option {
	return func(c *config) { c.stale = st }
}

// WithDefaultTenant sets the tenant used when a call carries no `x-tenant`
// metadata. By default there is none, and such a call is rejected with
// INVALID_ARGUMENT.
func WithDefaultTenant(tenant string) Option {
	return func(c *config) { c.defaultTenant = tenant }
}

// WithLogger sets the logger for warnings about the upstream's data (unknown
// enum names). By default slog.Default() is used.
func WithLogger(l *slog.Logger) Option {
	return func(c *config) { c.logger = l }
}

// WithOnMismatchedAnswer sets a function called with the operation name
// ("GetReseller") each time an upstream answer is rejected because it is
// about another resource than the one asked for (a reseller with another
// id); the call then fails UNAVAILABLE with reason UPSTREAM_ANSWER_MISMATCH
// and a warning is logged. By default nothing is called.
func WithOnMismatchedAnswer(fn func(operation string)) Option {
	return func(c *config) { c.onMismatchedAnswer = fn }
}

func newConfig(opts []Option) config {
	c := config{logger: slog.Default()}
	for _, o := range opts {
		o(&c)
	}
	if c.logger == nil {
		c.logger = slog.Default()
	}
	return c
}

// Register registers the ResellerService and the CustomerService, both backed
// by upstream, on s.
func Register(s grpc.ServiceRegistrar, upstream Upstream, opts ...Option) {
	pb.RegisterResellerServiceServer(s, NewResellerServer(upstream, opts...))
	pb.RegisterCustomerServiceServer(s, NewCustomerServer(upstream, opts...))
}
