package apierr

import (
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/protoadapt"
)

// Spec describes an error status for New.
type Spec struct {
	Code codes.Code
	// Message is the status message; New cuts it to MaxMessageBytes.
	Message string
	// Reason is the ErrorInfo reason, one of the Reason constants.
	Reason string
	// Metadata is the ErrorInfo metadata, keyed by the Meta constants; nil
	// means none.
	Metadata map[string]string
	// RequestID is RequestInfo's request_id: the call's correlation id.
	RequestID string
	// Details follow ErrorInfo and RequestInfo, in order.
	Details []protoadapt.MessageV1
	// Authorization is the caller's `authorization` value, when the status
	// may hold text from elsewhere (the upstream's): its token is removed
	// from the message and every string of every detail (see Redactor).
	// Empty means nothing to remove.
	Authorization string
}

// InvalidMessage returns "invalid <what>: <field>: <description>; ...",
// the message of a status listing fvs.
func InvalidMessage(what string, fvs []*errdetails.BadRequest_FieldViolation) string {
	parts := make([]string, len(fvs))
	for i, fv := range fvs {
		parts[i] = fv.GetField() + ": " + fv.GetDescription()
	}
	return "invalid " + what + ": " + strings.Join(parts, "; ")
}

// New returns the status s describes: exactly one google.rpc.ErrorInfo (in
// Domain) and one google.rpc.RequestInfo in front of s.Details, with the
// caller's token removed (s.Authorization) and then bounded (see Bound). If
// the details cannot be attached, the status has none. New may change the
// values of s.Metadata and the strings of s.Details: they are the caller's
// to give.
func New(s Spec) *status.Status {
	if r := NewRedactor(s.Authorization); r.lower != nil {
		s.Message = r.String(s.Message)
		for k, v := range s.Metadata {
			s.Metadata[k] = r.String(v)
		}
		for _, d := range s.Details {
			rewriteStrings(protoadapt.MessageV2Of(d).ProtoReflect(), r.String)
		}
	}
	st := status.New(s.Code, s.Message)
	details := slices.Concat([]protoadapt.MessageV1{
		&errdetails.ErrorInfo{Reason: s.Reason, Domain: Domain, Metadata: s.Metadata},
		&errdetails.RequestInfo{RequestId: s.RequestID},
	}, s.Details)
	if withDetails, err := st.WithDetails(details...); err == nil {
		st = withDetails
	}
	return Bound(st)
}

// Local returns the status of an error the facade raises itself, with nothing
// from the upstream: ErrorInfo metadata MetaCorrelationID cid and, when op is
// not empty, MetaOperation op; RequestInfo's request_id cid; then details.
func Local(code codes.Code, msg, reason, op, cid string, details ...protoadapt.MessageV1) *status.Status {
	meta := map[string]string{MetaCorrelationID: cid}
	if op != "" {
		meta[MetaOperation] = op
	}
	return New(Spec{Code: code, Message: msg, Reason: reason, Metadata: meta, RequestID: cid, Details: details})
}

// InfoOf returns st's google.rpc.ErrorInfo, nil when it has none.
func InfoOf(st *status.Status) *errdetails.ErrorInfo {
	info, _ := detailOf[errdetails.ErrorInfo](st.Proto())
	return info
}
