package apierr

import (
	"slices"
	"strconv"
	"unicode/utf8"

	"google.golang.org/genproto/googleapis/rpc/errdetails"
	spb "google.golang.org/genproto/googleapis/rpc/status"
	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/proto"
	"google.golang.org/protobuf/types/known/anypb"
)

// Bounds of an error status; docs/errors.md#bounds says why these.
const (
	MaxFieldViolations = 20   // field violations a google.rpc.BadRequest keeps; Bound summarises the rest
	MaxMessageBytes    = 1024 // bytes of the status message
	MaxStatusBytes     = 4096 // bytes of the protobuf-encoded status, message and details
)

// Bound returns st within the bounds above, cutting what it must in the order
// docs/errors.md#bounds gives and summarising the field violations it left
// out. A status within the bounds is returned unchanged.
func Bound(st *status.Status) *status.Status {
	p := st.Proto()
	br, brIndex := detailOf[errdetails.BadRequest](p)
	all := br.GetFieldViolations()
	// A status bounded before ends with the summary of what it omitted.
	info, _ := detailOf[errdetails.ErrorInfo](p)
	omitted, _ := strconv.Atoi(info.GetMetadata()[MetaOmittedViolations])
	omitted = max(omitted, 0)
	if omitted > 0 && len(all) > 0 && all[len(all)-1].GetField() == "" {
		all = all[:len(all)-1]
	}
	if len(p.GetMessage()) <= MaxMessageBytes && proto.Size(p) <= MaxStatusBytes && len(all) <= MaxFieldViolations {
		return st
	}
	p.Message = Truncate(p.GetMessage(), MaxMessageBytes)
	if br != nil {
		for keep := min(len(all), MaxFieldViolations); ; keep-- {
			setViolations(p, brIndex, all[:keep], omitted+len(all)-keep)
			if proto.Size(p) <= MaxStatusBytes || keep == 0 {
				break
			}
		}
	}
	if proto.Size(p) > MaxStatusBytes {
		for i, a := range p.GetDetails() {
			if m, err := a.UnmarshalNew(); err == nil {
				rewriteStrings(m.ProtoReflect(), func(s string) string { return Truncate(s, 128) })
				if packed, err := anypb.New(m); err == nil {
					p.Details[i] = packed
				}
			}
		}
	}
	if proto.Size(p) > MaxStatusBytes {
		p.Details = slices.DeleteFunc(p.Details, func(a *anypb.Any) bool {
			return !a.MessageIs((*errdetails.ErrorInfo)(nil)) && !a.MessageIs((*errdetails.RequestInfo)(nil))
		})
		p.Message = Truncate(p.GetMessage(), 256)
	}
	return status.FromProto(p)
}

// detailOf returns the first detail of p of type T and its index, or nil and
// -1 when there is none or it does not unpack.
func detailOf[T any, PT interface {
	*T
	proto.Message
}](p *spb.Status) (PT, int) {
	for i, a := range p.GetDetails() {
		if m := PT(new(T)); a.MessageIs(m) {
			if a.UnmarshalTo(m) != nil {
				return nil, -1
			}
			return m, i
		}
	}
	return nil, -1
}

// setViolations makes detail i of p a BadRequest holding kept, followed by
// a summary of the omitted others, and records their number in the
// ErrorInfo's metadata.
func setViolations(p *spb.Status, i int, kept []*errdetails.BadRequest_FieldViolation, omitted int) {
	fvs := kept[:len(kept):len(kept)]
	if omitted > 0 {
		fvs = append(fvs, &errdetails.BadRequest_FieldViolation{Description: "and " + strconv.Itoa(omitted) + " more"})
	}
	if a, err := anypb.New(&errdetails.BadRequest{FieldViolations: fvs}); err == nil {
		p.Details[i] = a
	}
	info, j := detailOf[errdetails.ErrorInfo](p)
	if info == nil {
		return
	}
	if omitted > 0 {
		if info.Metadata == nil {
			info.Metadata = map[string]string{}
		}
		info.Metadata[MetaOmittedViolations] = strconv.Itoa(omitted)
	} else {
		delete(info.Metadata, MetaOmittedViolations)
	}
	if packed, err := anypb.New(info); err == nil {
		p.Details[j] = packed
	}
}

// Truncate cuts s to at most n bytes (n >= 3) at a rune boundary and marks
// the cut with "…": a split rune would be invalid UTF-8, which protobuf
// refuses to marshal.
func Truncate(s string, n int) string {
	if len(s) <= n {
		return s
	}
	n -= len(ellipsis)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return s[:n] + ellipsis
}

const ellipsis = "…"
