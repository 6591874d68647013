package gateway

import (
	"cmp"
	"context"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"net/url"
	"path"
	"slices"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"go.opentelemetry.io/otel/trace"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/reflect/protoregistry"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

const (
	maxViolations = 16       // violations a query error lists
	maxNameLen    = 64       // bytes of a caller's name (parameter, method) an error quotes
	maxBodyBytes  = 64 << 10 // bytes read of a request body; the connection is closed after a longer one
)

// sentQuery is what a REST call with a query carries in its context:
// checkRequest hands it to the call, rejectIgnoredQuery refuses what
// grpc-gateway's parser would ignore, and handleError answers both refusals
// with every violation (queryProblems). The rules, and why the parser alone
// does not enforce them: docs/rest-mirror.md#query-parameters.
type sentQuery struct {
	raw  string
	path map[string]string // the path parameters, by field path
}

type sentQueryKey struct{}

func sentQueryFrom(ctx context.Context) *sentQuery {
	q, _ := ctx.Value(sentQueryKey{}).(*sentQuery)
	return q
}

func rejectIgnoredQuery(ctx context.Context, req any, info *grpc.UnaryServerInfo, handler grpc.UnaryHandler) (any, error) {
	m, ok := req.(protoreflect.ProtoMessage)
	if q := sentQueryFrom(ctx); q != nil && ok && len(q.problems(m.ProtoReflect().Descriptor(), path.Base(info.FullMethod))) > 0 {
		return nil, status.Error(codes.InvalidArgument, "invalid query")
	}
	return handler(ctx, req)
}

// queryProblems returns what is wrong with the query of the REST call of
// ctx (annotated by grpc-gateway with its RPC, whose short name is op); no
// violations for a call without a query or a good one.
func queryProblems(ctx context.Context, op string) []*errdetails.BadRequest_FieldViolation {
	q, in := sentQueryFrom(ctx), rpcInput(ctx)
	if q == nil || in == nil {
		return nil
	}
	return q.problems(in, op)
}

// rpcInput returns the request message of the RPC grpc-gateway annotated ctx
// with, nil outside an RPC route.
func rpcInput(ctx context.Context) protoreflect.MessageDescriptor {
	full, _ := runtime.RPCMethod(ctx) // "" outside an RPC route, which names no descriptor
	d, _ := protoregistry.GlobalFiles.FindDescriptorByName(protoreflect.FullName(strings.ReplaceAll(strings.TrimPrefix(full, "/"), "/", ".")))
	if md, ok := d.(protoreflect.MethodDescriptor); ok {
		return md.Input()
	}
	return nil
}

// problems returns what is wrong with q for an RPC op whose request is in:
// unknown names, repeated singular parameters, two spellings of one field,
// a malformed query. It returns nil for a good query.
func (q *sentQuery) problems(in protoreflect.MessageDescriptor, op string) (fvs []*errdetails.BadRequest_FieldViolation) {
	add := func(name, desc string) {
		if len(fvs) < maxViolations {
			fvs = append(fvs, &errdetails.BadRequest_FieldViolation{Field: quote(name), Description: desc})
		}
	}
	values, err := url.ParseQuery(q.raw)
	if err != nil {
		add("query", "malformed query string: "+quote(err.Error()))
		return fvs
	}
	spelling := map[protoreflect.Name]string{}
	for _, name := range slices.Sorted(maps.Keys(values)) {
		f := q.param(in, name)
		switch {
		case f == nil:
			add(name, "unknown query parameter: "+q.accepts(in, op))
			continue
		case len(values[name]) > 1 && !f.IsList():
			add(name, "sent "+strconv.Itoa(len(values[name]))+" times: send it once")
		}
		if other, dup := spelling[f.Name()]; dup {
			add(name, "names the same field as "+other+": send one of them")
			continue
		}
		spelling[f.Name()] = name
	}
	return fvs
}

// param returns the field of in that the query parameter name sets, nil if
// none may be set so.
func (q *sentQuery) param(in protoreflect.MessageDescriptor, name string) protoreflect.FieldDescriptor {
	f := cmp.Or(in.Fields().ByTextName(name), in.Fields().ByJSONName(name))
	if f == nil || f.IsMap() || f.Kind() == protoreflect.MessageKind || f.Kind() == protoreflect.GroupKind {
		return nil
	}
	for p := range q.path {
		if top, _, _ := strings.Cut(p, "."); top == string(f.Name()) {
			return nil
		}
	}
	return f
}

// accepts describes the query parameters an RPC takes, for error messages.
func (q *sentQuery) accepts(in protoreflect.MessageDescriptor, op string) string {
	var names []string
	for i := range in.Fields().Len() {
		f := in.Fields().Get(i)
		switch {
		case q.param(in, f.TextName()) == nil:
		case f.JSONName() != f.TextName():
			names = append(names, f.JSONName()+" (or "+f.TextName()+")")
		default:
			names = append(names, f.JSONName())
		}
	}
	switch len(names) {
	case 0:
		return op + " takes no query parameters, case-sensitively"
	case 1:
		return op + " accepts only " + names[0] + ", case-sensitively"
	}
	return op + " accepts only " + strings.Join(names[:len(names)-1], ", ") + " and " + names[len(names)-1] + ", case-sensitively"
}

// checkRequest is the mux middleware of every route. It bounds the body that
// the generated handlers drain (docs/security.md#request-size), refuses
// headers gRPC metadata cannot carry (docs/rest-mirror.md#headers), hands a
// query to the call (sentQuery), and over TLS gives the call the client's
// address and TLS state as gRPC peer information, as grpc.Server.ServeHTTP
// does, so that the services find a client certificate whatever the protocol.
func (g *gateway) checkRequest(next runtime.HandlerFunc) runtime.HandlerFunc {
	return func(w http.ResponseWriter, r *http.Request, pathParams map[string]string) {
		if r = g.admit(w, r, pathParams); r != nil {
			next(w, r, pathParams)
		}
	}
}

// admit does checkRequest's work, apart so that its frame is off the stack
// during the call: it returns the request to serve, or nil when it answered.
func (g *gateway) admit(w http.ResponseWriter, r *http.Request, pathParams map[string]string) *http.Request {
	span := trace.SpanFromContext(r.Context()) // named by the route, never the ids; when it records
	if pat, ok := runtime.HTTPPattern(r.Context()); ok && span.IsRecording() {
		route := routeKey(pat.String())
		span.SetName(r.Method + " " + cmp.Or(g.routes[route], route))
	}
	if r.ContentLength > maxBodyBytes {
		reject(w, r, http.StatusRequestEntityTooLarge, codes.ResourceExhausted,
			"request body larger than "+strconv.Itoa(maxBodyBytes)+" bytes: the REST mirror takes no body", apierr.ReasonRequestTooLarge, "")
		return nil
	}
	if r.Body != nil && r.Body != http.NoBody {
		r.Body = http.MaxBytesReader(w, r.Body, maxBodyBytes)
	}
	// grpc-gateway would silently drop a header value that gRPC metadata
	// cannot carry, turning a malformed tenant into a missing one, or an
	// invalid correlation id into a generated one that still goes upstream.
	badAuth, fvs := headerProblems(r.Header)
	if badAuth { // UNAUTHENTICATED, as the service answers a malformed token
		reject(w, r, http.StatusUnauthorized, codes.Unauthenticated,
			"malformed credentials: `Authorization` must be `Bearer <token>` in printable ASCII", apierr.ReasonMalformedCredentials, "")
		return nil
	}
	if len(fvs) > 0 {
		reject(w, r, http.StatusBadRequest, codes.InvalidArgument, apierr.InvalidMessage("request", fvs), apierr.ReasonInvalidRequest, "",
			&errdetails.BadRequest{FieldViolations: fvs})
		return nil
	}
	if r.URL.RawQuery != "" {
		r = r.WithContext(context.WithValue(r.Context(), sentQueryKey{}, &sentQuery{raw: r.URL.RawQuery, path: pathParams}))
	}
	if r.TLS != nil {
		addr, _ := netip.ParseAddrPort(r.RemoteAddr)
		info := credentials.TLSInfo{State: *r.TLS, CommonAuthInfo: credentials.CommonAuthInfo{SecurityLevel: credentials.PrivacyAndIntegrity}}
		r = r.WithContext(peer.NewContext(r.Context(), &peer.Peer{Addr: net.TCPAddrFromAddrPort(addr), AuthInfo: info}))
	}
	return r
}

// quote bounds a caller-supplied name before it is echoed in an error.
func quote(s string) string { return apierr.Truncate(strings.ToValidUTF8(s, "\uFFFD"), maxNameLen) }
