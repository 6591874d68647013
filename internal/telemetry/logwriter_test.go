package telemetry

import (
	"bytes"
	"strings"
	"sync"
	"testing"
	"time"
)

// syncBuffer is a bytes.Buffer safe for the flushing goroutine and the test.
type syncBuffer struct {
	mu     sync.Mutex
	b      bytes.Buffer
	writes int
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.writes++
	return s.b.Write(p)
}

func (s *syncBuffer) snapshot() (string, int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String(), s.writes
}

func TestLogWriter(t *testing.T) {
	line := `{"msg":"call"}` + "\n"
	big := strings.Repeat("x", logBatchSize+10) + "\n"
	tests := []struct {
		name       string
		interval   time.Duration
		lines      []string
		wantBefore string // what w holds right after the writes, before any flush
		wantWrites int    // writes to w once closed
	}{
		{"interval 0 writes each line at once", 0, []string{line, line}, line + line, 2},
		{"lines wait for the batch", time.Hour, []string{line, line, line}, "", 1},
		{"a line larger than a batch goes out at once, after what was buffered", time.Hour, []string{line, big}, line + big, 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var w syncBuffer
			lw := NewLogWriter(&w, tt.interval)
			for _, l := range tt.lines {
				if n, err := lw.Write([]byte(l)); err != nil || n != len(l) {
					t.Fatalf("Write() = %d, %v", n, err)
				}
			}
			if got, _ := w.snapshot(); got != tt.wantBefore {
				t.Errorf("before Close w holds %d bytes, want %d", len(got), len(tt.wantBefore))
			}
			if err := lw.Close(); err != nil {
				t.Fatal(err)
			}
			got, writes := w.snapshot()
			if want := strings.Join(tt.lines, ""); got != want {
				t.Errorf("after Close w holds %d bytes, want %d", len(got), len(want))
			}
			if writes != tt.wantWrites {
				t.Errorf("writes to w = %d, want %d", writes, tt.wantWrites)
			}
			// After Close, lines go straight through.
			_, _ = lw.Write([]byte(line))
			if got, _ := w.snapshot(); got != strings.Join(tt.lines, "")+line {
				t.Error("a line written after Close did not reach w at once")
			}
			if err := lw.Close(); err != nil {
				t.Errorf("second Close() = %v", err)
			}
		})
	}
}

func TestLogWriterFlushesEveryInterval(t *testing.T) {
	var w syncBuffer
	lw := NewLogWriter(&w, 10*time.Millisecond)
	t.Cleanup(func() { _ = lw.Close() })
	_, _ = lw.Write([]byte("one\n"))
	deadline := time.Now().Add(5 * time.Second)
	for {
		if got, _ := w.snapshot(); got == "one\n" {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("the line was not flushed within 5s")
		}
		time.Sleep(5 * time.Millisecond)
	}
}

func TestLogWriterConcurrentLinesStayWhole(t *testing.T) {
	var w syncBuffer
	lw := NewLogWriter(&w, time.Millisecond)
	var wg sync.WaitGroup
	for g := range 8 {
		wg.Go(func() {
			l := strings.Repeat(string(rune('a'+g)), 100) + "\n"
			for range 200 {
				_, _ = lw.Write([]byte(l))
			}
		})
	}
	wg.Wait()
	if err := lw.Close(); err != nil {
		t.Fatal(err)
	}
	got, _ := w.snapshot()
	lines := strings.Split(strings.TrimSuffix(got, "\n"), "\n")
	if len(lines) != 8*200 {
		t.Fatalf("lines = %d, want %d", len(lines), 8*200)
	}
	for _, l := range lines {
		if len(l) != 100 || strings.Count(l, l[:1]) != 100 {
			t.Fatalf("a line was torn: %q", l)
		}
	}
}
