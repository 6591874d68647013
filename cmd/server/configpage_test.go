package main

import (
	"os"
	"strings"
	"testing"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/server"
)

// TestConfigurationPage checks that docs/configuration.md has one table row
// for each setting, with its variable and the default -h prints, and no row
// for a flag the command does not define.
func TestConfigurationPage(t *testing.T) {
	page, err := os.ReadFile("../../docs/configuration.md")
	if err != nil {
		t.Fatal(err)
	}
	rows := map[string][]string{} // flag name → cells
	for line := range strings.SplitSeq(string(page), "\n") {
		if cells := strings.Split(line, "|"); strings.HasPrefix(line, "| `-") && len(cells) > 4 {
			name := strings.Trim(strings.TrimSpace(cells[1]), "`-")
			if _, dup := rows[name]; dup {
				t.Errorf("docs/configuration.md has two rows for -%s", name)
			}
			rows[name] = cells
		}
	}
	cfg, cli := server.DefaultConfig(), cliDefaults
	for _, s := range settings(&cfg, &cli) {
		cells, ok := rows[s.name]
		if !ok {
			t.Errorf("docs/configuration.md has no row for -%s", s.name)
			continue
		}
		delete(rows, s.name)
		env, def := strings.Trim(strings.TrimSpace(cells[2]), "`"), strings.ReplaceAll(strings.TrimSpace(cells[3]), "`", "")
		if want := defaultText(s, s.value.String()); env != s.env || def != want {
			t.Errorf("docs/configuration.md: -%s | %s | %s, want | %s | %s", s.name, env, def, s.env, want)
		}
	}
	for name := range rows {
		t.Errorf("docs/configuration.md has a row for -%s, which the command does not define", name)
	}
}
