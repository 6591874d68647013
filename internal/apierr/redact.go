package apierr

import (
	"slices"
	"strings"

	"google.golang.org/grpc/status"
	"google.golang.org/protobuf/reflect/protoreflect"
	"google.golang.org/protobuf/types/known/anypb"
)

// Redacted stands wherever a piece of the caller's token was removed.
const Redacted = "[REDACTED]"

// MinSecretRun is the shortest run of a token's characters that Redactor
// removes. A token shorter than this is not matched at all.
const MinSecretRun = 8

// Redactor removes every piece of one bearer token from text: any run of
// MinSecretRun or more consecutive characters of the token, in any letter
// case, wherever it appears (the whole token, a prefix, one dot-separated
// JWT segment, an upper-cased copy...). Overlapping and adjacent pieces are
// replaced by one Redacted. The zero value removes nothing.
//
// It is meant for the few error statuses whose text came from the upstream:
// building one costs a sorted slice of one uint64 per token character.
type Redactor struct {
	// grams holds every MinSecretRun-byte window of the token, ASCII
	// lower-cased and packed into a uint64; sorted, without duplicates.
	grams []uint64
}

// NewRedactor returns the Redactor of the token in an `authorization` value:
// what follows the scheme ("Bearer "), or the whole value when it has no
// scheme.
func NewRedactor(authorization string) Redactor {
	token := strings.TrimSpace(authorization)
	if scheme, rest, ok := strings.Cut(token, " "); ok && strings.EqualFold(scheme, "bearer") {
		token = strings.TrimSpace(rest)
	}
	if len(token) < MinSecretRun {
		return Redactor{}
	}
	grams := make([]uint64, 0, len(token)-MinSecretRun+1)
	for i := 0; i+MinSecretRun <= len(token); i++ {
		grams = append(grams, pack(token[i:i+MinSecretRun]))
	}
	slices.Sort(grams)
	return Redactor{grams: slices.Compact(grams)}
}

// String returns s with every piece of the token replaced by Redacted.
func (r Redactor) String(s string) string {
	if len(r.grams) == 0 || len(s) < MinSecretRun {
		return s
	}
	var b strings.Builder
	copied := 0          // s[:copied] is written to b
	start, end := -1, -1 // the piece being collected, when start >= 0
	for i := 0; i+MinSecretRun <= len(s); i++ {
		if _, found := slices.BinarySearch(r.grams, pack(s[i:i+MinSecretRun])); !found {
			continue
		}
		if start >= 0 && i <= end { // overlaps or touches the current piece
			end = i + MinSecretRun
			continue
		}
		if start >= 0 {
			b.WriteString(s[copied:start])
			b.WriteString(Redacted)
			copied = end
		}
		start, end = i, i+MinSecretRun
	}
	if start < 0 {
		return s
	}
	b.WriteString(s[copied:start])
	b.WriteString(Redacted)
	b.WriteString(s[end:])
	return b.String()
}

// Status returns st with the token removed from its message and from every
// string field of its details (ErrorInfo metadata values, field
// violations, descriptions...). Details of types the program does not know
// are dropped: they cannot be inspected.
func (r Redactor) Status(st *status.Status) *status.Status {
	if len(r.grams) == 0 {
		return st
	}
	p := st.Proto()
	p.Message = r.String(p.GetMessage())
	p.Details = rewriteDetails(p.GetDetails(), func(m protoreflect.Message) { rewriteStrings(m, r.String) })
	return status.FromProto(p)
}

// rewriteDetails applies f to each detail and returns them re-packed,
// leaving out those that cannot be unpacked or packed again.
func rewriteDetails(details []*anypb.Any, f func(protoreflect.Message)) []*anypb.Any {
	out := details[:0:0]
	for _, a := range details {
		m, err := a.UnmarshalNew()
		if err != nil {
			continue
		}
		f(m.ProtoReflect())
		packed, err := anypb.New(m)
		if err != nil {
			continue
		}
		out = append(out, packed)
	}
	return out
}

// rewriteStrings replaces every string in m (fields, list elements, map
// values, nested messages) by f of it. Map keys are left alone: the
// details' keys are the facade's own vocabulary.
func rewriteStrings(m protoreflect.Message, f func(string) string) {
	type field struct {
		fd protoreflect.FieldDescriptor
		v  protoreflect.Value
	}
	var fields []field // collected first: m must not change while ranged over
	m.Range(func(fd protoreflect.FieldDescriptor, v protoreflect.Value) bool {
		fields = append(fields, field{fd, v})
		return true
	})
	for _, x := range fields {
		fd, v := x.fd, x.v
		switch {
		case fd.IsMap():
			mp := v.Map()
			var keys []protoreflect.MapKey
			mp.Range(func(k protoreflect.MapKey, _ protoreflect.Value) bool {
				keys = append(keys, k)
				return true
			})
			for _, k := range keys {
				switch fd.MapValue().Kind() {
				case protoreflect.StringKind:
					mp.Set(k, protoreflect.ValueOfString(f(mp.Get(k).String())))
				case protoreflect.MessageKind, protoreflect.GroupKind:
					rewriteStrings(mp.Get(k).Message(), f)
				}
			}
		case fd.IsList():
			l := v.List()
			for i := 0; i < l.Len(); i++ {
				switch fd.Kind() {
				case protoreflect.StringKind:
					l.Set(i, protoreflect.ValueOfString(f(l.Get(i).String())))
				case protoreflect.MessageKind, protoreflect.GroupKind:
					rewriteStrings(l.Get(i).Message(), f)
				}
			}
		case fd.Kind() == protoreflect.StringKind:
			m.Set(fd, protoreflect.ValueOfString(f(v.String())))
		case fd.Kind() == protoreflect.MessageKind, fd.Kind() == protoreflect.GroupKind:
			rewriteStrings(v.Message(), f)
		}
	}
}

// pack lower-cases the ASCII letters of an 8-byte window and packs it.
func pack(s string) uint64 {
	var x uint64
	for i := 0; i < MinSecretRun; i++ {
		c := s[i]
		if 'A' <= c && c <= 'Z' {
			c += 'a' - 'A'
		}
		x = x<<8 | uint64(c)
	}
	return x
}
