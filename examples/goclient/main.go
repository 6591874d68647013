// Command goclient calls the cloudcockpit-facade gRPC API as another Go
// service would: it imports the generated package from gen/, sends the
// metadata every call needs, reads the correlation id from the response
// header metadata, and decodes the google.rpc error details of a failed call.
//
// Against a local sandbox (`go run ./cmd/server -sandbox`):
//
//	go run ./examples/goclient -addr localhost:9090 -reseller 11111111-1111-4111-8111-111111111111
//	go run ./examples/goclient -reseller 99999999-9999-4999-8999-999999999999   # NOT_FOUND
//	go run ./examples/goclient -reseller not-a-uuid                              # INVALID_ARGUMENT
//
// It exits 0 when both calls succeed and 1 when a call fails (after printing
// the decoded status).
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"os"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// errCallFailed reports that a call failed after its status was printed.
var errCallFailed = errors.New("call failed")

// options are the command line flags.
type options struct {
	addr             string
	token            string
	tenant           string
	resellerID       string
	providerInstance string
	correlationID    string
	timeout          time.Duration
}

func main() {
	err := run(context.Background(), os.Args[1:])
	switch {
	case err == nil, errors.Is(err, flag.ErrHelp):
	case errors.Is(err, errCallFailed): // the status is printed already
		os.Exit(1)
	default:
		fmt.Fprintln(os.Stderr, "goclient:", err)
		os.Exit(1)
	}
}

func run(ctx context.Context, args []string) error {
	var o options
	fs := flag.NewFlagSet("goclient", flag.ContinueOnError)
	fs.StringVar(&o.addr, "addr", "localhost:9090", "gRPC address of the facade")
	fs.StringVar(&o.token, "token", envOr("CLOUDCOCKPIT_TOKEN", "sandbox-token"), "bearer token (env CLOUDCOCKPIT_TOKEN); the sandbox takes any")
	fs.StringVar(&o.tenant, "tenant", "portal.cloudcockpit.com", "tenant portal domain (x-tenant)")
	fs.StringVar(&o.resellerID, "reseller", "11111111-1111-4111-8111-111111111111", "reseller id")
	fs.StringVar(&o.providerInstance, "provider-instance", "cb3cd15b-1d6e-45be-b493-c71549cbfd87", "provider instance id for the acceptance link")
	fs.StringVar(&o.correlationID, "correlation-id", "", "x-correlation-id to send (a UUID); empty: the facade generates one")
	fs.DurationVar(&o.timeout, "timeout", 10*time.Second, "deadline of each call")
	if err := fs.Parse(args); err != nil {
		return err
	}

	// One connection per process, shared by every stub and call.
	conn, err := grpc.NewClient(o.addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		return fmt.Errorf("connect to %s: %w", o.addr, err)
	}
	defer func() { _ = conn.Close() }() // only releases resources

	// Every call needs authorization and x-tenant; x-correlation-id is optional.
	md := []string{"authorization", "Bearer " + o.token, "x-tenant", o.tenant}
	if o.correlationID != "" {
		md = append(md, "x-correlation-id", o.correlationID)
	}
	ctx = metadata.AppendToOutgoingContext(ctx, md...)

	if err := getReseller(ctx, pb.NewResellerServiceClient(conn), o); err != nil {
		return err
	}
	return getAcceptanceLink(ctx, pb.NewCustomerServiceClient(conn), o)
}

func getReseller(ctx context.Context, client pb.ResellerServiceClient, o options) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var header metadata.MD // the response header metadata, also sent with an error
	r, err := client.GetReseller(ctx, &pb.GetResellerRequest{ResellerId: o.resellerID}, grpc.Header(&header))
	fmt.Printf("GetReseller: correlation id %s\n", correlationID(header))
	if err != nil {
		printStatus("GetReseller", err)
		return errCallFailed
	}
	fmt.Printf("reseller %s %q country %s, %d provider resellers\n",
		r.GetId(), r.GetCompanyName(), r.GetCountry(), len(r.GetProviderResellers()))
	return nil
}

func getAcceptanceLink(ctx context.Context, client pb.CustomerServiceClient, o options) error {
	ctx, cancel := context.WithTimeout(ctx, o.timeout)
	defer cancel()
	var header metadata.MD
	req := &pb.GetAcceptanceLinkRequest{ProviderInstanceId: o.providerInstance, ResellerId: &o.resellerID}
	resp, err := client.GetAcceptanceLink(ctx, req, grpc.Header(&header))
	fmt.Printf("GetAcceptanceLink: correlation id %s\n", correlationID(header))
	if err != nil {
		printStatus("GetAcceptanceLink", err)
		return errCallFailed
	}
	fmt.Printf("acceptance link %s\n", resp.GetUrl())
	return nil
}

// correlationID returns the x-correlation-id the facade sent back, or "-"
// when the call never reached it.
func correlationID(header metadata.MD) string {
	if v := header.Get("x-correlation-id"); len(v) > 0 {
		return v[0]
	}
	return "-"
}

func envOr(key, def string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return def
}
