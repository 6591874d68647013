package gateway

import (
	"context"
	"encoding/json"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"sync"
	"syscall"
	"testing"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/test/bufconn"

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

// benchServer serves the services over upstream with the correlation
// interceptor on l until cleanup.
func benchServer(b *testing.B, upstream service.Upstream, l net.Listener) {
	b.Helper()
	gs := grpc.NewServer(grpc.ChainUnaryInterceptor(correlation.UnaryServerInterceptor()))
	service.Register(gs, upstream, service.WithLogger(slog.New(slog.NewTextHandler(io.Discard, nil))))
	done := make(chan struct{})
	go func() {
		defer close(done)
		_ = gs.Serve(l)
	}()
	b.Cleanup(func() {
		gs.Stop()
		<-done
	})
}

// dial returns a client connection that reaches the server through dialer.
func dial(b *testing.B, target string, dialer func(context.Context, string) (net.Conn, error)) *grpc.ClientConn {
	b.Helper()
	opts := []grpc.DialOption{grpc.WithTransportCredentials(insecure.NewCredentials())}
	if dialer != nil {
		opts = append(opts, grpc.WithContextDialer(dialer))
	}
	conn, err := grpc.NewClient(target, opts...)
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = conn.Close() })
	return conn
}

// pipeListener is an in-memory net.Listener over net.Pipe (synchronous,
// unbuffered), the smallest alternative to bufconn.
type pipeListener struct {
	conns chan net.Conn
	done  chan struct{}
	once  sync.Once
}

func newPipeListener() *pipeListener {
	return &pipeListener{conns: make(chan net.Conn), done: make(chan struct{})}
}

func (l *pipeListener) Accept() (net.Conn, error) {
	select {
	case c := <-l.conns:
		return c, nil
	case <-l.done:
		return nil, net.ErrClosed
	}
}

func (l *pipeListener) Close() error {
	l.once.Do(func() { close(l.done) })
	return nil
}

func (l *pipeListener) Addr() net.Addr { return &net.UnixAddr{Name: "pipe", Net: "pipe"} }

func (l *pipeListener) dial(ctx context.Context, _ string) (net.Conn, error) {
	client, server := net.Pipe()
	select {
	case l.conns <- server:
		return client, nil
	case <-l.done:
	case <-ctx.Done():
	}
	_, _ = client.Close(), server.Close()
	return nil, net.ErrClosed
}

// wirings builds the mirror five ways over the same services.
var wirings = []struct {
	name  string
	build func(b *testing.B, upstream service.Upstream) http.Handler
}{
	{"bufconn", func(b *testing.B, up service.Upstream) http.Handler {
		l := bufconn.Listen(256 << 10)
		benchServer(b, up, l)
		return mustNew(b, dial(b, "passthrough:///bufconn", func(ctx context.Context, _ string) (net.Conn, error) { return l.DialContext(ctx) }))
	}},
	{"net.Pipe", func(b *testing.B, up service.Upstream) http.Handler {
		l := newPipeListener()
		benchServer(b, up, l)
		return mustNew(b, dial(b, "passthrough:///pipe", l.dial))
	}},
	{"loopback-TCP", func(b *testing.B, up service.Upstream) http.Handler {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			b.Fatal(err)
		}
		benchServer(b, up, l)
		return mustNew(b, dial(b, l.Addr().String(), nil))
	}},
	{"local-with-interceptor-chain", func(b *testing.B, up service.Upstream) http.Handler {
		// What the server uses: the services in process, through the same
		// interceptor chain as the gRPC server (here the correlation one,
		// as benchServer installs).
		h, err := NewLocal(service.NewResellerServer(up), service.NewCustomerServer(up),
			ChainUnaryInterceptors(correlation.UnaryServerInterceptor()))
		if err != nil {
			b.Fatal(err)
		}
		return h
	}},
	{"HandlerServer-no-interceptors", func(b *testing.B, up service.Upstream) http.Handler {
		g, err := newGateway()
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

func mustNew(b *testing.B, conn *grpc.ClientConn) http.Handler {
	b.Helper()
	h, err := New(conn)
	if err != nil {
		b.Fatal(err)
	}
	return h
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
