package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// printUsage writes the -h text: the settings of table under their groups,
// each with its type, variable and default written one way:
//
//	-grpc-addr string  (GRPC_ADDR, default :9090)
//	    gRPC listen address
func printUsage(w io.Writer, fs *flag.FlagSet, table []setting) {
	var b strings.Builder
	b.WriteString("Usage: cloudcockpit-facade [flags]\n\n" +
		"A gRPC facade (with a JSON/REST mirror) over the CloudCockpit partner REST API.\n" +
		"Each flag shows its environment variable and default in parentheses; a flag\n" +
		"wins over its variable. Try it with -sandbox (an embedded simulated\n" +
		"upstream); without -sandbox or -upstream-url, calls go to the production API.\n")
	group := ""
	for _, s := range table {
		if s.group != group {
			group = s.group
			b.WriteString("\n" + group + ":\n")
		}
		head := "  -" + s.name
		if s.value.typ != "" {
			head += " " + s.value.typ
		}
		attrs := "default " + defaultText(s, fs.Lookup(s.name).DefValue)
		if s.env != "" {
			attrs = s.env + ", " + attrs
		}
		fmt.Fprintf(&b, "%s  (%s)\n      %s\n", head, attrs, s.help)
	}
	_, _ = io.WriteString(w, b.String())
}

// defaultText is how -h and docs/configuration.md write the default of s,
// whose value's text is defValue.
func defaultText(s setting, defValue string) string {
	switch {
	case s.def != "":
		return s.def
	case defValue == "":
		return "none"
	}
	return defValue
}
