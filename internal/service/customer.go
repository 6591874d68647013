package service

import (
	"context"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/stale"
)

// CustomerServer implements cloudcockpit.v1.CustomerService over the upstream
// API.
type CustomerServer struct {
	pb.UnimplementedCustomerServiceServer

	upstream Upstream
	cfg      config
}

var _ pb.CustomerServiceServer = (*CustomerServer)(nil)

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
	key := s.cfg.stale.Key(call.op, call.info.Tenant, call.info.Authorization, req.GetProviderInstanceId(), req.GetResellerId())
	link, err := s.upstream.GetAcceptanceLink(ctx, call.info, req.GetProviderInstanceId(), req.GetResellerId())
	if err != nil {
		if m, ok := stale.Answer[*pb.GetAcceptanceLinkResponse](ctx, s.cfg.stale, key, err); ok {
			return m, nil
		}
		return nil, toStatus(ctx, call, err, nil)
	}
	m := &pb.GetAcceptanceLinkResponse{Url: link}
	s.cfg.stale.Put(key, m)
	return m, nil
}
