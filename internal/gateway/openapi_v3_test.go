package gateway

import (
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// TestOpenAPIv3Served: the mirror serves the OpenAPI 3.0 document.
func TestOpenAPIv3Served(t *testing.T) {
	s := newStack(t, http.HandlerFunc(okUpstream))
	r := s.do(t, http.MethodGet, OpenAPIv3Path)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q: want 200 JSON", r.status, r.header.Get("Content-Type"))
	}
	if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(openAPIv3Doc)) || len(r.transfer) != 0 {
		t.Errorf("Content-Length %q, Transfer-Encoding %q: want %d and none", got, r.transfer, len(openAPIv3Doc))
	}
	var doc struct {
		OpenAPI string         `json:"openapi"`
		Paths   map[string]any `json:"paths"`
	}
	if err := json.Unmarshal(r.body, &doc); err != nil {
		t.Fatalf("the document does not parse: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.0.") || len(doc.Paths) == 0 {
		t.Errorf("openapi %q with %d paths: want 3.0.x with paths", doc.OpenAPI, len(doc.Paths))
	}
}

// TestOpenAPIv3MatchesV2: the 3.0 document describes what the 2.0 one does:
// the same paths and methods, parameters (name, place, required, type,
// format, description), responses (status, description, body schema,
// headers), schemas (those in use) and security scheme. Both are read as plain JSON here,
// independently of the converter that produced the 3.0 one.
func TestOpenAPIv3MatchesV2(t *testing.T) {
	var v2, v3 map[string]any
	if err := json.Unmarshal(openAPIDoc, &v2); err != nil {
		t.Fatal(err)
	}
	if err := json.Unmarshal(openAPIv3Doc, &v3); err != nil {
		t.Fatal(err)
	}
	// Schemas: 2.0 refers to #/definitions/X, 3.0 to #/components/schemas/X.
	fromV2 := func(v any) any { return rewriteRefs(v, "#/definitions/", "#/components/schemas/") }

	// 3.0 drops the definitions that nothing refers to (the response of a
	// method whose REST body is one field), says "bearer token" as HTTP
	// bearer authentication rather than 2.0's API key in Authorization,
	// and is served from its own host.
	components, _ := v3["components"].(map[string]any)
	text, err := json.Marshal(v2)
	if err != nil {
		t.Fatal(err)
	}
	used := map[string]any{}
	for name, def := range obj(v2["definitions"]) {
		if strings.Contains(string(text), `"#/definitions/`+name+`"`) {
			used[name] = def
		}
	}
	if len(used) == len(obj(v2["definitions"])) {
		t.Error("every 2.0 definition is used: the unused one to drop is gone")
	}
	if diff := cmp.Diff(fromV2(used), components["schemas"]); diff != "" {
		t.Errorf("schemas (-2.0's used definitions +3.0):\n%s", diff)
	}
	bearer := obj(obj(v2["securityDefinitions"])["bearer"])
	wantSchemes := map[string]any{"bearer": map[string]any{
		"type": "http", "scheme": "bearer", "bearerFormat": "JWT", "description": bearer["description"],
	}}
	if bearer["type"] != "apiKey" || bearer["in"] != "header" || bearer["name"] != "Authorization" {
		t.Errorf("2.0 securityDefinitions.bearer = %v, want an API key in Authorization", bearer)
	}
	if diff := cmp.Diff(wantSchemes, components["securitySchemes"]); diff != "" {
		t.Errorf("security schemes (-want +3.0):\n%s", diff)
	}
	if diff := cmp.Diff([]any{map[string]any{"url": "/", "description": "The host that serves this document."}}, v3["servers"]); diff != "" {
		t.Errorf("servers (-want +3.0):\n%s", diff)
	}
	if diff := cmp.Diff(v2["security"], v3["security"]); diff != "" {
		t.Errorf("security (-2.0 +3.0):\n%s", diff)
	}
	if got := len(obj(v2["paths"])); got == 0 {
		t.Fatal("the 2.0 document has no paths")
	}
	if diff := cmp.Diff(fromV2(operationsV2(v2)), operationsV3(v3)); diff != "" {
		t.Errorf("operations (-2.0 +3.0):\n%s", diff)
	}
}

// apiOperation is what both documents say about one operation.
type apiOperation struct {
	ID         string
	Parameters []apiParameter
	Responses  map[string]apiResponse
}

type apiParameter struct {
	Name, In, Description string
	Required              bool
	Schema                any // type and format
}

type apiResponse struct {
	Description string
	Schema      any
	Headers     map[string]apiHeader
}

type apiHeader struct {
	Description string
	Schema      any
}

// operationsV2 reads a Swagger 2.0 document's operations, keyed "METHOD path".
func operationsV2(doc map[string]any) map[string]apiOperation {
	ops := map[string]apiOperation{}
	for path, item := range obj(doc["paths"]) {
		for method, o := range obj(item) {
			op := obj(o)
			out := apiOperation{ID: str(op["operationId"]), Responses: map[string]apiResponse{}}
			for _, p := range list(op["parameters"]) {
				p := obj(p)
				out.Parameters = append(out.Parameters, apiParameter{
					Name: str(p["name"]), In: str(p["in"]), Description: str(p["description"]),
					Required: p["required"] == true, Schema: typeOf(p),
				})
			}
			for code, r := range obj(op["responses"]) {
				r := obj(r)
				resp := apiResponse{Description: str(r["description"]), Schema: r["schema"], Headers: map[string]apiHeader{}}
				for name, h := range obj(r["headers"]) {
					h := obj(h)
					resp.Headers[name] = apiHeader{Description: str(h["description"]), Schema: typeOf(h)}
				}
				out.Responses[code] = resp
			}
			ops[strings.ToUpper(method)+" "+path] = out
		}
	}
	return ops
}

// operationsV3 reads an OpenAPI 3.0 document's operations, keyed
// "METHOD path".
func operationsV3(doc map[string]any) map[string]apiOperation {
	ops := map[string]apiOperation{}
	for path, item := range obj(doc["paths"]) {
		for method, o := range obj(item) {
			op := obj(o)
			out := apiOperation{ID: str(op["operationId"]), Responses: map[string]apiResponse{}}
			for _, p := range list(op["parameters"]) {
				p := obj(p)
				out.Parameters = append(out.Parameters, apiParameter{
					Name: str(p["name"]), In: str(p["in"]), Description: str(p["description"]),
					Required: p["required"] == true, Schema: typeOf(obj(p["schema"])),
				})
			}
			for code, r := range obj(op["responses"]) {
				r := obj(r)
				resp := apiResponse{Description: str(r["description"]), Headers: map[string]apiHeader{}}
				if c := obj(obj(r["content"])["application/json"]); c != nil {
					resp.Schema = c["schema"]
				}
				for name, h := range obj(r["headers"]) {
					h := obj(h)
					resp.Headers[name] = apiHeader{Description: str(h["description"]), Schema: typeOf(obj(h["schema"]))}
				}
				out.Responses[code] = resp
			}
			ops[strings.ToUpper(method)+" "+path] = out
		}
	}
	return ops
}

// typeOf keeps a parameter's or header's type and format.
func typeOf(m map[string]any) any {
	return map[string]any{"type": m["type"], "format": m["format"]}
}

// rewriteRefs returns v with every $ref that starts with from starting with
// to instead; v itself is not changed.
func rewriteRefs(v any, from, to string) any {
	switch v := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(v))
		for k, x := range v {
			if s, ok := x.(string); ok && k == "$ref" && strings.HasPrefix(s, from) {
				out[k] = to + strings.TrimPrefix(s, from)
				continue
			}
			out[k] = rewriteRefs(x, from, to)
		}
		return out
	case []any:
		out := make([]any, len(v))
		for i, x := range v {
			out[i] = rewriteRefs(x, from, to)
		}
		return out
	case map[string]apiOperation:
		out := make(map[string]apiOperation, len(v))
		for k, op := range v {
			for code, r := range op.Responses {
				r.Schema = rewriteRefs(r.Schema, from, to)
				op.Responses[code] = r
			}
			out[k] = op
		}
		return out
	}
	return v
}

func obj(v any) map[string]any { m, _ := v.(map[string]any); return m }
func list(v any) []any         { l, _ := v.([]any); return l }
func str(v any) string         { s, _ := v.(string); return s }

// TestOpenAPIDeclaresWhatTheMirrorSends: the headers the mirror sets on
// errors (Retry-After on 429 and 503, WWW-Authenticate on 401, Allow on
// 405) are declared, and no $ref has siblings (Swagger 2.0 tools drop them).
func TestOpenAPIDeclaresWhatTheMirrorSends(t *testing.T) {
	var doc map[string]any
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	want := map[string]string{"401": "WWW-Authenticate", "405": "Allow", "429": "Retry-After", "503": "Retry-After"}
	for key, op := range operationsV2(doc) {
		for code, header := range want {
			r, ok := op.Responses[code]
			if !ok {
				t.Errorf("%s: no %s response", key, code)
				continue
			}
			found := false
			for name := range r.Headers {
				found = found || strings.EqualFold(name, header)
			}
			if !found {
				t.Errorf("%s: response %s does not declare %s", key, code, header)
			}
		}
	}
	var walk func(path string, v any)
	walk = func(path string, v any) {
		switch v := v.(type) {
		case map[string]any:
			if _, ok := v["$ref"]; ok && len(v) > 1 {
				t.Errorf("%s: $ref with siblings %v", path, v)
			}
			for k, x := range v {
				walk(path+"/"+k, x)
			}
		case []any:
			for _, x := range v {
				walk(path+"[]", x)
			}
		}
	}
	walk("", doc)
}
