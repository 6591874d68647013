package server

import (
	"go/build"
	"slices"
	"testing"
)

// TestPackageBoundaries: the server package does not carry the sandbox
// (cmd/server wires -sandbox through Config.StartSandbox), and the REST
// mirror takes its error vocabulary from apierr, not from the services.
func TestPackageBoundaries(t *testing.T) {
	const module = "github.com/cloudcockpit/cloudcockpit-facade/"
	tests := []struct {
		dir     string
		mustNot string
	}{
		{".", module + "internal/sandbox"},
		{"../gateway", module + "internal/service"},
	}
	for _, tt := range tests {
		pkg, err := build.ImportDir(tt.dir, 0)
		if err != nil {
			t.Fatal(err)
		}
		if slices.Contains(pkg.Imports, tt.mustNot) {
			t.Errorf("%s imports %s", pkg.ImportPath, tt.mustNot)
		}
	}
}

func TestSandboxNeedsAStarter(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Sandbox = true
	if err := cfg.Validate(); err == nil {
		t.Error("Validate() accepted Sandbox without StartSandbox")
	}
}
