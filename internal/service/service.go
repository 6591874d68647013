package service

import (
	"context"
	"log/slog"

	"github.com/google/uuid"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
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

// ResellerServer implements cloudcockpit.v1.ResellerService over the upstream
// API.
type ResellerServer struct {
	pb.UnimplementedResellerServiceServer
	upstream Upstream
	cfg      config
}

// NewResellerServer returns a ResellerServer that reads resellers from
// upstream.
func NewResellerServer(upstream Upstream, opts ...Option) *ResellerServer {
	return &ResellerServer{upstream: upstream, cfg: newConfig(opts)}
}

// GetReseller validates the call, fetches the reseller upstream and maps it.
func (s *ResellerServer) GetReseller(ctx context.Context, req *pb.GetResellerRequest) (*pb.Reseller, error) {
	ctx, call, err := begin(ctx, apierr.OpGetReseller, s.cfg, req)
	if err != nil {
		return nil, err
	}
	id := req.GetResellerId()
	return respond(ctx, call, s.cfg, &resource{kind: resourceReseller, name: id}, func() (*pb.Reseller, error) {
		r, err := s.upstream.GetReseller(ctx, call.info, id)
		if err == nil {
			err = call.checkReseller(ctx, s.cfg, id, r)
		}
		if err != nil {
			return nil, err
		}
		// r may be shared with coalesced callers (read-only); each caller
		// gets a message of its own.
		return resellerToProto(r, call.unknownEnum(ctx, s.cfg.logger)), nil
	}, id)
}

// CustomerServer implements cloudcockpit.v1.CustomerService over the upstream
// API.
type CustomerServer struct {
	pb.UnimplementedCustomerServiceServer
	upstream Upstream
	cfg      config
}

// NewCustomerServer returns a CustomerServer that asks upstream for links.
func NewCustomerServer(upstream Upstream, opts ...Option) *CustomerServer {
	return &CustomerServer{upstream: upstream, cfg: newConfig(opts)}
}

// GetAcceptanceLink validates the call, fetches the relationship acceptance
// link upstream and returns it.
func (s *CustomerServer) GetAcceptanceLink(ctx context.Context, req *pb.GetAcceptanceLinkRequest) (*pb.GetAcceptanceLinkResponse, error) {
	ctx, call, err := begin(ctx, apierr.OpGetAcceptanceLink, s.cfg, req)
	if err != nil {
		return nil, err
	}
	providerID, resellerID := req.GetProviderInstanceId(), req.GetResellerId()
	return respond(ctx, call, s.cfg, nil, func() (*pb.GetAcceptanceLinkResponse, error) {
		link, err := s.upstream.GetAcceptanceLink(ctx, call.info, providerID, resellerID)
		if err != nil {
			return nil, err
		}
		return &pb.GetAcceptanceLinkResponse{Url: link}, nil
	}, providerID, resellerID)
}

// respond runs fetch, the upstream request of call c about ids, which maps
// the answer. A success is kept for stale-if-error; a failure is answered
// from the store when stale.Answer allows it, else becomes c's status (res,
// when set, names the resource for NOT_FOUND's ResourceInfo).
func respond[M proto.Message](ctx context.Context, c *call, cfg config, res *resource, fetch func() (M, error), ids ...string) (M, error) {
	key := cfg.stale.Key(c.op, c.info.Tenant, c.info.Authorization, ids...)
	m, err := fetch()
	if err != nil {
		if m, ok := stale.Answer[M](ctx, cfg.stale, key, err); ok {
			return m, nil
		}
		return m, toStatus(ctx, c, err, res)
	}
	cfg.stale.Put(key, m)
	return m, nil
}

// sameGUID reports whether got is the GUID asked, compared as GUIDs (so in
// any casing, and in any of the forms uuid.Parse accepts). A missing or
// malformed got is not.
func sameGUID(asked string, got *string) bool {
	if got == nil {
		return false
	}
	a, err := uuid.Parse(asked)
	if err != nil {
		return false
	}
	g, err := uuid.Parse(*got)
	return err == nil && a == g
}

// checkReseller returns a rest.KindMismatch error, after logging it and
// counting it (WithOnMismatchedAnswer), when r is not the reseller asked
// for; nil otherwise. Such an answer is never returned to the caller
// (defence in depth against answers mixed up between callers, by a
// desynchronised connection or a faulty layer in between).
func (c *call) checkReseller(ctx context.Context, cfg config, asked string, r *rest.Reseller) error {
	if sameGUID(asked, r.ID) {
		return nil
	}
	got := "<none>"
	if r.ID != nil {
		got = apierr.NewRedactor(c.info.Authorization).String(apierr.Truncate(*r.ID, 64))
	}
	cfg.logger.LogAttrs(ctx, slog.LevelWarn, "upstream answer rejected: its id is not the one asked for",
		slog.String("operation", c.op), slog.String("asked_id", asked), slog.String("answer_id", got),
		slog.String("tenant", c.info.Tenant), slog.String("correlation_id", c.correlationID))
	if cfg.onMismatchedAnswer != nil {
		cfg.onMismatchedAnswer(c.op)
	}
	return &rest.Error{Kind: rest.KindMismatch}
}
