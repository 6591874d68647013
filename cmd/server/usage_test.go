package main

import (
	"bytes"
	"errors"
	"flag"
	"strings"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// usageSections runs -h and returns, for each flag it prints, the titles of
// the sections it appears under, and the section titles in order.
func usageSections(t *testing.T) (map[string][]string, []string, string) {
	t.Helper()
	var out bytes.Buffer
	_, _, err := parseConfig([]string{"-h"}, func(string) string { return "" }, &out)
	if !errors.Is(err, flag.ErrHelp) {
		t.Fatalf("parseConfig(-h) error = %v, want flag.ErrHelp", err)
	}
	sections := map[string][]string{}
	var titles []string
	title := ""
	for _, line := range strings.Split(out.String(), "\n") {
		switch {
		case strings.HasPrefix(line, "  -"):
			name, _, _ := strings.Cut(strings.TrimPrefix(line, "  -"), " ")
			sections[name] = append(sections[name], title)
		case strings.HasSuffix(line, ":") && !strings.HasPrefix(line, " "):
			title = strings.TrimSuffix(line, ":")
			titles = append(titles, title)
		}
	}
	return sections, titles, out.String()
}

// TestFlagGroups checks that -h prints every setting once and each group as
// one section: a setting added away from its group's rows in the table
// would start a second section.
func TestFlagGroups(t *testing.T) {
	sections, titles, _ := usageSections(t)
	table := settings(new(server.Config), new(cliFlags))
	if len(sections) != len(table) {
		t.Errorf("-h printed %d flags, want the %d settings", len(sections), len(table))
	}
	for name, in := range sections {
		if len(in) != 1 {
			t.Errorf("-%s printed under %q, want exactly one group", name, in)
		}
	}
	seen := map[string]bool{}
	for _, title := range titles {
		if seen[title] {
			t.Errorf("-h prints group %q twice: keep its settings together in the table", title)
		}
		seen[title] = true
	}
	envs := map[string]string{}
	for _, s := range table {
		if other, ok := envs[s.env]; ok && s.env != "" {
			t.Errorf("-%s and -%s share the variable %s", s.name, other, s.env)
		}
		envs[s.env] = s.name
	}
}

// TestUsageEssentialsFirst checks the order of the groups and that each
// flag's variable and default are written one way.
func TestUsageEssentialsFirst(t *testing.T) {
	_, titles, out := usageSections(t)
	want := []string{"Listeners", "Upstream", "TLS"}
	if len(titles) < len(want) {
		t.Fatalf("-h sections = %q, want %q first", titles, want)
	}
	if diff := cmp.Diff(want, titles[:len(want)]); diff != "" {
		t.Errorf("first -h sections (-want +got):\n%s", diff)
	}
	for _, line := range []string{
		"  -grpc-addr string  (GRPC_ADDR, default :9090)\n      gRPC listen address\n",
		"  -sandbox  (SANDBOX, default false)\n",
		"  -tls-cert string  (TLS_CERT_FILE, default none: plaintext)\n",
		"  -shutdown-timeout duration  (SHUTDOWN_TIMEOUT, default 10s)\n",
	} {
		if !strings.Contains(out, line) {
			t.Errorf("-h output lacks %q; got:\n%s", line, out)
		}
	}
	for _, line := range strings.Split(out, "\n") {
		if strings.HasPrefix(line, "      ") && strings.Contains(line, "default ") {
			t.Errorf("-h description %q states a default, want it only in the flag's line", line)
		}
	}
}

// TestBadFlagIsOneLine checks that a bad flag is an error naming it, with
// nothing else written: the whole help is for -h only.
func TestBadFlagIsOneLine(t *testing.T) {
	for args, want := range map[string]string{
		"-grpc-max-streams=abc": `invalid value "abc" for flag -grpc-max-streams: want a whole number`,
		"-no-such-flag":         "flag provided but not defined: -no-such-flag",
		"-sandbox=maybe":        `invalid boolean value "maybe" for -sandbox`,
	} {
		var out bytes.Buffer
		_, _, err := parseConfig([]string{args}, func(string) string { return "" }, &out)
		if err == nil || !strings.Contains(err.Error(), want) || strings.Contains(err.Error(), "\n") {
			t.Errorf("parseConfig(%s) error = %v, want one line with %q", args, err, want)
		}
		if out.Len() > 0 {
			t.Errorf("parseConfig(%s) wrote %q, want nothing", args, out.String())
		}
	}
}
