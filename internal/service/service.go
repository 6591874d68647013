package service

import (
	"cmp"
	"context"
	"log/slog"
	"strings"

	"github.com/google/uuid"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
)

// Upstream is the part of the upstream client the handlers use: *rest.Client,
// whose methods of these names document them.
type Upstream interface {
	GetReseller(ctx context.Context, call rest.CallInfo, resellerID string) (*rest.Reseller, error)
	GetAcceptanceLink(ctx context.Context, call rest.CallInfo, providerInstanceID, resellerID string) (string, error)
}

// Option configures the services built by NewResellerServer and
// NewCustomerServer.
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
func WithStale(st *stale.Store) Option { return func(c *config) { c.stale = st } }

// WithDefaultTenant sets the tenant of calls without `x-tenant` metadata. By
// default there is none, and such a call is INVALID_ARGUMENT.
func WithDefaultTenant(tenant string) Option { return func(c *config) { c.defaultTenant = tenant } }

// WithLogger sets the logger for warnings about the upstream's answers. By
// default slog.Default() is used.
func WithLogger(l *slog.Logger) Option { return func(c *config) { c.logger = l } }

// WithOnMismatchedAnswer sets a function called with the operation name each
// time an upstream answer about another resource than the one asked for is
// rejected (UNAVAILABLE, UPSTREAM_ANSWER_MISMATCH). By default none is.
func WithOnMismatchedAnswer(fn func(operation string)) Option {
	return func(c *config) { c.onMismatchedAnswer = fn }
}

func newConfig(opts []Option) config {
	var c config
	for _, o := range opts {
		o(&c)
	}
	c.logger = cmp.Or(c.logger, slog.Default())
	return c
}

// ResellerServer implements cloudcockpit.v1.ResellerService.
type ResellerServer struct {
	pb.UnimplementedResellerServiceServer
	upstream Upstream
	cfg      config
}

// NewResellerServer returns a ResellerServer that reads from upstream.
func NewResellerServer(upstream Upstream, opts ...Option) *ResellerServer {
	return &ResellerServer{upstream: upstream, cfg: newConfig(opts)}
}

// GetReseller validates the call, fetches the reseller upstream and maps it.
func (s *ResellerServer) GetReseller(ctx context.Context, req *pb.GetResellerRequest) (*pb.Reseller, error) {
	id := req.GetResellerId()
	return serve(ctx, apierr.OpGetReseller, s.cfg, req, id, func(ctx context.Context, call *call) (*pb.Reseller, error) {
		r, err := s.upstream.GetReseller(ctx, call.info, id)
		if err == nil {
			err = call.checkReseller(ctx, s.cfg, id, r)
		}
		if err != nil {
			return nil, err
		}
		var unknown unknownNames
		msg := resellerToProto(r, unknown.add)
		if unknown.count > 0 {
			call.warn(ctx, s.cfg.logger, "unknown enum names from upstream", "names", strings.Join(unknown.names, ", "), slog.Int("count", unknown.count))
		}
		return msg, nil
	}, id)
}

// CustomerServer implements cloudcockpit.v1.CustomerService.
type CustomerServer struct {
	pb.UnimplementedCustomerServiceServer
	upstream Upstream
	cfg      config
}

// NewCustomerServer returns a CustomerServer that asks upstream for links.
func NewCustomerServer(upstream Upstream, opts ...Option) *CustomerServer {
	return &CustomerServer{upstream: upstream, cfg: newConfig(opts)}
}

// GetAcceptanceLink validates the call and fetches the link upstream.
func (s *CustomerServer) GetAcceptanceLink(ctx context.Context, req *pb.GetAcceptanceLinkRequest) (*pb.GetAcceptanceLinkResponse, error) {
	providerID, resellerID := req.GetProviderInstanceId(), req.GetResellerId()
	return serve(ctx, apierr.OpGetAcceptanceLink, s.cfg, req, "", func(ctx context.Context, call *call) (*pb.GetAcceptanceLinkResponse, error) {
		link, err := s.upstream.GetAcceptanceLink(ctx, call.info, providerID, resellerID)
		if err != nil {
			return nil, err
		}
		return &pb.GetAcceptanceLinkResponse{Url: link}, nil
	}, providerID, resellerID)
}

// serve begins the call op with request req (begin), then runs fetch, its
// upstream request about ids. A success is kept for stale-if-error; a failure
// is answered from the store when stale.Answer allows it, else becomes the
// call's status (see toStatus for resellerID).
func serve[M proto.Message](ctx context.Context, op string, cfg config, req proto.Message, resellerID string, fetch func(context.Context, *call) (M, error), ids ...string) (zero M, _ error) {
	ctx, c, err := begin(ctx, op, cfg, req)
	if err != nil {
		return zero, err
	}
	key := cfg.stale.Key(c.op, c.info.Tenant, c.info.Authorization, ids...)
	m, err := fetch(ctx, c)
	if n := proto.Size(m); err == nil && (n > maxAnswerBytes || n > maxAnswerBytes/8 && jsonSize(m) > maxAnswerBytes) {
		m, err = zero, &rest.Error{Kind: rest.KindTooLarge, Limit: maxAnswerBytes}
	}
	if err != nil {
		if m, ok := stale.Answer[M](ctx, cfg.stale, key, err); ok {
			return m, nil
		}
		return m, toStatus(ctx, c, err, resellerID)
	}
	cfg.stale.Put(key, m)
	return m, nil
}

// maxAnswerBytes bounds an answer message, which can outgrow its body (a byte
// not UTF-8 becomes U+FFFD; resellerProviderData comes as sent and parsed):
// grpc-go's default receive limit, and the most vanguard buffers of a message,
// in Connect's JSON too, where a string takes at most 6 times its protobuf size.
const maxAnswerBytes = 4 << 20

// jsonSize is the size of m in protojson, which errs only on strings not UTF-8.
func jsonSize(m proto.Message) int { b, _ := protojson.Marshal(m); return len(b) }

// sameGUID reports whether got is the GUID asked, in any form uuid.Parse
// accepts; a missing or malformed got is not.
func sameGUID(asked string, got *string) bool {
	a, errAsked := uuid.Parse(asked)
	g, errGot := uuid.Parse(deref(got)) // nil: "", no GUID
	return errAsked == nil && errGot == nil && a == g
}

// checkReseller returns a rest.KindMismatch error, logged and counted, when
// r is not the reseller asked for: defence against answers mixed up.
func (c *call) checkReseller(ctx context.Context, cfg config, asked string, r *rest.Reseller) error {
	if sameGUID(asked, r.ID) {
		return nil
	}
	got := "<none>"
	if r.ID != nil {
		got = *r.ID
	}
	c.warn(ctx, cfg.logger, "upstream answer rejected: its id is not the one asked for", "answer_id", got,
		slog.String("asked_id", asked), slog.String("tenant", c.info.Tenant))
	if cfg.onMismatchedAnswer != nil {
		cfg.onMismatchedAnswer(c.op)
	}
	return &rest.Error{Kind: rest.KindMismatch}
}
