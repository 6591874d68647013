// Command openapiv3 converts the REST mirror's OpenAPI (Swagger 2.0) document
// into an OpenAPI 3.0 document with getkin/kin-openapi's openapi2conv, so that
// the 3.0 document is generated from the same source at build time, never
// written by hand. `make generate` runs it:
//
//	go run ./openapiv3 IN.swagger.json OUT.json
package main

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"

	"github.com/getkin/kin-openapi/openapi2"
	"github.com/getkin/kin-openapi/openapi2conv"
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
	var buf bytes.Buffer
	enc := json.NewEncoder(&buf)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc3); err != nil {
		return err
	}
	return os.WriteFile(out, buf.Bytes(), 0o644) //nolint:gosec // G306: a generated document, committed
}
