package gateway

import (
	"encoding/json"
	"net/http"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"
)

// swaggerDoc is the part of a Swagger 2.0 document the tests read.
type swaggerDoc struct {
	Swagger             string                          `json:"swagger"`
	Info                struct{ Title, Version string } `json:"info"`
	Paths               map[string]map[string]operation `json:"paths"`
	Definitions         map[string]schema               `json:"definitions"`
	SecurityDefinitions map[string]struct {
		Type, Name, In string
	} `json:"securityDefinitions"`
	Security []map[string][]string `json:"security"`
}

type operation struct {
	OperationID string `json:"operationId"`
	Parameters  []struct {
		Name     string `json:"name"`
		In       string `json:"in"`
		Required bool   `json:"required"`
		Type     string `json:"type"`
	} `json:"parameters"`
	Responses map[string]struct {
		Schema  *schema                    `json:"schema"`
		Headers map[string]json.RawMessage `json:"headers"`
	} `json:"responses"`
}

type schema struct {
	Ref         string            `json:"$ref"`
	Type        string            `json:"type"`
	Description string            `json:"description"`
	Properties  map[string]schema `json:"properties"`
	Items       *schema           `json:"items"`
}

// TestOpenAPI fetches the document from the mirror and checks that it parses
// and documents what the mirror does: both paths with their parameters
// (camelCase query names, headers), the error schema, field docs, and refs
// that resolve.
func TestOpenAPI(t *testing.T) {
	s := newStack(t, http.HandlerFunc(okUpstream))
	r := s.do(t, http.MethodGet, OpenAPIPath)
	if r.status != http.StatusOK || r.header.Get("Content-Type") != "application/json" {
		t.Fatalf("status %d, Content-Type %q: want 200 JSON", r.status, r.header.Get("Content-Type"))
	}
	if got := r.header.Get("Content-Length"); got != strconv.Itoa(len(openAPIDoc)) || len(r.transfer) != 0 {
		t.Errorf("Content-Length %q, Transfer-Encoding %q: want %d and none", got, r.transfer, len(openAPIDoc))
	}
	dec := json.NewDecoder(strings.NewReader(string(r.body)))
	var doc swaggerDoc
	if err := dec.Decode(&doc); err != nil {
		t.Fatalf("the document does not parse: %v", err)
	}
	if doc.Swagger != "2.0" || doc.Info.Title == "" || doc.Info.Version == "" {
		t.Errorf("swagger %q, info %+v: want 2.0 with a title and version", doc.Swagger, doc.Info)
	}

	params := map[string][]string{}
	for path, ops := range doc.Paths {
		for method, op := range ops {
			key := strings.ToUpper(method) + " " + path
			for _, p := range op.Parameters {
				req := ""
				if p.Required {
					req = "!"
				}
				params[key] = append(params[key], p.In+":"+p.Name+req)
			}
			sort.Strings(params[key])
			for _, code := range []string{"200", "400", "401", "404", "default"} {
				resp, ok := op.Responses[code]
				if !ok {
					t.Errorf("%s has no %s response", key, code)
					continue
				}
				if _, ok := resp.Headers["X-Correlation-Id"]; !ok {
					t.Errorf("%s response %s does not document X-Correlation-Id", key, code)
				}
				if code != "200" && (resp.Schema == nil || resp.Schema.Ref != "#/definitions/Status") {
					t.Errorf("%s response %s schema = %+v, want the Status definition", key, code, resp.Schema)
				}
			}
		}
	}
	want := map[string][]string{
		"GET /v1/Resellers/{resellerId}": {
			"header:X-Correlation-Id", "header:X-Tenant", "path:resellerId!",
		},
		"GET /v1/Customers/relationship-acceptance": {
			"header:X-Correlation-Id", "header:X-Tenant", "query:providerInstanceId!", "query:resellerId",
		},
	}
	if diff := cmp.Diff(want, params); diff != "" {
		t.Errorf("paths and parameters (-want +got):\n%s", diff)
	}

	if sd := doc.SecurityDefinitions["bearer"]; sd.Type != "apiKey" || sd.In != "header" || sd.Name != "Authorization" {
		t.Errorf("securityDefinitions.bearer = %+v, want an Authorization header", sd)
	}
	if len(doc.Security) != 1 || doc.Security[0]["bearer"] == nil {
		t.Errorf("security = %v, want bearer", doc.Security)
	}
	st := doc.Definitions["Status"]
	for _, f := range []string{"code", "message", "details"} {
		if _, ok := st.Properties[f]; !ok {
			t.Errorf("Status has no %s", f)
		}
	}
	if st.Description == "" {
		t.Error("Status is not documented")
	}
	for name, def := range doc.Definitions {
		for field, p := range def.Properties {
			if p.Description == "" && name != "Status" && name != "Any" {
				t.Errorf("%s.%s has no description", name, field)
			}
		}
	}
	checkRefs(t, r.body, doc.Definitions)
}

// checkRefs fails for a $ref that names no definition.
func checkRefs(t *testing.T, body []byte, defs map[string]schema) {
	t.Helper()
	var walk func(v any)
	walk = func(v any) {
		switch v := v.(type) {
		case map[string]any:
			if ref, ok := v["$ref"].(string); ok {
				name, ok := strings.CutPrefix(ref, "#/definitions/")
				if _, found := defs[name]; !ok || !found {
					t.Errorf("$ref %q does not resolve", ref)
				}
			}
			for _, x := range v {
				walk(x)
			}
		case []any:
			for _, x := range v {
				walk(x)
			}
		}
	}
	var all any
	if err := json.Unmarshal(body, &all); err != nil {
		t.Fatal(err)
	}
	walk(all)
}

// TestOpenAPIMatchesRoutes: every route the OpenAPI document names is
// served by an RPC handler (not answered 404 or 405), and the mirror's 404
// lists exactly those routes besides its own.
func TestOpenAPIMatchesRoutes(t *testing.T) {
	var doc swaggerDoc
	if err := json.Unmarshal(openAPIDoc, &doc); err != nil {
		t.Fatal(err)
	}
	s := newStack(t, &recorder{answer: okUpstream})
	documented := []string{"GET " + OpenAPIPath, "GET " + OpenAPIv3Path, "GET " + HealthzPath, "GET " + ReadyzPath}
	for path, ops := range doc.Paths {
		for method := range ops {
			documented = append(documented, strings.ToUpper(method)+" "+path)
			r := s.do(t, strings.ToUpper(method), strings.ReplaceAll(path, "{resellerId}", testID), "X-Tenant", testTenant, "Authorization", testAuth)
			if r.status == http.StatusNotFound || r.status == http.StatusMethodNotAllowed {
				t.Errorf("%s %s = %d, want it served: %s", method, path, r.status, r.body)
			}
		}
	}
	slices.Sort(documented)
	r := s.get(t, "/v1/nope")
	if want := "no such path: the REST mirror serves " + strings.Join(documented, ", "); decodeStatus(t, r).Message() != want {
		t.Errorf("404 message = %q, want %q", decodeStatus(t, r).Message(), want)
	}
}
