// Command openapiv3 converts the REST mirror's OpenAPI (Swagger 2.0) document
// into an OpenAPI 3.0 document with getkin/kin-openapi's openapi2conv, so that
// the 3.0 document is generated from the same source at build time, never
// written by hand. It then says what 2.0 cannot: a relative server, and the
// bearer token as HTTP bearer authentication; and it drops the schemas that
// nothing refers to. `make generate` runs it:
//
//	go run ./openapiv3 IN.swagger.json OUT.json
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"strings"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
	"github.com/getkin/kin-openapi/openapi3"
)

func main() {
	if len(os.Args) != 3 {
		fmt.Fprintln(os.Stderr, "usage: openapiv3 IN.swagger.json OUT.json")
		os.Exit(2)
	}
	if err := convert(os.Args[1], os.Args[2]); err != nil {
		fmt.Fprintln(os.Stderr, "openapiv3:", err)
		os.Exit(1)
	}
}

// convert reads the 2.0 document at in and writes the 3.0 document to out,
// indented like protoc-gen-openapiv2's output.
func convert(in, out string) error {
	src, err := os.ReadFile(in)
	if err != nil {
		return err
	}
	var doc2 openapi2.T
	if err := json.Unmarshal(src, &doc2); err != nil {
		return fmt.Errorf("%s: %w", in, err)
	}
	doc3, err := openapi2conv.ToV3(&doc2)
	if err != nil {
		return fmt.Errorf("convert %s: %w", in, err)
	}
	if err := finish(doc3); err != nil {
		return err
	}
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc3); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644) //nolint:gosec // G306: a generated document, committed
}

// finish serves the API from the document's own host (server "/"), turns an
// API key in the Authorization header, Swagger 2.0's only way to say
// "bearer token", into HTTP bearer authentication (format JWT), and deletes
// the schemas no operation or other used schema refers to.
func finish(doc *openapi3.T) error {
	doc.Servers = openapi3.Servers{{URL: "/", Description: "The host that serves this document."}}
	for name, ref := range doc.Components.SecuritySchemes {
		if s := ref.Value; s != nil && s.Type == "apiKey" && s.In == "header" && strings.EqualFold(s.Name, "Authorization") {
			doc.Components.SecuritySchemes[name] = &openapi3.SecuritySchemeRef{Value: &openapi3.SecurityScheme{
				Type: "http", Scheme: "bearer", BearerFormat: "JWT", Description: s.Description,
			}}
		}
	}
	for unused := true; unused; {
		text, err := json.Marshal(doc)
		if err != nil {
			return err
		}
		unused = false
		for name := range doc.Components.Schemas {
			if !bytes.Contains(text, []byte(`"#/components/schemas/`+name+`"`)) {
				delete(doc.Components.Schemas, name)
				unused = true
			}
		}
	}
	return nil
}
