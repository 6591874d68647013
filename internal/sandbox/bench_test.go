package sandbox_test

import (
	"net/http"
	"net/http/httptest"
	"testing"

	"github.com/cloudcockpit/cloudcockpit-facade/internal/sandbox"
)

// discardWriter is a ResponseWriter that keeps nothing, so benchmarks measure the handler.
type discardWriter struct {
	header http.Header
	code   int
}

func (w *discardWriter) Header() http.Header         { return w.header }
func (w *discardWriter) Write(b []byte) (int, error) { return len(b), nil }
func (w *discardWriter) WriteHeader(code int)        { w.code = code }

func BenchmarkServeHTTP(b *testing.B) {
	benchmarks := []struct {
		name string
		path string
		want int
	}{
		{name: "reseller", path: resellerPath, want: http.StatusOK},
		{name: "acceptance link", path: linkPath + "&resellerId=" + sandbox.ContosoResellerID, want: http.StatusOK},
		{name: "unknown reseller", path: "/v1/Resellers/" + sandbox.UnknownResellerID, want: http.StatusNotFound},
	}
	s := sandbox.New()
	for _, bm := range benchmarks {
		b.Run(bm.name, func(b *testing.B) {
			req := httptest.NewRequest(http.MethodGet, bm.path, nil)
			req.Header = validHeader()
			w := &discardWriter{header: make(http.Header, 4)}
			b.ReportAllocs()
			for b.Loop() {
				clear(w.header)
				s.ServeHTTP(w, req)
			}
			if w.code != bm.want {
				b.Fatalf("status %d, want %d", w.code, bm.want)
			}
		})
	}
}

// BenchmarkHTTP measures a full loopback round trip to the Contoso payload, the path the
// facade's REST client takes in sandbox mode.
func BenchmarkHTTP(b *testing.B) {
	ts := httptest.NewServer(sandbox.New())
	defer ts.Close()
	client := ts.Client()
	b.ReportAllocs()
	b.RunParallel(func(pb *testing.PB) {
		for pb.Next() {
			req, err := http.NewRequestWithContext(b.Context(), http.MethodGet, ts.URL+resellerPath, nil)
			if err != nil {
				b.Fatal(err)
			}
			req.Header = validHeader()
			resp, err := client.Do(req)
			if err != nil {
				b.Fatal(err)
			}
			_, _ = resp.Body.Read(make([]byte, 4096))
			resp.Body.Close()
			if resp.StatusCode != http.StatusOK {
				b.Fatalf("status %d", resp.StatusCode)
			}
		}
	})
}
