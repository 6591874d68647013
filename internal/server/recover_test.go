package server

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/telemetry"
)

// panickingUpstream is a service.Upstream with a bug: every call panics.
type panickingUpstream struct{}

func (panickingUpstream) GetReseller(context.Context, rest.CallInfo, string) (*rest.Reseller, error) {
	panic("a bug in the upstream client")
}

func (panickingUpstream) GetAcceptanceLink(context.Context, rest.CallInfo, string, string) (string, error) {
	panic("a bug in the upstream client")
}

// TestHandlerPanicIsInternal: a panic in a handler, over gRPC or the REST
// mirror, becomes INTERNAL "internal error" for that call alone, logged
// once with its method, stack and correlation id; the server goes on.
func TestHandlerPanicIsInternal(t *testing.T) {
	var log syncBuffer
	logger := slog.New(slog.NewJSONHandler(&log, nil))
	gs, hgs, _, handler, err := newFacade(DefaultConfig(), logger, panickingUpstream{}, nil, telemetry.NewMetrics(telemetry.Build{}), nil)
	if err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go func() { _ = gs.Serve(l) }()
	t.Cleanup(gs.Stop)
	t.Cleanup(hgs.Stop)
	hs := httptest.NewServer(handler)
	t.Cleanup(hs.Close)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()

	const cid = "5f0c6d2e-8a1b-4c3d-9e4f-0a1b2c3d4e5f"
	md := metadata.Pairs("authorization", "Bearer "+errTestJWT, "x-tenant", errTestTenant, "x-correlation-id", cid)
	client := pb.NewResellerServiceClient(dialGRPC(t, l.Addr().String()))
	for range 2 { // the second call finds the server still serving
		_, err := client.GetReseller(metadata.NewOutgoingContext(ctx, md), &pb.GetResellerRequest{ResellerId: errTestReseller}, grpc.WaitForReady(true))
		if st := status.Convert(err); st.Code() != codes.Internal || st.Message() != "internal error" {
			t.Fatalf("gRPC: got %v, want INTERNAL \"internal error\"", err)
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, hs.URL+"/v1/Resellers/"+errTestReseller, nil)
	if err != nil {
		t.Fatal(err)
	}
	req.Header.Set("Authorization", "Bearer "+errTestJWT)
	req.Header.Set("X-Tenant", errTestTenant)
	req.Header.Set("X-Correlation-Id", cid)
	resp, err := hs.Client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	_ = resp.Body.Close()
	if resp.StatusCode != http.StatusInternalServerError || !strings.Contains(string(body), `"internal error"`) {
		t.Errorf("REST: got %d %s, want 500 with \"internal error\"", resp.StatusCode, body)
	}

	panics := 0
	for line := range strings.Lines(log.String()) {
		var entry struct {
			Msg, Method, Stack string
			CorrelationID      string `json:"correlation_id"`
		}
		if err := json.Unmarshal([]byte(line), &entry); err != nil {
			t.Fatalf("log line %.200q: %v", line, err)
		}
		if entry.Msg != "panic in handler" {
			continue
		}
		panics++
		if entry.Method != "/cloudcockpit.v1.ResellerService/GetReseller" || !strings.Contains(entry.Stack, "panickingUpstream") || entry.CorrelationID != cid {
			t.Errorf("panic logged with method %q, correlation id %q, stack naming panickingUpstream: %t; want %q, %q, true",
				entry.Method, entry.CorrelationID, strings.Contains(entry.Stack, "panickingUpstream"), "/cloudcockpit.v1.ResellerService/GetReseller", cid)
		}
	}
	if panics != 3 {
		t.Errorf("%d panics logged, want 3 (two gRPC calls, one REST call):\n%s", panics, log.String())
	}
}
