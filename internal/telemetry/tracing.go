package telemetry

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"strings"

	"go.opentelemetry.io/contrib/instrumentation/google.golang.org/grpc/otelgrpc"
	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracehttp"
	"go.opentelemetry.io/otel/propagation"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	semconv "go.opentelemetry.io/otel/semconv/v1.40.0"
	"google.golang.org/grpc/stats"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
	"github.com/cloudcockpit/cloudcockpit-facade/internal/rest"
)

// Tracing is the facade's OpenTelemetry set-up. The zero value (tracing off)
// costs nothing: no stats handler, no span; the service forwards the caller's
// trace context to the upstream with the other headers (rest.CallInfo).
type Tracing struct{ provider *sdktrace.TracerProvider }

// propagator is W3C trace context without baggage: a caller's own headers never go upstream.
var propagator = propagation.TraceContext{}

// TracingFromEnv configures tracing from the standard OTEL_* variables, read
// with getenv (os.Getenv but in tests), as docs/observability.md ("Traces")
// describes: off unless an OTLP endpoint is set.
func TracingFromEnv(ctx context.Context, getenv func(string) string) (*Tracing, error) {
	if strings.EqualFold(getenv("OTEL_SDK_DISABLED"), "true") || strings.EqualFold(getenv("OTEL_TRACES_EXPORTER"), "none") ||
		getenv("OTEL_EXPORTER_OTLP_ENDPOINT") == "" && getenv("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT") == "" {
		return &Tracing{}, nil
	}
	protocol := cmp.Or(getenv("OTEL_EXPORTER_OTLP_TRACES_PROTOCOL"), getenv("OTEL_EXPORTER_OTLP_PROTOCOL"))
	var exp sdktrace.SpanExporter
	var err error
	switch protocol {
	case "", "http/protobuf":
		exp, err = otlptracehttp.New(ctx)
	case "grpc":
		exp, err = otlptracegrpc.New(ctx)
	default:
		return nil, fmt.Errorf("OTEL_EXPORTER_OTLP_PROTOCOL=%q: want grpc or http/protobuf", protocol)
	}
	if err != nil {
		return nil, fmt.Errorf("OTLP trace exporter: %w", err)
	}
	return NewTracing(sdktrace.WithBatcher(exp)), nil
}

// NewTracing turns tracing on with the given span processors.
func NewTracing(opts ...sdktrace.TracerProviderOption) *Tracing {
	res, err := resource.Merge(resource.Default(), resource.NewSchemaless(semconv.ServiceName("cloudcockpit-facade")))
	if err != nil {
		res = resource.Default()
	}
	if env, err := resource.New(context.Background(), resource.WithFromEnv()); err == nil {
		if merged, err := resource.Merge(res, env); err == nil {
			res = merged
		}
	}
	opts = append([]sdktrace.TracerProviderOption{sdktrace.WithResource(res)}, opts...)
	return &Tracing{provider: sdktrace.NewTracerProvider(opts...)}
}

// Enabled reports whether spans are recorded and exported.
func (t *Tracing) Enabled() bool { return t != nil && t.provider != nil }

// ServerHandler returns the gRPC stats handler that starts a server span per
// call from the caller's traceparent, or nil when tracing is off.
func (t *Tracing) ServerHandler() stats.Handler {
	if !t.Enabled() {
		return nil
	}
	return otelgrpc.NewServerHandler(otelgrpc.WithTracerProvider(t.provider), otelgrpc.WithPropagators(propagator))
}

// Transport wraps the upstream transport so that each attempt gets a client span
// and carries its traceparent; it returns base unchanged when tracing is off.
func (t *Tracing) Transport(base http.RoundTripper) http.RoundTripper {
	if !t.Enabled() {
		return base
	}
	return otelhttp.NewTransport(secretFree{base},
		otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagator),
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return "upstream " + boundedOp(rest.Operation(r.Context())) }),
	)
}

// secretFree is the transport under otelhttp, which writes the text of an
// attempt's error into its span: net/http quotes a malformed header or trailer
// line of an answer, where an upstream may echo the caller's token. Its errors,
// and its bodies' read errors, read as apierr.Redactor leaves them.
type secretFree struct{ base http.RoundTripper }

func (t secretFree) RoundTrip(r *http.Request) (*http.Response, error) {
	res, err := t.base.RoundTrip(r)
	if err != nil {
		return res, redact(r, err)
	}
	res.Body = secretFreeBody{res.Body, r}
	return res, nil
}

type secretFreeBody struct {
	io.ReadCloser
	r *http.Request
}

func (b secretFreeBody) Read(p []byte) (n int, err error) {
	if n, err = b.ReadCloser.Read(p); err != nil && !errors.Is(err, io.EOF) {
		err = redact(b.r, err)
	}
	return n, err
}

// redactedError is err but for its text (url.Error's Timeout asks its Err
// directly, and otelhttp's error.type would name the wrapper).
type redactedError struct {
	error
	text string
}

func redact(r *http.Request, err error) error {
	return &redactedError{err, apierr.NewRedactor(r.Header.Get(apierr.HeaderAuthorization)).String(err.Error())}
}

func (e *redactedError) Error() string     { return e.text }
func (e *redactedError) Unwrap() error     { return e.error }
func (e *redactedError) ErrorType() string { return semconv.ErrorType(e.error).Value.AsString() }
func (e *redactedError) Timeout() bool {
	t, ok := errors.AsType[net.Error](e.error)
	return ok && t.Timeout()
}

// HTTPHandler wraps h so that each HTTP request gets a server span from the
// caller's traceparent header (the REST mirror's calls pass no gRPC stats
// handler); it returns h unchanged when tracing is off.
func (t *Tracing) HTTPHandler(h http.Handler) http.Handler {
	if !t.Enabled() {
		return h
	}
	return otelhttp.NewHandler(h, "rest",
		otelhttp.WithTracerProvider(t.provider),
		otelhttp.WithPropagators(propagator),
		// The mirror renames the span after its route once it knows it.
		otelhttp.WithSpanNameFormatter(func(_ string, r *http.Request) string { return r.Method }),
	)
}

// Shutdown flushes and stops the exporter; a no-op when tracing is off.
func (t *Tracing) Shutdown(ctx context.Context) error {
	if !t.Enabled() {
		return nil
	}
	return t.provider.Shutdown(ctx)
}
