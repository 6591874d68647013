package gateway

import (
	"context"
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"syscall"
	"testing"
	"time"

	pb "github.com/cloudcockpit/cloudcockpit-facade/gen/cloudcockpit/v1"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/service"
)

// fakeUpstream answers from memory, so that the benchmarks measure the
// mirror's wiring and not an HTTP upstream.
type fakeUpstream struct{ reseller *rest.Reseller }

func (f fakeUpstream) GetReseller(context.Context, rest.CallInfo, string) (*rest.Reseller, error) {
	return f.reseller, nil
}

func (f fakeUpstream) GetAcceptanceLink(context.Context, rest.CallInfo, string, string) (string, error) {
	return "https://admin.microsoft.com/Adminportal/Home?invType=ResellerRelationship", nil
}

// contoso decodes the sandbox's full sample reseller (about 1.5 KB of JSON).
func contoso(b *testing.B) *rest.Reseller {
	b.Helper()
	rec := httptest.NewRecorder()
	req := httptest.NewRequest(http.MethodGet, "/v1/Resellers/"+sandbox.ContosoResellerID, nil)
	req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
	req.Header.Set("X-Tenant", sandbox.SampleTenant)
	sandbox.New().ServeHTTP(rec, req)
	var r rest.Reseller
	if err := json.Unmarshal(rec.Body.Bytes(), &r); err != nil {
		b.Fatal(err)
	}
	return &r
}

// wirings builds the mirror over the same services with and without the
// interceptor chain.
var wirings = []struct {
	name  string
	build func(b *testing.B, upstream service.Upstream) http.Handler
}{
	{"local-with-interceptor-chain", func(b *testing.B, up service.Upstream) http.Handler {
		// What the server ships: the services in process, through the
		// interceptor chain (here the correlation one).
		h, err := New(service.NewResellerServer(up), service.NewCustomerServer(up), nil,
			correlation.UnaryServerInterceptor())
		if err != nil {
			b.Fatal(err)
		}
		return h
	}},
	{"HandlerServer-no-interceptors", func(b *testing.B, up service.Upstream) http.Handler {
		g, err := newGateway(nil)
		if err != nil {
			b.Fatal(err)
		}
		ctx := context.Background()
		if err := pb.RegisterResellerServiceHandlerServer(ctx, g.mux, service.NewResellerServer(up)); err != nil {
			b.Fatal(err)
		}
		if err := pb.RegisterCustomerServiceHandlerServer(ctx, g.mux, service.NewCustomerServer(up)); err != nil {
			b.Fatal(err)
		}
		return g.mux
	}},
}

// BenchmarkWiring measures one GET /v1/Resellers/{id} through the mirror
// (handler.ServeHTTP, no HTTP server in front) for each way of reaching the
// handlers, with an in-memory upstream. Run:
//
//	go test -run '^$' -bench Wiring -benchmem ./internal/gateway/
func BenchmarkWiring(b *testing.B) {
	up := fakeUpstream{reseller: contoso(b)}
	for _, w := range wirings {
		b.Run(w.name, func(b *testing.B) {
			h := w.build(b, up)
			serve := func() {
				req := httptest.NewRequest(http.MethodGet, "/v1/Resellers/"+sandbox.ContosoResellerID, nil)
				req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
				req.Header.Set("X-Tenant", sandbox.SampleTenant)
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, req)
				if rec.Code != http.StatusOK || rec.Header().Get("X-Correlation-Id") == "" {
					b.Fatalf("status %d, X-Correlation-Id %q: %s", rec.Code, rec.Header().Get("X-Correlation-Id"), rec.Body)
				}
			}
			serve() // connect outside the measurement
			b.ReportAllocs()
			cpu0 := cpuTime(b)
			for b.Loop() {
				serve()
			}
			// CPU time per call, all goroutines: unlike ns/op it does not
			// count waiting for a CPU, so it holds on a busy machine.
			b.ReportMetric(float64(cpuTime(b)-cpu0)/float64(b.N), "cpu-ns/op")
		})
	}
}

// BenchmarkWiringParallel is BenchmarkWiring with concurrent callers
// (GOMAXPROCS goroutines), where the transports' locking shows.
func BenchmarkWiringParallel(b *testing.B) {
	up := fakeUpstream{reseller: contoso(b)}
	for _, w := range wirings {
		b.Run(w.name, func(b *testing.B) {
			h := w.build(b, up)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					req := httptest.NewRequest(http.MethodGet, "/v1/Resellers/"+sandbox.ContosoResellerID, nil)
					req.Header.Set("Authorization", "Bearer "+sandbox.SampleToken)
					req.Header.Set("X-Tenant", sandbox.SampleTenant)
					rec := httptest.NewRecorder()
					h.ServeHTTP(rec, req)
					if rec.Code != http.StatusOK {
						b.Errorf("status %d: %s", rec.Code, rec.Body)
						return
					}
				}
			})
		})
	}
}

// cpuTime returns the process's user and system CPU time so far.
func cpuTime(b *testing.B) time.Duration {
	b.Helper()
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Skipf("getrusage: %v", err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
