package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"strconv"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/metadata"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
)

// Credentials the load generator sends. Every caller has its own token
// (sandbox-token-<n>) unless a phase asks for one shared token: the facade
// never shares an upstream answer between different credentials, so distinct
// tokens make every facade call one upstream request.
const (
	sharedToken = "sandbox-token"
	tenant      = "portal.cloudcockpit.com"
)

// tokenFor returns caller w's token: its own, or the shared one.
func tokenFor(w int, shared bool) string {
	if shared {
		return sharedToken
	}
	return sharedToken + "-" + strconv.Itoa(w)
}

// grpcTarget calls GetReseller over one gRPC client connection shared by all
// callers, as real clients do.
type grpcTarget struct {
	client pb.ResellerServiceClient
	req    *pb.GetResellerRequest
	md     []metadata.MD // per caller
}

// newGRPCTarget returns a target whose callers send their own tokens, or
// all the same one when shared is set.
func newGRPCTarget(conn *grpc.ClientConn, resellerID string, callers int, shared bool) *grpcTarget {
	t := &grpcTarget{
		client: pb.NewResellerServiceClient(conn),
		req:    &pb.GetResellerRequest{ResellerId: resellerID},
		md:     make([]metadata.MD, callers),
	}
	for w := range t.md {
		t.md[w] = metadata.Pairs("authorization", "Bearer "+tokenFor(w, shared), "x-tenant", tenant)
	}
	return t
}

func (t *grpcTarget) call(ctx context.Context, w int) error {
	r, err := t.client.GetReseller(metadata.NewOutgoingContext(ctx, t.md[w]), t.req)
	if err != nil {
		return err
	}
	if r.GetId() != t.req.GetResellerId() || len(r.GetProviderResellers()) == 0 {
		return fmt.Errorf("unexpected reseller: id %q with %d provider resellers", r.GetId(), len(r.GetProviderResellers()))
	}
	return nil
}

// httpTarget GETs one URL with the caller's headers and reads the body fully
// into the caller's buffer.
type httpTarget struct {
	client  *http.Client
	url     string
	want    []byte // the answer must contain it (the reseller id)
	headers []http.Header
	bufs    []*bytes.Buffer
}

func newHTTPTarget(client *http.Client, url, resellerID string, callers int) *httpTarget {
	t := &httpTarget{
		client:  client,
		url:     url,
		want:    []byte(`"` + resellerID + `"`),
		headers: make([]http.Header, callers),
		bufs:    make([]*bytes.Buffer, callers),
	}
	for w := range callers {
		// The transport only reads request headers, so each caller can
		// send its own map again and again.
		t.headers[w] = http.Header{
			"Authorization": {"Bearer " + tokenFor(w, false)},
			"X-Tenant":      {tenant},
			"Accept":        {"application/json"},
		}
		t.bufs[w] = bytes.NewBuffer(make([]byte, 0, 4096))
	}
	return t
}

func (t *httpTarget) call(ctx context.Context, w int) error {
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, t.url, nil)
	if err != nil {
		return err
	}
	req.Header = t.headers[w]
	resp, err := t.client.Do(req)
	if err != nil {
		return err
	}
	buf := t.bufs[w]
	buf.Reset()
	_, err = buf.ReadFrom(resp.Body)
	_ = resp.Body.Close()
	switch {
	case err != nil:
		return fmt.Errorf("read body: %w", err)
	case resp.StatusCode != http.StatusOK:
		return fmt.Errorf("HTTP %d: %s", resp.StatusCode, snippet(buf.Bytes()))
	case !bytes.Contains(buf.Bytes(), t.want):
		return fmt.Errorf("HTTP 200 without the reseller id: %s", snippet(buf.Bytes()))
	}
	return nil
}

// snippet returns the start of a body, printable, for an error message.
func snippet(b []byte) string {
	const n = 160
	if len(b) > n {
		b = append(b[:n:n], "…"...)
	}
	return strconv.Quote(string(bytes.TrimSpace(b)))
}

// newHTTPClient returns a client for one host with room for callers idle
// keep-alive connections, so that closed-loop callers never redial.
func newHTTPClient(callers int) *http.Client {
	return &http.Client{
		Transport: &http.Transport{
			DialContext:         (&net.Dialer{Timeout: 5 * time.Second, KeepAlive: 30 * time.Second}).DialContext,
			MaxIdleConns:        callers,
			MaxIdleConnsPerHost: callers,
			IdleConnTimeout:     5 * time.Minute,
		},
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

// dialGRPC returns a client connection to a plaintext gRPC server on addr.
func dialGRPC(addr string) (*grpc.ClientConn, error) {
	return grpc.NewClient("passthrough:///"+addr, grpc.WithTransportCredentials(insecure.NewCredentials()))
}
