package gateway

import (
	"cmp"
	"context"
	"errors"
	"io"
	"math"
	"net/http"
	"path"
	"strconv"
	"strings"

	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/genproto/googleapis/rpc/code"
	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/grpclog"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/protoadapt"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// handleError is the mux's error handler, for errors of calls and of the
// mirror itself. The HTTP status follows the gRPC code
// (runtime.HTTPStatusFromCode) unless err is a *runtime.HTTPStatusError; the
// body is the status as JSON. A status without ErrorInfo (raised by
// grpc-gateway or the connection rather than the service) gets one, and a
// RequestInfo, so that every error has the service's shape.
func (g *gateway) handleError(ctx context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, err error) {
	httpStatus := 0
	if hse, ok := errors.AsType[*runtime.HTTPStatusError](err); ok {
		httpStatus, err = hse.HTTPStatus, hse.Err
	}
	st, ok := status.FromError(err)
	if !ok && httpStatus == http.StatusBadRequest {
		st = status.New(codes.InvalidArgument, err.Error())
	}
	info, op := apierr.InfoOf(st), ""
	if full, ok := runtime.RPCMethod(ctx); ok {
		op = path.Base(full)
	}
	if st.Code() == codes.InvalidArgument && info == nil {
		if fvs := queryProblems(ctx, op); len(fvs) > 0 {
			rejectQuery(w, r, op, fvs)
			return
		}
	}
	cid, _ := requestCorrelationID(r)
	md, _ := runtime.ServerMetadataFromContext(ctx) // none before the call started
	if v := md.HeaderMD.Get(apierr.MDCorrelationID); len(v) > 0 && v[0] != "" {
		cid = v[0] // the call's own
	}
	if info == nil {
		var kept []protoadapt.MessageV1
		for _, d := range st.Details() {
			if m, ok := d.(protoadapt.MessageV1); ok {
				kept = append(kept, m)
			}
		}
		// grpc-gateway may quote a header's bytes (Grpc-Timeout) whole, which
		// protojson refuses to write when they are not UTF-8.
		msg := apierr.Truncate(strings.ToValidUTF8(st.Message(), "\uFFFD"), 128)
		st = apierr.Local(st.Code(), msg, fallbackReason(st.Code()), op, cid, kept...)
	}
	httpStatus = cmp.Or(httpStatus, runtime.HTTPStatusFromCode(st.Code()))
	st = restFieldNames(ctx, st, r)
	writeStatus(w, httpStatus, st, cid)
}

// WriteError answers r with st as the REST mirror's JSON error body, the
// HTTP status of st's code (runtime.HTTPStatusFromCode) and the request's
// correlation id (a new one when it sent none or a malformed one), for
// errors raised in front of the mirror.
func WriteError(w http.ResponseWriter, r *http.Request, st *status.Status) {
	cid, _ := requestCorrelationID(r)
	writeStatus(w, runtime.HTTPStatusFromCode(st.Code()), st, cid)
}

// handleRoutingError answers requests no route takes; a 400 is a path that
// does not start with a slash.
func (g *gateway) handleRoutingError(_ context.Context, _ *runtime.ServeMux, _ runtime.Marshaler, w http.ResponseWriter, r *http.Request, httpStatus int) {
	switch httpStatus {
	case http.StatusNotFound:
		reject(w, r, httpStatus, codes.NotFound, "no such path: the REST mirror serves "+g.index, apierr.ReasonUnknownPath, "")
	case http.StatusMethodNotAllowed:
		w.Header().Set("Allow", g.allow)
		reject(w, r, httpStatus, codes.Unimplemented, "method "+quote(r.Method)+" is not allowed on this path: use "+g.allow, apierr.ReasonMethodNotAllowed, "")
	case http.StatusBadRequest:
		reject(w, r, httpStatus, codes.InvalidArgument, "malformed request path", apierr.ReasonInvalidRequest, "")
	default:
		reject(w, r, httpStatus, codes.Internal, "unexpected routing error", fallbackReason(codes.Internal), "")
	}
}

// rejectQuery answers a bad query with 400 INVALID_ARGUMENT listing every
// violation, as the service lists its own.
func rejectQuery(w http.ResponseWriter, r *http.Request, op string, fvs []*errdetails.BadRequest_FieldViolation) {
	if _, invalid := requestCorrelationID(r); invalid {
		fvs = append(fvs, &errdetails.BadRequest_FieldViolation{Field: apierr.HeaderCorrelationID, Description: apierr.BadCorrelationID})
	}
	reject(w, r, http.StatusBadRequest, codes.InvalidArgument, apierr.InvalidMessage("query", fvs), apierr.ReasonInvalidQuery, op,
		&errdetails.BadRequest{FieldViolations: fvs})
}

// reject answers a request the mirror refuses itself (see apierr.Local).
func reject(w http.ResponseWriter, r *http.Request, httpStatus int, code codes.Code, msg, reason, op string, extra ...protoadapt.MessageV1) {
	cid, _ := requestCorrelationID(r)
	writeStatus(w, httpStatus, apierr.Local(code, msg, reason, op, cid, extra...), cid)
}

// fallbackReason names a status code as an UPPER_SNAKE_CASE reason, spelled
// as google.rpc.Code spells it (CANCELLED), as the service spells its own.
func fallbackReason(c codes.Code) string {
	return cmp.Or(code.Code_name[int32(c)], code.Code_UNKNOWN.String()) //nolint:gosec // G115: gRPC codes are small
}

// writeStatus writes st, bounded (apierr.Bound), as the JSON error body. It
// sets X-Correlation-Id, WWW-Authenticate on 401 (RFC 6750) and Retry-After
// when the status carries a google.rpc.RetryInfo.
func writeStatus(w http.ResponseWriter, httpStatus int, st *status.Status, cid string) {
	st = apierr.Bound(st)
	h := w.Header()
	h.Del("Trailer")
	h.Del("Transfer-Encoding")
	h.Set("Content-Type", "application/json")
	h.Set(apierr.HeaderCorrelationID, cid)
	if httpStatus == http.StatusUnauthorized {
		h.Set("WWW-Authenticate", "Bearer")
	}
	for _, d := range st.Details() {
		if ri, ok := d.(*errdetails.RetryInfo); ok && ri.GetRetryDelay() != nil {
			secs := math.Ceil(ri.GetRetryDelay().AsDuration().Seconds())
			h.Set("Retry-After", strconv.Itoa(int(max(secs, 0))))
		}
	}
	// Unlike responses, without empty detail fields (servingData, reason,
	// owner), which say nothing here: protojson's default options.
	body, err := protojson.Marshal(st.Proto())
	if err != nil {
		grpclog.Errorf("gateway: marshal error status %v: %v", st.Code(), err)
		w.WriteHeader(http.StatusInternalServerError)
		_, _ = io.WriteString(w, `{"code":13,"message":"failed to marshal the error","details":[]}`)
		return
	}
	w.WriteHeader(httpStatus)
	_, _ = w.Write(body) //nolint:gosec // G705: protojson output served as application/json, not HTML
}
