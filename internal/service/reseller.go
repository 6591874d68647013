package service

import (
	"context"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
)

// ResellerServer implements cloudcockpit.v1.ResellerService over the upstream
// API.
type ResellerServer struct {
	pb.UnimplementedResellerServiceServer

	upstream Upstream
	cfg      config
}

var _ pb.ResellerServiceServer = (*ResellerServer)(nil)

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
	key := s.cfg.stale.Key(call.op, call.info.Tenant, call.info.Authorization, req.GetResellerId())
	r, err := s.upstream.GetReseller(ctx, call.info, req.GetResellerId())
	if err != nil {
		if m, ok := stale.Answer[*pb.Reseller](ctx, s.cfg.stale, key, err); ok {
			return m, nil
		}
		return nil, toStatus(ctx, call, err, &resource{kind: resourceReseller, name: req.GetResellerId()})
	}
	if err := call.checkReseller(ctx, s.cfg, req.GetResellerId(), r); err != nil {
		return nil, toStatus(ctx, call, err, nil)
	}
	// r may be shared with coalesced callers (read-only); each caller gets
	// a message of its own.
	m := resellerToProto(r, call.unknownEnum(ctx, s.cfg.logger))
	s.cfg.stale.Put(key, m)
	return m, nil
}
