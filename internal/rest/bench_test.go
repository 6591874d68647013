package rest

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"
	"time"
)

func BenchmarkDecodeReseller(b *testing.B) {
	body := readTestdata(b, "reseller_full.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := DecodeReseller(body); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkDecodeResellerEncodingJSON is DecodeReseller by encoding/json
// (oracle_test.go), for comparison.
func BenchmarkDecodeResellerEncodingJSON(b *testing.B) {
	body := readTestdata(b, "reseller_full.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := oracleDecodeReseller(body); err != nil {
			b.Fatal(err)
		}
	}
}

// plainReseller mirrors Reseller with offerTypeMargins as a plain map, so
// BenchmarkDecodeResellerPlainJSON measures encoding/json alone, without the
// ASP.NET wrapper handling.
type plainReseller struct {
	ID                 *string `json:"id"`
	CompanyName        *string `json:"companyName"`
	Country            *string `json:"country"`
	AddressLine1       *string `json:"addressLine1"`
	AddressLine2       *string `json:"addressLine2"`
	City               *string `json:"city"`
	State              *string `json:"state"`
	ZipCode            *string `json:"zipCode"`
	FirstName          *string `json:"firstName"`
	LastName           *string `json:"lastName"`
	Email              *string `json:"email"`
	Phone              *string `json:"phone"`
	InternalIdentifier *string `json:"internalIdentifier"`
	TaxID              *string `json:"taxId"`
	ProviderResellers  []struct {
		ProviderInstanceID   *string                `json:"providerInstanceId"`
		PriceMargin          *PriceMargin           `json:"priceMargin"`
		OfferTypeMargins     map[string]PriceMargin `json:"offerTypeMargins"`
		ProviderResellerID   *string                `json:"providerResellerId"`
		ResellerProviderData *string                `json:"resellerProviderData"`
		Status               *EnumName              `json:"status"`
	} `json:"providerResellers"`
	CustomDomain *CustomDomain `json:"customDomain"`
}

func BenchmarkDecodeResellerPlainJSON(b *testing.B) {
	body := readTestdata(b, "reseller_full.json")
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		var r plainReseller
		if err := json.Unmarshal(body, &r); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetReseller measures a whole call against a local upstream that
// serves testdata/reseller_full.json: request building, transport, bounded
// body read and decoding.
func BenchmarkGetReseller(b *testing.B) {
	body := readTestdata(b, "reseller_full.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	tr := newTestTransport()
	defer tr.CloseIdleConnections()
	c, err := New(Config{BaseURL: srv.URL, Transport: tr})
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := c.GetReseller(ctx, testCallInfo, "3f6c2a8e-9b1d-4c7e-a5f2-0d8e4b6a1c93"); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkGetResellerNoCoalescing is BenchmarkGetReseller without
// coalescing: the retry loop, breaker, limiter and attempt timer alone.
func BenchmarkGetResellerNoCoalescing(b *testing.B) {
	benchmarkGetReseller(b, Config{DisableCoalescing: true}, false)
}

// BenchmarkGetResellerParallelIdentical runs identical calls from many
// goroutines: coalescing shares upstream requests between them.
func BenchmarkGetResellerParallelIdentical(b *testing.B) {
	benchmarkGetReseller(b, Config{}, true)
}

func benchmarkGetReseller(b *testing.B, cfg Config, parallel bool) {
	body := readTestdata(b, "reseller_full.json")
	var requests atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		requests.Add(1)
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	tr := newTestTransport()
	defer tr.CloseIdleConnections()
	cfg.BaseURL, cfg.Transport = srv.URL, tr
	c, err := New(cfg)
	if err != nil {
		b.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(b.Context(), time.Minute)
	defer cancel()
	b.ReportAllocs()
	if !parallel {
		for b.Loop() {
			if _, err := c.GetReseller(ctx, testCallInfo, "3f6c2a8e-9b1d-4c7e-a5f2-0d8e4b6a1c93"); err != nil {
				b.Fatal(err)
			}
		}
		return
	}
	b.SetParallelism(32)
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			if _, err := c.GetReseller(ctx, testCallInfo, "3f6c2a8e-9b1d-4c7e-a5f2-0d8e4b6a1c93"); err != nil {
				b.Error(err)
				return
			}
		}
	})
	b.ReportMetric(float64(requests.Load())/float64(b.N), "upstream-req/op")
}

// BenchmarkTransport measures the upstream transport on one GET of the
// full reseller against a loopback server, the body read to its end: one
// caller, then 32 at once. CPU per request is what the facade pays.
func BenchmarkTransport(b *testing.B) {
	body := readTestdata(b, "reseller_full.json")
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json; charset=utf-8")
		_, _ = w.Write(body)
	}))
	defer srv.Close()
	transports := []struct {
		name string
		new  func() closingTransport
	}{
		{"nethttp", func() closingTransport { return NewTransport(TransportConfig{}) }},
	}
	get := func(b *testing.B, rt http.RoundTripper, buf []byte) {
		req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, srv.URL+"/v1/Resellers/r1", nil)
		if err != nil {
			b.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer t")
		resp, err := rt.RoundTrip(req)
		if err != nil {
			b.Fatal(err)
		}
		for {
			if _, err := resp.Body.Read(buf); err != nil {
				break
			}
		}
		_ = resp.Body.Close()
	}
	for _, tt := range transports {
		for _, callers := range []int{1, 32} {
			b.Run(fmt.Sprintf("%s/callers=%d", tt.name, callers), func(b *testing.B) {
				rt := tt.new()
				defer rt.CloseIdleConnections()
				b.ReportAllocs()
				if callers == 1 {
					buf := make([]byte, 4096)
					for b.Loop() {
						get(b, rt, buf)
					}
					return
				}
				b.SetParallelism(callers)
				b.RunParallel(func(pb *testing.PB) {
					buf := make([]byte, 4096)
					for pb.Next() {
						get(b, rt, buf)
					}
				})
			})
		}
	}
}
