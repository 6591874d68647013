package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/pprof"
	"net/url"
	"time"

	"google.golang.org/grpc"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
)

// runCeiling serves the ceiling-grpc phase's server on addr until ctx ends,
// writing the address it listens on to portFile: the least a facade that
// keeps the contract does per call, on the facade's own libraries and
// settings. The facade's service answers GetReseller (request validation,
// tenant, mapping, error statuses) over ceilingUpstream, on a gRPC server
// with the facade's stream workers and nothing else: no interceptors
// (admission, correlation id, metrics, access line, recovery), no request
// slots, breaker, retries or coalescing. Like the facade, it keeps each
// principal's upstream connections apart (rest.NewPools). Its throughput against the
// two-round-trip limit bounds what removing the facade's own work can gain.
//
// With debugAddr it serves the Go runtime profiles there too (-instructions
// uses their heap profile's gc parameter to collect garbage).
func runCeiling(ctx context.Context, addr, portFile, upstream, debugAddr string) error {
	if upstream == "" {
		return errors.New("-ceiling-server needs -upstream")
	}
	if debugAddr != "" {
		l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", debugAddr)
		if err != nil {
			return err
		}
		mux := http.NewServeMux() // the heap profile and the rest of /debug/pprof/
		mux.HandleFunc("/debug/pprof/", pprof.Index)
		srv := &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second}
		go func() { _ = srv.Serve(l) }()
		defer func() { _ = srv.Close() }()
	}
	client := &http.Client{Transport: rest.NewPools(rest.NewTransport(rest.TransportConfig{}), 0)}
	gs := grpc.NewServer(grpc.NumStreamWorkers(server.StreamWorkers))
	pb.RegisterResellerServiceServer(gs, service.NewResellerServer(ceilingUpstream{base: upstream, client: client}))
	return serveGRPC(ctx, gs, addr, portFile)
}

// ceilingUpstream fetches a reseller with one GET on client and the call's
// headers, reads the body (at most rest.DefaultMaxBodyBytes) and decodes it with
// rest.DecodeReseller. Any answer but 200 is an error.
type ceilingUpstream struct {
	base   string
	client *http.Client
}

func (u ceilingUpstream) GetReseller(ctx context.Context, ci rest.CallInfo, resellerID string) (*rest.Reseller, error) {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, u.base+"/v1/Resellers/"+url.PathEscape(resellerID), nil)
	if err != nil {
		return nil, err
	}
	names, values := [...]string{apierr.HeaderTenant, apierr.HeaderAuthorization, apierr.HeaderCorrelationID}, [...]string{ci.Tenant, ci.Authorization, ci.CorrelationID}
	for i, v := range values {
		if v != "" {
			req.Header.Set(names[i], v)
		}
	}
	resp, err := u.client.Do(req)
	if err != nil {
		return nil, err
	}
	defer func() { _ = resp.Body.Close() }()
	body, err := io.ReadAll(io.LimitReader(resp.Body, rest.DefaultMaxBodyBytes))
	switch {
	case err != nil:
		return nil, err
	case resp.StatusCode != http.StatusOK:
		return nil, fmt.Errorf("upstream answered %s", resp.Status)
	}
	return rest.DecodeReseller(body)
}

func (ceilingUpstream) GetAcceptanceLink(context.Context, rest.CallInfo, string, string) (string, error) {
	return "", errors.ErrUnsupported
}
