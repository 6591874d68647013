package gateway

import (
	"github.com/go-json-experiment/json"
	"github.com/go-json-experiment/json/jsontext"
	"github.com/grpc-ecosystem/grpc-gateway/v2/runtime"
	"google.golang.org/protobuf/encoding/protojson"
	"google.golang.org/protobuf/proto"
)

// jsonMarshaler is the mirror's only marshaler: protojson with the presence
// rules of docs/rest-mirror.md#json. It writes a bare string response body
// (the acceptance link, `response_body: "url"`) without escaping &, < and >,
// so that the link reads as the URL it is.
type jsonMarshaler struct{ runtime.JSONPb }

func newMarshaler() *jsonMarshaler {
	// Fields without presence always appear; with presence, only when set.
	return &jsonMarshaler{JSONPb: runtime.JSONPb{
		MarshalOptions: protojson.MarshalOptions{EmitDefaultValues: true},
	}}
}

// Marshal marshals v to JSON; see jsonMarshaler. A message is protojson's
// output with JSONPb's options, not copied as JSONPb.Marshal does, in a
// fresh buffer (the caller keeps it) sized for a full reseller (about 1.7 KB).
func (m *jsonMarshaler) Marshal(v any) ([]byte, error) {
	if p, ok := v.(proto.Message); ok {
		return m.MarshalAppend(make([]byte, 0, 2<<10), p)
	}
	if s, ok := v.(string); ok { // unescaped &, < and >; U+2028 and U+2029 escaped, as by encoding/json
		return json.Marshal(s, jsontext.EscapeForJS(true), jsontext.AllowInvalidUTF8(true))
	}
	return m.JSONPb.Marshal(v)
}
