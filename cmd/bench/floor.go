package main

import (
	"context"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"

	"google.golang.org/grpc"
	"google.golang.org/grpc/metadata"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
)

// floorServer is the grpc-floor: a bare gRPC server (default options, no
// interceptors) whose GetReseller answers a fixed, fully populated Reseller
// without any upstream. Its cost is that of a gRPC round trip alone.
type floorServer struct {
	pb.UnimplementedResellerServiceServer
	resp *pb.Reseller
}

func (s *floorServer) GetReseller(context.Context, *pb.GetResellerRequest) (*pb.Reseller, error) {
	return s.resp, nil // gRPC only reads it: marshalling a shared message is safe
}

// runFloor serves the grpc-floor on addr until ctx ends, writing the address
// it listens on to portFile.
func runFloor(ctx context.Context, addr, portFile, resellerID string) error {
	resp, err := floorReseller(ctx, resellerID)
	if err != nil {
		return fmt.Errorf("build the fixed reseller: %w", err)
	}
	gs := grpc.NewServer()
	pb.RegisterResellerServiceServer(gs, &floorServer{resp: resp})
	return serveGRPC(ctx, gs, addr, portFile)
}

// serveGRPC serves gs on addr until ctx ends, writing the address it listens
// on to portFile.
func serveGRPC(ctx context.Context, gs *grpc.Server, addr, portFile string) error {
	l, err := (&net.ListenConfig{}).Listen(ctx, "tcp", addr)
	if err != nil {
		return err
	}
	errc := make(chan error, 1)
	go func() { errc <- gs.Serve(l) }()
	if portFile != "" {
		if err := writeFileAtomic(portFile, []byte(l.Addr().String())); err != nil {
			gs.Stop()
			return err
		}
	}
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
		gs.Stop()
		return nil
	}
}

// floorReseller returns exactly what the facade answers for resellerID: the
// sandbox's JSON, decoded and mapped by the facade's own code, in memory.
func floorReseller(ctx context.Context, resellerID string) (*pb.Reseller, error) {
	client, err := rest.New(rest.Config{
		BaseURL:   "http://sandbox.invalid",
		Transport: handlerTransport{sandbox.New()},
	})
	if err != nil {
		return nil, err
	}
	md := metadata.Pairs("authorization", "Bearer "+sharedToken, "x-tenant", tenant)
	return service.NewResellerServer(client).GetReseller(metadata.NewIncomingContext(ctx, md), &pb.GetResellerRequest{ResellerId: resellerID})
}

// handlerTransport answers requests by calling a handler in memory.
type handlerTransport struct{ h http.Handler }

func (t handlerTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// writeFileAtomic writes data beside path and renames it into place, so that
// a reader polling for path never sees it half-written.
func writeFileAtomic(path string, data []byte) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), filepath.Base(path)+".*")
	if err != nil {
		return err
	}
	defer func() { _ = os.Remove(tmp.Name()) }() // no-op once renamed
	if _, err := tmp.Write(data); err != nil {
		_ = tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
