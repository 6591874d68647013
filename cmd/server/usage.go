package main

import (
	"flag"
	"fmt"
	"io"
	"strings"
)

// flagGroup is one section of the -h output.
type flagGroup struct {
	title string
	flags []string // flag names, in the order -h prints them
}

// flagGroups orders the -h output: what a newcomer sets first (where to
// listen, which upstream, which tenant, TLS), then tuning. Every flag is in
// exactly one group (TestFlagGroups fails otherwise): when you add a flag,
// add its name to the group it belongs to. A flag in no group is still
// printed, under "Not yet in a group".
var flagGroups = []flagGroup{
	{"Listeners", []string{"grpc-addr", "http-addr", "cors-allowed-origins"}},
	{"Upstream", []string{"sandbox", "upstream-url", "default-tenant"}},
	{"TLS", []string{"tls-cert", "tls-key", "tls-client-ca", "upstream-ca"}},
	{"Logging", []string{"log-level", "log-format"}},
	{"Shutdown", []string{"shutdown-delay", "shutdown-timeout"}},
	{"Upstream calls: deadlines, retries, limits", []string{
		"upstream-timeout", "upstream-attempt-timeout", "upstream-max-attempts",
		"upstream-retry-ratio", "upstream-max-concurrent", "upstream-tenant-max-concurrent",
		"upstream-queue-timeout", "upstream-max-body", "coalesce",
	}},
	{"Per-tenant circuit breakers", []string{
		"breaker-failure-ratio", "breaker-min-calls", "breaker-window", "breaker-open",
		"upstream-max-tenants", "upstream-tenant-idle",
	}},
	{"gRPC server limits", []string{
		"grpc-max-streams", "grpc-connection-timeout", "grpc-keepalive-min-time", "grpc-max-connection-idle",
	}},
	{"Process limits, both ports", []string{"max-connections", "max-calls", "message-timeout"}},
	{"Diagnostics", []string{"debug-addr", "version"}},
}

// ungroupedTitle heads the flags that no group names.
const ungroupedTitle = "Not yet in a group"

// flagMeta is what -h says about a flag beyond its usage text.
type flagMeta struct {
	// env is the environment variable that sets the flag; empty: none.
	env string
	// def describes the default in words ("none: plaintext"); empty: the
	// flag's own default value is printed.
	def string
}

// printUsage writes the -h text: every flag of fs under its group, each
// with its type, variable and default written one way:
//
//	-grpc-addr string  (GRPC_ADDR, default :9090)
//	    gRPC listen address
func printUsage(w io.Writer, fs *flag.FlagSet, meta map[string]flagMeta) {
	var b strings.Builder
	b.WriteString("Usage: cloudcockpit-facade [flags]\n\n" +
		"A gRPC facade (with a JSON/REST mirror) over the CloudCockpit partner REST API.\n" +
		"Each flag shows its environment variable and default in parentheses; a flag\n" +
		"wins over its variable. Try it with -sandbox (an embedded simulated\n" +
		"upstream); without -sandbox or -upstream-url, calls go to the production API.\n")
	printed := map[string]bool{}
	for _, g := range flagGroups {
		var lines []string
		for _, name := range g.flags {
			if f := fs.Lookup(name); f != nil && !printed[name] {
				printed[name] = true
				lines = append(lines, flagUsage(f, meta[name]))
			}
		}
		writeGroup(&b, g.title, lines)
	}
	var rest []string
	fs.VisitAll(func(f *flag.Flag) {
		if !printed[f.Name] {
			rest = append(rest, flagUsage(f, meta[f.Name]))
		}
	})
	writeGroup(&b, ungroupedTitle, rest)
	_, _ = io.WriteString(w, b.String())
}

// writeGroup writes one titled section; nothing when it has no flags.
func writeGroup(b *strings.Builder, title string, lines []string) {
	if len(lines) == 0 {
		return
	}
	b.WriteString("\n" + title + ":\n")
	for _, l := range lines {
		b.WriteString(l)
	}
}

// flagUsage is one flag's entry in the -h text.
func flagUsage(f *flag.Flag, m flagMeta) string {
	typ, usage := flag.UnquoteUsage(f)
	head := "  -" + f.Name
	if typ != "" {
		head += " " + typ
	}
	def := m.def
	if def == "" {
		def = f.DefValue
	}
	if def == "" {
		def = "none"
	}
	var attrs []string
	if m.env != "" {
		attrs = append(attrs, m.env)
	}
	attrs = append(attrs, "default "+def)
	return fmt.Sprintf("%s  (%s)\n      %s\n", head, strings.Join(attrs, ", "), usage)
}
