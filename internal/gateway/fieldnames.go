package gateway

import (
	"context"
	"net/http"
	"net/url"
	"slices"
	"strings"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/apierr"
)

// restFieldNames returns st with the field violations of its
// google.rpc.BadRequest named as the REST caller sent them: a request field
// by its path parameter or query name (resellerId, or provider_instance_id
// when the query spelled it so), a metadata key by its header (X-Tenant).
// The message, which lists the violations, is renamed alike. Names that are
// neither (the upstream's own propertyName) stay.
func restFieldNames(ctx context.Context, st *status.Status, r *http.Request) *status.Status {
	sp := st.Proto()
	input := rpcInput(ctx)
	query, _ := url.ParseQuery(r.URL.RawQuery)
	renamed := map[string]string{}
	for i, d := range sp.GetDetails() {
		var br errdetails.BadRequest
		if !d.MessageIs(&br) || d.UnmarshalTo(&br) != nil {
			continue
		}
		for _, fv := range br.GetFieldViolations() {
			if name := restName(fv.GetField(), input, query); name != fv.GetField() {
				renamed[fv.GetField()] = name
				fv.Field = name
			}
		}
		a, err := anypb.New(&br)
		if err != nil {
			return st
		}
		sp.Details[i] = a
	}
	if len(renamed) == 0 {
		return st
	}
	for from, to := range renamed {
		sp.Message = strings.ReplaceAll(sp.Message, " "+from+": ", " "+to+": ")
	}
	return status.FromProto(sp) // st.Proto() is a copy
}

// restName is the REST spelling of a violation's field: see restFieldNames.
func restName(field string, input protoreflect.MessageDescriptor, query url.Values) string {
	// The metadata the service validates, which a REST caller sends as headers.
	if slices.Contains([]string{apierr.MDTenant, apierr.MDCorrelationID, apierr.MDAuthorization}, field) {
		return http.CanonicalHeaderKey(field)
	}
	if input == nil {
		return field
	}
	f := input.Fields().ByName(protoreflect.Name(field))
	if f == nil {
		return field
	}
	if _, sent := query[f.TextName()]; sent {
		return f.TextName()
	}
	return f.JSONName()
}
