package main

import (
	"context"
	"errors"
	"math"
	"os"
	"path/filepath"
	"sync/atomic"
	"testing"
)

func TestCallgrindTotal(t *testing.T) {
	dir := t.TempDir()
	write := func(name, text string) string {
		p := filepath.Join(dir, name)
		if err := os.WriteFile(p, []byte(text), 0o600); err != nil {
			t.Fatal(err)
		}
		return p
	}
	full := write("full", "# callgrind format\nevents: Ir\nfn=(1) main.main\n3 100\nsummary: 1234\n\ntotals: 1234\n")
	if got, err := callgrindTotal(full); err != nil || got != 1234 {
		t.Errorf("callgrindTotal = %d, %v; want 1234", got, err)
	}
	partial := write("partial", "# callgrind format\nevents: Ir\nfn=(1) main.main\n3 100\n")
	if _, err := callgrindTotal(partial); err == nil {
		t.Error("callgrindTotal of a dump without totals: no error")
	}
}

func TestMedianSpread(t *testing.T) {
	tests := []struct {
		vals        []float64
		med, spread float64
	}{
		{[]float64{100, 102, 101}, 101, 2.0 / 101},
		{[]float64{100, 104}, 102, 4.0 / 102},
		{[]float64{7}, 7, 0},
	}
	for _, tt := range tests {
		med, spread := medianSpread(tt.vals)
		if med != tt.med || math.Abs(spread-tt.spread) > 1e-12 {
			t.Errorf("medianSpread(%v) = %v, %v; want %v, %v", tt.vals, med, spread, tt.med, tt.spread)
		}
	}
}

// TestInstrGroups checks where functions of a callgrind_annotate listing go.
func TestInstrGroups(t *testing.T) {
	tests := []struct{ line, fn, group string }{
		{"12,602,404 ( 4.88%)  ./runtime/mgcmark_greenteagc.go:runtime.scanObjectsSmall [/x/server]", "runtime.scanObjectsSmall", groupGC},
		{" 7,515,931 ( 2.91%)  ./runtime/malloc.go:runtime.mallocgcSmallScanNoHeader'2 [/x/server]", "runtime.mallocgcSmallScanNoHeader'2", "memory allocation"},
		{"   554,134 ( 0.09%)  ./internal/sync/mutex.go:internal/sync.(*Mutex).lockSlow [/x/server]", "internal/sync.(*Mutex).lockSlow", groupScheduling},
		{" 5,241,200 ( 2.03%)  ./github.com/go-json-experiment/json@v1.27.2/jsontext/decode.go:github.com/go-json-experiment/json/jsontext.(*decoderState).ReadValue", "github.com/go-json-experiment/json/jsontext.(*decoderState).ReadValue", "upstream JSON decoding (json/v2, jsontext)"},
		{"   776,245 ( 0.13%)  ???:github.com/cloudcockpit/cloudcockpit-facade/internal/service.enumToProto [/x/server]", "github.com/cloudcockpit/cloudcockpit-facade/internal/service.enumToProto", "the facade's own code (internal/, cmd/)"},
	}
	for _, tt := range tests {
		m := annotateLine.FindStringSubmatch(tt.line)
		if m == nil || m[2] != tt.fn {
			t.Errorf("annotateLine on %q: %q, want function %q", tt.line, m, tt.fn)
			continue
		}
		if group := groupOf(m[2]); group != tt.group {
			t.Errorf("%s: group %q, want %q", tt.fn, group, tt.group)
		}
	}
}

func TestFixedCalls(t *testing.T) {
	var n atomic.Int64
	if err := fixedCalls(context.Background(), 4, 100, func(context.Context, int) error { n.Add(1); return nil }); err != nil || n.Load() != 100 {
		t.Errorf("fixedCalls made %d calls (%v), want 100", n.Load(), err)
	}
	boom := errors.New("boom")
	if err := fixedCalls(context.Background(), 2, 10, func(context.Context, int) error { return boom }); !errors.Is(err, boom) {
		t.Errorf("fixedCalls error = %v, want %v", err, boom)
	}
}
