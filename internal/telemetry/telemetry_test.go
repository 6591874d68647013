package telemetry

import (
	"bytes"
	"context"
	"encoding/json"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
	"net"
	"net/http"
	"net/http/httptest"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/testutil"
	dto "github.com/prometheus/client_model/go"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/sdk/trace/tracetest"
	"go.uber.org/goleak"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
	"google.golang.org/grpc/test/bufconn"
	"log/slog"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/correlation"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

const (
	callerTraceID     = "4bf92f3577b34da6a3ce929d0e0e4736"
	callerTraceparent = "00-" + callerTraceID + "-00f067aa0ba902b7-01"
	secretToken       = "Bearer s3cr3t-t0ken"
)

// upstream records the headers of every request it gets and answers status.
type upstream struct {
	mu      sync.Mutex
	headers []http.Header
	srv     *httptest.Server
}

func newUpstream(t *testing.T, status int) *upstream {
	t.Helper()
	u := &upstream{}
	u.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		u.mu.Lock()
		u.headers = append(u.headers, r.Header.Clone())
		u.mu.Unlock()
		w.WriteHeader(status)
	}))
	t.Cleanup(u.srv.Close)
	return u
}

func (u *upstream) last(t *testing.T) http.Header {
	t.Helper()
	u.mu.Lock()
	defer u.mu.Unlock()
	if len(u.headers) == 0 {
		t.Fatal("upstream got no request")
	}
	return u.headers[len(u.headers)-1]
}

// harness is a gRPC server over bufconn whose Health/Check handler makes
// one upstream GET through the telemetry transport.
type harness struct {
	conn    *grpc.ClientConn
	metrics *Metrics
	logs    *bytes.Buffer
}

func newHarness(t *testing.T, tr *Tracing, up *upstream, upPath string) *harness {
	t.Helper()
	m := NewMetrics(Build{})
	logs := &bytes.Buffer{}
	log := slog.New(slog.NewJSONHandler(&lockedWriter{w: logs}, &slog.HandlerOptions{Level: slog.LevelDebug})) // its calls are health checks
	client := &http.Client{Transport: tr.Transport(m.Transport(http.DefaultTransport.(*http.Transport).Clone()))}
	opts := []grpc.ServerOption{grpc.ChainUnaryInterceptor(correlation.UnaryServerInterceptor(), m.UnaryServerInterceptor(), m.AccessLog(log))}
	if h := tr.ServerHandler(); h != nil {
		opts = append(opts, grpc.StatsHandler(h))
	}
	s := grpc.NewServer(opts...)
	healthpb.RegisterHealthServer(s, &upstreamCaller{client: client, url: up.srv.URL + upPath})
	lis := bufconn.Listen(1 << 20)
	go func() { _ = s.Serve(lis) }()
	conn, err := grpc.NewClient("passthrough:///bufnet",
		grpc.WithContextDialer(func(ctx context.Context, _ string) (net.Conn, error) { return lis.DialContext(ctx) }),
		grpc.WithTransportCredentials(insecure.NewCredentials()))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		_ = conn.Close()
		s.Stop()
		client.CloseIdleConnections()
	})
	return &harness{conn: conn, metrics: m, logs: logs}
}

type upstreamCaller struct {
	healthpb.UnimplementedHealthServer
	client *http.Client
	url    string
}

func (u *upstreamCaller) Check(ctx context.Context, _ *healthpb.HealthCheckRequest) (*healthpb.HealthCheckResponse, error) {
	for range 2 { // two attempts, as a retry would make
		req, err := http.NewRequestWithContext(rest.WithOperation(ctx, apierr.OpGetReseller), http.MethodGet, u.url, nil)
		if err != nil {
			return nil, err
		}
		resp, err := u.client.Do(req)
		if err != nil {
			return nil, status.Error(codes.Unavailable, "upstream")
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusNotFound {
			return nil, status.Error(codes.NotFound, "not found")
		}
	}
	return &healthpb.HealthCheckResponse{Status: healthpb.HealthCheckResponse_SERVING}, nil
}

type lockedWriter struct {
	mu sync.Mutex
	w  *bytes.Buffer
}

func (l *lockedWriter) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(p)
}

func call(t *testing.T, h *harness, md metadata.MD) error {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	ctx = metadata.NewOutgoingContext(ctx, md)
	_, err := healthpb.NewHealthClient(h.conn).Check(ctx, &healthpb.HealthCheckRequest{})
	return err
}

func TestMetricsAndAccessLog(t *testing.T) {
	up := newUpstream(t, http.StatusOK)
	h := newHarness(t, &Tracing{}, up, "/v1/Resellers/11111111-1111-4111-8111-111111111111")
	md := metadata.Pairs("authorization", secretToken, "x-tenant", "portal.cloudcockpit.com", "x-correlation-id", "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f")
	if err := call(t, h, md); err != nil {
		t.Fatal(err)
	}

	tests := []struct {
		name   string
		metric string
		want   string
	}{
		{"server handled", "grpc_server_handled_total", `grpc_server_handled_total{grpc_code="OK",grpc_method="Check",grpc_service="grpc.health.v1.Health"} 1`},
		// Every operation's series exist from the start, at zero.
		{"upstream requests", "cloudcockpit_upstream_requests_total", `cloudcockpit_upstream_requests_total{operation="GetAcceptanceLink",status="200"} 0
cloudcockpit_upstream_requests_total{operation="GetReseller",status="200"} 2
cloudcockpit_upstream_requests_total{operation="other",status="200"} 0`},
		{"in flight back to zero", "cloudcockpit_upstream_in_flight_requests", `cloudcockpit_upstream_in_flight_requests{operation="GetAcceptanceLink"} 0
cloudcockpit_upstream_in_flight_requests{operation="GetReseller"} 0
cloudcockpit_upstream_in_flight_requests{operation="other"} 0`},
		{"server in flight back to zero", "grpc_server_in_flight_requests", `grpc_server_in_flight_requests{grpc_method="Check",grpc_service="grpc.health.v1.Health"} 0`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			want := "# HELP " + tt.metric + " " + helpOf(t, h.metrics, tt.metric) + "\n# TYPE " + tt.metric + " " + typeOf(t, h.metrics, tt.metric) + "\n" + tt.want + "\n"
			if err := testutil.GatherAndCompare(h.metrics.Registry, strings.NewReader(want), tt.metric); err != nil {
				t.Error(err)
			}
		})
	}
	if n := testutil.CollectAndCount(h.metrics.serverDuration); n != 1 {
		t.Errorf("grpc_server_handling_seconds series = %d, want 1", n)
	}
	for _, name := range []string{"cloudcockpit_facade_build_info", "go_goroutines", "process_resident_memory_bytes", "cloudcockpit_upstream_breakers", "cloudcockpit_upstream_tenants"} {
		if n, err := testutil.GatherAndCount(h.metrics.Registry, name); err != nil || n == 0 {
			t.Errorf("%s missing (%d, %v)", name, n, err)
		}
	}
	// No label value may be an id, tenant or token.
	mfs, err := h.metrics.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		for _, m := range mf.GetMetric() {
			for _, l := range m.GetLabel() {
				if v := l.GetValue(); strings.Contains(v, "1111") || strings.Contains(v, "cloudcockpit.com") || strings.Contains(v, "s3cr3t") {
					t.Errorf("%s has an unbounded label %s=%q", mf.GetName(), l.GetName(), v)
				}
			}
		}
	}

	var line map[string]any
	if err := json.Unmarshal(h.logs.Bytes(), &line); err != nil {
		t.Fatalf("access log is not one JSON line: %v\n%s", err, h.logs.String())
	}
	for k, want := range map[string]any{
		"msg": "call", "method": "/grpc.health.v1.Health/Check", "code": "OK", "upstream_status": float64(200),
		"attempts": float64(2), "correlation_id": "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f", "tenant": "portal.cloudcockpit.com",
	} {
		if line[k] != want {
			t.Errorf("log %s = %v, want %v", k, line[k], want)
		}
	}
	if d, ok := line["duration_us"].(float64); !ok || d < 0 || d != float64(int64(d)) {
		t.Errorf("log duration_us = %v, want a whole number of microseconds", line["duration_us"])
	}
	if strings.Contains(h.logs.String(), "s3cr3t") {
		t.Error("the log holds the token")
	}
}

// spanEnds is a span processor that sends the name of each span that ends,
// after the exporters registered before it have it.
type spanEnds chan string

func (spanEnds) OnStart(context.Context, sdktrace.ReadWriteSpan) {}
func (c spanEnds) OnEnd(s sdktrace.ReadOnlySpan)                 { c <- s.Name() }
func (spanEnds) Shutdown(context.Context) error                  { return nil }
func (spanEnds) ForceFlush(context.Context) error                { return nil }

func TestTracingSpanTree(t *testing.T) {
	exp := tracetest.NewInMemoryExporter()
	ended := make(spanEnds, 16)
	tr := NewTracing(sdktrace.WithSyncer(exp), sdktrace.WithSpanProcessor(ended))
	t.Cleanup(func() { _ = tr.Shutdown(context.Background()) })
	up := newUpstream(t, http.StatusOK)
	h := newHarness(t, tr, up, "/v1/Resellers/11111111-1111-4111-8111-111111111111")
	if err := call(t, h, metadata.Pairs("traceparent", callerTraceparent, "baggage", "caller.secret=s3cr3t")); err != nil {
		t.Fatal(err)
	}
	// gRPC ends the server span after the status has gone out, so the client
	// can see its answer a moment before the span reaches the exporter: wait
	// (bounded) for the server span, the last to end.
	for name := ""; name != "grpc.health.v1.Health/Check"; {
		select {
		case name = <-ended:
		case <-time.After(5 * time.Second):
			t.Fatal("the server span did not end within 5s")
		}
	}
	var (
		spans   = exp.GetSpans()
		server  tracetest.SpanStub
		clients []tracetest.SpanStub
	)
	for _, s := range spans {
		switch s.Name {
		case "grpc.health.v1.Health/Check":
			server = s
		case "upstream GetReseller":
			clients = append(clients, s)
		}
	}
	if server.Name == "" || len(clients) != 2 {
		t.Fatalf("want one server span and two client spans (one per attempt), got %d spans: %v", len(spans), names(spans))
	}
	if got := server.SpanContext.TraceID().String(); got != callerTraceID {
		t.Errorf("server span trace id = %s, want the caller's %s", got, callerTraceID)
	}
	if got := server.Parent.SpanID().String(); got != "00f067aa0ba902b7" {
		t.Errorf("server span parent = %s, want the caller's span", got)
	}
	for _, c := range clients {
		if c.Parent.SpanID() != server.SpanContext.SpanID() {
			t.Errorf("client span parent = %s, want the server span %s", c.Parent.SpanID(), server.SpanContext.SpanID())
		}
	}
	tp := up.last(t).Get("traceparent")
	if !strings.HasPrefix(tp, "00-"+callerTraceID+"-") || strings.Contains(tp, "00f067aa0ba902b7") {
		t.Errorf("upstream traceparent = %q, want the caller's trace with the client span as parent", tp)
	}
	if !strings.Contains(tp, clients[1].SpanContext.SpanID().String()) {
		t.Errorf("upstream traceparent %q does not name the last attempt's span", tp)
	}
	if b := up.last(t).Get("baggage"); b != "" {
		t.Errorf("upstream got the caller's baggage %q: only the trace context goes upstream", b)
	}
}

func names(spans tracetest.SpanStubs) []string {
	var out []string
	for _, s := range spans {
		out = append(out, s.Name)
	}
	return out
}

func TestTracingFromEnv(t *testing.T) {
	tests := []struct {
		name    string
		env     map[string]string
		want    bool
		wantErr bool
	}{
		{"unset is off", nil, false, false},
		{"endpoint turns it on", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318"}, true, false},
		{"traces endpoint, grpc", map[string]string{"OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://127.0.0.1:4317", "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc"}, true, false},
		{"sdk disabled", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_SDK_DISABLED": "true"}, false, false},
		{"exporter none", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_TRACES_EXPORTER": "none"}, false, false},
		{"bad protocol", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon"}, false, true},
		{"the traces protocol wins", map[string]string{"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4318", "OTEL_EXPORTER_OTLP_PROTOCOL": "carrier-pigeon", "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL": "grpc"}, true, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
			defer cancel()
			tr, err := TracingFromEnv(ctx, func(k string) string { return tt.env[k] })
			if (err != nil) != tt.wantErr {
				t.Fatalf("err = %v, want error %v", err, tt.wantErr)
			}
			if err != nil {
				return
			}
			defer tr.Shutdown(ctx)
			if tr.Enabled() != tt.want {
				t.Errorf("Enabled() = %v, want %v", tr.Enabled(), tt.want)
			}
			if !tt.want && tr.ServerHandler() != nil {
				t.Error("off, but a stats handler is installed")
			}
		})
	}
}

func helpOf(t *testing.T, m *Metrics, name string) string {
	t.Helper()
	mfs, err := m.Registry.Gather()
	if err != nil {
		t.Fatal(err)
	}
	for _, mf := range mfs {
		if mf.GetName() == name {
			return mf.GetHelp()
		}
	}
	t.Fatalf("metric %s not registered", name)
	return ""
}

func typeOf(t *testing.T, m *Metrics, name string) string {
	t.Helper()
	mfs, _ := m.Registry.Gather()
	for _, mf := range mfs {
		if mf.GetName() == name {
			return strings.ToLower(mf.GetType().String())
		}
	}
	return ""
}

// TestBuildInfo: the build-info metric shows the version and revision
// cmd/server gives it, "unknown" for what it does not.
func TestBuildInfo(t *testing.T) {
	for _, tt := range []struct {
		give Build
		want string
	}{
		{Build{"v1.2.3", "abc123"}, `revision="abc123",version="v1.2.3"`},
		{Build{Version: "(devel)"}, `revision="unknown",version="(devel)"`},
		{Build{}, `revision="unknown",version="unknown"`},
	} {
		m := NewMetrics(tt.give)
		const name = "cloudcockpit_facade_build_info"
		want := "# HELP " + name + " " + helpOf(t, m, name) + "\n# TYPE " + name + " gauge\n" +
			name + `{goversion="` + runtime.Version() + `",` + tt.want + "} 1\n"
		if err := testutil.GatherAndCompare(m.Registry, strings.NewReader(want), name); err != nil {
			t.Errorf("%+v: %v", tt.give, err)
		}
	}
}

// TestLabelBounds: label values stay within their documented sets, and a
// call that never reached the upstream is not observed in
// cloudcockpit_upstream_attempts.
func TestLabelBounds(t *testing.T) {
	for code, want := range map[int]string{99: "other", 100: "100", 599: "599", 600: "other", 999: "other"} {
		if got := statusLabel(code); got != want {
			t.Errorf("statusLabel(%d) = %q, want %q", code, got, want)
		}
	}
	if svc, method := splitMethod("NoSlash"); svc != "unknown" || method != "NoSlash" {
		t.Errorf("splitMethod(NoSlash) = %q, %q, want unknown, NoSlash", svc, method)
	}
	for op, want := range map[string]string{"GetReseller": "GetReseller", "GetAcceptanceLink": "GetAcceptanceLink", "MadeUp": "other"} {
		if got := boundedOp(op); got != want {
			t.Errorf("boundedOp(%q) = %q, want %q", op, got, want)
		}
	}
	m := NewMetrics(Build{})
	m.RefusedCalls("made_up").Inc()
	if got := testutil.ToFloat64(m.refusedCalls.WithLabelValues("other")); got != 1 {
		t.Errorf("an unknown refusal reason counted %v on reason=other, want 1", got)
	}
	m.callDone("GetReseller", 0)
	m.callDone("GetReseller", 3)
	var d dto.Metric
	if err := m.upstreamAttempts.WithLabelValues("GetReseller").(prometheus.Histogram).Write(&d); err != nil {
		t.Fatal(err)
	}
	if n := d.GetHistogram().GetSampleCount(); n != 1 {
		t.Errorf("cloudcockpit_upstream_attempts has %d samples after calls of 0 and 3 attempts, want 1", n)
	}
	if got := testutil.ToFloat64(m.upstreamRetries.WithLabelValues("GetReseller")); got != 2 {
		t.Errorf("retries = %v, want 2", got)
	}
}

// TestTenantOf: the access line shows a tenant that is not a plain domain
// name quoted in ASCII, so that no caller can put format or control
// characters (a bidi override) into the log raw.
func TestTenantOf(t *testing.T) {
	for give, want := range map[string]string{
		"portal.cloudcockpit.com":     "portal.cloudcockpit.com",
		"portal.\u202eexample.com\tX": `"portal.\u202eexample.com\tX"`,
		"caf\u00e9.example":           `"caf\u00e9.example"`,
		`"caf\u00e9.example"`:         `"\"caf\\u00e9.example\""`, // looks escaped: quoted too
		`"contoso.com"`:               `"\"contoso.com\""`,
		`contoso\u002ecom`:            `"contoso\\u002ecom"`,
		"a b.example":                 `"a b.example"`,
		"a\x1fb.example":              `"a\x1fb.example"`,
		"a~b.example":                 "a~b.example",
		"":                            "",
	} {
		ctx := metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-tenant", give))
		if got := tenantOf(ctx); got != want {
			t.Errorf("tenantOf(%q) = %s, want %s", give, got, want)
		}
	}
	long := strings.Repeat("a", 10_000)
	if got := tenantOf(metadata.NewIncomingContext(context.Background(), metadata.Pairs("x-tenant", long))); len(got) > 300 {
		t.Errorf("tenantOf of a %d-byte tenant is %d bytes, want it cut to a domain name's 253 (and an ellipsis)", len(long), len(got))
	}
}

// TestAccessLogCoalesced: a call that shared another's upstream request is
// counted, and its access line names the correlation id that request
// carried; a call that did not, or whose shared request's id is unknown,
// has no coalesced_with.
func TestAccessLogCoalesced(t *testing.T) {
	for _, tt := range []struct {
		name     string
		joined   bool
		sharedID string
		want     any // the line's coalesced_with; nil: absent
	}{
		{"own request", false, "", nil},
		{"joined", true, "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f", "0d6f3c1e-5b7a-4e2c-9f10-3a4b5c6d7e8f"},
		{"left before the shared request ended", true, "", nil},
	} {
		t.Run(tt.name, func(t *testing.T) {
			m := NewMetrics(Build{})
			var logs bytes.Buffer
			intercept := m.AccessLog(slog.New(slog.NewJSONHandler(&logs, nil)))
			info := &grpc.UnaryServerInfo{FullMethod: "/cloudcockpit.v1.ResellerService/GetReseller"}
			_, err := intercept(context.Background(), nil, info, func(ctx context.Context, _ any) (any, error) {
				if tt.joined {
					m.Coalesced(ctx, apierr.OpGetReseller, tt.sharedID)
				}
				return nil, nil
			})
			if err != nil {
				t.Fatal(err)
			}
			var line map[string]any
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("access log is not one JSON line: %v\n%s", err, logs.String())
			}
			if got := line["coalesced_with"]; got != tt.want {
				t.Errorf("coalesced_with = %v, want %v", got, tt.want)
			}
			wantCount := 0.0
			if tt.joined {
				wantCount = 1
			}
			if got := testutil.ToFloat64(m.coalesced.WithLabelValues(apierr.OpGetReseller)); got != wantCount {
				t.Errorf("coalesced calls = %v, want %v", got, wantCount)
			}
		})
	}
}

// TestAccessLogLevel: a call's access line is at info, at error for
// INTERNAL, UNKNOWN and DATA_LOSS, and at debug for a health check that
// succeeds (the kubelet's probes, every few seconds on every replica).
func TestAccessLogLevel(t *testing.T) {
	for _, tt := range []struct {
		method string
		err    error
		want   string // the line's level; "": no line at info
	}{
		{"/cloudcockpit.v1.ResellerService/GetReseller", nil, "INFO"},
		{"/cloudcockpit.v1.ResellerService/GetReseller", status.Error(codes.NotFound, "x"), "INFO"},
		{"/cloudcockpit.v1.ResellerService/GetReseller", status.Error(codes.Internal, "x"), "ERROR"},
		{"/cloudcockpit.v1.ResellerService/GetReseller", status.Error(codes.DataLoss, "x"), "ERROR"},
		{"/grpc.health.v1.Health/Check", nil, ""},
		{"/grpc.health.v1.Health/Check", status.Error(codes.NotFound, "unknown service"), "INFO"},
		{"/grpc.health.v1.Health/Check", status.Error(codes.Unknown, "x"), "ERROR"},
	} {
		var logs bytes.Buffer
		intercept := NewMetrics(Build{}).AccessLog(slog.New(slog.NewJSONHandler(&logs, nil)))
		_, _ = intercept(context.Background(), nil, &grpc.UnaryServerInfo{FullMethod: tt.method},
			func(context.Context, any) (any, error) { return nil, tt.err })
		var line struct{ Level string }
		if logs.Len() > 0 {
			if err := json.Unmarshal(logs.Bytes(), &line); err != nil {
				t.Fatalf("%s: access log is not one JSON line: %v", tt.method, err)
			}
		}
		if line.Level != tt.want {
			t.Errorf("%s, %v: level %q, want %q", tt.method, status.Code(tt.err), line.Level, tt.want)
		}
	}
}
