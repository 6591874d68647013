package gateway

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"

	"google.golang.org/grpc/metadata"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
)

// sandboxTransport answers the REST client's requests from the sandbox
// handler in memory.
type sandboxTransport struct{ h http.Handler }

func (t sandboxTransport) RoundTrip(r *http.Request) (*http.Response, error) {
	rec := httptest.NewRecorder()
	t.h.ServeHTTP(rec, r)
	return rec.Result(), nil
}

// fullReseller returns what GetReseller answers for the sandbox's full sample
// reseller (Contoso, about 1.5 KB upstream), built by the service's own code.
func fullReseller(b *testing.B) *pb.Reseller {
	b.Helper()
	c, err := rest.New(rest.Config{BaseURL: "http://sandbox.invalid", Transport: sandboxTransport{sandbox.New()}})
	if err != nil {
		b.Fatal(err)
	}
	md := metadata.Pairs("authorization", "Bearer "+sandbox.SampleToken, "x-tenant", sandbox.SampleTenant)
	r, err := service.NewResellerServer(c).GetReseller(metadata.NewIncomingContext(context.Background(), md),
		&pb.GetResellerRequest{ResellerId: sandbox.ContosoResellerID})
	if err != nil {
		b.Fatal(err)
	}
	return r
}

// BenchmarkMarshalReseller measures the REST mirror's JSON output of a full
// reseller with the mirror's marshaler, against protojson's defaults and the
// binary encoding a gRPC answer pays.
func BenchmarkMarshalReseller(b *testing.B) {
	r := fullReseller(b)
	m := newMarshaler()
	tests := []struct {
		name    string
		marshal func() ([]byte, error)
	}{
		{"mirror", func() ([]byte, error) { return m.Marshal(r) }},
		{"protojson-defaults", func() ([]byte, error) { return protojson.Marshal(r) }},
		{"proto-binary", func() ([]byte, error) { return proto.Marshal(r) }},
	}
	for _, tt := range tests {
		b.Run(tt.name, func(b *testing.B) {
			out, err := tt.marshal()
			if err != nil {
				b.Fatal(err)
			}
			b.SetBytes(int64(len(out)))
			b.ReportAllocs()
			for b.Loop() {
				if _, err := tt.marshal(); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
